"""Concurrent creates of one userName: the database constraint lets exactly one succeed (PostgreSQL)."""

from __future__ import annotations

import threading
import time

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, connections, transaction
from django.db.models import F

from drf_scim.constants import PATCH_OP_SCHEMA
from drf_scim.models import SCIMGroup
from tests.helpers import BASE, group_body, user_body


@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_of_one_user_name_yield_one_201(make_token):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL")
    from tests.conftest import SCIMClient

    token = make_token()
    barrier = threading.Barrier(6)
    statuses: list[int] = []

    def create(n: int) -> None:
        client = SCIMClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        barrier.wait()
        try:
            response = client.post(f"{BASE}/Users", user_body("Race@Example.com" if n % 2 else "race@example.com"))
            statuses.append(response.status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=create, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [201, 409, 409, 409, 409, 409]


@pytest.mark.django_db(transaction=True)
def test_a_patch_that_waited_for_the_lock_shows_the_members_of_the_version_it_wrote(api):
    """The members in a PATCH response are read after the write, not with the row lock the PATCH waited for."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL")
    a = api.post(f"{BASE}/Users", user_body("a@example.com")).body
    b = api.post(f"{BASE}/Users", user_body("b@example.com")).body
    group = api.post(f"{BASE}/Groups", group_body("Guides", [a["id"]])).body
    locked = threading.Event()

    def add_b_holding_the_lock() -> None:  # what another PATCH adding b does
        try:
            with transaction.atomic():
                row = SCIMGroup.objects.select_for_update().get(scim_id=group["id"])
                get_user_model().objects.get(scim__scim_id=b["id"]).groups.add(row.group)
                SCIMGroup.objects.filter(pk=row.pk).update(version=F("version") + 1)
                locked.set()
                time.sleep(1)
        finally:
            connections.close_all()

    thread = threading.Thread(target=add_b_holding_the_lock)
    thread.start()
    assert locked.wait(5)
    rename = {"schemas": [PATCH_OP_SCHEMA], "Operations": [{"op": "replace", "path": "displayName", "value": "Hosts"}]}
    patched = api.patch(f"{BASE}/Groups/{group['id']}?attributes=members,displayName", rename)
    thread.join()
    read = api.get(f"{BASE}/Groups/{group['id']}?attributes=members,displayName")
    assert patched.status_code == 200, patched.body
    assert patched["ETag"] == read["ETag"]
    assert sorted(m["value"] for m in patched.body["members"]) == sorted([a["id"], b["id"]])
