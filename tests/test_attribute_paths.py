"""One attribute path names one attribute wherever it is written: filter, sortBy, a PATCH path, attributes=.

Names and URNs ignore case (RFC 7643 §2.1), the core schema's URN is optional, an extension's attributes sit
behind its URN. What an unknown path is depends on where it is written: a 400 invalidFilter in a filter, a 400
invalidValue in sortBy, a 400 invalidPath in a PATCH path, and nothing at all in attributes=, which names what
to return and is lenient about what a resource type lacks (drf_scim.schema.paths).
"""

from __future__ import annotations

from typing import Any

import pytest

from drf_scim.constants import ENTERPRISE_USER_SCHEMA, USER_SCHEMA
from tests.helpers import BASE, patch_body

pytestmark = pytest.mark.django_db

USERS = f"{BASE}/Users"
UNKNOWN_URN = "urn:example:params:scim:schemas:extension:unknown:2.0:User"


@pytest.fixture
def people(create_user) -> dict[str, dict[str, Any]]:
    alice = create_user(
        "alice@example.com",
        name={"givenName": "Alice", "familyName": "Adams"},
        **{ENTERPRISE_USER_SCHEMA: {"department": "Sales"}},
    )
    zed = create_user(
        "zed@example.com",
        name={"givenName": "Zed", "familyName": "Zimmer"},
        **{ENTERPRISE_USER_SCHEMA: {"department": "Ops"}},
    )
    return {"alice": alice, "zed": zed}


def filtered(api, text: str) -> list[str]:
    response = api.get(USERS, {"filter": text})
    assert response.status_code == 200, response.body
    return [user["userName"] for user in response.body["Resources"]]


def sorted_by(api, path: str, order: str = "ascending") -> list[str]:
    response = api.get(USERS, {"sortBy": path, "sortOrder": order})
    assert response.status_code == 200, response.body
    return [user["userName"] for user in response.body["Resources"]]


def patch(api, user: dict[str, Any], path: str, value: Any):
    return api.patch(f"{USERS}/{user['id']}", patch_body({"op": "replace", "path": path, "value": value}))


def projected(api, user: dict[str, Any], attributes: str) -> dict[str, Any]:
    response = api.get(f"{USERS}/{user['id']}", {"attributes": attributes})
    assert response.status_code == 200, response.body
    return response.body


def assert_error(response, scim_type: str, *mentions: str) -> None:
    assert response.status_code == 400, response.body
    assert response.body["status"] == "400"
    assert response.body["scimType"] == scim_type, response.body
    for text in mentions:
        assert text in response.body["detail"], response.body


FAMILY_NAME_SPELLINGS = [
    "name.familyName",
    "NAME.FAMILYNAME",
    "Name.familyname",
    f"{USER_SCHEMA}:name.familyName",
    f"{USER_SCHEMA.upper()}:NAME.familyName",
]


@pytest.mark.parametrize("path", FAMILY_NAME_SPELLINGS)
def test_a_sub_attribute_resolves_ignoring_case_with_or_without_the_core_urn_everywhere(api, people, path):
    assert filtered(api, f'{path} eq "adams"') == ["alice@example.com"]
    assert sorted_by(api, path, "descending") == ["zed@example.com", "alice@example.com"]
    assert sorted_by(api, path) == ["alice@example.com", "zed@example.com"]

    response = patch(api, people["alice"], path, "Baker")
    assert response.status_code == 200, response.body
    assert response.body["name"] == {"givenName": "Alice", "familyName": "Baker"}

    assert projected(api, people["alice"], path)["name"] == {"familyName": "Baker"}


@pytest.mark.parametrize(
    "path",
    [f"{ENTERPRISE_USER_SCHEMA}:department", f"{ENTERPRISE_USER_SCHEMA.upper()}:DEPARTMENT"],
)
def test_an_extension_attribute_resolves_behind_its_urn_in_any_case_everywhere(api, people, path):
    assert filtered(api, f'{path} eq "SALES"') == ["alice@example.com"]
    assert sorted_by(api, path) == ["zed@example.com", "alice@example.com"]  # Ops before Sales

    response = patch(api, people["zed"], path, "Tours")
    assert response.status_code == 200, response.body
    assert response.body[ENTERPRISE_USER_SCHEMA] == {"department": "Tours"}

    body = projected(api, people["zed"], path)
    assert body[ENTERPRISE_USER_SCHEMA] == {"department": "Tours"}
    assert body["schemas"] == [USER_SCHEMA, ENTERPRISE_USER_SCHEMA]
    assert "name" not in body


def test_a_sub_attribute_of_a_multi_valued_attribute_filters_patches_and_projects_but_does_not_sort(api, people):
    assert filtered(api, 'EMAILS.VALUE eq "ALICE@example.com"') == ["alice@example.com"]

    response = patch(api, people["alice"], 'emails[TYPE eq "work"].VALUE', "alice@example.org")
    assert response.status_code == 200, response.body
    assert [email["value"] for email in response.body["emails"]] == ["alice@example.org"]

    assert projected(api, people["alice"], "Emails.Value")["emails"] == [{"value": "alice@example.org"}]

    assert_error(api.get(USERS, {"sortBy": "emails.value"}), "invalidValue", "emails.value")


UNKNOWN_PATHS = [
    "favouriteColour",  # no such attribute in the core schema
    "name.nickname",  # no such sub-attribute
    f"{ENTERPRISE_USER_SCHEMA}:favouriteColour",  # no such attribute in the extension
    f"{UNKNOWN_URN}:department",  # no such schema
]


@pytest.mark.parametrize("path", UNKNOWN_PATHS)
def test_an_unknown_path_is_an_invalid_filter(api, people, path):
    assert_error(api.get(USERS, {"filter": f'{path} eq "x"'}), "invalidFilter")


@pytest.mark.parametrize("path", UNKNOWN_PATHS)
def test_an_unknown_path_is_an_invalid_sort_value(api, people, path):
    assert_error(api.get(USERS, {"sortBy": path}), "invalidValue", path)


@pytest.mark.parametrize("path", UNKNOWN_PATHS)
def test_an_unknown_path_is_an_invalid_patch_path_and_changes_nothing(api, people, path):
    assert_error(patch(api, people["alice"], path, "x"), "invalidPath", "Operations[0]")
    assert api.get(f"{USERS}/{people['alice']['id']}").body["meta"] == people["alice"]["meta"]


@pytest.mark.parametrize("path", UNKNOWN_PATHS)
def test_an_unknown_path_in_attributes_is_ignored(api, people, path):
    body = projected(api, people["alice"], f"{path},userName")
    assert body == {"schemas": [USER_SCHEMA], "id": people["alice"]["id"], "userName": "alice@example.com"}


def test_the_filter_and_patch_errors_name_the_unknown_schema(api, people):
    path = f"{UNKNOWN_URN}:department"
    assert_error(api.get(USERS, {"filter": f'{path} eq "x"'}), "invalidFilter", f"Unknown schema {UNKNOWN_URN!r}")
    assert_error(patch(api, people["alice"], path, "x"), "invalidPath", f"unknown schema {UNKNOWN_URN!r}")


def test_an_unknown_sub_attribute_error_names_the_declared_attribute(api, people):
    assert_error(
        api.get(USERS, {"filter": 'NAME.nickname eq "x"'}), "invalidFilter", "'name' has no sub-attribute 'nickname'"
    )
    assert_error(patch(api, people["alice"], "NAME.nickname", "x"), "invalidPath", "'name' has no sub-attribute")


def test_an_extension_attribute_without_its_urn_is_a_patch_path_only(api, people):
    # Entra ID sends PATCH paths such as "manager" or "department" without the extension's URN.
    response = patch(api, people["alice"], "department", "Tours")
    assert response.status_code == 200, response.body
    assert response.body[ENTERPRISE_USER_SCHEMA] == {"department": "Tours"}

    assert_error(api.get(USERS, {"filter": 'department eq "Tours"'}), "invalidFilter", "department")
    assert_error(api.get(USERS, {"sortBy": "department"}), "invalidValue", "department")
    assert ENTERPRISE_USER_SCHEMA not in projected(api, people["alice"], "department")


def test_a_write_only_attribute_is_a_patch_path_but_never_filtered_sorted_or_returned(api, people):
    response = patch(api, people["alice"], "PASSWORD", "n3w-Secret-phrase!")
    assert response.status_code == 200, response.body
    assert "password" not in response.body

    assert_error(api.get(USERS, {"filter": 'password eq "n3w-Secret-phrase!"'}), "invalidFilter", "password")
    assert_error(api.get(USERS, {"sortBy": "password"}), "invalidValue", "password")
    assert "password" not in projected(api, people["alice"], "password")


def test_the_whole_extension_is_one_path_for_patch_and_attributes(api, people):
    urn = ENTERPRISE_USER_SCHEMA.upper()
    response = patch(api, people["alice"], urn, {"department": "Tours", "division": "North"})
    assert response.status_code == 200, response.body
    assert response.body[ENTERPRISE_USER_SCHEMA] == {"department": "Tours", "division": "North"}

    body = projected(api, people["alice"], urn)
    assert body[ENTERPRISE_USER_SCHEMA] == {"department": "Tours", "division": "North"}
    assert "userName" not in body
