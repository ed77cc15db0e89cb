"""Index paging of lists (RFC 7644 §3.4.2.4) and the ListResponse envelope."""

from __future__ import annotations

import pytest
from django.test import override_settings

from drf_scim.constants import LIST_RESPONSE_SCHEMA
from tests.helpers import BASE


@pytest.fixture
def seven_users(create_user):
    return [create_user(f"user{n}@example.com")["id"] for n in range(7)]


def page(api, query: str = ""):
    response = api.get(f"{BASE}/Users{query}")
    assert response.status_code == 200, response.body
    return response.body


@pytest.mark.django_db
class TestListResponse:
    def test_envelope(self, api, seven_users):
        body = page(api)
        assert body["schemas"] == [LIST_RESPONSE_SCHEMA]
        assert body["totalResults"] == 7
        assert body["itemsPerPage"] == 7
        assert body["startIndex"] == 1
        assert [user["id"] for user in body["Resources"]] == seven_users

    def test_empty_list(self, api):
        body = page(api)
        assert (body["totalResults"], body["itemsPerPage"], body["Resources"]) == (0, 0, [])

    def test_pages_are_stable_and_disjoint(self, api, seven_users):
        seen = []
        for start in (1, 4, 7):
            body = page(api, f"?startIndex={start}&count=3")
            assert body["startIndex"] == start
            assert body["totalResults"] == 7
            assert body["itemsPerPage"] == len(body["Resources"])
            seen += [user["id"] for user in body["Resources"]]
        assert seen == seven_users

    @pytest.mark.parametrize(("start", "expected"), [("0", 1), ("-5", 1), ("1", 1), ("3", 3)])
    def test_start_index_below_one_means_one(self, api, seven_users, start, expected):
        body = page(api, f"?startIndex={start}&count=2")
        assert body["startIndex"] == expected
        assert body["Resources"][0]["id"] == seven_users[expected - 1]

    @pytest.mark.parametrize("count", ["0", "-1", "-100"])
    def test_count_zero_or_negative_returns_only_the_total(self, api, seven_users, count, django_assert_num_queries):
        with django_assert_num_queries(2):  # token, COUNT
            body = page(api, f"?count={count}")
        assert (body["totalResults"], body["itemsPerPage"], body["Resources"]) == (7, 0, [])

    @pytest.mark.parametrize(
        "query",
        ["", "&filter=userName%20sw%20%22user%22", "&sortBy=userName", "&sortBy=userName&sortOrder=descending"],
    )
    def test_a_start_index_beyond_any_database_offset_is_past_the_end(self, api, seven_users, query):
        start = 10**20
        body = page(api, f"?startIndex={start}&count=2{query}")
        assert (body["totalResults"], body["startIndex"], body["Resources"]) == (7, start, [])
        search = api.post(f"{BASE}/Users/.search", {"startIndex": start, "count": 2})
        assert search.status_code == 200, search.body
        assert (search.body["totalResults"], search.body["Resources"]) == (7, [])

    def test_start_index_past_the_end(self, api, seven_users):
        body = page(api, "?startIndex=50")
        assert (body["totalResults"], body["itemsPerPage"], body["startIndex"], body["Resources"]) == (7, 0, 50, [])

    def test_default_and_maximum_count_are_settings(self, api, seven_users):
        with override_settings(DRF_SCIM={"DEFAULT_PAGE_SIZE": 2, "MAX_PAGE_SIZE": 5}):
            assert page(api)["itemsPerPage"] == 2
            assert page(api, "?count=100")["itemsPerPage"] == 5

    @pytest.mark.parametrize("query", ["?count=abc", "?startIndex=1.5", "?count=1e3"])
    def test_non_integer_parameters_are_invalid(self, api, query):
        response = api.get(f"{BASE}/Users{query}")
        assert response.status_code == 400
        assert response.body["scimType"] == "invalidValue"

    def test_okta_import_pages_by_100(self, api, seven_users):
        with override_settings(DRF_SCIM={"MAX_PAGE_SIZE": 3}):
            first = page(api, "?startIndex=1&count=100")
            second = page(api, f"?startIndex={1 + first['itemsPerPage']}&count=100")
        assert first["itemsPerPage"] == second["itemsPerPage"] == 3
        assert isinstance(first["totalResults"], int)
        assert not {u["id"] for u in first["Resources"]} & {u["id"] for u in second["Resources"]}

    def test_google_probe_with_count_one(self, api, seven_users):
        body = page(api, "?count=1")
        assert body["itemsPerPage"] == 1
        assert body["totalResults"] == 7

    def test_groups_page_too(self, api, create_group):
        for n in range(3):
            create_group(f"g{n}")
        body = api.get(f"{BASE}/Groups?startIndex=2&count=1").body
        assert [g["displayName"] for g in body["Resources"]] == ["g1"]
        assert body["totalResults"] == 3


@pytest.mark.django_db
class TestHowPagesAreRead:
    """What a page costs: lists count and skip the SCIM rows alone, and a page holding the end needs no COUNT."""

    FILTER = "filter=userName%20sw%20%22user%22"

    def test_a_filtered_page_holding_the_end_needs_no_count(self, api, seven_users, django_assert_num_queries):
        with django_assert_num_queries(2):  # token, page (with the groups)
            body = page(api, f"?{self.FILTER}&count=100")
        assert (body["totalResults"], body["itemsPerPage"]) == (7, 7)
        with django_assert_num_queries(2):
            body = page(api, f"?{self.FILTER}&startIndex=6&count=3")
        assert (body["totalResults"], body["itemsPerPage"]) == (7, 2)

    def test_a_full_or_empty_filtered_page_counts(self, api, seven_users, django_assert_num_queries):
        with django_assert_num_queries(3):  # token, page, COUNT
            body = page(api, f"?{self.FILTER}&count=3")
        assert (body["totalResults"], body["itemsPerPage"]) == (7, 3)
        with django_assert_num_queries(3):  # token, page (empty), COUNT
            body = page(api, f"?{self.FILTER}&startIndex=9")
        assert (body["totalResults"], body["Resources"]) == (7, [])

    def test_a_deep_page_costs_what_the_first_costs(self, api, seven_users, django_assert_num_queries):
        with django_assert_num_queries(3):  # token, the page's keys, its rows with the number of keys after it
            first = page(api, "?count=2")
        with django_assert_num_queries(3):
            deep = page(api, "?startIndex=6&count=2")
        assert [user["id"] for user in first["Resources"] + deep["Resources"]] == seven_users[:2] + seven_users[5:]
        assert first["totalResults"] == deep["totalResults"] == 7

    @pytest.mark.parametrize(
        ("query", "total", "shown"),
        [
            ("?startIndex=3&count=2", 7, 2),  # keys follow the page: counted with its rows
            ("?startIndex=6&count=2", 7, 2),  # a full page that ends the list: none follow
            ("?startIndex=7&count=2", 7, 1),  # a short page ends the list: nothing to count
            ("?startIndex=8&count=2", 7, 0),  # past the end: a COUNT instead of the rows
            ("?startIndex=1&count=7", 7, 7),
        ],
    )
    def test_an_unfiltered_total_is_the_offset_the_page_and_what_follows(
        self, api, seven_users, django_assert_num_queries, query, total, shown
    ):
        with django_assert_num_queries(3):
            body = page(api, query)
        assert (body["totalResults"], body["itemsPerPage"], len(body["Resources"])) == (total, shown, shown)

    @override_settings(DRF_SCIM={"SOFT_DELETE_USERS": True})
    def test_soft_deleted_users_are_neither_counted_nor_paged(self, api, seven_users):
        for user_id in seven_users[1:6:2]:
            assert api.delete(f"{BASE}/Users/{user_id}").status_code == 204
        kept = [seven_users[0], seven_users[2], seven_users[4], seven_users[6]]
        body = page(api, "?startIndex=2&count=2")
        assert body["totalResults"] == 4
        assert [user["id"] for user in body["Resources"]] == kept[1:3]

    @pytest.mark.parametrize(
        ("prefix", "column"),
        [("/scim/staff", "is_staff"), ("/scim/active", "is_active")],
        ids=["get_base_queryset", "get_queryset"],
    )
    def test_a_narrower_queryset_is_paged_as_it_narrows(self, api, seven_users, prefix, column):
        from django.contrib.auth import get_user_model

        users = get_user_model().objects
        users.update(**{column: False})
        users.filter(scim__scim_id__in=seven_users[3:]).update(**{column: True})
        response = api.get(f"{prefix}/Users?startIndex=2&count=2")
        assert response.status_code == 200, response.body
        assert response.body["totalResults"] == 4
        assert [user["id"] for user in response.body["Resources"]] == seven_users[4:6]
