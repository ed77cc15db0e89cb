"""Issue 18: every failure is a SCIM error and every request is bounded in cost.

Each class of hostile input the issue found has its test here (SECURITY.rst names them); the database
outage, which needs a PostgreSQL cluster of its own, is in tests/test_outage.py.
"""

from __future__ import annotations

import json

import pytest

from drf_scim.constants import PATCH_OP_SCHEMA, USER_SCHEMA
from tests.helpers import BASE, user_body

HUGE_INTEGER = "1" + "0" * 309  # beyond the range of a float: math.isfinite() of it raises OverflowError
OUT_OF_RANGE = [HUGE_INTEGER, "-" + HUGE_INTEGER, str(2**63), "1e400", "1" + "0" * 5000]


def assert_error(response, status: int, scim_type: str | None = None) -> None:
    """A SCIM Error body with ``status`` (and ``scimType``), never an HTML page."""
    assert response.status_code == status, response.content[:300]
    assert "json" in response["Content-Type"], response["Content-Type"]
    body = json.loads(response.content)
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert body["status"] == str(status)
    if scim_type is not None:
        assert body.get("scimType") == scim_type, body


@pytest.mark.django_db
class TestNumbers:
    """Point 3: a number literal beyond what a column can hold is a 400 invalidFilter, never a 500."""

    @pytest.mark.parametrize("number", OUT_OF_RANGE)
    @pytest.mark.parametrize("attribute", ["userName", "meta.created", "active", "emails.value"])
    def test_in_filters(self, api, create_user, number, attribute):
        create_user()
        assert_error(api.get(f"{BASE}/Users", {"filter": f"{attribute} gt {number}"}), 400, "invalidFilter")

    @pytest.mark.parametrize("number", OUT_OF_RANGE)
    def test_in_search(self, api, create_user, number):
        create_user()
        for path in (f"{BASE}/Users/.search", f"{BASE}/.search"):
            response = api.post(path, {"schemas": [SEARCH], "filter": f"userName eq {number}"})
            assert_error(response, 400, "invalidFilter")

    @pytest.mark.parametrize("number", [n for n in OUT_OF_RANGE if n != str(2**63)])
    def test_in_patch_paths(self, api, create_user, number):
        user = create_user()
        operations = [{"op": "replace", "path": f"emails[value eq {number}].type", "value": "home"}]
        response = api.patch(f"{BASE}/Users/{user['id']}", {"schemas": [PATCH_OP_SCHEMA], "Operations": operations})
        assert_error(response, 400, "invalidPath")  # a malformed path is invalidPath (RFC 7644 §3.5.2)

    def test_numbers_in_range_still_compare(self, api, create_user):
        create_user()
        response = api.get(f"{BASE}/Users", {"filter": f"userName eq {2**63 - 1} or userName pr"})
        assert response.status_code in (200, 400), response.body


SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


@pytest.mark.django_db
class TestCaseVariantKeys:
    """Point 6: keys that differ only in case name one attribute twice: 400 invalidSyntax at any depth."""

    @pytest.mark.parametrize(
        "body",
        [
            '{"userName": "a", "USERNAME": "b"}',
            '{"userName": "a", "name": {"givenName": "x", "GivenName": "y"}}',
            '{"userName": "a", "emails": [{"value": "a@example.com", "Value": "b@example.com"}]}',
            '{"userName": "a", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "x",'
            ' "Department": "y"}}',
            '{"userName": "a", "emails": [{"value": "a@example.com", "display": {"k": 1, "K": 2}}]}',
        ],
    )
    def test_refused_at_every_level(self, api, create_user, body):
        assert_error(api.post(f"{BASE}/Users", body), 400, "invalidSyntax")
        user = create_user("case@example.com")
        assert_error(api.put(f"{BASE}/Users/{user['id']}", body), 400, "invalidSyntax")
        patch = f'{{"schemas": ["{PATCH_OP_SCHEMA}"], "Operations": [{{"op": "replace", "value": {body}}}]}}'
        assert_error(api.patch(f"{BASE}/Users/{user['id']}", patch), 400, "invalidSyntax")
        assert api.get(f"{BASE}/Users/{user['id']}").body["userName"] == "case@example.com"

    def test_keys_in_one_case_each_are_accepted(self, api):
        response = api.post(f"{BASE}/Users", user_body("one@example.com", schemas=[USER_SCHEMA]))
        assert response.status_code == 201, response.body
