"""The /Users endpoint: create, read, replace and delete, as identity providers call it."""

from __future__ import annotations

import datetime
import re
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, connection, transaction
from django.db.models.signals import post_save
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from drf_scim.constants import ENTERPRISE_USER_SCHEMA, ERROR_SCHEMA, USER_SCHEMA
from drf_scim.models import SCIMUser
from drf_scim.signals import user_provisioned
from tests.helpers import BASE, audit_statements, patch_body, user_body

User = get_user_model()

FULL_USER = {
    "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
    "externalId": "701984",
    "userName": "bjensen@example.com",
    "name": {
        "formatted": "Ms. Barbara J Jensen, III",
        "familyName": "Jensen",
        "givenName": "Barbara",
        "middleName": "Jane",
        "honorificPrefix": "Ms.",
        "honorificSuffix": "III",
    },
    "displayName": "Babs Jensen",
    "nickName": "Babs",
    "profileUrl": "https://login.example.com/bjensen",
    "title": "Tour Guide",
    "userType": "Employee",
    "preferredLanguage": "en-US",
    "locale": "en-US",
    "timezone": "America/Los_Angeles",
    "active": True,
    "emails": [
        {"value": "bjensen@example.com", "type": "work", "primary": True},
        {"value": "babs@jensen.org", "type": "home", "display": "Babs at home"},
    ],
    "phoneNumbers": [{"value": "555-555-5555", "type": "work"}, {"value": "555-555-4444", "type": "mobile"}],
    "ims": [{"value": "someaimhandle", "type": "aim"}],
    "photos": [{"value": "https://photos.example.com/profilephoto/72930000000Ccne/F", "type": "photo"}],
    "addresses": [
        {
            "type": "work",
            "streetAddress": "100 Universal City Plaza",
            "locality": "Hollywood",
            "region": "CA",
            "postalCode": "91608",
            "country": "USA",
            "formatted": "100 Universal City Plaza\nHollywood, CA 91608 USA",
            "primary": True,
        }
    ],
    "entitlements": [{"value": "Full Access", "primary": True}],
    "roles": [{"value": '{"id": "r1", "name": "Admin"}', "type": "app"}],
    "x509Certificates": [{"value": "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAwTjELMAkGA1UEBhMCVVMx"}],
    ENTERPRISE_USER_SCHEMA: {
        "employeeNumber": "701984",
        "costCenter": "4130",
        "organization": "Universal Studios",
        "division": "Theme Park",
        "department": "Tour Operations",
    },
}

WRITTEN_ONLY = {"password"}


def without_server_fields(body):
    return {key: value for key, value in body.items() if key not in {"id", "meta", "groups"}}


@pytest.mark.django_db
class TestCreate:
    def test_every_attribute_round_trips(self, api):
        response = api.post(f"{BASE}/Users", {**FULL_USER, "password": "t1meMa$heen"})

        assert response.status_code == 201, response.body
        assert response["Content-Type"] == "application/scim+json"
        body = response.body
        assert without_server_fields(body) == FULL_USER
        assert "password" not in body
        assert body["groups"] == []
        assert response["Location"] == body["meta"]["location"]
        assert body["meta"]["location"] == f"http://testserver{BASE}/Users/{body['id']}"
        assert body["meta"]["resourceType"] == "User"
        assert body["meta"]["version"] == 'W/"1"'
        assert response["ETag"] == 'W/"1"'

        fetched = api.get(f"{BASE}/Users/{body['id']}")
        assert fetched.status_code == 200
        assert fetched.body == body

    def test_id_is_an_opaque_uuid_not_the_primary_key(self, create_user):
        body = create_user()
        user = User.objects.get(username="bjensen@example.com")
        assert str(uuid.UUID(body["id"])) == body["id"]
        assert body["id"] != str(user.pk)

    def test_password_is_hashed_and_never_returned(self, api):
        response = api.post(f"{BASE}/Users", user_body(password="t1meMa$heen"))
        assert response.status_code == 201
        assert "password" not in response.content.decode()
        user = User.objects.get(username="bjensen@example.com")
        assert user.password != "t1meMa$heen"
        assert user.check_password("t1meMa$heen")

    def test_without_password_the_user_cannot_sign_in_with_one(self, create_user):
        create_user()
        assert not User.objects.get(username="bjensen@example.com").has_usable_password()

    def test_columns_of_the_stock_user_model_are_filled(self, create_user):
        create_user(name={"givenName": "Barbara", "familyName": "Jensen"}, active=False)
        user = User.objects.get(username="bjensen@example.com")
        assert (user.first_name, user.last_name, user.email, user.is_active) == (
            "Barbara",
            "Jensen",
            "bjensen@example.com",
            False,
        )

    def test_entra_request_shape(self, api):
        body = {
            "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
            "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
            "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1",
            "active": "True",
            "addresses": None,
            "displayName": "Test_User_dfeef4c5-5681-4387-b016-bdf221e82081",
            "emails": [{"primary": True, "type": "work", "value": "Test_User_fd0ea19b@testuser.com"}],
            "meta": {"resourceType": "User"},
            "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
            "phoneNumbers": None,
            "preferredLanguage": None,
            "roles": [],
            "title": None,
            ENTERPRISE_USER_SCHEMA: {"department": None, "manager": None},
        }
        response = api.post(f"{BASE}/Users", body)

        assert response.status_code == 201, response.body
        created = response.body
        assert created["active"] is True
        assert created["schemas"] == [USER_SCHEMA]
        for absent in ("addresses", "phoneNumbers", "preferredLanguage", "roles", "title", ENTERPRISE_USER_SCHEMA):
            assert absent not in created
        assert created["name"] == body["name"]

    def test_okta_request_shape_with_plain_json(self, api):
        body = {
            "schemas": [USER_SCHEMA],
            "userName": "isabelle.ada@example.com",
            "name": {"givenName": "Isabelle", "familyName": "Ada"},
            "emails": [{"primary": True, "value": "isabelle.ada@example.com", "type": "work"}],
            "displayName": "Isabelle Ada",
            "locale": "en-US",
            "externalId": "00ujl29u0le5T6Aj10h7",
            "groups": [],
            "password": "1mz050nq",
            "active": True,
        }
        response = api.post(f"{BASE}/Users", body, content_type="application/json")
        assert response.status_code == 201, response.body
        assert response.body["locale"] == "en-US"
        assert response.body["externalId"] == "00ujl29u0le5T6Aj10h7"

    def test_onelogin_single_email_object_becomes_a_list(self, api):
        response = api.post(f"{BASE}/Users", user_body(emails={"value": "b@example.com", "type": "work"}))
        assert response.status_code == 201, response.body
        assert response.body["emails"] == [{"value": "b@example.com", "type": "work"}]

    def test_attribute_names_ignore_case_and_may_be_qualified(self, api):
        body = {
            "schemas": [USER_SCHEMA],
            "USERNAME": "case@example.com",
            "Name": {"GivenName": "Case"},
            f"{USER_SCHEMA}:displayName": "Qualified",
            "Emails": [{"Value": "case@example.com", "Primary": True}],
        }
        response = api.post(f"{BASE}/Users", body)
        assert response.status_code == 201, response.body
        assert response.body["userName"] == "case@example.com"
        assert response.body["name"] == {"givenName": "Case"}
        assert response.body["displayName"] == "Qualified"
        assert response.body["emails"] == [{"value": "case@example.com", "primary": True}]

    def test_unknown_attributes_and_schemas_are_ignored(self, api):
        body = user_body(
            schemas=[USER_SCHEMA, "urn:example:unknown"],
            favouriteColour="blue",
            **{"urn:example:unknown": {"x": 1}},
        )
        response = api.post(f"{BASE}/Users", body)
        assert response.status_code == 201, response.body
        assert "favouriteColour" not in response.body
        assert response.body["schemas"] == [USER_SCHEMA]

    def test_read_only_attributes_in_input_are_ignored(self, api):
        forged = str(uuid.uuid4())
        body = user_body(
            id=forged,
            meta={"created": "2000-01-01T00:00:00Z", "version": 'W/"99"'},
            groups=[{"value": forged}],
        )
        response = api.post(f"{BASE}/Users", body)
        assert response.status_code == 201, response.body
        assert response.body["id"] != forged
        assert response.body["meta"]["version"] == 'W/"1"'
        assert response.body["groups"] == []

    def test_strings_are_stored_exactly_as_sent(self, create_user):
        body = create_user(displayName="  spaced  ", nickName="Ünïcödé ✓")
        assert body["displayName"] == "  spaced  "
        assert body["nickName"] == "Ünïcödé ✓"

    def test_manager_is_a_reference_to_another_user(self, api, create_user):
        boss = create_user("boss@example.com", displayName="The Boss")
        body = create_user("worker@example.com", **{ENTERPRISE_USER_SCHEMA: {"manager": {"value": boss["id"]}}})
        assert body[ENTERPRISE_USER_SCHEMA]["manager"] == {
            "value": boss["id"],
            "$ref": f"http://testserver{BASE}/Users/{boss['id']}",
        }
        assert body["schemas"] == [USER_SCHEMA, ENTERPRISE_USER_SCHEMA]
        # displayName is returned=request: present when asked for by name
        path = f"{ENTERPRISE_USER_SCHEMA}:manager.displayName"
        asked = api.get(f"{BASE}/Users/{body['id']}?attributes={path},userName").body
        assert asked[ENTERPRISE_USER_SCHEMA] == {"manager": {"displayName": "The Boss"}}

    def test_a_users_manager_is_read_for_the_columns_its_reference_shows_in_the_users_one_query(self, api, create_user):
        boss = create_user("boss@example.com", displayName="The Boss")
        body = create_user("worker@example.com", **{ENTERPRISE_USER_SCHEMA: {"manager": {"value": boss["id"]}}})
        reference = {"value": boss["id"], "$ref": f"http://testserver{BASE}/Users/{boss['id']}"}
        display_name = f"?attributes={ENTERPRISE_USER_SCHEMA}:manager.displayName"
        for query, shown, columns in (
            ("", reference, {"id", "scim_id", "tenant"}),
            (display_name, {"displayName": "The Boss"}, {"id", "scim_id", "tenant", "data", "user_id"}),
        ):
            with CaptureQueriesContext(connection) as queries:
                response = api.get(f"{BASE}/Users/{body['id']}{query}")
            assert response.body[ENTERPRISE_USER_SCHEMA]["manager"] == shown
            [sql] = [query["sql"] for query in queries.captured_queries if "drf_scim_scimuser" in query["sql"]]
            alias = re.search(r'LEFT OUTER JOIN "drf_scim_scimuser" (\w+) ON', sql)[1]
            assert set(re.findall(rf'\b{alias}\."(\w+)"', sql.split(' FROM "auth_user" ')[0])) == columns

    def test_a_patch_answering_the_managers_display_name_costs_no_more_queries(self, api, create_user):
        boss = create_user("boss@example.com", displayName="The Boss")
        body = create_user("worker@example.com", **{ENTERPRISE_USER_SCHEMA: {"manager": {"value": boss["id"]}}})
        patch = patch_body({"op": "replace", "path": "title", "value": "Clerk"})
        counts = []
        for query in ("", f"?attributes={ENTERPRISE_USER_SCHEMA}:manager.displayName,title"):
            with CaptureQueriesContext(connection) as queries:
                response = api.patch(f"{BASE}/Users/{body['id']}{query}", patch)
            assert response.status_code == 200, response.body
            counts.append(len(queries))
        assert response.body[ENTERPRISE_USER_SCHEMA]["manager"] == {"displayName": "The Boss"}
        assert response.body["title"] == "Clerk"
        assert counts[0] == counts[1], counts

    @pytest.mark.parametrize("shape", ["string", "list"])
    def test_manager_as_bare_id_or_list(self, create_user, shape):
        boss = create_user("boss@example.com")
        value = boss["id"] if shape == "string" else [{"value": boss["id"], "$ref": None}]
        body = create_user("worker@example.com", **{ENTERPRISE_USER_SCHEMA: {"manager": value}})
        assert body[ENTERPRISE_USER_SCHEMA]["manager"]["value"] == boss["id"]
        assert set(body[ENTERPRISE_USER_SCHEMA]["manager"]) == {"value", "$ref"}


@pytest.mark.django_db
class TestCreateErrors:
    def test_missing_user_name(self, api):
        body = user_body()
        del body["userName"]
        response = api.post(f"{BASE}/Users", body)
        assert response.status_code == 400
        assert response.body["schemas"] == [ERROR_SCHEMA]
        assert response.body["status"] == "400"
        assert response.body["scimType"] == "invalidValue"
        assert "userName" in response.body["detail"]
        assert not User.objects.exists()

    @pytest.mark.parametrize(
        ("attribute", "value"),
        [
            ("userName", ""),
            ("userName", None),
            ("userName", 123),
            ("displayName", ["a"]),
            ("active", "maybe"),
            ("active", 1),
            ("emails", "not-a-list"),
            ("name", "Barbara"),
            ("x509Certificates", [{"value": "not base64!"}]),
            ("emails", [{"value": "a@example.com", "primary": True}, {"value": "b@example.com", "primary": True}]),
            (ENTERPRISE_USER_SCHEMA, {"manager": {"value": str(uuid.uuid4())}}),
            (ENTERPRISE_USER_SCHEMA, "not an object"),
        ],
    )
    def test_invalid_values(self, api, attribute, value):
        response = api.post(f"{BASE}/Users", {**user_body(), attribute: value})
        assert response.status_code == 400, response.body
        assert response.body["scimType"] == "invalidValue"
        assert attribute in response.body["detail"]
        assert not User.objects.exists()

    def test_user_name_longer_than_the_column(self, api):
        response = api.post(f"{BASE}/Users", user_body("x" * 151))
        assert response.status_code == 400
        assert response.body["scimType"] == "invalidValue"

    @pytest.mark.parametrize("other", ["bjensen@example.com", "BJensen@Example.COM"])
    def test_duplicate_user_name_ignoring_case_is_a_conflict(self, api, create_user, other):
        create_user("bjensen@example.com")
        response = api.post(f"{BASE}/Users", user_body(other))
        assert response.status_code == 409
        assert response.body["scimType"] == "uniqueness"
        assert response.body["status"] == "409"
        assert other in response.body["detail"]
        assert "IntegrityError" not in response.body["detail"]
        assert "UNIQUE" not in response.body["detail"].upper()
        assert User.objects.count() == 1

    def test_uniqueness_is_a_database_constraint(self, create_user):
        create_user("bjensen@example.com")
        other = User.objects.create(username="other")
        with pytest.raises(IntegrityError), transaction.atomic():
            SCIMUser.objects.create(user=other, user_name_key="bjensen@example.com")


@pytest.mark.django_db
class TestReplace:
    def test_put_replaces_every_writable_attribute(self, api):
        created = api.post(f"{BASE}/Users", {**FULL_USER, "password": "secret-1"}).body
        replacement = user_body("bjensen@example.com", displayName="Barbara", externalId="701984")
        response = api.put(f"{BASE}/Users/{created['id']}", replacement)

        assert response.status_code == 200, response.body
        body = response.body
        assert without_server_fields(body) == {
            "schemas": [USER_SCHEMA],
            "externalId": "701984",
            "userName": "bjensen@example.com",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "displayName": "Barbara",
            "active": True,
            "emails": [{"value": "bjensen@example.com", "type": "work", "primary": True}],
        }
        assert body["id"] == created["id"]
        assert body["meta"]["created"] == created["meta"]["created"]
        assert body["meta"]["version"] == 'W/"2"'
        assert response["ETag"] == 'W/"2"'
        assert api.get(f"{BASE}/Users/{created['id']}").body == body
        # The password is kept when a replace does not send one.
        assert User.objects.get(username="bjensen@example.com").check_password("secret-1")

    def test_okta_put_of_the_whole_user_read_back(self, api, create_user):
        created = create_user(password="secret-1", displayName="Before")
        fetched = api.get(f"{BASE}/Users/{created['id']}").body
        response = api.put(
            f"{BASE}/Users/{created['id']}", {**fetched, "displayName": "After", "password": "secret-2", "groups": []}
        )
        assert response.status_code == 200, response.body
        assert response.body["displayName"] == "After"
        assert User.objects.get(username="bjensen@example.com").check_password("secret-2")

    def test_put_can_rename_and_conflicts_are_409(self, api, create_user):
        create_user("taken@example.com")
        user = create_user("bjensen@example.com")
        renamed = api.put(f"{BASE}/Users/{user['id']}", user_body("babs@example.com"))
        assert renamed.status_code == 200
        assert renamed.body["userName"] == "babs@example.com"

        conflict = api.put(f"{BASE}/Users/{user['id']}", user_body("TAKEN@example.com"))
        assert conflict.status_code == 409
        assert conflict.body["scimType"] == "uniqueness"
        assert api.get(f"{BASE}/Users/{user['id']}").body["userName"] == "babs@example.com"

    def test_changing_case_of_own_user_name_is_allowed(self, api, create_user):
        user = create_user("bjensen@example.com")
        response = api.put(f"{BASE}/Users/{user['id']}", user_body("BJensen@example.com"))
        assert response.status_code == 200
        assert response.body["userName"] == "BJensen@example.com"

    def test_invalid_put_changes_nothing(self, api, create_user):
        user = create_user(displayName="Keep me")
        response = api.put(f"{BASE}/Users/{user['id']}", {**user_body(), "displayName": "New", "active": "perhaps"})
        assert response.status_code == 400
        assert api.get(f"{BASE}/Users/{user['id']}").body == api.get(f"{BASE}/Users/{user['id']}").body
        assert api.get(f"{BASE}/Users/{user['id']}").body["displayName"] == "Keep me"

    def test_put_to_unknown_id_is_404(self, api):
        response = api.put(f"{BASE}/Users/{uuid.uuid4()}", user_body())
        assert response.status_code == 404
        assert response.body["schemas"] == [ERROR_SCHEMA]


@pytest.mark.django_db
class TestDelete:
    def test_delete_then_404_everywhere(self, api, create_user):
        user = create_user()
        response = api.delete(f"{BASE}/Users/{user['id']}")
        assert response.status_code == 204
        assert response.content == b""
        assert not User.objects.exists()
        for method in ("get", "put", "delete"):
            again = getattr(api, method)(f"{BASE}/Users/{user['id']}", user_body() if method == "put" else None)
            assert again.status_code == 404, method
            assert again.body["status"] == "404"
        assert api.get(f"{BASE}/Users").body["totalResults"] == 0
        assert api.post(f"{BASE}/Users", user_body()).status_code == 201

    @override_settings(DRF_SCIM={"SOFT_DELETE_USERS": True})
    def test_soft_delete_keeps_a_deactivated_user(self, api, create_user, create_group):
        user = create_user()
        create_group(members=[user["id"]])
        assert api.delete(f"{BASE}/Users/{user['id']}").status_code == 204

        kept = User.objects.get(scim__scim_id=user["id"])
        assert kept.is_active is False
        assert kept.scim.deleted is not None
        assert kept.scim.data["deletedUserName"] == "bjensen@example.com"
        assert api.get(f"{BASE}/Users/{user['id']}").status_code == 404
        assert api.delete(f"{BASE}/Users/{user['id']}").status_code == 404
        assert api.get(f"{BASE}/Users").body["totalResults"] == 0
        assert api.get(f"{BASE}/Groups").body["Resources"][0]["members"] == []

        again = api.post(f"{BASE}/Users", user_body())
        assert again.status_code == 201
        assert again.body["id"] != user["id"]


@pytest.mark.django_db
class TestRead:
    def test_unknown_and_malformed_ids_are_404(self, api):
        for value in (uuid.uuid4(), "not-a-uuid", "1"):
            response = api.get(f"{BASE}/Users/{value}")
            assert response.status_code == 404
            assert response.body["schemas"] == [ERROR_SCHEMA]
            assert response.body["detail"]

    def test_trailing_slash_is_tolerated(self, api, create_user):
        user = create_user()
        assert api.get(f"{BASE}/Users/").status_code == 200
        assert api.get(f"{BASE}/Users/{user['id']}/").body["id"] == user["id"]

    @override_settings(DRF_SCIM={"ADOPTION_TENANT": "drf_scim.adoption.no_tenant"})
    def test_users_adopted_by_no_tenant_are_not_resources(self, api):
        User.objects.create(username="local-admin")
        assert api.get(f"{BASE}/Users").body["totalResults"] == 0

    def test_meta_times_are_utc_xsd_datetimes_whatever_the_host_formats(self, api, create_user):
        user = create_user()
        row = SCIMUser.objects.get(scim_id=user["id"])
        rest_framework = {"DATETIME_FORMAT": "%d/%m/%Y %H:%M"}
        with override_settings(TIME_ZONE="Europe/Paris", REST_FRAMEWORK=rest_framework):
            meta = api.get(f"{BASE}/Users/{user['id']}").body["meta"]
        assert meta["created"] == row.created.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")
        assert meta["lastModified"].endswith("Z")
        assert datetime.datetime.fromisoformat(meta["lastModified"]) == row.last_modified

    def test_base_url_setting_builds_locations(self, api, create_user):
        with override_settings(DRF_SCIM={"BASE_URL": "https://scim.example.com/v2/"}):
            body = create_user()
            assert body["meta"]["location"] == f"https://scim.example.com/v2/Users/{body['id']}"


@pytest.mark.django_db
def test_list_of_users_costs_a_fixed_number_of_queries(api, create_user, create_group, django_assert_num_queries):
    ids = [create_user(f"user{n}@example.com")["id"] for n in range(12)]
    create_group("one", members=ids[:6])
    create_group("two", members=ids[3:])
    boss = ids[0]
    for user_id in ids[1:]:
        body = api.get(f"{BASE}/Users/{user_id}").body
        body[ENTERPRISE_USER_SCHEMA] = {"manager": boss}
        assert api.put(f"{BASE}/Users/{user_id}", body).status_code == 200

    # token, COUNT, page (users with their companion, manager and groups)
    with django_assert_num_queries(3):
        small = api.get(f"{BASE}/Users?count=2")
    with django_assert_num_queries(3):
        large = api.get(f"{BASE}/Users?count=100")
    assert small.body["itemsPerPage"] == 2
    assert large.body["itemsPerPage"] == 12
    assert {g["display"] for g in large.body["Resources"][4]["groups"]} == {"one", "two"}
    assert large.body["Resources"][5][ENTERPRISE_USER_SCHEMA]["manager"]["value"] == boss


@pytest.mark.django_db
def test_creating_a_user_reads_no_groups_back(api, create_group, django_assert_num_queries):
    ContentType.objects.get_for_model(SCIMUser)  # cached for the process: an earlier test may have looked it up
    create_group("Everyone")
    # The token, a savepoint, the user, its SCIM row and email, the audit row and event, the savepoint's
    # release: a new user is in no group, and its groups are not read.
    with django_assert_num_queries(6 + audit_statements()):
        response = api.post(f"{BASE}/Users", user_body())
    assert response.status_code == 201
    assert response.body["groups"] == []


@pytest.mark.django_db(transaction=True)  # user_provisioned is sent once the create commits
@pytest.mark.parametrize("when", ["on save", "when provisioned"])
def test_groups_a_receiver_gives_a_new_user_are_in_the_response_to_its_creation(api, create_group, when):
    """A host that puts new accounts in a group (a post_save receiver, or one of user_provisioned) has the
    response show it: the membership signals tell the create to read the groups back."""
    everyone = create_group("Everyone")

    def join(sender, instance, created=True, **kwargs):
        if created:
            instance.groups.add(Group.objects.get(name="Everyone"))

    signal, sender = (post_save, User) if when == "on save" else (user_provisioned, User)
    signal.connect(join, sender=sender)
    try:
        response = api.post(f"{BASE}/Users", user_body())
    finally:
        signal.disconnect(join, sender=sender)
    assert response.status_code == 201
    assert [group["value"] for group in response.body["groups"]] == [everyone["id"]]
    assert api.get(f"{BASE}/Users/{response.body['id']}").body["groups"] == response.body["groups"]


@pytest.mark.django_db
@override_settings(DRF_SCIM={"SOFT_DELETE_USERS": True})
def test_soft_deleting_a_manager_clears_the_manager_of_its_reports(api, create_user):
    boss = create_user("boss@example.com")
    report = create_user("report@example.com", **{ENTERPRISE_USER_SCHEMA: {"manager": boss["id"]}})
    assert api.delete(f"{BASE}/Users/{boss['id']}").status_code == 204
    body = api.get(f"{BASE}/Users/{report['id']}").body
    assert ENTERPRISE_USER_SCHEMA not in body
    assert body["meta"]["version"] == 'W/"2"'
    response = api.patch(
        f"{BASE}/Users/{report['id']}", patch_body({"op": "replace", "path": "active", "value": "False"})
    )
    assert response.status_code == 200


@pytest.mark.django_db
def test_a_put_without_active_leaves_a_deactivated_user_deactivated(api, create_user):
    user = create_user(active=False)
    body = user_body()
    del body["active"]
    response = api.put(f"{BASE}/Users/{user['id']}", body)
    assert response.status_code == 200
    assert "active" not in response.body
    assert User.objects.get(username="bjensen@example.com").is_active is False
    reactivated = api.patch(
        f"{BASE}/Users/{user['id']}", patch_body({"op": "replace", "path": "active", "value": True})
    )
    assert reactivated.body["active"] is True


@pytest.mark.django_db
def test_a_nul_character_in_a_string_is_an_invalid_value(api):
    response = api.post(f"{BASE}/Users", user_body(displayName="a\x00b"))
    assert response.status_code == 400
    assert response.body["scimType"] == "invalidValue"


@pytest.mark.django_db
def test_urn_qualified_extension_attributes_merge_with_the_extension_object(api):
    ent = ENTERPRISE_USER_SCHEMA
    body = {"schemas": [USER_SCHEMA], "userName": "q", f"{ent}:department": "Sales", ent: {"division": "East"}}
    response = api.post(f"{BASE}/Users", body)
    assert response.status_code == 201
    assert response.body[ent] == {"department": "Sales", "division": "East"}
