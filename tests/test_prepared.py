"""Reads a viewset repeats with other values compile their SQL once (drf_scim.plans), and answer as before."""

from __future__ import annotations

from collections import Counter

import pytest
from django.contrib.auth import get_user_model
from django.db.models.sql import Query
from django.db.models.sql.compiler import SQLCompiler

from drf_scim import plans
from drf_scim.filters.translate import AttributeMap
from tests.helpers import BASE

pytestmark = pytest.mark.django_db


@pytest.fixture
def compiled(monkeypatch) -> Counter:
    """How many times SQL was compiled for each model."""
    counts: Counter = Counter()
    as_sql = SQLCompiler.as_sql

    def counting(self, *args, **kwargs):
        counts[self.query.model.__name__ if self.query.model else None] += 1
        return as_sql(self, *args, **kwargs)

    monkeypatch.setattr(SQLCompiler, "as_sql", counting)
    return counts


def test_reading_users_by_id_compiles_the_sql_once(api, create_user, compiled):
    users = [create_user(f"user{n}@example.com", displayName=f"User {n}") for n in range(3)]
    api.get(f"{BASE}/Users/{users[0]['id']}")
    compiled.clear()
    for user in users[1:]:
        response = api.get(f"{BASE}/Users/{user['id']}")
        assert response.status_code == 200
        assert response.body["id"] == user["id"]
        assert response.body["displayName"] == user["displayName"]
    assert compiled["User"] == 0, compiled


def test_prepared_reads_look_their_column_converters_up_once(api, create_user, monkeypatch):
    users = [create_user(f"user{n}@example.com", displayName=f"User {n}") for n in range(3)]
    api.get(f"{BASE}/Users/{users[0]['id']}")
    api.get(f'{BASE}/Users?filter=userName eq "user0@example.com"')
    asked = Counter()
    get_converters = SQLCompiler.get_converters

    def counting(self, expressions):
        asked[self.query.model.__name__] += 1
        return get_converters(self, expressions)

    monkeypatch.setattr(SQLCompiler, "get_converters", counting)
    for user in users[1:]:
        body = api.get(f"{BASE}/Users/{user['id']}").body
        assert (body["displayName"], body["active"], body["meta"]["created"]) == (
            user["displayName"],
            True,
            user["meta"]["created"],
        )
        found = api.get(f'{BASE}/Users?filter=userName eq "{user["userName"]}"').body["Resources"]
        assert [resource["id"] for resource in found] == [user["id"]]
    assert asked["User"] == 0, asked


def test_a_prepared_read_sees_every_write(api, create_user, create_group):
    user = create_user()
    api.get(f"{BASE}/Users/{user['id']}")
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "displayName", "value": "Babs"}],
    }
    assert api.patch(f"{BASE}/Users/{user['id']}", patch).status_code == 200
    create_group("Readers", members=[user["id"]])
    body = api.get(f"{BASE}/Users/{user['id']}").body
    assert body["displayName"] == "Babs"
    assert [group["display"] for group in body["groups"]] == ["Readers"]
    assert body["meta"]["version"] == 'W/"2"'


@pytest.mark.parametrize("scim_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000", "1" * 40])
def test_ids_that_name_nothing_answer_404_before_and_after_the_sql_is_compiled(api, create_user, scim_id):
    user = create_user()
    for _ in range(2):
        response = api.get(f"{BASE}/Users/{scim_id}")
        assert response.status_code == 404
        assert response.body["status"] == "404"
        assert api.get(f"{BASE}/Users/{user['id']}").status_code == 200


def test_deleted_users_are_gone_from_prepared_reads(api, create_user):
    user = create_user()
    assert api.get(f"{BASE}/Users/{user['id']}").status_code == 200
    assert api.delete(f"{BASE}/Users/{user['id']}").status_code == 204
    assert api.get(f"{BASE}/Users/{user['id']}").status_code == 404
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": False}],
    }
    assert api.patch(f"{BASE}/Users/{user['id']}", patch).status_code == 404


def test_a_viewset_narrowing_its_queryset_is_read_through_it(api, create_user):
    """StaffOnlyUserViewSet overrides get_base_queryset: a non-staff user is no resource there."""
    user = create_user()
    assert api.get(f"/scim/staff/Users/{user['id']}").status_code == 404
    get_user_model().objects.filter(username=user["userName"]).update(is_staff=True)
    assert api.get(f"/scim/staff/Users/{user['id']}").status_code == 200


def names(response) -> list[str]:
    assert response.status_code == 200, response.body
    return [user["userName"] for user in response.body["Resources"]]


def test_filters_resolve_each_attribute_once_per_resource_type_and_tenant(api, create_user, monkeypatch):
    plans.clear()  # no translator an earlier test built
    for n in range(3):
        create_user(f"user{n}@example.com", externalId=f"EXT-{n}")
    assert names(api.get(f'{BASE}/Users?filter=userName eq "user0@example.com"')) == ["user0@example.com"]
    resolved = Counter()
    find = AttributeMap.find

    def counting(self, path):
        resolved[path.attribute] += 1
        return find(self, path)

    monkeypatch.setattr(AttributeMap, "find", counting)
    assert names(api.get(f'{BASE}/Users?filter=USERNAME eq "user1@example.com"')) == ["user1@example.com"]
    assert names(api.get(f'{BASE}/Users?filter=externalId eq "EXT-2" and userName pr')) == ["user2@example.com"]
    assert names(api.get(f'{BASE}/Users?filter=externalId eq "EXT-1"&sortBy=userName')) == ["user1@example.com"]
    assert resolved == Counter({"externalId": 1}), resolved


def test_lookups_by_user_name_compile_the_sql_once_and_find_each_user(api, create_user, compiled):
    for n in range(4):
        create_user(f"user{n}@example.com", externalId=f"EXT-{n}")
    assert names(api.get(f'{BASE}/Users?filter=userName eq "user0@example.com"')) == ["user0@example.com"]
    compiled.clear()
    assert names(api.get(f'{BASE}/Users?filter=userName eq "USER1@Example.com"')) == ["user1@example.com"]
    assert names(api.get(f'{BASE}/Users?filter=username EQ "user2@example.com"')) == ["user2@example.com"]
    assert names(api.get(f'{BASE}/Users?filter=userName eq "nobody@example.com"')) == []
    assert compiled["User"] == 0, compiled


def test_a_prepared_lookup_never_builds_the_filter_into_a_query(api, create_user, monkeypatch):
    for n in range(3):
        create_user(f"user{n}@example.com")
    assert names(api.get(f'{BASE}/Users?filter=userName eq "user0@example.com"')) == ["user0@example.com"]
    built = Counter()
    add_q = Query.add_q

    def counting(self, q_object, *args, **kwargs):
        built[self.model.__name__] += 1
        return add_q(self, q_object, *args, **kwargs)

    monkeypatch.setattr(Query, "add_q", counting)
    assert names(api.get(f'{BASE}/Users?filter=userName eq "user1@example.com"')) == ["user1@example.com"]
    assert built["User"] == 0, built
    # A later page is no lookup: it builds the query and finds the same rows as ever.
    response = api.get(f'{BASE}/Users?filter=userName sw "user"&startIndex=2&count=1')
    assert names(response) == ["user1@example.com"] and response.body["totalResults"] == 3
    assert built["User"] > 0


def test_full_pages_of_a_list_compile_their_rows_sql_once(api, create_user, compiled):
    ids = [create_user(f"user{n}@example.com")["id"] for n in range(7)]
    assert [user["id"] for user in api.get(f"{BASE}/Users?count=2").body["Resources"]] == ids[:2]
    compiled.clear()
    for start in (3, 5, 2):
        body = api.get(f"{BASE}/Users?startIndex={start}&count=2").body
        assert [user["id"] for user in body["Resources"]] == ids[start - 1 : start + 1]
        assert body["totalResults"] == 7
    assert compiled["User"] == 0, compiled  # the keys (SCIMUser rows) are sliced anew for each page
    body = api.get(f"{BASE}/Users?startIndex=7&count=2").body  # a short page: rows of their own
    assert ([user["id"] for user in body["Resources"]], body["totalResults"]) == (ids[6:], 7)


def test_every_value_of_a_prepared_filter_goes_to_its_place(api, create_user):
    for n in range(4):
        create_user(f"user{n}@example.com", externalId=f"EXT-{n}", displayName=f"User {n}")
    cases = [
        (
            'userName eq "user0@example.com" or userName eq "user3@example.com"',
            ["user0@example.com", "user3@example.com"],
        ),
        (
            'userName eq "user3@example.com" or userName eq "user1@example.com"',
            ["user1@example.com", "user3@example.com"],
        ),
        ('userName eq "user1@example.com" and externalId eq "EXT-1"', ["user1@example.com"]),
        ('userName eq "user1@example.com" and externalId eq "EXT-2"', []),
        ('externalId eq "ext-2"', []),  # externalId is case-exact
        ('externalId eq "EXT-2"', ["user2@example.com"]),
        ('not (userName eq "user0@example.com") and displayName eq "User 2"', ["user2@example.com"]),
        ('not (userName eq "user2@example.com") and displayName eq "User 2"', []),
        ('displayName eq "USER 3"', ["user3@example.com"]),  # caseExact false: IExact on the JSON document
        ('displayName eq "User 3 "', []),
        ('name.givenName eq "barbara" and externalId eq "EXT-0"', ["user0@example.com"]),
        ('displayName eq "50%_OFF"', ["promo@example.com"]),  # LIKE wildcards match themselves
    ]
    create_user("promo@example.com", displayName="50%_off")
    create_user("promo2@example.com", displayName="50x-off")
    for _ in range(2):  # compiled, then prepared
        for text, expected in cases:
            assert names(api.get(f"{BASE}/Users", {"filter": text})) == expected, text


def test_pages_of_a_prepared_filter_and_unprepared_shapes(api, create_user):
    for n in range(5):
        create_user(f"user{n}@example.com", title="Guide" if n % 2 else "Chef")
    for _ in range(2):
        body = api.get(f'{BASE}/Users?filter=title eq "Chef"&startIndex=2&count=1').body
        assert (body["totalResults"], [u["userName"] for u in body["Resources"]]) == (3, ["user2@example.com"])
        assert names(api.get(f'{BASE}/Users?filter=userName co "er3"')) == ["user3@example.com"]
        assert names(api.get(f'{BASE}/Users?filter=userName co "er4"')) == ["user4@example.com"]
        assert names(api.get(f'{BASE}/Users?filter=title eq "Guide"&sortBy=userName&sortOrder=descending')) == [
            "user3@example.com",
            "user1@example.com",
        ]
        search = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": 'title eq "Guide"'}
        assert names(api.post(f"{BASE}/Users/.search", search)) == ["user1@example.com", "user3@example.com"]


def test_paging_through_filters_keeps_the_prepared_reads_by_id(api, create_user, compiled):
    """Clients choose filters and pages: those never evict the reads by id (and only first pages are kept)."""
    user = create_user()
    api.get(f"{BASE}/Users/{user['id']}")
    for start in range(1, 300):
        assert api.get(f"{BASE}/Users?filter=userName pr&startIndex={start}&count=1").status_code == 200
    for count in range(1, 300):  # a first page of each size: more than the pages' cache keeps
        assert api.get(f'{BASE}/Users?filter=userName eq "u{count}"&count={count}').status_code == 200
    compiled.clear()
    assert api.get(f"{BASE}/Users/{user['id']}").status_code == 200
    assert compiled["User"] == 0, compiled


def test_writes_read_back_relations_with_sql_compiled_once(api, create_user, create_group, compiled):
    """After POST (a user's groups) and a member PATCH (a group's members), the response's relations are
    read again; that read is prepared too."""
    first = create_user("first@example.com")
    group = create_group("Readers", members=[first["id"]])
    compiled.clear()
    second = create_user("second@example.com")
    assert second["groups"] == []
    assert compiled["User"] == 0, compiled
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": second["id"]}]}],
    }
    api.patch(f"{BASE}/Groups/{group['id']}?attributes=members", patch)  # Groups answer 204 unless asked
    compiled.clear()
    third = create_user("third@example.com")
    patch["Operations"][0]["value"] = [{"value": third["id"]}]
    body = api.patch(f"{BASE}/Groups/{group['id']}?attributes=members", patch).body
    assert sorted(member["value"] for member in body["members"]) == sorted([first["id"], second["id"], third["id"]])
    assert compiled["Group"] == 0, compiled
