"""Filtering (RFC 7644 §3.4.2.2), sorting (§3.4.2.3) and .search (§3.4.3) through HTTP, on both databases."""

from __future__ import annotations

import io
import uuid
from urllib.parse import quote

import pytest
from django.core.management import call_command
from django.test import override_settings

from drf_scim.constants import ENTERPRISE_USER_SCHEMA, SEARCH_REQUEST_SCHEMA
from tests.helpers import BASE, user_body

pytestmark = pytest.mark.django_db

ENT = ENTERPRISE_USER_SCHEMA


@pytest.fixture
def people(create_user, create_group):
    bjensen = create_user(
        "bjensen",
        externalId="ABC-1",
        name={"givenName": "Barbara", "familyName": "Jensen"},
        displayName="Babs Jensen",
        title="Tour Guide",
        userType="Employee",
        emails=[
            {"value": "bjensen@example.com", "type": "work", "primary": True},
            {"value": "babs@jensen.org", "type": "home"},
        ],
    )
    jsmith = create_user(
        "JSmith",
        externalId="abc-2",
        name={"givenName": "John", "familyName": "O'Malley"},
        userType="Intern",
        emails=[{"value": "js@example.org", "type": "work"}],
    )
    mpepper = create_user(
        "mpepper@example.com",
        name={"givenName": "Mandy", "familyName": "Pepper"},
        userType="Employee",
        active=False,
        emails=[{"value": "mp@foo.com", "type": "work"}],
        ims=[{"value": "mp@foo.com", "type": "xmpp"}],
        **{ENT: {"department": "Sales", "manager": {"value": bjensen["id"]}}},
    )
    odd = create_user("50%_off", displayName="a_b", emails=[], name=None)
    guides = create_group("Guides", [bjensen["id"], mpepper["id"]])
    interns = create_group("Interns", [jsmith["id"]])
    return {
        "bjensen": bjensen,
        "jsmith": jsmith,
        "mpepper": mpepper,
        "odd": odd,
        "guides": guides,
        "interns": interns,
    }


def search(api, text: str, endpoint: str = "Users", **params) -> list[str]:
    query = "&".join([f"filter={quote(text)}", *(f"{k}={quote(str(v))}" for k, v in params.items())])
    response = api.get(f"{BASE}/{endpoint}?{query}")
    assert response.status_code == 200, response.body
    body = response.body
    assert body["totalResults"] == len(body["Resources"]) or "count" in params
    return [resource.get("userName") or resource.get("displayName") for resource in body["Resources"]]


def invalid(api, text: str, endpoint: str = "Users") -> str:
    response = api.get(f"{BASE}/{endpoint}?filter={quote(text)}")
    assert response.status_code == 400, (text, response.body)
    assert response.body["scimType"] == "invalidFilter"
    return response.body["detail"]


RFC_EXAMPLES = [
    ('userName eq "bjensen"', ["bjensen"]),
    ('name.familyName co "O\'Malley"', ["JSmith"]),
    ('userName sw "J"', ["JSmith"]),
    ('urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"', ["JSmith"]),
    ("title pr", ["bjensen"]),
    ('meta.lastModified gt "2011-05-13T04:42:34Z"', ["bjensen", "JSmith", "mpepper@example.com", "50%_off"]),
    ('meta.lastModified ge "2011-05-13T04:42:34Z"', ["bjensen", "JSmith", "mpepper@example.com", "50%_off"]),
    ('meta.lastModified lt "2011-05-13T04:42:34Z"', []),
    ('meta.lastModified le "2011-05-13T04:42:34Z"', []),
    ('title pr and userType eq "Employee"', ["bjensen"]),
    ('title pr or userType eq "Intern"', ["bjensen", "JSmith"]),
    (f'schemas eq "{ENT}"', ["mpepper@example.com"]),
    (f'schemas ne "{ENT}"', ["bjensen", "JSmith", "50%_off"]),
    (
        'schemas eq "urn:ietf:params:scim:schemas:core:2.0:User"',
        ["bjensen", "JSmith", "mpepper@example.com", "50%_off"],
    ),
    ('schemas ne "urn:ietf:params:scim:schemas:core:2.0:User"', []),
    ('userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")', ["bjensen"]),
    ('userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")', ["50%_off"]),
    ('userType eq "Employee" and (emails.type eq "work")', ["bjensen", "mpepper@example.com"]),
    ('userType eq "Employee" and emails[type eq "work" and value co "@example.com"]', ["bjensen"]),
    (
        'emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]',
        ["bjensen", "mpepper@example.com"],
    ),
]


@pytest.mark.parametrize(("text", "expected"), RFC_EXAMPLES)
def test_rfc_examples(api, people, text, expected):
    assert search(api, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('userName eq "BJENSEN"', ["bjensen"]),
        ('USERNAME EQ "bjensen"', ["bjensen"]),
        ('userName ne "bjensen"', ["JSmith", "mpepper@example.com", "50%_off"]),
        ('externalId eq "ABC-1"', ["bjensen"]),
        ('externalId eq "abc-1"', []),
        ('externalId sw "abc-"', ["JSmith"]),
        ('externalId co "BC-1"', ["bjensen"]),
        ('externalId ew "c-2"', ["JSmith"]),
        ('name.familyName eq "jensen"', ["bjensen"]),
        ('name.givenName sw "jo"', ["JSmith"]),
        ('displayName eq "BABS JENSEN"', ["bjensen"]),
        ('displayName ew "jensen"', ["bjensen"]),
        ("displayName pr", ["bjensen", "50%_off"]),
        ("not (displayName pr)", ["JSmith", "mpepper@example.com"]),
        ('title ne "Tour Guide"', ["JSmith", "mpepper@example.com", "50%_off"]),
        ('userName co "%"', ["50%_off"]),
        ('userName co "_"', ["50%_off"]),
        ('displayName co "_"', ["50%_off"]),
        ('userName gt "k"', ["mpepper@example.com"]),
        ('userName le "JSMITH"', ["bjensen", "JSmith", "50%_off"]),
        ('userType eq "Intern" or userType eq "Employee" and title pr', ["bjensen", "JSmith"]),
        ('(userType eq "Intern" or userType eq "Employee") and title pr', ["bjensen"]),
        ("active eq false", ["mpepper@example.com"]),
        ('active eq "False"', ["mpepper@example.com"]),
        ("active ne true", ["mpepper@example.com"]),
        ('emails eq "BJENSEN@example.com"', ["bjensen"]),
        ('emails.value eq "babs@jensen.org"', ["bjensen"]),
        ('emails[type eq "work"].value eq "js@example.org"', ["JSmith"]),
        ('emails[type eq "home"].value eq "js@example.org"', []),
        ('emails co "e"', ["bjensen", "JSmith"]),
        ("emails pr", ["bjensen", "JSmith", "mpepper@example.com"]),
        ("emails.primary eq true", ["bjensen"]),
        ('emails.type ne "home"', ["JSmith", "mpepper@example.com", "50%_off"]),
        (f'{ENT}:department eq "sales"', ["mpepper@example.com"]),
        (f"{ENT}:department pr", ["mpepper@example.com"]),
        ('meta.resourceType eq "User"', ["bjensen", "JSmith", "mpepper@example.com", "50%_off"]),
        ('meta.resourceType eq "Group"', []),
        # Conditions every resource meets (an empty Q in Django) under not and or.
        ("not (id pr)", []),
        ('not (meta.resourceType eq "User")', []),
        ('not (meta.resourceType eq "Group")', ["bjensen", "JSmith", "mpepper@example.com", "50%_off"]),
        ('userName eq "nobody" or id pr', ["bjensen", "JSmith", "mpepper@example.com", "50%_off"]),
        ('id pr or userName eq "nobody"', ["bjensen", "JSmith", "mpepper@example.com", "50%_off"]),
        ('id pr and userName eq "bjensen"', ["bjensen"]),
        ('not (userName eq "nobody" or id pr)', []),
        ("groups pr", ["bjensen", "JSmith", "mpepper@example.com"]),
        ('groups.display eq "interns"', ["JSmith"]),
    ],
)
def test_attribute_semantics(api, people, text, expected):
    assert search(api, text) == expected


def test_ids_and_references(api, people):
    bjensen, guides = people["bjensen"], people["guides"]
    assert search(api, f'id eq "{bjensen["id"]}"') == ["bjensen"]
    assert search(api, 'id eq "not-a-uuid"') == []
    assert search(api, f'{ENT}:manager.value eq "{bjensen["id"]}"') == ["mpepper@example.com"]
    assert search(api, f'groups.value eq "{guides["id"]}"') == ["bjensen", "mpepper@example.com"]
    assert search(api, f'groups[value eq "{guides["id"]}"]') == ["bjensen", "mpepper@example.com"]


def test_groups(api, people):
    bjensen, jsmith = people["bjensen"]["id"], people["jsmith"]["id"]
    assert search(api, 'displayName eq "guides"', "Groups") == ["Guides"]
    assert search(api, f'members[value eq "{bjensen}"]', "Groups") == ["Guides"]
    assert search(api, f'members.value eq "{jsmith}"', "Groups") == ["Interns"]
    assert search(api, f'members eq "{jsmith}" or members eq "{bjensen}"', "Groups") == ["Guides", "Interns"]
    assert search(api, f'not (members[value eq "{bjensen}"])', "Groups") == ["Interns"]
    assert "display" in invalid(api, 'members.display eq "JSmith"', "Groups")
    assert search(api, 'members.type eq "User"', "Groups") == ["Guides", "Interns"]


def test_a_resource_matching_several_values_is_returned_once(api, people):
    response = api.get(f"{BASE}/Users?filter=" + quote('emails co "."'))
    names = [r["userName"] for r in response.body["Resources"]]
    assert names == ["bjensen", "JSmith", "mpepper@example.com"]
    assert response.body["totalResults"] == 3


def test_entra_test_connection_with_plus_for_spaces(api, people):
    response = api.get(f"{BASE}/Users?filter=userName+eq+%22{uuid.uuid4()}%22")
    assert response.status_code == 200
    assert response.body["totalResults"] == 0
    assert response.body["Resources"] == []


def test_entra_compliance_flag_in_the_query_string_is_ignored(api, people):
    """docs/guides/entra.rst: a Tenant URL with ?aadOptscim062020 reaches the server as one more parameter."""
    response = api.get(f"{BASE}/Users?aadOptscim062020&filter=userName+eq+%22bjensen%22")
    assert response.status_code == 200
    assert [r["userName"] for r in response.body["Resources"]] == ["bjensen"]


def test_okta_lookup_with_paging(api, people):
    text = quote('userName eq "MPEPPER@EXAMPLE.COM"')
    response = api.get(f"{BASE}/Users?filter={text}&startIndex=1&count=100")
    assert response.body["totalResults"] == 1
    assert response.body["Resources"][0]["userName"] == "mpepper@example.com"


def test_filter_composes_with_paging_and_projection(api, people, django_assert_num_queries):
    query = "filter=" + quote('userType eq "Employee"') + "&count=1&startIndex=2&attributes=userName"
    with django_assert_num_queries(3):  # token, COUNT, page (groups are not asked for)
        body = api.get(f"{BASE}/Users?{query}").body
    assert body["totalResults"] == 2
    assert body["Resources"] == [
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": people["mpepper"]["id"],
            "userName": "mpepper@example.com",
        }
    ]
    with django_assert_num_queries(3):  # token, COUNT, page (with each user's groups)
        api.get(f"{BASE}/Users?{query},groups")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('nickName2 eq "x"', "nickName2"),
        ('userName eq "x" or unknown pr', "unknown"),
        ("active gt true", "gt"),
        ('active co "t"', "co"),
        ("userName eq 5", "string"),
        ('meta.created gt "yesterday"', "dateTime"),
        ('urn:example:nope:attr eq "x"', "urn:example:nope"),
        ('password eq "x"', "password"),
        ("userName eq", "position"),
        ('userName eq "x" and', "position"),
        ("((((userName pr", "position"),
        ('title[value eq "x"]', "multi-valued"),
        ('emails[nope eq "x"]', "nope"),
        ('name eq "x"', "sub-attribute"),
        ('emails.nope eq "x"', "nope"),
    ],
)
def test_invalid_filters(api, people, text, fragment):
    assert fragment in invalid(api, text)


def test_nickName_is_a_real_attribute(api, people):
    assert search(api, "nickName pr") == []


def test_limits(api, people):
    with override_settings(DRF_SCIM={"FILTER_MAX_LENGTH": 30, "FILTER_MAX_DEPTH": 3}):
        assert "30" in invalid(api, 'userName eq "' + "x" * 40 + '"')
        assert "3" in invalid(api, "(((( userName pr ))))")
        assert search(api, "((userName pr))") == ["bjensen", "JSmith", "mpepper@example.com", "50%_off"]


def test_json_attributes_of_custom_resource_types(api):
    for serial, managed in (("A", True), ("B", False)):
        assert api.post(f"{BASE}/Devices", {"serialNumber": serial, "managed": managed}).status_code == 201
    assert [d["serialNumber"] for d in api.get(f"{BASE}/Devices?filter=managed+eq+true").body["Resources"]] == ["A"]
    assert [d["serialNumber"] for d in api.get(f"{BASE}/Devices?filter=serialNumber+sw+%22b%22").body["Resources"]] == [
        "B"
    ]


def test_custom_extension_multi_valued_attributes(api):
    acme = "urn:acme:params:scim:schemas:extension:2.0:User"
    with override_settings(DRF_SCIM={"USER_SERIALIZER": "tests.testapp.serializers.AcmeUserSerializer"}):
        api.post(f"{BASE}/Users", user_body("a", **{acme: {"badges": [{"number": "7", "site": "HQ"}]}}))
        api.post(f"{BASE}/Users", user_body("b", **{acme: {"badges": [{"number": "8"}]}}))
        assert search(api, f'{acme}:badges[number eq "7"]') == ["a"]
        assert search(api, f"{acme}:badges.site pr") == ["a"]


def test_replace_reindexes_multi_valued_attributes(api, people):
    body = user_body("bjensen", emails=[{"value": "new@example.net", "type": "work"}])
    assert api.put(f"{BASE}/Users/{people['bjensen']['id']}", body).status_code == 200
    assert search(api, 'emails.value eq "bjensen@example.com"') == []
    assert search(api, 'emails.value eq "new@example.net"') == ["bjensen"]


class TestSorting:
    def sorted_names(self, api, **params):
        query = "&".join(f"{k}={quote(str(v))}" for k, v in params.items())
        response = api.get(f"{BASE}/Users?{query}")
        assert response.status_code == 200, response.body
        return [r["userName"] for r in response.body["Resources"]]

    def test_sort_by_user_name_ignores_case(self, api, people):
        assert self.sorted_names(api, sortBy="userName") == ["50%_off", "bjensen", "JSmith", "mpepper@example.com"]
        assert self.sorted_names(api, sortBy="userName", sortOrder="descending") == [
            "mpepper@example.com",
            "JSmith",
            "bjensen",
            "50%_off",
        ]

    def test_sort_by_sub_and_extension_attributes_puts_unassigned_last(self, api, people):
        assert self.sorted_names(api, sortBy="name.familyName") == [
            "bjensen",
            "JSmith",
            "mpepper@example.com",
            "50%_off",
        ]
        assert self.sorted_names(api, sortBy="name.familyName", sortOrder="descending") == [
            "mpepper@example.com",
            "JSmith",
            "bjensen",
            "50%_off",
        ]
        assert self.sorted_names(api, sortBy=f"{ENT}:department")[0] == "mpepper@example.com"
        assert self.sorted_names(api, sortBy="displayName", sortOrder="DESCENDING")[:2] == ["bjensen", "50%_off"]

    def test_ties_break_on_creation_order(self, api, people):
        assert self.sorted_names(api, sortBy="userType") == ["bjensen", "mpepper@example.com", "JSmith", "50%_off"]
        assert self.sorted_names(api, sortBy="meta.created") == ["bjensen", "JSmith", "mpepper@example.com", "50%_off"]

    def test_sort_with_filter_and_paging(self, api, people):
        names = self.sorted_names(api, filter="userType pr", sortBy="userName", sortOrder="descending", count=2)
        assert names == ["mpepper@example.com", "JSmith"]

    @pytest.mark.parametrize(
        "params",
        [{"sortBy": "emails"}, {"sortBy": "nope"}, {"sortBy": "name"}, {"sortBy": "userName", "sortOrder": "up"}],
    )
    def test_invalid_sorts(self, api, people, params):
        query = "&".join(f"{k}={quote(v)}" for k, v in params.items())
        response = api.get(f"{BASE}/Users?{query}")
        assert response.status_code == 400
        assert response.body["scimType"] == "invalidValue"


class TestSearch:
    def post(self, api, path, body):
        return api.post(f"{BASE}{path}", {"schemas": [SEARCH_REQUEST_SCHEMA], **body})

    def test_users_search(self, api, people):
        response = self.post(
            api,
            "/Users/.search",
            {
                "filter": 'userType eq "Employee"',
                "attributes": ["userName"],
                "sortBy": "userName",
                "sortOrder": "descending",
                "startIndex": 1,
                "count": 1,
            },
        )
        assert response.status_code == 200, response.body
        body = response.body
        assert body["totalResults"] == 2
        assert body["Resources"] == [
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "id": people["mpepper"]["id"],
                "userName": "mpepper@example.com",
            }
        ]

    def test_groups_search_with_excluded_attributes(self, api, people):
        body = self.post(
            api, "/Groups/.search", {"filter": 'displayName sw "g"', "excludedAttributes": ["members"]}
        ).body
        assert [g["displayName"] for g in body["Resources"]] == ["Guides"]
        assert "members" not in body["Resources"][0]

    def test_root_search_spans_resource_types(self, api, people):
        body = self.post(api, "/.search", {"filter": 'displayName co "s"', "attributes": ["displayName"]}).body
        assert body["totalResults"] == 3
        assert [(r["schemas"][0].rsplit(":", 1)[-1], r["displayName"]) for r in body["Resources"]] == [
            ("User", "Babs Jensen"),
            ("Group", "Guides"),
            ("Group", "Interns"),
        ]

    def test_root_search_pages_across_types(self, api, people):
        first = self.post(api, "/.search", {"startIndex": 1, "count": 4}).body
        second = self.post(api, "/.search", {"startIndex": 5, "count": 4}).body
        assert first["totalResults"] == second["totalResults"] == 6
        ids = [r["id"] for r in first["Resources"] + second["Resources"]]
        assert len(ids) == len(set(ids)) == 6

    def test_root_search_attribute_known_to_one_type(self, api, people):
        body = self.post(api, "/.search", {"filter": 'userName eq "bjensen"'}).body
        assert [r["userName"] for r in body["Resources"]] == ["bjensen"]
        response = self.post(api, "/.search", {"filter": "nothing pr"})
        assert response.status_code == 400
        assert response.body["scimType"] == "invalidFilter"

    def test_search_needs_only_the_read_scope(self, anon, make_token, people):
        anon.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token('scim:read')}")
        for path in ("/Users/.search", "/Groups/.search", "/.search"):
            assert self.post(anon, path, {}).status_code == 200, path
        anon.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token('scim:write')}")
        assert self.post(anon, "/Users/.search", {}).status_code == 403
        assert self.post(anon, "/.search", {}).status_code == 403

    @pytest.mark.parametrize(
        "body",
        [{"count": "ten"}, {"attributes": "userName"}, {"filter": 5}, {"schemas": ["urn:wrong"]}],
    )
    def test_invalid_search_requests(self, api, people, body):
        response = api.post(f"{BASE}/Users/.search", body)
        if body == {"attributes": "userName"}:
            assert response.status_code == 200  # a comma-separated string is accepted
            return
        assert response.status_code == 400
        assert response.body["scimType"] in ("invalidValue", "invalidFilter")

    def test_get_on_search_is_405(self, api):
        assert api.get(f"{BASE}/Users/.search").status_code == 405


class TestDjangoFilterDeclarations:
    """A viewset's django-filter FilterSet maps SCIM attributes to lookups and adds ordinary query parameters."""

    @pytest.fixture
    def staff(self, api, people):
        from django.contrib.auth import get_user_model

        get_user_model().objects.filter(username="JSmith").update(is_staff=True)

    def names(self, api, query):
        response = api.get(f"/scim/filterable/Users?{query}")
        assert response.status_code == 200, response.body
        return [r["userName"] for r in response.body["Resources"]]

    def test_declared_attribute_in_a_scim_filter(self, api, staff):
        assert self.names(api, "filter=staff+eq+true") == ["JSmith"]
        assert self.names(api, "filter=" + quote('staff eq false and userType eq "Employee"')) == [
            "bjensen",
            "mpepper@example.com",
        ]

    def test_declared_lookup_into_the_document(self, api, staff):
        assert self.names(api, "filter=" + quote('department eq "SALES"')) == ["mpepper@example.com"]

    def test_ordinary_query_parameters_beside_filter(self, api, staff):
        assert self.names(api, "staff=true") == ["JSmith"]
        assert self.names(api, "staff=false&filter=" + quote('userName sw "b"')) == ["bjensen"]

    def test_unknown_attributes_are_still_errors(self, api, staff):
        response = api.get("/scim/filterable/Users?filter=superuser+eq+true")
        assert response.status_code == 400
        assert response.body["scimType"] == "invalidFilter"


@pytest.mark.parametrize(
    "text",
    [
        'id co "a"',
        'id gt "x"',
        'groups.value co "-"',
        f'{ENT}:manager.value gt "a"',
        'nickName eq "\\u0000"',
        'userName co "a\\u0000"',
        'meta.created eq "2020-13-45T00:00:00Z"',
        'meta.created eq "2020-01-01T25:00:00Z"',
        'meta.created gt "2020-01-01T00:00:00+99:00"',
        'meta.lastModified ge "0001-01-01T00:00:00+05:00"',
        'meta.lastModified le "9999-12-31T23:59:59-05:00"',
    ],
)
def test_unsupported_comparisons_and_impossible_values_are_invalid_filters(api, create_user, text):
    """Ids and references compare by equality only; a NUL or an instant beyond datetime's range is no value."""
    create_user()
    response = api.get(f"{BASE}/Users?filter={quote(text)}")
    assert response.status_code == 400, response.body
    assert response.body["scimType"] == "invalidFilter"


def test_a_datetime_without_an_offset_is_utc(api, create_user):
    create_user()
    response = api.get(f"{BASE}/Users?filter=" + quote('meta.created gt "2000-01-01T00:00:00"'))
    assert response.body["totalResults"] == 1


def test_members_value_compares_by_equality_only(api, create_group):
    create_group("G")
    response = api.get(f"{BASE}/Groups?filter=" + quote('members.value sw "1"'))
    assert response.status_code == 400


def test_schemas_eq_an_extension_matches_a_user_whose_only_extension_attribute_is_its_manager(api, create_user):
    boss = create_user("boss@example.com")
    create_user("report@example.com", **{ENT: {"manager": boss["id"]}})
    body = api.get(f"{BASE}/Users?filter=" + quote(f'schemas eq "{ENT}"')).body
    assert [u["userName"] for u in body["Resources"]] == ["report@example.com"]


def test_root_search_filters_and_sorts_on_attributes_only_one_type_has(api, create_user, create_group):
    create_user("bjensen")
    create_group("Guides")
    body = api.post(
        f"{BASE}/.search", {"sortBy": "userName", "filter": 'userName eq "bjensen" or displayName eq "guides"'}
    ).body
    assert sorted(r.get("userName") or r["displayName"] for r in body["Resources"]) == ["Guides", "bjensen"]
    response = api.post(f"{BASE}/.search", {"sortBy": "nothing"})
    assert response.status_code == 400


@pytest.mark.parametrize(("value", "expected"), [("12@example.com", 2), ("_2@example.com", 0), ("%", 0)])
def test_ends_with_matches_the_folded_suffix_and_takes_like_wildcards_literally(api, db, value, expected):
    call_command("scim_seed", users=120, groups=0, stdout=io.StringIO())
    response = api.get(f"{BASE}/Users", {"filter": f'userName ew "{value.upper()}"', "count": 0})
    assert response.status_code == 200
    assert response.body["totalResults"] == expected  # user12 and user112
