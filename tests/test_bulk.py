"""Bulk (RFC 7644 §3.7): many operations in one request, with bulkId references."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings

from drf_scim.constants import BULK_REQUEST_SCHEMA, BULK_RESPONSE_SCHEMA, ENTERPRISE_USER_SCHEMA, PATCH_OP_SCHEMA
from tests.helpers import BASE, group_body, user_body

pytestmark = pytest.mark.django_db


def bulk(api, *operations, **extra):
    return api.post(f"{BASE}/Bulk", {"schemas": [BULK_REQUEST_SCHEMA], "Operations": list(operations), **extra})


def test_user_created_and_added_to_a_group_created_in_the_same_request(api):
    response = bulk(
        api,
        {"method": "POST", "path": "/Groups", "bulkId": "g", "data": group_body("Tour Guides", ["bulkId:u"])},
        {"method": "POST", "path": "/Users", "bulkId": "u", "data": user_body("alice@example.com")},
    )
    assert response.status_code == 200, response.body
    body = response.body
    assert body["schemas"] == [BULK_RESPONSE_SCHEMA]
    by_id = {op["bulkId"]: op for op in body["Operations"]}
    assert by_id["u"]["status"] == by_id["g"]["status"] == "201"
    assert by_id["u"]["location"].startswith(f"http://testserver{BASE}/Users/")
    assert by_id["g"]["version"] == 'W/"1"'
    group = api.get(by_id["g"]["location"].replace("http://testserver", "")).body
    user_id = by_id["u"]["location"].rsplit("/", 1)[1]
    assert [m["value"] for m in group["members"]] == [user_id]


def test_circular_references_are_resolved(api):
    manager = {ENTERPRISE_USER_SCHEMA: {"manager": {"value": "bulkId:b"}}}
    reports_to_a = {ENTERPRISE_USER_SCHEMA: {"manager": {"value": "bulkId:a"}}}
    response = bulk(
        api,
        {"method": "POST", "path": "/Users", "bulkId": "a", "data": user_body("a@example.com", **manager)},
        {"method": "POST", "path": "/Users", "bulkId": "b", "data": user_body("b@example.com", **reports_to_a)},
    )
    assert [op["status"] for op in response.body["Operations"]] == ["201", "201"]
    ids = {op["bulkId"]: op["location"].rsplit("/", 1)[1] for op in response.body["Operations"]}
    a = api.get(f"{BASE}/Users/{ids['a']}").body
    b = api.get(f"{BASE}/Users/{ids['b']}").body
    assert a[ENTERPRISE_USER_SCHEMA]["manager"]["value"] == ids["b"]
    assert b[ENTERPRISE_USER_SCHEMA]["manager"]["value"] == ids["a"]


def test_unknown_bulk_id_is_a_409_for_that_operation(api):
    response = bulk(
        api,
        {"method": "POST", "path": "/Users", "bulkId": "ok", "data": user_body("ok@example.com")},
        {"method": "POST", "path": "/Groups", "bulkId": "g", "data": group_body("G", ["bulkId:nowhere"])},
    )
    statuses = {op["bulkId"]: op["status"] for op in response.body["Operations"]}
    assert statuses == {"ok": "201", "g": "409"}


def test_each_operation_is_atomic_and_reports_its_own_error(api, create_user):
    user = create_user()
    response = bulk(
        api,
        {"method": "POST", "path": "/Users", "bulkId": "dup", "data": user_body("bjensen@example.com")},
        {
            "method": "PATCH",
            "path": f"/Users/{user['id']}",
            "data": {
                "schemas": [PATCH_OP_SCHEMA],
                "Operations": [{"op": "replace", "path": "active", "value": "maybe"}],
            },
        },
        {"method": "PUT", "path": f"/Users/{user['id']}", "data": user_body(displayName="Put"), "version": 'W/"1"'},
        {"method": "DELETE", "path": "/Users/00000000-0000-0000-0000-000000000000"},
    )
    results = response.body["Operations"]
    assert [op["status"] for op in results] == ["409", "400", "200", "404"]
    assert results[0]["response"]["scimType"] == "uniqueness"
    assert results[1]["response"]["scimType"] == "invalidValue"
    assert results[2]["version"] == 'W/"2"'
    assert api.get(f"{BASE}/Users/{user['id']}").body["displayName"] == "Put"


def test_fail_on_errors_stops_the_job(api):
    response = bulk(
        api,
        {"method": "DELETE", "path": "/Users/nope"},
        {"method": "DELETE", "path": "/Groups/nope"},
        {"method": "POST", "path": "/Users", "bulkId": "late", "data": user_body("late@example.com")},
        failOnErrors=2,
    )
    assert [op["status"] for op in response.body["Operations"]] == ["404", "404"]
    assert not get_user_model().objects.filter(username="late@example.com").exists()


def test_limits_are_advertised_and_enforced(api):
    config = api.get(f"{BASE}/ServiceProviderConfig").body["bulk"]
    assert config == {"supported": True, "maxOperations": 1000, "maxPayloadSize": 1048576}
    operation = {"method": "DELETE", "path": "/Users/x"}
    with override_settings(DRF_SCIM={"BULK_MAX_OPERATIONS": 2}):
        response = bulk(api, operation, operation, operation)
    assert response.status_code == 413
    assert "maxOperations" in response.body["detail"] and "2" in response.body["detail"]
    with override_settings(DRF_SCIM={"MAX_PAYLOAD_SIZE": 200}):
        response = bulk(api, {"method": "POST", "path": "/Users", "bulkId": "x", "data": user_body("y" * 300)})
    assert response.status_code == 413
    assert "maxPayloadSize" in response.body["detail"]


@pytest.mark.parametrize(
    "operation",
    [
        {"method": "GET", "path": "/Users"},
        {"method": "POST", "path": "/Users", "data": {}},
        {"method": "POST", "path": "Users", "bulkId": "x", "data": {}},
        {"method": "PUT", "path": "/Users/x"},
    ],
)
def test_malformed_operations_are_invalid_syntax(api, operation):
    response = bulk(api, operation)
    assert response.status_code == 400
    assert response.body["scimType"] == "invalidSyntax"


def test_bulk_needs_the_write_scope(anon, make_token):
    anon.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token('scim:read')}")
    assert bulk(anon, {"method": "DELETE", "path": "/Users/x"}).status_code == 403


def test_bulk_operations_run_under_the_prefix_the_site_is_served_at(api):
    """A site mounted under a path (SCRIPT_NAME, e.g. gunicorn behind a proxy at /app) resolves each operation
    without the prefix and answers locations with it."""
    from django.urls import set_script_prefix

    set_script_prefix("/app/")  # what Django's WSGIHandler does with SCRIPT_NAME (the test client does not)
    try:
        response = api.post(
            f"{BASE}/Bulk",
            {
                "schemas": [BULK_REQUEST_SCHEMA],
                "Operations": [
                    {"method": "POST", "path": "/Users", "bulkId": "u", "data": user_body("alice@example.com")}
                ],
            },
            SCRIPT_NAME="/app",
        )
    finally:
        set_script_prefix("/")
    assert response.status_code == 200, response.body
    (operation,) = response.body["Operations"]
    assert operation["status"] == "201", operation
    assert operation["location"].startswith(f"http://testserver/app{BASE}/Users/")
