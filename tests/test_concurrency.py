"""Concurrent creates of one userName: the database constraint lets exactly one succeed (PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from tests.helpers import BASE, user_body


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
