"""Cursor paging (RFC 9865): signed keyset cursors that compose with filter and sortBy."""

from __future__ import annotations

import itertools
from urllib.parse import quote

import pytest
from django.test import override_settings

from drf_scim.constants import SEARCH_REQUEST_SCHEMA
from tests.helpers import BASE

pytestmark = pytest.mark.django_db


@pytest.fixture
def users(create_user):
    names = ["delta", "Alpha", "charlie", "bravo", "echo", "Foxtrot", "golf"]
    created = {}
    for index, name in enumerate(names):
        extra = {"title": f"T{index % 3}"} if index != 2 else {}
        created[name] = create_user(f"{name}@example.com", **extra)["id"]
    return created


def walk(api, query: str, count: int = 2) -> tuple[list[str], list[dict]]:
    """Follow nextCursor from the first page; return the userNames in order and the pages."""
    pages, cursor = [], ""
    while True:
        response = api.get(f"{BASE}/Users?{query}&count={count}&cursor={quote(cursor)}")
        assert response.status_code == 200, response.body
        pages.append(response.body)
        cursor = response.body.get("nextCursor")
        if not cursor:
            break
    return [r["userName"] for page in pages for r in page["Resources"]], pages


def index_order(api, query: str) -> list[str]:
    return [r["userName"] for r in api.get(f"{BASE}/Users?{query}&count=100").body["Resources"]]


@pytest.mark.parametrize(
    "query",
    [
        "",
        "sortBy=userName",
        "sortBy=userName&sortOrder=descending",
        "sortBy=title",
        "sortBy=title&sortOrder=descending",
        "sortBy=meta.created&sortOrder=descending",
        "filter=" + quote('userName co "o"') + "&sortBy=name.givenName",
    ],
)
def test_walking_forward_matches_index_paging(api, users, query):
    walked, pages = walk(api, query)
    assert walked == index_order(api, query)
    assert len(walked) == len(set(walked))
    first = pages[0]
    assert "startIndex" not in first
    assert "previousCursor" not in first
    assert all(page["totalResults"] == len(walked) for page in pages)
    assert all(page["itemsPerPage"] == len(page["Resources"]) for page in pages)


@pytest.mark.parametrize("query", ["", "sortBy=title", "sortBy=userName&sortOrder=descending"])
def test_previous_cursor_goes_back_a_page(api, users, query):
    _, pages = walk(api, query)
    for earlier, later in itertools.pairwise(pages):
        back = api.get(f"{BASE}/Users?{query}&count=2&cursor={quote(later['previousCursor'])}").body
        assert [r["id"] for r in back["Resources"]] == [r["id"] for r in earlier["Resources"]]


def test_rows_inserted_between_pages_neither_repeat_nor_shift(api, users, create_user):
    first = api.get(f"{BASE}/Users?sortBy=userName&count=3&cursor=").body
    seen = [r["userName"] for r in first["Resources"]]
    create_user("aaa-early@example.com")  # sorts before everything already seen
    rest, cursor = [], first["nextCursor"]
    while cursor:
        body = api.get(f"{BASE}/Users?sortBy=userName&count=3&cursor={quote(cursor)}").body
        rest += [r["userName"] for r in body["Resources"]]
        cursor = body.get("nextCursor")
    assert not set(seen) & set(rest)
    assert sorted(seen + rest, key=str.casefold) == sorted(index_order(api, "sortBy=userName"), key=str.casefold)[1:]


def test_a_deep_page_costs_what_the_first_one_does(api, users, django_assert_num_queries):
    _, pages = walk(api, "sortBy=userName", count=1)
    with django_assert_num_queries(3):  # token, COUNT, page (each user's groups in its row)
        api.get(f"{BASE}/Users?sortBy=userName&count=1&cursor=")
    with django_assert_num_queries(3):
        api.get(f"{BASE}/Users?sortBy=userName&count=1&cursor={quote(pages[-2]['nextCursor'])}")


def test_an_unfiltered_list_is_counted_on_the_scim_rows_alone(api, users, create_user, django_assert_num_queries):
    api.delete(f"{BASE}/Users/{users['golf']}")
    with django_assert_num_queries(3) as queries:  # token, COUNT, page
        response = api.get(f"{BASE}/Users?count=2&cursor=")
    assert response.body["totalResults"] == len(users) - 1
    count = next(query["sql"] for query in queries.captured_queries if "COUNT(" in query["sql"])
    assert "drf_scim_scimuser" in count and "auth_user" not in count
    with django_assert_num_queries(3) as queries:
        response = api.get(f"{BASE}/Users?count=2&cursor=&filter=title pr")
    assert response.body["totalResults"] == len(users) - 2  # charlie has no title, golf is gone
    count = next(query["sql"] for query in queries.captured_queries if "COUNT(" in query["sql"])
    assert "auth_user" in count  # a filtered list is counted as it is filtered


@pytest.mark.parametrize("cursor", ["garbage", "eyJwIjoxfQ:1x:abc"])
def test_forged_cursor_is_invalid(api, users, cursor):
    response = api.get(f"{BASE}/Users?count=2&cursor={quote(cursor)}")
    assert response.status_code == 400
    assert response.body["scimType"] == "invalidCursor"


def test_tampered_cursor_is_invalid(api, users):
    cursor = api.get(f"{BASE}/Users?count=2&cursor=").body["nextCursor"]
    tampered = cursor[:-3] + ("aaa" if not cursor.endswith("aaa") else "bbb")
    response = api.get(f"{BASE}/Users?count=2&cursor={quote(tampered)}")
    assert response.body["scimType"] == "invalidCursor"


def test_cursor_of_another_list_is_invalid(api, users):
    cursor = api.get(f"{BASE}/Users?count=2&cursor=&sortBy=userName").body["nextCursor"]
    response = api.get(f"{BASE}/Users?count=2&sortBy=title&cursor={quote(cursor)}")
    assert response.status_code == 400
    assert response.body["scimType"] == "invalidCursor"


def test_expired_cursor(api, users):
    cursor = api.get(f"{BASE}/Users?count=2&cursor=").body["nextCursor"]
    with override_settings(DRF_SCIM={"CURSOR_TIMEOUT": -1}):
        response = api.get(f"{BASE}/Users?count=2&cursor={quote(cursor)}")
    assert response.status_code == 400
    assert response.body["scimType"] == "expiredCursor"


def test_search_request_with_cursor(api, users):
    body = {"schemas": [SEARCH_REQUEST_SCHEMA], "sortBy": "userName", "count": 3, "cursor": ""}
    first = api.post(f"{BASE}/Users/.search", body).body
    second = api.post(f"{BASE}/Users/.search", {**body, "cursor": first["nextCursor"]}).body
    names = [r["userName"] for r in first["Resources"] + second["Resources"]]
    assert names == index_order(api, "sortBy=userName")[:6]
    assert api.post(f"{BASE}/.search", {"cursor": ""}).status_code == 400


def test_service_provider_config_advertises_both_methods(api):
    assert api.get(f"{BASE}/ServiceProviderConfig").body["pagination"] == {
        "cursor": True,
        "index": True,
        "defaultPaginationMethod": "index",
        "defaultPageSize": 100,
        "maxPageSize": 1000,
        "cursorTimeout": 3600,
    }
