"""attributes and excludedAttributes (RFC 7644 §3.4.2.5) on every read and write response."""

from __future__ import annotations

import pytest

from drf_scim.constants import ENTERPRISE_USER_SCHEMA, USER_SCHEMA
from tests.helpers import BASE, user_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def user(create_user, create_group):
    body = create_user(
        displayName="Babs",
        name={"givenName": "Barbara", "familyName": "Jensen", "formatted": "Barbara Jensen"},
        emails=[
            {"value": "b@example.com", "type": "work", "primary": True},
            {"value": "h@example.com", "type": "home"},
        ],
        **{ENTERPRISE_USER_SCHEMA: {"department": "Tours", "division": "Parks"}},
    )
    create_group("Guides", [body["id"]])
    return body


def get(api, path, query):
    response = api.get(f"{BASE}{path}?{query}")
    assert response.status_code == 200, response.body
    return response.body


def test_attributes_keep_only_what_is_asked_plus_always_returned(api, user):
    body = get(api, f"/Users/{user['id']}", "attributes=userName")
    assert body == {"schemas": [USER_SCHEMA], "id": user["id"], "userName": "bjensen@example.com"}


def test_sub_attributes(api, user):
    body = get(api, f"/Users/{user['id']}", "attributes=name.givenName,emails.value")
    assert body["name"] == {"givenName": "Barbara"}
    assert body["emails"] == [{"value": "b@example.com"}, {"value": "h@example.com"}]
    assert set(body) == {"schemas", "id", "name", "emails"}


def test_names_ignore_case_and_may_be_qualified(api, user):
    body = get(api, f"/Users/{user['id']}", f"attributes=USERNAME,{USER_SCHEMA}:displayName")
    assert set(body) == {"schemas", "id", "userName", "displayName"}


def test_extension_attribute_and_whole_extension(api, user):
    body = get(api, f"/Users/{user['id']}", f"attributes={ENTERPRISE_USER_SCHEMA}:department")
    assert body == {
        "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
        "id": user["id"],
        ENTERPRISE_USER_SCHEMA: {"department": "Tours"},
    }
    whole = get(api, f"/Users/{user['id']}", f"attributes={ENTERPRISE_USER_SCHEMA}")
    assert whole[ENTERPRISE_USER_SCHEMA] == {"department": "Tours", "division": "Parks"}


def test_excluded_attributes(api, user):
    body = get(api, f"/Users/{user['id']}", "excludedAttributes=emails,name.familyName,meta,groups")
    assert "emails" not in body and "meta" not in body and "groups" not in body
    assert body["name"] == {"givenName": "Barbara", "formatted": "Barbara Jensen"}
    assert body["userName"] == "bjensen@example.com"
    assert body[ENTERPRISE_USER_SCHEMA] == {"department": "Tours", "division": "Parks"}


def test_always_and_never_returned_attributes_win(api, user):
    assert get(api, f"/Users/{user['id']}", "excludedAttributes=id,schemas")["id"] == user["id"]
    body = get(api, f"/Users/{user['id']}", "attributes=password")
    assert body == {"schemas": [USER_SCHEMA], "id": user["id"]}


def test_unknown_names_are_ignored(api, user):
    assert get(api, f"/Users/{user['id']}", "attributes=nothing,userName")["userName"] == "bjensen@example.com"
    assert get(api, f"/Users/{user['id']}", "excludedAttributes=nothing")["displayName"] == "Babs"


def test_lists_project_every_resource(api, user, create_user):
    create_user("other@example.com")
    body = get(api, "/Users", "attributes=userName")
    assert body["totalResults"] == 2
    assert [set(resource) for resource in body["Resources"]] == [{"schemas", "id", "userName"}] * 2


def test_post_and_put_responses_are_projected(api, user):
    created = api.post(f"{BASE}/Users?attributes=userName", user_body("new@example.com"))
    assert created.status_code == 201
    assert set(created.body) == {"schemas", "id", "userName"}
    replaced = api.put(f"{BASE}/Users/{user['id']}?excludedAttributes=groups,meta", user_body())
    assert replaced.status_code == 200
    assert "groups" not in replaced.body and "meta" not in replaced.body


def reads_memberships(queries) -> bool:
    return any("auth_user_groups" in query["sql"] for query in queries.captured_queries)


class TestRelationsLeftOutAreNotFetched:
    def test_group_without_members(self, api, user, django_assert_num_queries):
        group_id = get(api, "/Groups", "")["Resources"][0]["id"]
        with django_assert_num_queries(2) as queries:  # token, group
            body = get(api, f"/Groups/{group_id}", "excludedAttributes=members")
        assert "members" not in body
        assert body["displayName"] == "Guides"
        assert not reads_memberships(queries)
        with django_assert_num_queries(3) as queries:  # token, COUNT, page
            listed = get(api, "/Groups", "excludedAttributes=members")
        assert "members" not in listed["Resources"][0]
        assert not reads_memberships(queries)
        with django_assert_num_queries(3) as queries:
            assert "members" not in get(api, "/Groups", "attributes=displayName")["Resources"][0]
        assert not reads_memberships(queries)

    def test_group_with_members_reads_them_in_its_own_row(self, api, user, django_assert_num_queries):
        group_id = get(api, "/Groups", "")["Resources"][0]["id"]
        with django_assert_num_queries(2) as queries:  # token, group (with its members)
            assert len(get(api, f"/Groups/{group_id}", "")["members"]) == 1
        assert reads_memberships(queries)

    def test_users_without_groups(self, api, user, django_assert_num_queries):
        with django_assert_num_queries(3) as queries:  # token, COUNT, page
            body = get(api, "/Users", "excludedAttributes=groups")
        assert "groups" not in body["Resources"][0]
        assert not reads_memberships(queries)
        with django_assert_num_queries(3) as queries:
            body = get(api, "/Users", "attributes=userName,emails")
        assert set(body["Resources"][0]) == {"schemas", "id", "userName", "emails"}
        assert not reads_memberships(queries)
