"""Regressions found in review: each a request that used to fail, lose data or cost too much."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import override_settings

from drf_scim.constants import ENTERPRISE_USER_SCHEMA, PATCH_OP_SCHEMA, USER_SCHEMA
from tests.helpers import BASE, user_body

pytestmark = pytest.mark.django_db
ENT = ENTERPRISE_USER_SCHEMA


def patch_op(*operations):
    return {"schemas": [PATCH_OP_SCHEMA], "Operations": list(operations)}


@override_settings(DRF_SCIM={"ADOPTION_TENANT": "drf_scim.adoption.no_tenant"})
def test_patch_of_a_user_in_a_group_unknown_to_scim(api, create_user, create_group, django_assert_max_num_queries):
    user = create_user()
    create_group("Scim group", [user["id"]])
    django_user = get_user_model().objects.get(username="bjensen@example.com")
    for n in range(5):
        django_user.groups.add(Group.objects.create(name=f"local-{n}"))
    with django_assert_max_num_queries(9):
        response = api.patch(f"{BASE}/Users/{user['id']}", patch_op({"op": "replace", "path": "title", "value": "x"}))
    assert response.status_code == 200, response.body
    assert [g["display"] for g in response.body["groups"]] == ["Scim group"]


def test_removing_members_with_an_empty_list_removes_none(api, create_user, create_group):
    group = create_group("G", [create_user()["id"]])
    response = api.patch(f"{BASE}/Groups/{group['id']}", patch_op({"op": "remove", "path": "members", "value": []}))
    assert response.status_code == 204
    assert len(api.get(f"{BASE}/Groups/{group['id']}").body["members"]) == 1


def test_member_operations_are_coalesced(api, create_user, create_group, django_assert_max_num_queries):
    ids = [create_user(f"u{n}@example.com")["id"] for n in range(30)]
    group = create_group("G")
    operations = [{"op": "add", "path": "members", "value": [{"value": member}]} for member in ids]
    operations += [{"op": "remove", "path": "members", "value": [{"value": member}]} for member in ids[:10]]
    with django_assert_max_num_queries(10):
        assert api.patch(f"{BASE}/Groups/{group['id']}", patch_op(*operations)).status_code == 204
    assert len(api.get(f"{BASE}/Groups/{group['id']}").body["members"]) == 20


@override_settings(DRF_SCIM={"ADOPTION_TENANT": "drf_scim.adoption.no_tenant"})
def test_member_replace_keeps_memberships_scim_does_not_serve(api, create_user, create_group):
    member = create_user()["id"]
    group = create_group("G", [member])
    local = get_user_model().objects.create(username="local-admin")
    local.groups.add(Group.objects.get(name="G"))
    response = api.patch(f"{BASE}/Groups/{group['id']}", patch_op({"op": "replace", "path": "members", "value": []}))
    assert response.status_code == 204
    assert list(Group.objects.get(name="G").user_set.values_list("username", flat=True)) == ["local-admin"]


@override_settings(DRF_SCIM={"SOFT_DELETE_USERS": True})
def test_soft_deleting_a_manager_releases_the_reports(api, create_user):
    boss = create_user("boss@example.com")
    report = create_user("report@example.com", **{ENT: {"manager": boss["id"]}})
    assert api.delete(f"{BASE}/Users/{boss['id']}").status_code == 204
    body = api.get(f"{BASE}/Users/{report['id']}").body
    assert ENT not in body
    assert body["meta"]["version"] == 'W/"2"'
    response = api.patch(
        f"{BASE}/Users/{report['id']}", patch_op({"op": "replace", "path": "active", "value": "False"})
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "text",
    [
        'id co "a"',
        'id gt "x"',
        'groups.value co "-"',
        f'{ENT}:manager.value gt "a"',
        'nickName eq "\\u0000"',
        'userName co "a\\u0000"',
        'meta.created eq "2020-13-45T00:00:00Z"',
        'meta.created eq "2020-01-01T25:00:00Z"',
        'meta.created gt "2020-01-01T00:00:00+99:00"',
        'meta.lastModified ge "0001-01-01T00:00:00+05:00"',
        'meta.lastModified le "9999-12-31T23:59:59-05:00"',
    ],
)
def test_filters_that_used_to_fail_are_invalid_filters(api, create_user, text):
    create_user()
    response = api.get(f"{BASE}/Users?filter={quote(text)}")
    assert response.status_code == 400, response.body
    assert response.body["scimType"] == "invalidFilter"


def test_datetime_without_offset_is_utc(api, create_user):
    create_user()
    response = api.get(f"{BASE}/Users?filter=" + quote('meta.created gt "2000-01-01T00:00:00"'))
    assert response.body["totalResults"] == 1


def test_members_value_operators_on_groups(api, create_group):
    create_group("G")
    response = api.get(f"{BASE}/Groups?filter=" + quote('members.value sw "1"'))
    assert response.status_code == 400


def test_deep_lists_in_a_patch_value_are_invalid(api, create_user):
    user = create_user()
    value: object = {"value": "x"}
    for _ in range(600):
        value = [value]
    response = api.patch(f"{BASE}/Users/{user['id']}", patch_op({"op": "add", "path": "emails", "value": value}))
    assert response.status_code == 400


def test_nul_characters_in_strings_are_invalid_values(api):
    response = api.post(f"{BASE}/Users", user_body(displayName="a\x00b"))
    assert response.status_code == 400
    assert response.body["scimType"] == "invalidValue"


def test_put_without_active_does_not_reactivate(api, create_user):
    user = create_user(active=False)
    body = user_body()
    del body["active"]
    response = api.put(f"{BASE}/Users/{user['id']}", body)
    assert response.status_code == 200
    assert "active" not in response.body
    assert get_user_model().objects.get(username="bjensen@example.com").is_active is False
    assert (
        api.patch(f"{BASE}/Users/{user['id']}", patch_op({"op": "replace", "path": "active", "value": True})).body[
            "active"
        ]
        is True
    )


def test_group_display_names_are_unique_ignoring_case(api, create_group):
    create_group("G2")
    other = create_group("Other")
    response = api.patch(
        f"{BASE}/Groups/{other['id']}", patch_op({"op": "replace", "path": "displayName", "value": "g2"})
    )
    assert response.status_code == 409
    assert response.body["scimType"] == "uniqueness"
    assert api.post(f"{BASE}/Groups", {"displayName": "g2"}).status_code == 409
    body = api.get(f"{BASE}/Groups?filter=" + quote('displayName eq "g2"')).body
    assert [g["displayName"] for g in body["Resources"]] == ["G2"]


def test_schemas_eq_extension_counts_a_manager_alone(api, create_user):
    boss = create_user("boss@example.com")
    create_user("report@example.com", **{ENT: {"manager": boss["id"]}})
    body = api.get(f"{BASE}/Users?filter=" + quote(f'schemas eq "{ENT}"')).body
    assert [u["userName"] for u in body["Resources"]] == ["report@example.com"]


def test_root_search_with_attributes_one_type_lacks(api, create_user, create_group):
    create_user("bjensen")
    create_group("Guides")
    body = api.post(
        f"{BASE}/.search", {"sortBy": "userName", "filter": 'userName eq "bjensen" or displayName eq "guides"'}
    ).body
    assert sorted(r.get("userName") or r["displayName"] for r in body["Resources"]) == ["Guides", "bjensen"]
    response = api.post(f"{BASE}/.search", {"sortBy": "nothing"})
    assert response.status_code == 400


def test_post_with_urn_qualified_extension_attributes(api):
    body = {"schemas": [USER_SCHEMA], "userName": "q", f"{ENT}:department": "Sales", ENT: {"division": "East"}}
    response = api.post(f"{BASE}/Users", body)
    assert response.status_code == 201
    assert response.body[ENT] == {"department": "Sales", "division": "East"}
