"""PATCH (RFC 7644 §3.5.2) with the request shapes identity providers send (shared/IDP.md)."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from drf_scim.constants import ENTERPRISE_USER_SCHEMA, PATCH_OP_SCHEMA
from drf_scim.models import SCIMUser
from tests.helpers import BASE, audit_statements

pytestmark = pytest.mark.django_db
ENT = ENTERPRISE_USER_SCHEMA


def patch_op(*operations, schemas=True):
    body = {"Operations": list(operations)}
    if schemas:
        body["schemas"] = [PATCH_OP_SCHEMA]
    return body


def patch(api, resource, *operations, endpoint="Users", query="", status=200, **kwargs):
    response = api.patch(f"{BASE}/{endpoint}/{resource['id']}{query}", patch_op(*operations, **kwargs))
    assert response.status_code == status, response.body
    return response


def read(api, resource, endpoint="Users"):
    return api.get(f"{BASE}/{endpoint}/{resource['id']}").body


@pytest.fixture
def user(create_user):
    return create_user(
        "bjensen@example.com",
        displayName="Babs",
        emails=[{"value": "bjensen@example.com", "type": "work", "primary": True}],
    )


class TestEntraUsers:
    def test_replace_work_email_value(self, api, user):
        body = patch(api, user, {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "b@new.com"}).body
        assert body["emails"] == [{"value": "b@new.com", "type": "work", "primary": True}]

    def test_filtered_path_that_matches_nothing_creates_the_value(self, api, create_user):
        user = create_user("x@example.com", emails=None)
        body = patch(api, user, {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "x@new.com"}).body
        assert body["emails"] == [{"type": "work", "value": "x@new.com"}]
        address = {"op": "Replace", "path": 'addresses[type eq "work"].Formatted', "value": "1 Main St"}
        assert patch(api, user, address).body["addresses"] == [{"type": "work", "formatted": "1 Main St"}]

    def test_replace_sub_attribute_and_user_name(self, api, user):
        body = patch(
            api,
            user,
            {"op": "Replace", "path": "name.familyName", "value": "Jensen-Smith"},
            {"op": "Replace", "path": "userName", "value": "babs@example.com"},
        ).body
        assert body["name"] == {"givenName": "Barbara", "familyName": "Jensen-Smith"}
        assert body["userName"] == "babs@example.com"
        assert body["meta"]["version"] == 'W/"2"'

    def test_add_enterprise_attribute_by_urn_path(self, api, user):
        body = patch(api, user, {"op": "Add", "path": f"{ENT}:department", "value": "Retail"}).body
        assert body[ENT] == {"department": "Retail"}
        assert ENT in body["schemas"]

    @pytest.mark.parametrize("value", ["False", "false", "FALSE", False])
    def test_deactivate_with_string_or_boolean(self, api, user, value):
        assert patch(api, user, {"op": "Replace", "path": "active", "value": value}).body["active"] is False

    def test_pathless_replace_with_dotted_and_urn_keys(self, api, user):
        value = {"displayName": "Bjfe", "name.givenName": "Kkom", f"{ENT}:employeeNumber": "Aklq"}
        body = patch(api, user, {"op": "replace", "value": value}).body
        assert body["displayName"] == "Bjfe"
        assert body["name"]["givenName"] == "Kkom"
        assert body[ENT] == {"employeeNumber": "Aklq"}

    @pytest.mark.parametrize(
        ("path", "shape"),
        [
            ("manager", "list"),
            ("manager", "string"),
            ("manager", "object"),
            (f"{ENT}:manager", "list"),
            (f"{ENT}:manager", "string"),
        ],
    )
    def test_manager_shapes(self, api, user, create_user, path, shape):
        boss = create_user("boss@example.com", displayName="Boss")
        value = {
            "list": [{"$ref": f"http://x/Users/{boss['id']}", "value": boss["id"]}],
            "string": boss["id"],
            "object": {"value": boss["id"]},
        }[shape]
        body = patch(api, user, {"op": "Add", "path": path, "value": value}).body
        assert body[ENT]["manager"] == {"value": boss["id"], "$ref": f"http://testserver{BASE}/Users/{boss['id']}"}
        removed = patch(api, user, {"op": "Remove", "path": f"{ENT}:manager"}).body
        assert ENT not in removed

    def test_roles_with_a_json_encoded_value(self, api, user):
        role = '{"id":"8ec1aa1d","value":"Admin","displayName":"Admin"}'
        value = [{"primary": False, "type": "WindowsAzureActiveDirectoryRole", "value": role}]
        body = patch(api, user, {"op": "Add", "path": "roles", "value": value}).body
        assert body["roles"] == value

    def test_explicit_nulls_and_unknown_attributes_in_pathless_values(self, api, user):
        value = {"title": None, "nickName": "B", "favouriteColour": "blue", "id": user["id"], "meta": {}}
        body = patch(api, user, {"op": "replace", "value": value}).body
        assert body["nickName"] == "B"
        assert "favouriteColour" not in body


class TestOkta:
    def test_deactivate_without_schemas(self, api, user):
        body = patch(api, user, {"op": "replace", "value": {"active": False}}, schemas=False).body
        assert body["active"] is False

    def test_group_rename_with_its_own_id(self, api, create_group):
        group = create_group("Old")
        patch(
            api,
            group,
            {"op": "replace", "value": {"id": group["id"], "displayName": "New"}},
            endpoint="Groups",
            status=204,
        )
        assert read(api, group, "Groups")["displayName"] == "New"

    def test_remove_and_add_members_in_one_request(self, api, create_user, create_group):
        a, b, c = (create_user(f"{n}@example.com")["id"] for n in "abc")
        group = create_group("G", [a, b])
        patch(
            api,
            group,
            {"op": "remove", "path": f'members[value eq "{a}"]'},
            {"op": "add", "path": "members", "value": [{"value": c, "display": "c@example.com"}]},
            endpoint="Groups",
            status=204,
        )
        assert [m["value"] for m in read(api, group, "Groups")["members"]] == [b, c]

    @pytest.mark.parametrize("members", [[], ["a"], ["b", "c"]])
    def test_full_push_replaces_members(self, api, create_user, create_group, members):
        ids = {n: create_user(f"{n}@example.com")["id"] for n in "abc"}
        group = create_group("G", [ids["a"], ids["b"]])
        value = [{"value": ids[n]} for n in members]
        patch(api, group, {"op": "replace", "path": "members", "value": value}, endpoint="Groups", status=204)
        assert [m["value"] for m in read(api, group, "Groups")["members"]] == [ids[n] for n in members]


class TestEntraGroups:
    def test_add_and_remove_members_by_value_list(self, api, create_user, create_group):
        a, b, c = (create_user(f"{n}@example.com")["id"] for n in "abc")
        group = create_group("G", [a])
        response = patch(
            api,
            group,
            {"op": "Add", "path": "members", "value": [{"$ref": None, "value": b}, {"$ref": None, "value": c}]},
            endpoint="Groups",
            status=204,
        )
        assert response.content == b""
        patch(
            api,
            group,
            {"op": "Remove", "path": "members", "value": [{"value": a}, {"value": c}]},
            endpoint="Groups",
            status=204,
        )
        assert [m["value"] for m in read(api, group, "Groups")["members"]] == [b]

    def test_adding_a_member_already_there_changes_nothing(self, api, create_user, create_group):
        a = create_user("a@example.com")["id"]
        group = create_group("G", [a])
        patch(api, group, {"op": "add", "path": "members", "value": [{"value": a}]}, endpoint="Groups", status=204)
        assert [m["value"] for m in read(api, group, "Groups")["members"]] == [a]

    def test_remove_all_members(self, api, create_user, create_group):
        group = create_group("G", [create_user("a@example.com")["id"]])
        patch(api, group, {"op": "remove", "path": "members"}, endpoint="Groups", status=204)
        assert read(api, group, "Groups")["members"] == []

    def test_unknown_member_applies_nothing(self, api, create_user, create_group):
        a = create_user("a@example.com")["id"]
        group = create_group("G")
        missing = str(uuid.uuid4())
        response = api.patch(
            f"{BASE}/Groups/{group['id']}",
            patch_op(
                {"op": "replace", "path": "displayName", "value": "Renamed"},
                {"op": "add", "path": "members", "value": [{"value": a}, {"value": missing}]},
            ),
        )
        assert response.status_code == 400
        assert response.body["scimType"] == "invalidValue"
        assert "Operations[1]" in response.body["detail"]
        assert missing in response.body["detail"]
        after = read(api, group, "Groups")
        assert (after["displayName"], after["members"]) == ("G", [])

    def test_membership_changes_bump_the_version(self, api, create_user, create_group):
        group = create_group("G")
        a = create_user("a@example.com")["id"]
        response = patch(
            api, group, {"op": "add", "path": "members", "value": [{"value": a}]}, endpoint="Groups", status=204
        )
        assert response["ETag"] == 'W/"2"'
        assert read(api, group, "Groups")["meta"]["version"] == 'W/"2"'


class TestResponses:
    def test_user_patch_honours_attributes(self, api, user):
        response = patch(
            api, user, {"op": "replace", "path": "displayName", "value": "X"}, query="?attributes=displayName"
        )
        assert response.body == {"schemas": [response.body["schemas"][0]], "id": user["id"], "displayName": "X"}

    def test_group_patch_answers_the_resource_without_members_when_asked_for_attributes(
        self, api, create_user, create_group
    ):
        a = create_user("a@example.com")["id"]
        group = create_group("G", [a])
        op = {"op": "replace", "path": "displayName", "value": "H"}
        body = patch(api, group, op, endpoint="Groups", query="?excludedAttributes=meta").body
        assert body["displayName"] == "H"
        assert "members" not in body
        body = patch(api, group, op, endpoint="Groups", query="?attributes=displayName,members").body
        assert [m["value"] for m in body["members"]] == [a]

    def test_no_content_is_a_setting(self, api, user, create_group):
        group = create_group("G")
        with override_settings(DRF_SCIM={"PATCH_NO_CONTENT": ["User"]}):
            patch(api, user, {"op": "replace", "path": "displayName", "value": "X"}, status=204)
            body = patch(api, group, {"op": "replace", "path": "displayName", "value": "Y"}, endpoint="Groups").body
        assert body["displayName"] == "Y"
        assert "members" not in body


class TestRFCExamples:
    def test_add_members(self, api, create_user, create_group):
        a = create_user("a@example.com")
        group = create_group("G")
        op = {
            "op": "add",
            "path": "members",
            "value": [{"display": "Babs Jensen", "$ref": a["meta"]["location"], "value": a["id"]}],
        }
        patch(api, group, op, endpoint="Groups", status=204)
        assert [m["value"] for m in read(api, group, "Groups")["members"]] == [a["id"]]

    def test_pathless_add_of_emails_and_nick_name(self, api, user):
        value = {"emails": [{"value": "babs@jensen.org", "type": "home"}], "nickName": "Babs"}
        body = patch(api, user, {"op": "add", "value": value}).body
        assert body["emails"] == [
            {"value": "bjensen@example.com", "type": "work", "primary": True},
            {"value": "babs@jensen.org", "type": "home"},
        ]
        assert body["nickName"] == "Babs"

    def test_add_does_not_duplicate_and_a_new_primary_clears_the_old(self, api, user):
        same = [{"value": "bjensen@example.com", "type": "work", "primary": True}]
        new = [{"value": "n@x.com", "primary": "True"}]
        body = patch(
            api, user, {"op": "add", "path": "emails", "value": same}, {"op": "add", "path": "emails", "value": new}
        ).body
        assert body["emails"] == [
            {"value": "bjensen@example.com", "type": "work"},
            {"value": "n@x.com", "primary": True},
        ]

    def test_two_primaries_in_one_value_list_are_invalid(self, api, user):
        value = [{"value": "a@x.com", "primary": True}, {"value": "b@x.com", "primary": True}]
        response = api.patch(f"{BASE}/Users/{user['id']}", patch_op({"op": "add", "path": "emails", "value": value}))
        assert response.status_code == 400
        assert response.body["scimType"] == "invalidValue"

    def test_setting_primary_on_a_filtered_value_moves_it(self, api, create_user):
        user = create_user(
            "u@example.com",
            emails=[{"value": "w@x.com", "type": "work", "primary": True}, {"value": "h@x.com", "type": "home"}],
        )
        op = {"op": "replace", "path": 'emails[type eq "home"].primary', "value": "True"}
        body = patch(api, user, op).body
        assert body["emails"] == [
            {"value": "w@x.com", "type": "work"},
            {"value": "h@x.com", "type": "home", "primary": True},
        ]

    def test_remove_by_value_list_matches_the_sub_attributes_given(self, api, create_user):
        user = create_user(
            "u@example.com",
            emails=[{"value": "B@X.com", "type": "work"}, {"value": "c@x.com", "type": "home"}],
            addresses=[{"type": "work", "locality": "Paris"}, {"type": "home", "locality": "Lyon"}],
        )
        body = patch(
            api,
            user,
            {"op": "remove", "path": "emails", "value": [{"value": "b@x.COM"}]},
            {"op": "remove", "path": "addresses", "value": [{"type": "home", "locality": "Lyon"}]},
        ).body
        assert body["emails"] == [{"value": "c@x.com", "type": "home"}]
        assert body["addresses"] == [{"type": "work", "locality": "Paris"}]

    def test_filtered_write_that_matches_nothing_needs_an_equality_filter(self, api, user):
        op = {"op": "replace", "path": 'emails[type ne "work"].value', "value": "x@x.com"}
        response = api.patch(f"{BASE}/Users/{user['id']}", patch_op(op))
        assert response.status_code == 400
        assert response.body["scimType"] == "noTarget"

    def test_remove_with_a_value_filter(self, api, create_user):
        user = create_user(
            "u@example.com", emails=[{"value": "a@x.com", "type": "work"}, {"value": "b@x.com", "type": "home"}]
        )
        body = patch(api, user, {"op": "remove", "path": 'emails[type eq "work" and value ew "x.com"]'}).body
        assert body["emails"] == [{"value": "b@x.com", "type": "home"}]

    def test_remove_a_single_valued_attribute_and_a_sub_attribute(self, api, user):
        body = patch(
            api,
            user,
            {"op": "remove", "path": "displayName"},
            {"op": "remove", "path": "name.givenName"},
        ).body
        assert "displayName" not in body
        assert body["name"] == {"familyName": "Jensen"}

    def test_only_the_attributes_the_operations_change_are_validated_and_written(self, api, user):
        # Stored under older rules: two primary emails, and a number where a string is expected.
        stored = {
            "emails": [{"value": "a@x.com", "primary": True}, {"value": "b@x.com", "primary": True}],
            "userType": 42,
        }
        SCIMUser.objects.filter(scim_id=user["id"]).update(data=stored)
        body = patch(api, user, {"op": "replace", "path": "active", "value": False}).body
        assert body["active"] is False
        data = SCIMUser.objects.get(scim_id=user["id"]).data
        assert (data["emails"], data["userType"]) == (stored["emails"], 42)  # not revalidated, not rewritten
        response = patch(api, user, {"op": "add", "path": "emails", "value": [{"value": "c@x.com"}]}, status=400)
        assert response.body["scimType"] == "invalidValue"  # the attribute it changes is validated whole
        assert "primary" in response.body["detail"]

    def test_replace_a_filtered_value(self, api, create_user):
        user = create_user("u@example.com", addresses=[{"type": "work", "streetAddress": "1 Old St", "locality": "A"}])
        value = {"type": "work", "streetAddress": "911 Universal City Plaza", "locality": "Hollywood", "primary": True}
        body = patch(api, user, {"op": "replace", "path": 'addresses[type eq "work"]', "value": value}).body
        assert body["addresses"] == [value]

    def test_replace_a_complex_attribute_keeps_sub_attributes_not_given(self, api, user):
        body = patch(api, user, {"op": "replace", "path": "name", "value": {"givenName": "Barb"}}).body
        assert body["name"] == {"givenName": "Barb", "familyName": "Jensen"}

    def test_replace_a_multi_valued_attribute(self, api, user):
        body = patch(api, user, {"op": "replace", "path": "emails", "value": [{"value": "only@x.com"}]}).body
        assert body["emails"] == [{"value": "only@x.com"}]

    def test_password_can_be_changed_and_is_not_returned(self, api, user):
        from django.contrib.auth import get_user_model

        body = patch(api, user, {"op": "replace", "path": "password", "value": "n3w-secret"}).body
        assert "password" not in body
        assert get_user_model().objects.get(username="bjensen@example.com").check_password("n3w-secret")


class TestErrors:
    @pytest.mark.parametrize(
        ("body", "scim_type"),
        [
            ({"schemas": [PATCH_OP_SCHEMA]}, "invalidSyntax"),
            ({"schemas": [PATCH_OP_SCHEMA], "Operations": []}, "invalidSyntax"),
            ({"schemas": ["urn:wrong"], "Operations": [{"op": "add", "value": {}}]}, "invalidSyntax"),
            (patch_op({"op": "merge", "path": "title", "value": "x"}), "invalidSyntax"),
            (patch_op("not an object"), "invalidSyntax"),
            (patch_op({"op": "add", "path": "title"}), "invalidValue"),
            (patch_op({"op": "replace", "path": 'emails[type eq "work"', "value": "x"}), "invalidPath"),
            (patch_op({"op": "replace", "path": "nope", "value": "x"}), "invalidPath"),
            (patch_op({"op": "replace", "path": "name.nope", "value": "x"}), "invalidPath"),
            (patch_op({"op": "replace", "path": "urn:nope:x", "value": "x"}), "invalidPath"),
            (patch_op({"op": "replace", "path": 'title[value eq "x"]', "value": "x"}), "invalidPath"),
            (patch_op({"op": "remove"}), "noTarget"),
            (patch_op({"op": "replace", "path": "id", "value": str(uuid.uuid4())}), "mutability"),
            (patch_op({"op": "add", "path": "groups", "value": [{"value": "x"}]}), "mutability"),
            (patch_op({"op": "replace", "value": "not an object"}), "invalidValue"),
            (patch_op({"op": "remove", "path": "userName"}), "invalidValue"),
        ],
    )
    def test_errors_carry_the_rfc_scim_type(self, api, user, body, scim_type):
        response = api.patch(f"{BASE}/Users/{user['id']}", body)
        assert response.status_code == 400, response.body
        assert response.body["scimType"] == scim_type
        assert read(api, user)["meta"]["version"] == 'W/"1"'

    def test_failing_operation_is_named_and_nothing_is_applied(self, api, user):
        response = api.patch(
            f"{BASE}/Users/{user['id']}",
            patch_op(
                {"op": "replace", "path": "displayName", "value": "Changed"},
                {"op": "replace", "path": "active", "value": "perhaps"},
            ),
        )
        assert response.status_code == 400
        assert response.body["scimType"] == "invalidValue"
        assert "Operations[1] (replace 'active')" in response.body["detail"]
        assert read(api, user)["displayName"] == "Babs"

    def test_uniqueness_conflict(self, api, user, create_user):
        other = create_user("other@example.com")
        response = api.patch(
            f"{BASE}/Users/{other['id']}",
            patch_op({"op": "replace", "path": "userName", "value": "BJENSEN@example.com"}),
        )
        assert response.status_code == 409
        assert response.body["scimType"] == "uniqueness"

    def test_immutable_attribute(self, api):
        with override_settings(DRF_SCIM={"USER_SERIALIZER": "tests.testapp.serializers.BadgeUserSerializer"}):
            created = api.post(f"{BASE}/Users", {"userName": "b", "badgeNumber": "1"}).body
            response = api.patch(
                f"{BASE}/Users/{created['id']}", patch_op({"op": "replace", "path": "badgeNumber", "value": "2"})
            )
        assert response.status_code == 400
        assert response.body["scimType"] == "mutability"

    def test_unknown_id_is_404(self, api):
        response = api.patch(f"{BASE}/Users/{uuid.uuid4()}", patch_op({"op": "remove", "path": "title"}))
        assert response.status_code == 404

    def test_patch_needs_the_write_scope(self, anon, make_token, user):
        anon.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token('scim:read')}")
        response = anon.patch(f"{BASE}/Users/{user['id']}", patch_op({"op": "remove", "path": "title"}))
        assert response.status_code == 403


def test_membership_changes_on_a_large_group_cost_a_fixed_number_of_queries(api, django_assert_num_queries):
    call_command("scim_seed", users=3000, groups=1, big_group=2500, stdout=open("/dev/null", "w"))  # noqa: SIM115
    if connection.vendor == "postgresql":
        # Statistics, as a directory of this size has: on tables never analysed, PostgreSQL may plan the
        # DELETE of members[value eq "..."] (a semi-join through the SCIM rows) as a nested loop over the
        # group's 2,500 memberships for each of them, which ran for minutes.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    users = api.get(f"{BASE}/Users?startIndex=2990&count=5&attributes=userName").body["Resources"]
    groups = {g["displayName"]: g for g in api.get(f"{BASE}/Groups?excludedAttributes=members").body["Resources"]}
    small, big = groups["group1"], groups["big"]
    assert Group.objects.get(name="big").user_set.count() == 2500

    def change(group, *operations):
        return api.patch(f"{BASE}/Groups/{group['id']}", patch_op(*operations))

    one = {"op": "add", "path": "members", "value": [{"value": users[0]["id"]}]}
    three = {"op": "add", "path": "members", "value": [{"value": u["id"]} for u in users[1:4]]}
    # token, group, savepoint, resolve, 2 updates, insert, the audit row and the outbox event, release
    with django_assert_num_queries(8 + audit_statements()) as small_queries:
        assert change(small, one).status_code == 204
    with django_assert_num_queries(len(small_queries.captured_queries)):
        assert change(big, one).status_code == 204
    with django_assert_num_queries(len(small_queries.captured_queries)):
        assert change(big, three).status_code == 204
    remove = {"op": "remove", "path": f'members[value eq "{users[0]["id"]}"]'}
    # token, group, savepoint, 2 updates, delete, the audit row and the outbox event, release
    with django_assert_num_queries(7 + audit_statements()):
        assert change(big, remove).status_code == 204
    assert Group.objects.get(name="big").user_set.count() == 2503


@pytest.mark.django_db
def test_deactivating_a_user_reads_its_groups_with_the_locked_row(
    api, create_user, create_group, django_assert_num_queries
):
    user = create_user()
    create_group("Guides", members=[user["id"]])
    body = {"schemas": [PATCH_OP_SCHEMA], "Operations": [{"op": "replace", "path": "active", "value": False}]}
    # token, savepoint, the locked row (with the groups the response shows), the user, its SCIM row, the audit
    # row and the outbox event, release
    with django_assert_num_queries(6 + audit_statements()):
        response = api.patch(f"{BASE}/Users/{user['id']}", body)
    assert response.status_code == 200, response.body
    assert response.body["active"] is False
    assert [group["display"] for group in response.body["groups"]] == ["Guides"]


@override_settings(DRF_SCIM={"ADOPTION_TENANT": "drf_scim.adoption.no_tenant"})
def test_patching_a_user_in_groups_scim_does_not_serve_shows_only_its_scim_groups_in_fixed_queries(
    api, create_user, create_group, django_assert_max_num_queries
):
    user = create_user()
    create_group("Scim group", [user["id"]])
    django_user = get_user_model().objects.get(username="bjensen@example.com")
    for n in range(5):
        django_user.groups.add(Group.objects.create(name=f"local-{n}"))
    with django_assert_max_num_queries(9):
        response = api.patch(f"{BASE}/Users/{user['id']}", patch_op({"op": "replace", "path": "title", "value": "x"}))
    assert response.status_code == 200, response.body
    assert [g["display"] for g in response.body["groups"]] == ["Scim group"]


def test_a_patch_value_nested_hundreds_of_lists_deep_is_a_400(api, create_user):
    user = create_user()
    value: object = {"value": "x"}
    for _ in range(600):
        value = [value]
    response = api.patch(f"{BASE}/Users/{user['id']}", patch_op({"op": "add", "path": "emails", "value": value}))
    assert response.status_code == 400
