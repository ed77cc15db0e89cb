"""Filters never cause a 5xx, and the common identity-provider lookups use indexes on PostgreSQL."""

from __future__ import annotations

import json
import re
import subprocess
import sys
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


RACE = """
import threading
from drf_scim.filters.grammar import parse_filter, parse_path

errors = []
start = threading.Barrier(8)
texts = [
    'userName eq "a" and not (active pr) or title co "x"',
    'emails[type eq "work" and value sw "a"].value ew "b"',
    "x gt 1.5 or y eq true or z eq null",
]

def parse():
    start.wait()
    try:
        for text in texts:
            parse_filter(text)
        parse_path('emails[type eq "work"].value')
    except Exception as exc:
        errors.append(repr(exc))

threads = [threading.Thread(target=parse) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(errors)
"""


@pytest.mark.parametrize("attempt", range(6))
def test_threads_parsing_their_first_filters_at_once_all_succeed(attempt):
    """pyparsing learns a parse action's arity by calling it and catching TypeError, which threads racing
    through a fresh grammar would get as errors (a 500 in a threaded server), so every action takes all
    three arguments. Each attempt is a fresh interpreter."""
    result = subprocess.run([sys.executable, "-c", RACE], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "[]", result.stdout
