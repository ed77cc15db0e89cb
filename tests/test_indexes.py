"""The filters identity providers send most are answered from an index, not a scan of every resource.

PostgreSQL only: its planner says which index a query reads (``EXPLAIN``), on a few thousand seeded resources
with fresh statistics, as it would on a real directory.
"""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from drf_scim.constants import SEARCH_REQUEST_SCHEMA
from tests.helpers import BASE

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's EXPLAIN names the index")


def indexes_read(api, path: str, text: str) -> str:
    """The plans of the queries of ``GET path?filter=text`` that compare with LIKE."""
    with CaptureQueriesContext(connection) as queries:
        response = api.get(f"{BASE}/{path}", {"filter": text, "count": 10})
    assert response.status_code == 200, response.body
    plans = []
    with connection.cursor() as cursor:
        for query in queries.captured_queries:
            if " LIKE " in query["sql"]:
                cursor.execute(f"EXPLAIN {query['sql']}")
                plans.append("\n".join(row[0] for row in cursor.fetchall()))
    assert plans, "no query of the list compares with LIKE"
    return "\n".join(plans)


def seed_and_analyse(users: int, groups: int) -> None:
    """Seeded resources with fresh statistics, as a real directory's tables have them."""
    call_command("scim_seed", users=users, groups=groups, stdout=io.StringIO())
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def test_username_and_group_name_prefix_filters_read_their_prefix_indexes(api, db):
    seed_and_analyse(users=3000, groups=1000)
    assert "drf_scim_user_name_prefix" in indexes_read(api, "Users", 'userName sw "User12"')
    assert "drf_scim_display_name_prefix" in indexes_read(api, "Groups", 'displayName sw "group12"')


@pytest.mark.django_db
def test_the_folded_keys_have_trigram_indexes_for_contains():
    """co is LIKE '%value%': only a trigram index answers it (on 100,000 users a
    co on userName reads drf_scim_user_name_trigram in 0.3 ms; the planner prefers a scan on tables as small
    as a test's, so this checks the indexes themselves)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE %s", ["drf_scim_%_trigram"])
        indexes = dict(cursor.fetchall())
    assert indexes.keys() == {"drf_scim_user_name_trigram", "drf_scim_display_name_trigram"}
    assert "USING gin (user_name_key gin_trgm_ops)" in indexes["drf_scim_user_name_trigram"]
    assert "USING gin (display_name_key gin_trgm_ops)" in indexes["drf_scim_display_name_trigram"]


def rows_read(plan: dict, table: str) -> int:
    """The rows the scans of ``table`` in an ``EXPLAIN (ANALYZE, FORMAT JSON)`` plan returned, over all loops."""
    own = plan.get("Actual Rows", 0) * plan.get("Actual Loops", 1) if plan.get("Relation Name") == table else 0
    return own + sum(rows_read(child, table) for child in plan.get("Plans", []))


def test_a_cursor_page_deep_in_the_list_reads_its_own_rows_not_those_before_it(api, db):
    seed_and_analyse(users=3000, groups=0)
    cursor_value = ""
    for _ in range(2):  # 2,000 users in: two pages of ids
        page = api.get(f"{BASE}/Users", {"cursor": cursor_value, "count": 1000, "attributes": "id"})
        cursor_value = page.body["nextCursor"]
    with CaptureQueriesContext(connection) as queries:
        response = api.get(f"{BASE}/Users", {"cursor": cursor_value, "count": 10})
    assert response.status_code == 200
    assert len(response.body["Resources"]) == 10
    (page_query,) = [query["sql"] for query in queries.captured_queries if query["sql"].endswith("LIMIT 11")]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {page_query}")
        (plan,) = cursor.fetchone()[0]
    assert rows_read(plan["Plan"], "drf_scim_scimuser") <= 2 * 11  # the page and the next row, maybe each twice
    assert rows_read(plan["Plan"], "auth_user") <= 2 * 11


def test_username_and_group_name_suffix_filters_read_their_reversed_key_indexes(api, db):
    seed_and_analyse(users=3000, groups=1000)
    assert "drf_scim_user_name_suffix" in indexes_read(api, "Users", 'userName ew "12@Example.com"')
    assert "drf_scim_display_name_suffix" in indexes_read(api, "Groups", 'displayName ew "P12"')


def prepared_statements() -> list[str]:
    """The SQL of the statements this connection has prepared."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.skipif(
    not connection.settings_dict["OPTIONS"].get("prepare_threshold"),
    reason="psycopg prepares statements only with server-side binding and a prepare_threshold",
)
def test_pattern_filters_are_planned_for_their_pattern_and_never_prepared(api, db):
    """A generic plan cannot know how many users a LIKE pattern matches (at 1,000,000 users it walked the
    primary key for a page of ``co``, a second a request): co, sw and ew are planned for their value each
    time, while the lookups whose plan is the same for every value are prepared."""
    seed_and_analyse(users=60, groups=2)
    filters = [
        'userName co "1@example"',
        'userName sw "user1"',
        'userName ew "1@example.com"',
        'emails[value co "1@example"]',
        'not (userName co "9@example") and userName sw "user1"',
    ]
    for _ in range(2 * connection.settings_dict["OPTIONS"]["prepare_threshold"]):
        for text in filters:
            response = api.get(f"{BASE}/Users", {"filter": text, "count": 1})
            assert (response.status_code, len(response.body["Resources"])) == (200, 1), text
            assert response.body["totalResults"] > 1  # the COUNT ran too
        found = api.get(f"{BASE}/Users", {"filter": 'userName eq "user1@example.com"'}).body
        assert found["totalResults"] == 1
        for root in (f"{BASE}/.search", f"{BASE}/Users/.search"):  # the filter in a SearchRequest body
            searched = api.post(root, {"schemas": [SEARCH_REQUEST_SCHEMA], "filter": filters[0], "count": 1})
            assert (searched.status_code, len(searched.body["Resources"])) == (200, 1), root
    statements = prepared_statements()
    assert any('"user_name_key" = $' in statement for statement in statements), statements
    assert [statement for statement in statements if " LIKE " in statement] == []
