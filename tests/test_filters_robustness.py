"""Filters never cause a 5xx, and the common identity-provider lookups use indexes on PostgreSQL."""

from __future__ import annotations

import json
import re
from urllib.parse import quote

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import BASE

ATTRIBUTES = ["userName", "name.familyName", "emails", "emails.value", "meta.created", "active", "id", "x", "groups"]
OPERATORS = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr", "EQ", "xx", ""]
LITERALS = ['"a"', '"%_\\\\"', "1", "-2.5e3", "true", "null", '"2011-05-13T04:42:34Z"', '"', "'x'", ""]
JOINERS = [" and ", " or ", " and not (", ")", "(", "[", "]", " ", ".", "not "]

token_soup = st.lists(
    st.one_of(
        st.sampled_from(ATTRIBUTES), st.sampled_from(OPERATORS), st.sampled_from(LITERALS), st.sampled_from(JOINERS)
    ),
    max_size=12,
).map(" ".join)


@pytest.mark.django_db
@settings(
    max_examples=150, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.one_of(token_soup, st.text(max_size=60)))
def test_random_filters_never_fail_the_server(api, text):
    response = api.get(f"{BASE}/Users?filter={quote(text)}")
    assert response.status_code in (200, 400), (text, response.content)
    if response.status_code == 400:
        assert response.body["scimType"] == "invalidFilter"
    search = api.post(f"{BASE}/.search", json.dumps({"filter": text, "sortBy": text[:20]}))
    assert search.status_code in (200, 400), (text, search.content)


@pytest.mark.django_db
def test_identity_provider_lookups_use_indexes_on_postgresql(api):
    if connection.vendor != "postgresql":
        pytest.skip("EXPLAIN plans are checked on PostgreSQL")
    call_command("scim_seed", users=10_000, groups=0, stdout=open("/dev/null", "w"))  # noqa: SIM115
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    some_id = api.get(f"{BASE}/Users?startIndex=5000&count=1").body["Resources"][0]["id"]

    for text in ('userName eq "USER5000@example.com"', 'externalId eq "ext-5000"', f'id eq "{some_id}"'):
        with CaptureQueriesContext(connection) as queries:
            response = api.get(f"{BASE}/Users?filter={quote(text)}")
        assert response.body["totalResults"] == 1, text
        user_queries = [
            q["sql"] for q in queries.captured_queries if '"auth_user"' in q["sql"] and "oauth2" not in q["sql"]
        ]
        assert user_queries, text
        for sql in user_queries:
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN {sql}")
                plan = "\n".join(row[0] for row in cursor.fetchall())
            # (the memberships subquery may scan auth_user_groups, empty here)
            assert not re.search(r"Seq Scan on (auth_user|drf_scim_scimuser)\b", plan), (text, plan)
