"""Every failure is a SCIM error and every request is bounded in cost.

Each class of hostile input SECURITY.rst names has its test here; the database
outage, which needs a PostgreSQL cluster of its own, is in tests/test_outage.py.
"""

from __future__ import annotations

import base64
import json
import re
import time
import zlib
from io import StringIO

import psycopg
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import OperationalError, connection
from django.db.backends.utils import CursorWrapper
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drf_scim import activity
from drf_scim.constants import BULK_REQUEST_SCHEMA, ENTERPRISE_USER_SCHEMA, PATCH_OP_SCHEMA, USER_SCHEMA
from drf_scim.settings import scim_settings
from drf_scim.views import SCIMViewMixin, set_statement_timeout
from tests.conftest import SCIMClient
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
    """A number literal beyond what a column can hold is a 400 invalidFilter, never a 500."""

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

    # 2**63 fits the path's string comparison; 5,000 digits make a path longer than any (invalidPath).
    @pytest.mark.parametrize("number", [n for n in OUT_OF_RANGE if n != str(2**63) and len(n) < 4000])
    def test_in_patch_paths(self, api, create_user, number):
        user = create_user()
        operations = [{"op": "replace", "path": f"emails[value eq {number}].type", "value": "home"}]
        response = api.patch(f"{BASE}/Users/{user['id']}", {"schemas": [PATCH_OP_SCHEMA], "Operations": operations})
        assert_error(response, 400, "invalidFilter")  # a path filter's error (RFC 7644 §3.12, Table 9)

    def test_numbers_in_range_still_compare(self, api, create_user):
        create_user()
        response = api.get(f"{BASE}/Users", {"filter": f"userName eq {2**63 - 1} or userName pr"})
        assert response.status_code in (200, 400), response.body


SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


@pytest.mark.django_db
class TestCaseVariantKeys:
    """Keys that differ only in case name one attribute twice: 400 invalidSyntax at any depth."""

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


BIG = 3 * 1024 * 1024  # over Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MiB) and MAX_PAYLOAD_SIZE (1 MiB)
BODY_ENDPOINTS = [
    ("post", "/Users"),
    ("put", "/Users/{id}"),
    ("patch", "/Users/{id}"),
    ("post", "/Groups"),
    ("put", "/Groups/{id}"),
    ("patch", "/Groups/{id}"),
    ("post", "/Bulk"),
    ("post", "/Users/.search"),
    ("post", "/Groups/.search"),
    ("post", "/.search"),
    ("post", "/Me"),
    ("put", "/Me"),
    ("patch", "/Me"),
]


def big_body() -> bytes:
    return json.dumps({"schemas": [USER_SCHEMA], "userName": "big", "displayName": "x" * BIG}).encode()


@pytest.mark.django_db
class TestOversizedBodies:
    """A body over the limits answers a SCIM 413, or 401 when authentication fails, never HTML, and
    no error page shows a credential; authentication comes before the body is read."""

    @pytest.fixture
    def ids(self, create_user, create_group):
        user = create_user("sized@example.com")
        return {"id": user["id"], "group": create_group("Sized")["id"]}

    @pytest.mark.parametrize("debug", [False, True])
    @pytest.mark.parametrize(("method", "path"), BODY_ENDPOINTS)
    def test_every_endpoint(self, settings, make_token, ids, method, path, debug):
        settings.DEBUG = debug
        token = make_token()
        url = BASE + path.format(id=ids["group"] if "Groups" in path else ids["id"])
        body = big_body()
        for authorization, status in [
            (None, 401),
            ("Bearer unknown-token", 401),
            ("Basic dXNlcjpwYXNz", 401),
            (f"Bearer {token}", 413),
        ]:
            client = SCIMClient()
            if authorization:
                client.credentials(HTTP_AUTHORIZATION=authorization)
            response = getattr(client, method)(url, body)
            assert_error(response, status)
            assert token.encode() not in response.content
            assert b"<html" not in response.content.lower()

    def test_the_limit_is_checked_before_the_body_is_read(self, api, django_assert_max_num_queries):
        with django_assert_max_num_queries(2):  # the token, and nothing else
            response = api.post(f"{BASE}/Users", big_body())
        assert_error(response, 413)
        assert "maxPayloadSize" in response.body["detail"]

    def test_a_chunked_body_is_refused_with_a_reason(self, api):
        response = api.generic(
            "POST",
            f"{BASE}/Users",
            b"",
            content_type="application/scim+json",
            HTTP_TRANSFER_ENCODING="chunked",
        )
        assert_error(response, 411)
        assert "Content-Length" in json.loads(response.content)["detail"]

    def test_a_chunked_body_without_a_token_is_a_401(self, anon):
        response = anon.generic("POST", f"{BASE}/Users", b"", HTTP_TRANSFER_ENCODING="chunked")
        assert_error(response, 401)

    def test_a_failure_outside_the_exception_handler_is_a_scim_error(self, settings, make_token):
        """Even an exception handler that fails answers a SCIM 500, and never Django's (technical) page."""
        settings.DEBUG = True
        settings.DRF_SCIM = {"EXCEPTION_HANDLER": "tests.test_reliability.failing_handler"}
        token = make_token()
        client = SCIMClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        response = client.get(f"{BASE}/Users/does-not-exist")
        assert_error(response, 500)
        assert token.encode() not in response.content


def failing_handler(exc, context):
    raise RuntimeError("the handler itself fails")


@pytest.mark.django_db
class TestTokensInURLs:
    """A token in the query string is refused (it would end up in access logs); so is one in a form."""

    def test_access_token_in_the_query_string(self, make_token, create_user):
        token = make_token()
        anon = SCIMClient()
        response = anon.get(f"{BASE}/Users", {"access_token": token})
        assert_error(response, 400)
        assert "Authorization header" in response.body["detail"]
        assert token not in response.body["detail"]
        with_header = SCIMClient()
        with_header.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        assert_error(with_header.get(f"{BASE}/Users", {"access_token": token}), 400)
        assert_error(with_header.post(f"{BASE}/Users?access_token={token}", user_body("q@example.com")), 400)

    def test_access_token_in_a_form_body_is_not_a_credential(self, make_token):
        token = make_token()
        response = SCIMClient().generic(
            "POST",
            f"{BASE}/Users",
            f"access_token={token}",
            content_type="application/x-www-form-urlencoded",
        )
        assert_error(response, 401)


UNRESERVED = re.compile(r"^[A-Za-z0-9._~-]+$")  # RFC 3986 §2.3


@pytest.mark.django_db
class TestCursors:
    """Cursors are bound to the tenant and client that got them, reveal nothing, and are made of
    RFC 3986 unreserved characters only (RFC 9865 §2)."""

    @pytest.fixture(autouse=True)
    def multi_tenant(self, settings):
        settings.DRF_SCIM = {"TENANT_RESOLVER": "drf_scim.tenancy.application_tenant"}

    def client_for(self, name: str, tenant: str) -> SCIMClient:
        out = StringIO()
        call_command("scim_token", "--client", name, "--tenant", tenant, stdout=out)
        client = SCIMClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {out.getvalue().strip().splitlines()[-1]}")
        return client

    def test_bound_to_tenant_and_client_and_opaque(self):
        acme, acme_too, globex = (
            self.client_for("Acme Entra", "acme"),
            self.client_for("Acme Okta", "acme"),
            self.client_for("Globex", "globex"),
        )
        for client in (acme, globex):
            for n in range(3):
                assert client.post(f"{BASE}/Users", user_body(f"u{n}@example.com")).status_code == 201
        first = acme.get(f"{BASE}/Users", {"count": 1, "cursor": "", "sortBy": "userName"}).body
        cursor = first["nextCursor"]
        assert UNRESERVED.match(cursor), cursor
        again = acme.get(f"{BASE}/Users", {"count": 1, "cursor": "", "sortBy": "userName"}).body["nextCursor"]
        assert again != cursor  # a fresh nonce each time: equal positions do not show
        decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        for clear in (b'"p"', b"u0@", b"userName"):
            assert clear not in decoded and clear not in zlib_or_empty(decoded)
        assert acme.get(f"{BASE}/Users", {"count": 1, "cursor": cursor, "sortBy": "userName"}).status_code == 200
        for other in (acme_too, globex):
            response = other.get(f"{BASE}/Users", {"count": 1, "cursor": cursor, "sortBy": "userName"})
            assert_error(response, 400, "invalidCursor")

    def test_every_cursor_of_a_walk_is_unreserved(self, api, create_user):
        for n in range(5):
            create_user(f"walk{n}@example.com", displayName=f"Ü {n}:/?")
        cursor = ""
        for sort in ("userName", "displayName", "meta.created"):
            cursor, seen = "", 0
            while True:
                body = api.get(f"{BASE}/Users", {"count": 2, "cursor": cursor, "sortBy": sort}).body
                seen += len(body["Resources"])
                for key in ("nextCursor", "previousCursor"):
                    if key in body:
                        assert UNRESERVED.match(body[key]), body[key]
                cursor = body.get("nextCursor")
                if not cursor:
                    break
            assert seen == 5


def zlib_or_empty(data: bytes) -> bytes:
    try:
        return zlib.decompress(data)
    except zlib.error:
        return b""


def bulk(client, *operations, **extra):
    return client.post(f"{BASE}/Bulk", {"schemas": [BULK_REQUEST_SCHEMA], "Operations": list(operations), **extra})


def create(bulk_id: str) -> dict:
    return {"method": "POST", "path": "/Users", "bulkId": bulk_id, "data": user_body(f"{bulk_id}@example.com")}


@pytest.mark.django_db
class TestBulk:
    """An operation that is not for a resource endpoint fails on its own; a Bulk never answers 5xx
    once it committed something, and reports every committed operation with its location and version."""

    @pytest.mark.parametrize(
        "operation",
        [
            {"method": "POST", "path": "/Users/.search", "bulkId": "s", "data": {"filter": "userName pr"}},
            {"method": "POST", "path": "/Groups/.search", "bulkId": "s", "data": {}},
            {"method": "POST", "path": "/.search", "bulkId": "s", "data": {"filter": "userName pr"}},
            {"method": "POST", "path": "/Schemas", "bulkId": "s", "data": {}},
            {"method": "PUT", "path": "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User", "data": {}},
            {"method": "DELETE", "path": "/ResourceTypes/User"},
            {"method": "PATCH", "path": "/ServiceProviderConfig", "data": {}},
            {"method": "POST", "path": "/Bulk", "bulkId": "s", "data": {"Operations": []}},
            {"method": "POST", "path": "/Me", "bulkId": "s", "data": user_body("me@example.com")},
            {"method": "POST", "path": "/Users/some-id", "bulkId": "s", "data": user_body("x@example.com")},
            {"method": "PUT", "path": "/Users", "data": user_body("x@example.com")},
            {"method": "DELETE", "path": "/Groups"},
            {"method": "POST", "path": "/Nowhere", "bulkId": "s", "data": {}},
        ],
    )
    def test_an_operation_not_for_a_resource_endpoint_fails_alone(self, api, operation):
        response = bulk(api, create("before"), operation, create("after"))
        assert response.status_code == 200, response.body
        before, failed, after = response.body["Operations"]
        assert failed["status"] in ("400", "404"), failed
        assert failed["response"]["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
        for done in (before, after):
            assert done["status"] == "201"
            stored = api.get(BASE + done["location"].split(BASE, 1)[1])
            assert stored.status_code == 200
            assert stored["ETag"] == done["version"]

    def test_an_unexpected_failure_after_a_commit_is_reported_not_a_500(self, api, monkeypatch):
        from drf_scim.bulk import BulkView

        dispatch = BulkView.dispatch_operation

        def fail_on_second(self, request, root, operation, ids):
            if operation.get("bulkId") == "boom":
                raise KeyError("id")
            return dispatch(self, request, root, operation, ids)

        monkeypatch.setattr(BulkView, "dispatch_operation", fail_on_second)
        response = bulk(api, create("first"), create("boom"), create("third"))
        assert response.status_code == 200
        assert [op["status"] for op in response.body["Operations"]] == ["201", "500", "201"]
        assert all(op["location"] and op["version"] for op in response.body["Operations"] if op["status"] == "201")
        assert response.body["Operations"][1]["response"]["detail"] == "An unexpected error occurred."

    def test_a_cycle_reports_the_stored_version(self, api):
        manager = {ENTERPRISE_USER_SCHEMA: {"manager": {"value": "bulkId:b"}}}
        reports_to_a = {ENTERPRISE_USER_SCHEMA: {"manager": {"value": "bulkId:a"}}}
        response = bulk(
            api,
            {"method": "POST", "path": "/Users", "bulkId": "a", "data": user_body("a@example.com", **manager)},
            {"method": "POST", "path": "/Users", "bulkId": "b", "data": user_body("b@example.com", **reports_to_a)},
        )
        for operation in response.body["Operations"]:
            path = BASE + operation["location"].split(BASE, 1)[1]
            assert api.get(path)["ETag"] == operation["version"], operation
            replaced = api.put(
                path, user_body(f"{operation['bulkId']}2@example.com"), HTTP_IF_MATCH=operation["version"]
            )
            assert replaced.status_code == 200, replaced.body


def patch_body(*operations: dict) -> dict:
    return {"schemas": [PATCH_OP_SCHEMA], "Operations": list(operations)}


def emails(count: int, prefix: str = "e") -> list[dict]:
    return [{"value": f"{prefix}{n}@example.com", "type": f"t{n}"} for n in range(count)]


def snapshot() -> list:
    users = get_user_model().objects.order_by("pk").values_list("username", "scim__data", "scim__version")
    return list(users)


@pytest.mark.django_db
class TestCostBounds:
    """The values of one attribute, the complexity of a filter and the work of a PatchOp are bounded
    (400 tooMany or invalidFilter, before anything is written), and statements by a timeout (503)."""

    def test_values_of_one_attribute(self, api, settings, create_user, django_assert_max_num_queries):
        limit = settings.DRF_SCIM["MAX_ATTRIBUTE_VALUES"] = 100
        assert api.post(f"{BASE}/Users", user_body("full@example.com", emails=emails(limit))).status_code == 201
        before = snapshot()
        with django_assert_max_num_queries(2):  # the token and the uniqueness check at most: nothing stored
            response = api.post(f"{BASE}/Users", user_body("over@example.com", emails=emails(limit + 1)))
        assert_error(response, 400, "tooMany")
        assert "MAX_ATTRIBUTE_VALUES" in response.body["detail"]
        user = create_user("put@example.com")
        before = snapshot()
        for attribute in ("emails", "phoneNumbers", "roles", "entitlements", "addresses", "x509Certificates"):
            values = [{"value": f"v{n}"} for n in range(limit + 1)]
            assert_error(
                api.put(f"{BASE}/Users/{user['id']}", user_body("put@example.com", **{attribute: values})),
                400,
                "tooMany",
            )
        add = {"op": "add", "path": "emails", "value": emails(limit + 1, "p")}
        assert_error(api.patch(f"{BASE}/Users/{user['id']}", patch_body(add)), 400, "tooMany")
        assert snapshot() == before  # nothing stored
        full = get_user_model().objects.get(username="full@example.com").scim.scim_id
        one_more = {"op": "add", "path": "emails", "value": [{"value": "more@example.com"}]}
        assert_error(api.patch(f"{BASE}/Users/{full}", patch_body(one_more)), 400, "tooMany")
        assert len(api.get(f"{BASE}/Users/{full}").body["emails"]) == limit

    @pytest.mark.parametrize(
        ("text", "setting"),
        [
            (" or ".join(f'userName eq "u{n}"' for n in range(51)), "FILTER_MAX_CLAUSES"),
            (" or ".join(f'emails[value eq "e{n}"]' for n in range(11)), "FILTER_MAX_VALUE_FILTERS"),
            (" or ".join(f'emails[value co "e{n}"]' for n in range(6)), "FILTER_MAX_SUBSTRING_CLAUSES"),
            (" or ".join(f'displayName ew "e{n}"' for n in range(6)), "FILTER_MAX_SUBSTRING_CLAUSES"),
            ("emails[" + " or ".join(f'value eq "e{n}"' for n in range(51)) + "]", "FILTER_MAX_CLAUSES"),
        ],
    )
    def test_filter_budget(self, api, create_user, text, setting):
        create_user()
        response = api.get(f"{BASE}/Users", {"filter": text})
        assert_error(response, 400, "invalidFilter")
        assert setting in response.body["detail"]
        for path in (f"{BASE}/Users/.search", f"{BASE}/.search"):
            assert_error(api.post(path, {"schemas": [SEARCH], "filter": text}), 400, "invalidFilter")

    def test_filter_budget_in_patch_paths(self, api, create_user):
        user = create_user()
        path = "emails[" + " or ".join(f'value eq "e{n}"' for n in range(51)) + "].type"
        response = api.patch(f"{BASE}/Users/{user['id']}", patch_body({"op": "replace", "path": path, "value": "x"}))
        assert_error(response, 400, "invalidFilter")

    def test_filters_within_the_budget_run(self, api, create_user):
        create_user("u7@example.com")
        for text in (
            " or ".join(f'userName eq "u{n}@example.com"' for n in range(50)),
            " or ".join(f'emails[value eq "u{n}@example.com"]' for n in range(10)),
            " or ".join(f'emails[value co "u{n}@"]' for n in range(3, 8)),
        ):
            response = api.get(f"{BASE}/Users", {"filter": text})
            assert response.status_code == 200, response.body
            assert response.body["totalResults"] == 1

    def test_patch_cost(self, api, settings, create_user):
        settings.DRF_SCIM = {"MAX_PATCH_COST": 100}
        user = create_user(emails=emails(10))
        before = snapshot()
        one = {"op": "replace", "path": 'emails[type eq "t1"].value', "value": "new@example.com"}
        assert api.patch(f"{BASE}/Users/{user['id']}", patch_body(*[one] * 4)).status_code == 200  # 4 x (10 + 10)
        before = snapshot()
        response = api.patch(f"{BASE}/Users/{user['id']}", patch_body(*[one] * 6))  # 6 x (10 + 10) > 100
        assert_error(response, 400, "tooMany")
        assert "MAX_PATCH_COST" in response.body["detail"]
        assert snapshot() == before
        pathless = {"op": "replace", "value": {f"unknown{n}": "x" for n in range(11)}}  # 11 paths x 10
        assert_error(api.patch(f"{BASE}/Users/{user['id']}", patch_body(pathless)), 400, "tooMany")

    def test_the_default_bounds_refuse_the_worst_patch(self, api, create_user):
        """1,000 filtered operations (MAX_PATCH_OPERATIONS) over 100 e-mails (MAX_ATTRIBUTE_VALUES) cost
        1,000 x (10 + 100) > MAX_PATCH_COST: refused before any is applied."""
        user = create_user(emails=emails(100))
        one = {"op": "replace", "path": 'emails[type eq "t99"].value', "value": "x@example.com"}
        assert_error(api.patch(f"{BASE}/Users/{user['id']}", patch_body(*[one] * 1000)), 400, "tooMany")
        assert api.patch(f"{BASE}/Users/{user['id']}", patch_body(*[one] * 900)).status_code == 200


def apply_statement_timeout(view) -> None:
    set_statement_timeout(scim_settings.STATEMENT_TIMEOUT)


@pytest.mark.django_db(transaction=True)
class TestStatementTimeout:
    """SCIM requests run under PostgreSQL's statement_timeout (STATEMENT_TIMEOUT); a statement past it
    answers a SCIM 503 and the connection serves the next request."""

    @pytest.fixture(autouse=True)
    def postgresql(self, monkeypatch):
        if connection.vendor != "postgresql":
            pytest.skip("statement timeouts are PostgreSQL's")
        monkeypatch.setattr(
            SCIMViewMixin,
            "apply_statement_timeout",
            lambda self: set_statement_timeout(scim_settings.STATEMENT_TIMEOUT),
        )
        # The activity tally is not due to be written during these tests: its write at the end of a request
        # closes the connection (CONN_MAX_AGE 0), and the session's setting with it, once every
        # ACTIVITY_FLUSH_SECONDS, whenever that falls.
        monkeypatch.setattr(activity.recorder, "_last_write", time.monotonic() + 3600)
        yield
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = 0")
        connection.drf_scim_statement_timeout = None

    def show(self) -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW statement_timeout")
            return cursor.fetchone()[0]

    def test_the_default_is_set_once_per_connection(self, api):
        with CaptureQueriesContext(connection) as first:
            api.get(f"{BASE}/Users")
        assert self.show() == "5s"
        with CaptureQueriesContext(connection) as second:
            api.get(f"{BASE}/Users")
        assert len(second) == len(first) - 1  # the connection has it already
        assert "statement_timeout" in first[0]["sql"]

    def test_a_failed_request_under_atomic_requests_does_not_switch_it_off(self, api, monkeypatch):
        monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", True)
        assert_error(api.post(f"{BASE}/Users", {"schemas": [USER_SCHEMA]}), 400)  # rolled back, SET and all
        assert api.get(f"{BASE}/Users").status_code == 200
        assert self.show() == "5s"

    def test_a_session_opened_by_a_request_gets_it(self, api, settings):
        settings.DRF_SCIM = {"STATEMENT_TIMEOUT": 1234}
        connection.close()
        assert api.get(f"{BASE}/Users").status_code == 200
        assert self.show() == "1234ms"
        connection.close()
        connection.ensure_connection()  # outside a SCIM request: PostgreSQL's own default
        assert self.show() == "0"

    def test_a_statement_past_it_is_a_503_and_nothing_is_half_applied(self, api, settings):
        settings.DRF_SCIM = {"STATEMENT_TIMEOUT": 300}
        assert api.post(f"{BASE}/Users", user_body()).status_code == 201
        assert self.show() == "300ms"
        settings_dict = connection.settings_dict
        locker = psycopg.connect(dbname=settings_dict["NAME"], host=settings_dict["HOST"] or None, autocommit=False)
        try:
            locker.execute("LOCK TABLE drf_scim_scimuser IN ACCESS EXCLUSIVE MODE")
            for response in (api.get(f"{BASE}/Users"), api.post(f"{BASE}/Users", user_body("second@example.com"))):
                assert_error(response, 503)
                assert int(response["Retry-After"]) > 0
        finally:
            locker.rollback()
            locker.close()
        assert api.get(f"{BASE}/Users").body["totalResults"] == 1
        assert api.post(f"{BASE}/Users", user_body("second@example.com")).status_code == 201


FUZZ = settings(
    max_examples=40, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
ENDPOINTS = [
    ("get", "/Users"),
    ("get", "/Users/{id}"),
    ("get", "/Groups"),
    ("post", "/Users"),
    ("put", "/Users/{id}"),
    ("patch", "/Users/{id}"),
    ("delete", "/Users/{id}"),
    ("post", "/Bulk"),
    ("post", "/Users/.search"),
    ("post", "/.search"),
    ("get", "/ServiceProviderConfig"),
    ("get", "/Schemas"),
    ("get", "/Me"),
]
numbers = st.one_of(
    st.integers(min_value=300, max_value=4000).map(lambda digits: "1" + "0" * digits),
    st.integers().map(str),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.tuples(st.integers(0, 99), st.integers(-999, 999)).map(lambda t: f"{t[0]}.5e{t[1]}"),
)
filter_attributes = st.sampled_from(["userName", "emails.value", "meta.created", "active", "displayName", "id"])
operators = st.sampled_from(["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"])


def flip_case(text: str, data) -> str:
    variant = "".join(c.upper() if data.draw(st.booleans()) else c.lower() for c in text)
    return variant if variant != text else text.swapcase()


@pytest.mark.django_db
class TestFuzz:
    """Seeded, bounded random input for every class above; none is ever a 5xx or an HTML page."""

    @pytest.fixture
    def user(self, create_user):
        return create_user("fuzz@example.com", emails=emails(5))

    @FUZZ
    @given(number=numbers, attribute=filter_attributes, operator=operators, where=st.sampled_from(["get", "search"]))
    def test_numbers_in_filters(self, api, user, number, attribute, operator, where):
        text = f"{attribute} {operator} {number}"
        if where == "get":
            response = api.get(f"{BASE}/Users", {"filter": text})
        else:
            response = api.post(f"{BASE}/Users/.search", {"schemas": [SEARCH], "filter": text})
        assert response.status_code in (200, 400), response.content[:300]
        if response.status_code == 400:
            assert_error(response, 400, "invalidFilter")

    @FUZZ
    @given(number=numbers, operator=operators)
    def test_numbers_in_patch_paths(self, api, user, number, operator):
        operation = {"op": "replace", "path": f"emails[value {operator} {number}].type", "value": "x"}
        response = api.patch(f"{BASE}/Users/{user['id']}", patch_body(operation))
        assert response.status_code in (200, 400), response.content[:300]

    @FUZZ
    @given(data=st.data(), depth=st.integers(0, 3), key=st.sampled_from(["userName", "givenName", "value", "type"]))
    def test_case_variant_keys(self, api, user, data, depth, key):
        inner = json.dumps({key: "a", flip_case(key, data): "b"})
        for _ in range(depth):
            inner = ('{"name": ' + inner + "}") if data.draw(st.booleans()) else ('{"emails": [' + inner + "]}")
        body = ('{"userName": "variant@example.com", "extra": ' + inner + "}") if depth else inner
        before = snapshot()
        assert_error(api.post(f"{BASE}/Users", body), 400, "invalidSyntax")
        assert snapshot() == before

    @FUZZ
    @given(
        operations=st.lists(
            st.tuples(
                st.sampled_from(["POST", "PUT", "PATCH", "DELETE"]),
                st.sampled_from(
                    [
                        "/Users",
                        "/Users/{id}",
                        "/Users/.search",
                        "/.search",
                        "/Schemas",
                        "/Bulk",
                        "/Me",
                        "/Groups",
                        "/ResourceTypes/User",
                        "/ServiceProviderConfig",
                        "/Nowhere",
                        "/Users/bulkId:b0",
                    ]
                ),
            ),
            min_size=1,
            max_size=5,
        )
    )
    def test_bulk_paths(self, api, user, operations):
        built = []
        for n, (method, path) in enumerate(operations):
            operation = {"method": method, "path": path.format(id=user["id"]), "bulkId": f"b{n}"}
            if method != "DELETE":
                operation["data"] = (
                    user_body(f"bulk{n}@example.com")
                    if method != "PATCH"
                    else patch_body({"op": "replace", "path": "displayName", "value": f"d{n}"})
                )
            built.append(operation)
        response = bulk(api, *built)
        assert response.status_code == 200, response.content[:300]
        last_versions = {}  # a later operation on the same resource moves its version on
        for result in response.body["Operations"]:
            assert int(result["status"]) < 500, result
            if int(result["status"]) < 300 and result["method"] != "DELETE":
                assert result["location"] and result["version"], result
                last_versions[result["location"]] = result["version"]
            elif int(result["status"]) < 300:
                last_versions.pop(result.get("location"), None)
        for location, version in last_versions.items():
            assert api.get(BASE + location.split(BASE, 1)[1])["ETag"] == version

    @FUZZ
    @given(
        clauses=st.lists(
            st.tuples(st.sampled_from(["userName", "emails[value", "displayName", "title"]), operators),
            min_size=1,
            max_size=60,
        ),
        joiner=st.sampled_from([" or ", " and "]),
    )
    def test_filter_budget(self, api, user, clauses, joiner):
        parts = [
            f'emails[value {op} "x{n}"]' if attribute == "emails[value" else f'{attribute} {op} "x{n}"'
            for n, (attribute, op) in enumerate(clauses)
        ]
        response = api.get(f"{BASE}/Users", {"filter": joiner.join(parts)})
        cost = (len(parts), sum(a == "emails[value" for a, _ in clauses), sum(op in ("co", "ew") for _, op in clauses))
        within = cost[0] <= 50 and cost[1] <= 10 and cost[2] <= 5
        assert response.status_code == (200 if within else 400), (cost, response.content[:300])
        if not within:
            assert_error(response, 400, "invalidFilter")

    @FUZZ
    @given(
        count=st.integers(1, 30),
        values=st.integers(0, 8),
        filtered=st.booleans(),
    )
    def test_patch_cost(self, api, settings, user, count, values, filtered):
        settings.DRF_SCIM = {"MAX_PATCH_COST": 300, "MAX_ATTRIBUTE_VALUES": 12}
        if filtered:
            operation = {"op": "replace", "path": 'emails[type eq "t1"].display', "value": "d"}
        else:
            operation = {"op": "add", "path": "emails", "value": emails(values, "f")}
        before = snapshot()
        response = api.patch(f"{BASE}/Users/{user['id']}", patch_body(*[operation] * count))
        assert response.status_code in (200, 400), response.content[:300]
        if response.status_code == 400:
            assert response.body["scimType"] == "tooMany", response.body
            assert snapshot() == before

    @FUZZ
    @given(
        endpoint=st.sampled_from([e for e in ENDPOINTS if e[0] in ("post", "put", "patch")]),
        authorization=st.sampled_from([None, "Bearer unknown", "Basic eA==", "valid"]),
        size=st.sampled_from([1_048_577, 2_700_000]),
        chunked=st.booleans(),
        debug=st.booleans(),
    )
    def test_bodies_and_credentials(self, settings, make_token, user, endpoint, authorization, size, chunked, debug):
        settings.DEBUG = debug
        token = make_token()
        client = SCIMClient()
        if authorization:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}" if authorization == "valid" else authorization)
        method, path = endpoint
        url = BASE + path.format(id=user["id"])
        if chunked:
            response = client.generic(method.upper(), url, b"", HTTP_TRANSFER_ENCODING="chunked")
        else:
            response = getattr(client, method)(url, b'{"userName": "' + b"x" * size + b'"}')
        expected = 401 if authorization != "valid" else (411 if chunked else 413)
        assert_error(response, expected)
        assert token.encode() not in response.content

    @FUZZ
    @given(where=st.sampled_from(["query", "both", "form"]), endpoint=st.sampled_from(ENDPOINTS))
    def test_tokens_in_urls(self, make_token, user, where, endpoint):
        token = make_token()
        client = SCIMClient()
        method, path = endpoint
        url = BASE + path.format(id=user["id"])
        if where in ("query", "both"):
            if where == "both":
                client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
            response = client.generic(method.upper(), f"{url}?access_token={token}")
            assert_error(response, 400)
        else:
            response = client.generic(
                method.upper(), url, f"access_token={token}", content_type="application/x-www-form-urlencoded"
            )
            assert_error(response, 401)

    @FUZZ
    @given(tamper=st.binary(min_size=1, max_size=8), position=st.integers(0, 200))
    def test_tampered_cursors(self, api, user, tamper, position):
        cursor = api.get(f"{BASE}/Users", {"count": 1, "cursor": "", "sortBy": "userName"}).body.get("nextCursor", "")
        forged = cursor[: position % (len(cursor) + 1)] + base64.urlsafe_b64encode(tamper).decode().rstrip("=")
        response = api.get(f"{BASE}/Users", {"count": 1, "cursor": forged, "sortBy": "userName"})
        assert_error(response, 400, "invalidCursor")

    @FUZZ
    @given(endpoint=st.sampled_from(ENDPOINTS), token_kind=st.sampled_from(["valid", "unknown", "none"]))
    def test_database_errors(self, make_token, user, monkeypatch, endpoint, token_kind):
        """A database that fails every statement (the in-process half of tests/test_outage.py)."""
        token = make_token()
        client = SCIMClient()
        if token_kind != "none":
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token if token_kind == 'valid' else 'unknown'}")
        method, path = endpoint
        body = None if method in ("get", "delete") else user_body("outage@example.com")
        if path == "/Bulk":
            body = {"schemas": [BULK_REQUEST_SCHEMA], "Operations": [create("o")]}
        with monkeypatch.context() as patched:
            patched.setattr(CursorWrapper, "execute", unreachable)
            patched.setattr(CursorWrapper, "executemany", unreachable)
            response = getattr(client, method)(BASE + path.format(id=user["id"]), body)
        if token_kind == "none":
            assert_error(response, 401)
        else:
            assert_error(response, 503)
            assert int(response["Retry-After"]) > 0
        assert token.encode() not in response.content


def unreachable(*args, **kwargs):
    raise OperationalError("connection to server failed: Connection refused")


@pytest.mark.django_db(transaction=True)
def test_a_bulk_operation_keeps_the_statement_timeout_of_its_bulk(api, monkeypatch, settings):
    """A session the rest of a Bulk opens after an operation ran still gets STATEMENT_TIMEOUT."""
    if connection.vendor != "postgresql":
        pytest.skip("statement timeouts are PostgreSQL's")
    settings.DRF_SCIM = {"STATEMENT_TIMEOUT": 4321}
    monkeypatch.setattr(SCIMViewMixin, "apply_statement_timeout", apply_statement_timeout)
    from drf_scim.bulk import BulkView

    dispatch = BulkView.dispatch_operation
    seen = []

    def reconnecting(self, request, root, operation, ids):
        result = dispatch(self, request, root, operation, ids)
        connection.close()  # the next operation opens a new session
        with connection.cursor() as cursor:
            cursor.execute("SHOW statement_timeout")
            seen.append(cursor.fetchone()[0])
        return result

    monkeypatch.setattr(BulkView, "dispatch_operation", reconnecting)
    try:
        assert bulk(api, create("k1"), create("k2")).status_code == 200
        assert seen == ["4321ms", "4321ms"]
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = 0")
        connection.drf_scim_statement_timeout = None
