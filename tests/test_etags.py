"""Versioning (RFC 7644 §3.14): meta.version and ETag, If-Match on writes, If-None-Match on reads."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from drf_scim.constants import PATCH_OP_SCHEMA
from tests.conftest import SCIMClient
from tests.helpers import BASE, group_body, user_body

pytestmark = pytest.mark.django_db


def patch_op(*operations):
    return {"schemas": [PATCH_OP_SCHEMA], "Operations": list(operations)}


def test_every_modification_changes_the_version(api, create_user, create_group):
    user = create_user()
    group = create_group("G")
    versions = [api.get(f"{BASE}/Groups/{group['id']}")["ETag"]]
    api.patch(
        f"{BASE}/Groups/{group['id']}", patch_op({"op": "add", "path": "members", "value": [{"value": user["id"]}]})
    )
    versions.append(api.get(f"{BASE}/Groups/{group['id']}")["ETag"])
    api.put(f"{BASE}/Groups/{group['id']}", group_body("G", []))
    response = api.get(f"{BASE}/Groups/{group['id']}")
    versions.append(response["ETag"])
    assert versions == ['W/"1"', 'W/"2"', 'W/"3"']
    assert response.body["meta"]["version"] == 'W/"3"'


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_if_match_mismatch_is_412_and_applies_nothing(api, create_user, method):
    user = create_user(displayName="Before")
    body = {
        "put": user_body(displayName="After"),
        "patch": patch_op({"op": "replace", "path": "displayName", "value": "After"}),
        "delete": None,
    }[method]
    response = getattr(api, method)(f"{BASE}/Users/{user['id']}", body, HTTP_IF_MATCH='W/"7"')
    assert response.status_code == 412
    assert response.body["status"] == "412"
    assert 'W/"1"' in response.body["detail"]
    current = api.get(f"{BASE}/Users/{user['id']}")
    assert current.status_code == 200
    assert current.body["displayName"] == "Before"


@pytest.mark.parametrize("header", ['W/"1"', '"1"', "*", 'W/"9", W/"1"'])
def test_if_match_that_matches_applies(api, create_user, header):
    user = create_user()
    op = patch_op({"op": "replace", "path": "nickName", "value": "B"})
    response = api.patch(f"{BASE}/Users/{user['id']}", op, HTTP_IF_MATCH=header)
    assert response.status_code == 200
    assert response["ETag"] == 'W/"2"'


def test_if_none_match_on_get(api, create_user):
    user = create_user()
    unchanged = api.get(f"{BASE}/Users/{user['id']}", HTTP_IF_NONE_MATCH='W/"1"')
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged["ETag"] == 'W/"1"'
    api.patch(f"{BASE}/Users/{user['id']}", patch_op({"op": "replace", "path": "nickName", "value": "B"}))
    changed = api.get(f"{BASE}/Users/{user['id']}", HTTP_IF_NONE_MATCH='W/"1"')
    assert changed.status_code == 200
    assert changed["ETag"] == 'W/"2"'


def test_service_provider_config_says_etags_are_supported(api):
    assert api.get(f"{BASE}/ServiceProviderConfig").body["etag"] == {"supported": True}


def authed(token: str) -> SCIMClient:
    """A client of its own (threads must not share one) holding ``token``."""
    scim = SCIMClient()
    scim.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return scim


def run_concurrently(count, request):
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(n: int) -> None:
        barrier.wait()
        try:
            results[n] = request(n)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


@pytest.mark.django_db(transaction=True)
def test_concurrent_patches_adding_members_all_take_effect(make_token):
    if connection.vendor != "postgresql":
        pytest.skip("the race needs PostgreSQL")
    token = make_token()

    def client() -> SCIMClient:
        return authed(token)

    users = [client().post(f"{BASE}/Users", user_body(f"u{n}@example.com")).body["id"] for n in range(20)]
    group = client().post(f"{BASE}/Groups", group_body("G")).body["id"]

    def add(n: int) -> int:
        op = patch_op({"op": "add", "path": "members", "value": [{"value": users[n]}]})
        return client().patch(f"{BASE}/Groups/{group}", op).status_code

    assert run_concurrently(20, add) == [204] * 20
    body = client().get(f"{BASE}/Groups/{group}").body
    assert sorted(m["value"] for m in body["members"]) == sorted(users)
    assert body["meta"]["version"] == 'W/"21"'


@pytest.mark.django_db(transaction=True)
def test_concurrent_puts_with_one_if_match_yield_one_success(make_token):
    if connection.vendor != "postgresql":
        pytest.skip("the race needs PostgreSQL")
    token = make_token()

    def client() -> SCIMClient:
        return authed(token)

    user = client().post(f"{BASE}/Users", user_body()).body

    def replace(n: int) -> int:
        body = user_body(displayName=f"writer {n}")
        return client().put(f"{BASE}/Users/{user['id']}", body, HTTP_IF_MATCH='W/"1"').status_code

    assert sorted(run_concurrently(6, replace)) == [200, 412, 412, 412, 412, 412]
