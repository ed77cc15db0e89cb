"""The /Groups endpoint and membership."""

from __future__ import annotations

import uuid
from urllib.parse import quote

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import override_settings

from drf_scim.constants import GROUP_SCHEMA
from tests.helpers import BASE, audit_statements, group_body, patch_body

ENTRA_GROUP_SCHEMA = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"


@pytest.mark.django_db
class TestCreate:
    def test_group_with_members(self, api, create_user):
        babs = create_user("bjensen@example.com", displayName="Babs Jensen")
        mandy = create_user("mpepper@example.com")
        response = api.post(f"{BASE}/Groups", group_body("Tour Guides", [babs["id"], mandy["id"]], externalId="g-1"))

        assert response.status_code == 201, response.body
        body = response.body
        assert body["schemas"] == [GROUP_SCHEMA]
        assert body["displayName"] == "Tour Guides"
        assert body["externalId"] == "g-1"
        assert body["members"] == [
            {"value": babs["id"], "type": "User", "$ref": f"http://testserver{BASE}/Users/{babs['id']}"},
            {"value": mandy["id"], "type": "User", "$ref": f"http://testserver{BASE}/Users/{mandy['id']}"},
        ]
        assert response["Location"] == body["meta"]["location"] == f"http://testserver{BASE}/Groups/{body['id']}"
        assert body["meta"]["resourceType"] == "Group"
        assert api.get(f"{BASE}/Groups/{body['id']}").body == body

        groups = api.get(f"{BASE}/Users/{babs['id']}").body["groups"]
        assert groups == [
            {
                "value": body["id"],
                "display": "Tour Guides",
                "type": "direct",
                "$ref": f"http://testserver{BASE}/Groups/{body['id']}",
            }
        ]
        assert set(Group.objects.get(name="Tour Guides").user_set.values_list("username", flat=True)) == {
            "bjensen@example.com",
            "mpepper@example.com",
        }

    def test_entra_group_without_members_answers_empty_members(self, api):
        body = {
            "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
            "displayName": "Group1",
            "meta": {"resourceType": "Group"},
            "schemas": [ENTRA_GROUP_SCHEMA, GROUP_SCHEMA],
        }
        response = api.post(f"{BASE}/Groups", body)
        assert response.status_code == 201, response.body
        assert response.body["members"] == []
        assert response.body["schemas"] == [GROUP_SCHEMA]

    def test_okta_group_push_with_display_and_null_ref(self, api, create_user):
        user = create_user()
        members = [{"value": user["id"], "display": "whatever Okta says", "$ref": None}]
        response = api.post(f"{BASE}/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Push", "members": members})
        assert response.status_code == 201, response.body
        assert [m["value"] for m in response.body["members"]] == [user["id"]]
        assert "display" not in response.body["members"][0]  # not part of the Group schema

    def test_duplicate_members_are_stored_once(self, api, create_user):
        user = create_user()
        response = api.post(f"{BASE}/Groups", group_body("G", [user["id"], user["id"]]))
        assert response.status_code == 201
        assert len(response.body["members"]) == 1

    def test_unknown_member_is_rejected_and_nothing_is_created(self, api, create_user):
        user = create_user()
        missing = str(uuid.uuid4())
        response = api.post(f"{BASE}/Groups", group_body("G", [user["id"], missing, "garbage"]))
        assert response.status_code == 400
        assert response.body["scimType"] == "invalidValue"
        assert missing in response.body["detail"]
        assert "garbage" in response.body["detail"]
        assert not Group.objects.exists()

    def test_members_must_have_a_value(self, api):
        response = api.post(f"{BASE}/Groups", {"displayName": "G", "members": [{"display": "x"}]})
        assert response.status_code == 400
        assert response.body["scimType"] == "invalidValue"
        assert "members" in response.body["detail"]

    def test_missing_display_name(self, api):
        response = api.post(f"{BASE}/Groups", {"schemas": [GROUP_SCHEMA], "members": []})
        assert response.status_code == 400
        assert response.body["scimType"] == "invalidValue"
        assert "displayName" in response.body["detail"]

    def test_duplicate_display_name_is_a_conflict(self, api, create_group):
        create_group("Tour Guides")
        response = api.post(f"{BASE}/Groups", group_body("Tour Guides"))
        assert response.status_code == 409
        assert response.body["scimType"] == "uniqueness"
        assert Group.objects.count() == 1


@pytest.mark.django_db
class TestReplaceAndDelete:
    def test_put_replaces_members(self, api, create_user, create_group):
        a, b, c = (create_user(f"{name}@example.com")["id"] for name in "abc")
        group = create_group("G", [a, b])
        response = api.put(f"{BASE}/Groups/{group['id']}", group_body("Renamed", [b, c]))
        assert response.status_code == 200, response.body
        assert [m["value"] for m in response.body["members"]] == [b, c]
        assert response.body["displayName"] == "Renamed"
        assert response.body["meta"]["version"] == 'W/"2"'
        assert api.get(f"{BASE}/Users/{a}").body["groups"] == []

    def test_put_with_empty_members_empties_the_group(self, api, create_user, create_group):
        group = create_group("G", [create_user()["id"]])
        response = api.put(f"{BASE}/Groups/{group['id']}", group_body("G", []))
        assert response.status_code == 200
        assert response.body["members"] == []

    def test_put_with_unknown_member_changes_nothing(self, api, create_user, create_group):
        member = create_user()["id"]
        group = create_group("G", [member])
        response = api.put(f"{BASE}/Groups/{group['id']}", group_body("Other", [str(uuid.uuid4())]))
        assert response.status_code == 400
        body = api.get(f"{BASE}/Groups/{group['id']}").body
        assert body["displayName"] == "G"
        assert [m["value"] for m in body["members"]] == [member]

    def test_delete_group_keeps_its_users(self, api, create_user, create_group):
        user = create_user()
        group = create_group("G", [user["id"]])
        assert api.delete(f"{BASE}/Groups/{group['id']}").status_code == 204
        assert api.get(f"{BASE}/Groups/{group['id']}").status_code == 404
        assert api.get(f"{BASE}/Users/{user['id']}").body["groups"] == []

    def test_deleting_a_user_removes_it_from_groups(self, api, create_user, create_group):
        user = create_user()
        group = create_group("G", [user["id"]])
        assert api.delete(f"{BASE}/Users/{user['id']}").status_code == 204
        assert api.get(f"{BASE}/Groups/{group['id']}").body["members"] == []


@pytest.mark.django_db
def test_list_of_groups_costs_a_fixed_number_of_queries(api, create_user, create_group, django_assert_num_queries):
    users = [create_user(f"user{n}@example.com")["id"] for n in range(10)]
    for n in range(8):
        create_group(f"group{n}", users[n:])

    # token, COUNT, page of groups (each with its members)
    with django_assert_num_queries(3):
        small = api.get(f"{BASE}/Groups?count=1")
    with django_assert_num_queries(3):
        large = api.get(f"{BASE}/Groups?count=100")
    assert small.body["itemsPerPage"] == 1
    assert len(small.body["Resources"][0]["members"]) == 10
    assert [len(group["members"]) for group in large.body["Resources"]] == [10, 9, 8, 7, 6, 5, 4, 3]


@pytest.mark.django_db
def test_create_group_with_members_costs_a_fixed_number_of_queries(api, create_user, django_assert_num_queries):
    few = [create_user(f"few{n}@example.com")["id"] for n in range(2)]
    many = [create_user(f"many{n}@example.com")["id"] for n in range(30)]
    with django_assert_num_queries(9 + audit_statements()) as few_queries:  # and the audit row and outbox event
        assert api.post(f"{BASE}/Groups", group_body("few", few)).status_code == 201
    with django_assert_num_queries(len(few_queries.captured_queries)):
        assert api.post(f"{BASE}/Groups", group_body("many", many)).status_code == 201


@pytest.mark.django_db
def test_creating_a_group_without_members_reads_no_members_back(api, django_assert_num_queries):
    # The token, a savepoint, the group, its SCIM row, its members (none to replace), the audit row and event,
    # the savepoint's release; the members are not read back.
    with django_assert_num_queries(6 + audit_statements()):
        response = api.post(f"{BASE}/Groups", group_body("Empty"))
    assert response.status_code == 201
    assert response.body["members"] == []


@pytest.mark.django_db
def test_removing_members_with_an_empty_list_removes_no_member(api, create_user, create_group):
    group = create_group("G", [create_user()["id"]])
    response = api.patch(f"{BASE}/Groups/{group['id']}", patch_body({"op": "remove", "path": "members", "value": []}))
    assert response.status_code == 204
    assert len(api.get(f"{BASE}/Groups/{group['id']}").body["members"]) == 1


@pytest.mark.django_db
def test_many_member_operations_in_one_patch_cost_a_fixed_number_of_queries(
    api, create_user, create_group, django_assert_max_num_queries
):
    ids = [create_user(f"u{n}@example.com")["id"] for n in range(30)]
    group = create_group("G")
    operations = [{"op": "add", "path": "members", "value": [{"value": member}]} for member in ids]
    operations += [{"op": "remove", "path": "members", "value": [{"value": member}]} for member in ids[:10]]
    with django_assert_max_num_queries(9 + audit_statements()):
        assert api.patch(f"{BASE}/Groups/{group['id']}", patch_body(*operations)).status_code == 204
    assert len(api.get(f"{BASE}/Groups/{group['id']}").body["members"]) == 20


@pytest.mark.django_db
@override_settings(DRF_SCIM={"ADOPTION_TENANT": "drf_scim.adoption.no_tenant"})
def test_replacing_members_keeps_the_memberships_of_users_scim_does_not_serve(api, create_user, create_group):
    member = create_user()["id"]
    group = create_group("G", [member])
    local = get_user_model().objects.create(username="local-admin")
    local.groups.add(Group.objects.get(name="G"))
    response = api.patch(f"{BASE}/Groups/{group['id']}", patch_body({"op": "replace", "path": "members", "value": []}))
    assert response.status_code == 204
    assert list(Group.objects.get(name="G").user_set.values_list("username", flat=True)) == ["local-admin"]


@pytest.mark.django_db
def test_group_display_names_are_unique_ignoring_case(api, create_group):
    create_group("G2")
    other = create_group("Other")
    response = api.patch(
        f"{BASE}/Groups/{other['id']}", patch_body({"op": "replace", "path": "displayName", "value": "g2"})
    )
    assert response.status_code == 409
    assert response.body["scimType"] == "uniqueness"
    assert api.post(f"{BASE}/Groups", {"displayName": "g2"}).status_code == 409
    body = api.get(f"{BASE}/Groups?filter=" + quote('displayName eq "g2"')).body
    assert [g["displayName"] for g in body["Resources"]] == ["G2"]
