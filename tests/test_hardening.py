"""Hostile input, limits, database faults and security guarantees, each with a test."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

import psycopg
import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drf_scim.constants import BULK_REQUEST_SCHEMA, PATCH_OP_SCHEMA
from tests.conftest import SCIMClient
from tests.helpers import BASE, group_body, user_body

ROOT = Path(__file__).resolve().parent.parent
FUZZ = settings(
    max_examples=40, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
attribute_names = st.sampled_from(
    [
        "userName",
        "name",
        "emails",
        "active",
        "displayName",
        "members",
        "groups",
        "password",
        "id",
        "meta",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        "schemas",
        "x509Certificates",
        "roles",
    ]
)
scim_bodies = st.dictionaries(attribute_names, json_values, max_size=6)
patch_bodies = st.fixed_dictionaries(
    {
        "schemas": st.just([PATCH_OP_SCHEMA]),
        "Operations": st.lists(
            st.fixed_dictionaries(
                {"op": st.sampled_from(["add", "Replace", "remove", "merge"])},
                optional={
                    "path": st.one_of(attribute_names, st.text(max_size=30), st.just('emails[type eq "work"].value')),
                    "value": json_values,
                },
            ),
            max_size=4,
        ),
    }
)


def snapshot():
    users = get_user_model().objects.order_by("pk").values_list("username", "is_active", "scim__data", "scim__version")
    return list(users)


def assert_scim_error(response, body=None):
    assert response.status_code < 500, (body, response.content[:500])
    if response.status_code == 400:
        assert response.body["scimType"], response.body


@pytest.fixture
def seeded(create_user, create_group):
    user = create_user(displayName="Stable")
    create_group("G", [user["id"]])
    return user


@pytest.mark.django_db
class TestFuzzing:
    @FUZZ
    @given(body=st.one_of(scim_bodies, json_values))
    def test_post_and_put(self, api, seeded, body):
        before = snapshot()
        created = api.post(f"{BASE}/Users", json.dumps(body))
        assert_scim_error(created, body)
        if created.status_code == 201:
            api.delete(f"{BASE}/Users/{created.body['id']}")
        assert snapshot() == before
        replaced = api.put(f"{BASE}/Users/{seeded['id']}", json.dumps(body))
        assert_scim_error(replaced, body)
        if replaced.status_code >= 400:
            assert snapshot() == before

    @FUZZ
    @given(body=st.one_of(patch_bodies, json_values))
    def test_patch(self, api, seeded, body):
        before = snapshot()
        response = api.patch(f"{BASE}/Users/{seeded['id']}", json.dumps(body))
        assert_scim_error(response, body)
        if response.status_code >= 400:
            assert snapshot() == before

    @FUZZ
    @given(
        operations=st.lists(
            st.dictionaries(st.sampled_from(["method", "path", "bulkId", "data"]), json_values), max_size=3
        )
    )
    def test_bulk(self, api, seeded, operations):
        response = api.post(f"{BASE}/Bulk", json.dumps({"schemas": [BULK_REQUEST_SCHEMA], "Operations": operations}))
        assert_scim_error(response, operations)

    @FUZZ
    @given(text=st.text(max_size=40), which=st.sampled_from(["attributes", "excludedAttributes", "sortBy", "filter"]))
    def test_query_parameters(self, api, seeded, text, which):
        response = api.get(f"{BASE}/Users", {which: text})
        assert_scim_error(response, text)


@pytest.mark.django_db
class TestHostileBodies:
    @pytest.mark.parametrize(
        ("payload", "scim_type"),
        [
            ("[" * 5000 + "]" * 5000, "invalidSyntax"),
            ('{"userName": "a", "userName": "b"}', "invalidSyntax"),
            (b'{"userName": "\xc3\x28"}', "invalidSyntax"),
            ('{"userName": "a\\u0000b"}', "invalidValue"),
            ("42", "invalidSyntax"),
            ('"text"', "invalidSyntax"),
        ],
    )
    def test_rejected_with_a_scim_error(self, api, seeded, payload, scim_type):
        before = snapshot()
        response = api.post(f"{BASE}/Users", payload)
        assert response.status_code == 400
        assert response.body["scimType"] == scim_type
        assert snapshot() == before

    def test_huge_string_within_the_body_limit(self, api):
        response = api.post(f"{BASE}/Users", user_body("x" * 500_000))
        assert response.status_code == 400
        assert response.body["scimType"] == "invalidValue"

    def test_ten_thousand_element_arrays(self, api, create_user, django_assert_max_num_queries):
        emails = [{"value": f"e{n}@example.com"} for n in range(10_000)]
        response = api.post(f"{BASE}/Users", user_body(emails=emails))
        assert response.status_code in (400, 413)
        assert response.status_code == 413 or response.body["scimType"] == "tooMany"  # MAX_ATTRIBUTE_VALUES
        members = [{"value": f"00000000-0000-0000-0000-{n:012d}"} for n in range(10_001)]
        with django_assert_max_num_queries(4):
            too_many = api.post(f"{BASE}/Groups", {"displayName": "X", "members": members})
        assert too_many.status_code == 400
        assert "MAX_MEMBERS_PER_OPERATION" in too_many.body["detail"]


@pytest.mark.django_db(transaction=True)
def test_statement_timeout_is_a_503_and_the_service_recovers(api):
    if connection.vendor != "postgresql":
        pytest.skip("statement timeouts are PostgreSQL's")
    assert api.post(f"{BASE}/Users", user_body()).status_code == 201
    settings_dict = connection.settings_dict
    locker = psycopg.connect(dbname=settings_dict["NAME"], host=settings_dict["HOST"] or None, autocommit=False)
    try:
        locker.execute("LOCK TABLE drf_scim_scimuser IN ACCESS EXCLUSIVE MODE")
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = 300")
        response = api.get(f"{BASE}/Users")
        assert response.status_code == 503
        assert response["Retry-After"]
        assert response.body["status"] == "503"
        assert "statement" not in response.body["detail"].lower()
        write = api.post(f"{BASE}/Users", user_body("second@example.com"))
        assert write.status_code == 503
    finally:
        locker.rollback()
        locker.close()
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = 0")
    assert api.get(f"{BASE}/Users").body["totalResults"] == 1  # nothing half applied, and back in service
    assert api.post(f"{BASE}/Users", user_body("second@example.com")).status_code == 201


class TestGuarantees:
    def test_no_sql_is_built_from_strings(self):
        forbidden = re.compile(r"\.raw\(|RawSQL|\.extra\(|cursor\(\)|\.execute\(")
        offenders = [
            f"{path.relative_to(ROOT)}:{line.strip()}"
            for path in (ROOT / "drf_scim").rglob("*.py")
            if "migrations" not in path.parts
            for line in path.read_text().splitlines()
            if forbidden.search(line)
        ]
        # The statements Django has no API for: a constant with its value bound (views.set_statement_timeout),
        # ANALYZE of drf_scim's own tables, quoted from their models' db_table (Adoption.analyze), and the audit
        # row with its outbox event in one INSERT, names quoted from the models and every value bound
        # (plans.inserts.record_change).
        assert sorted(offenders) == sorted(
            [
                "drf_scim/views.py:with connection.cursor() as cursor:",
                """drf_scim/views.py:cursor.execute("SELECT set_config('statement_timeout', %s, false)", """
                "[str(int(milliseconds))])",
                "drf_scim/adoption.py:with connection.cursor() as cursor:",
                'drf_scim/adoption.py:cursor.execute(f"ANALYZE {tables}")',
                "drf_scim/plans/inserts.py:with connection.cursor() as cursor:",
                "drf_scim/plans/inserts.py:cursor.execute(sql, params)",
            ]
        )

    @pytest.mark.django_db
    @override_settings(
        DRF_SCIM={
            "AUTHENTICATION_CLASSES": [
                "rest_framework.authentication.SessionAuthentication",
                "drf_scim.authentication.SCIMOAuth2Authentication",
            ]
        }
    )
    def test_session_browsing_cannot_write_without_csrf(self):
        user = get_user_model().objects.create_user("admin", password="pw", is_staff=True)
        client = SCIMClient(enforce_csrf_checks=True)
        client.force_login(user)
        assert client.get(f"{BASE}/Users").status_code == 200
        response = client.post(f"{BASE}/Users", user_body())
        assert response.status_code == 403
        assert "CSRF" in response.body["detail"]
        assert not get_user_model().objects.filter(username="bjensen@example.com").exists()

    @pytest.mark.django_db
    def test_rate_limits_answer_429_with_retry_after(self, api, settings):
        from django.core.cache import cache

        cache.clear()
        settings.REST_FRAMEWORK = {"DEFAULT_THROTTLE_RATES": {"scim": "3/min"}}
        settings.DRF_SCIM = {"THROTTLE_CLASSES": ["drf_scim.throttling.ClientRateThrottle"]}
        statuses = [api.get(f"{BASE}/Users").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        response = api.get(f"{BASE}/Users")
        assert response.body["status"] == "429"
        assert int(response["Retry-After"]) > 0
        cache.clear()

    @pytest.mark.django_db
    def test_rate_limits_are_off_by_default(self, api):
        assert {api.get(f"{BASE}/ServiceProviderConfig").status_code for _ in range(30)} == {200}


_ = (threading, group_body)
