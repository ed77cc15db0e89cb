"""Every failure under the SCIM prefix is a SCIM Error (RFC 7644 §3.12)."""

from __future__ import annotations

import uuid
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import override_settings

from drf_scim.constants import ERROR_SCHEMA
from drf_scim.serializers import UserSerializer
from tests.conftest import SCIMClient
from tests.helpers import BASE, user_body

NOT_PROVIDED = "Authentication credentials were not provided."
INVALID_TOKEN = "Invalid or expired token: the bearer token is unknown, expired or revoked."


def assert_error(response, status: int, scim_type: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/scim+json"
    body = response.body
    assert body["schemas"] == [ERROR_SCHEMA]
    assert body["status"] == str(status)
    assert body["detail"]
    if scim_type is None:
        assert "scimType" not in body
    else:
        assert body["scimType"] == scim_type
    assert "Traceback" not in body["detail"]
    return body


@pytest.mark.django_db
class TestAuthentication:
    def test_missing_token_is_401_with_a_bearer_challenge(self, anon):
        response = anon.get(f"{BASE}/Users")
        assert assert_error(response, 401)["detail"] == NOT_PROVIDED
        assert response["WWW-Authenticate"] == 'Bearer realm="scim"'

    @pytest.mark.parametrize("header", ["Bearer ", "Basic dXNlcjpwYXNz"])
    def test_no_bearer_token_is_401_not_provided(self, anon, header):
        """RFC 6750 §3.1: no error code when the request holds no bearer token (none, or another scheme)."""
        anon.credentials(HTTP_AUTHORIZATION=header)
        response = anon.get(f"{BASE}/Users")
        assert assert_error(response, 401)["detail"] == NOT_PROVIDED
        assert response["WWW-Authenticate"] == 'Bearer realm="scim"'

    def test_unknown_token_is_401_invalid_token(self, anon):
        anon.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
        response = anon.get(f"{BASE}/Users")
        assert assert_error(response, 401)["detail"] == INVALID_TOKEN
        assert response["WWW-Authenticate"].startswith('Bearer realm="scim",error="invalid_token"')

    def test_expired_token_is_401_invalid_token(self, anon, make_token):
        anon.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(expired=True)}")
        response = anon.get(f"{BASE}/Users")
        assert assert_error(response, 401)["detail"] == INVALID_TOKEN
        assert 'error="invalid_token"' in response["WWW-Authenticate"]

    def test_revoked_token_is_401_invalid_token(self, anon, make_token):
        anon.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token()}")
        assert anon.get(f"{BASE}/Users").status_code == 200
        call_command("scim_token", "--client", "tests", "--revoke", stdout=StringIO())
        for request in (lambda: anon.get(f"{BASE}/Users"), lambda: anon.post(f"{BASE}/Users", user_body())):
            response = request()
            assert assert_error(response, 401)["detail"] == INVALID_TOKEN
            assert 'error="invalid_token"' in response["WWW-Authenticate"]

    def test_read_scope_cannot_write(self, anon, make_token):
        anon.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token('scim:read')}")
        assert anon.get(f"{BASE}/Users").status_code == 200
        body = assert_error(anon.post(f"{BASE}/Users", user_body()), 403)
        assert "scim:write" in body["detail"]

    def test_write_scope_cannot_read(self, anon, make_token):
        anon.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token('scim:write')}")
        body = assert_error(anon.get(f"{BASE}/Users"), 403)
        assert "scim:read" in body["detail"]
        assert anon.post(f"{BASE}/Users", user_body()).status_code == 201

    def test_scope_names_are_settings(self, anon, make_token):
        anon.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token('users.read')}")
        with override_settings(DRF_SCIM={"READ_SCOPE": "users.read"}):
            assert anon.get(f"{BASE}/Users").status_code == 200
        assert anon.get(f"{BASE}/Users").status_code == 403


@pytest.mark.django_db
class TestRouting:
    @pytest.mark.parametrize("path", ["/Nope", "/Users/a/b", "/", "/Schemas/x/y/z"])
    def test_unknown_paths_are_scim_404(self, anon, path):
        body = assert_error(anon.get(f"{BASE}{path}"), 404)
        assert path.rstrip("/") in body["detail"] or path == "/"

    def test_unknown_id_is_404(self, api):
        assert_error(api.get(f"{BASE}/Groups/{uuid.uuid4()}"), 404)

    @pytest.mark.parametrize(
        ("method", "path"),
        [("put", "/Users"), ("delete", "/Users"), ("post", "/Users/{id}"), ("put", "/Groups"), ("patch", "/Groups")],
    )
    def test_method_not_allowed_is_405(self, api, create_user, method, path):
        user = create_user()
        response = getattr(api, method)(f"{BASE}{path.format(id=user['id'])}", user_body())
        assert_error(response, 405)


@pytest.mark.django_db
class TestBodies:
    def test_malformed_json_is_invalid_syntax(self, api):
        body = assert_error(api.post(f"{BASE}/Users", '{"userName": '), 400, "invalidSyntax")
        assert "JSON" in body["detail"]

    @pytest.mark.parametrize("payload", ["[]", '"text"', "42", "null"])
    def test_a_body_that_is_not_an_object_is_invalid_syntax(self, api, payload):
        assert_error(api.post(f"{BASE}/Users", payload), 400, "invalidSyntax")

    def test_empty_body_is_invalid_syntax(self, api):
        assert_error(api.post(f"{BASE}/Users", ""), 400, "invalidSyntax")

    def test_nan_is_not_json(self, api):
        assert_error(api.post(f"{BASE}/Users", '{"userName": "a", "x": NaN}'), 400, "invalidSyntax")

    def test_invalid_utf8_is_invalid_syntax(self, api):
        assert_error(api.post(f"{BASE}/Users", b'{"userName": "\xff"}'), 400, "invalidSyntax")

    def test_unsupported_media_type_is_415(self, api):
        assert_error(api.post(f"{BASE}/Users", "userName=x", content_type="text/plain"), 415)

    @pytest.mark.parametrize(
        "content_type", ["application/scim+json; charset=utf-8", "application/json; charset=UTF-8", "application/json"]
    )
    def test_json_media_types_with_charset_are_accepted(self, api, content_type):
        assert api.post(f"{BASE}/Users", user_body(), content_type=content_type).status_code == 201

    def test_too_large_body_is_413_before_parsing(self, api):
        with override_settings(DRF_SCIM={"MAX_PAYLOAD_SIZE": 100}):
            body = assert_error(api.post(f"{BASE}/Users", user_body(displayName="x" * 200)), 413)
        assert "100" in body["detail"]


@pytest.mark.django_db
class TestServerErrors:
    def test_unexpected_exception_is_a_scim_500_without_internals(self, api, create_user, monkeypatch):
        create_user()

        def explode(self, *args, **kwargs):
            raise RuntimeError("secret internal detail: SELECT * FROM auth_user")

        monkeypatch.setattr(UserSerializer, "to_representation", explode)
        api.raise_request_exception = False
        body = assert_error(api.get(f"{BASE}/Users"), 500)
        assert "secret" not in body["detail"]
        assert "SELECT" not in body["detail"]


@pytest.mark.django_db
class TestNegotiation:
    @pytest.mark.parametrize("accept", ["application/json", "*/*", "text/html", "application/scim+json"])
    def test_any_accept_header_gets_scim_json(self, api, accept):
        response = api.get(f"{BASE}/Users", HTTP_ACCEPT=accept)
        assert response.status_code == 200
        assert response["Content-Type"] == "application/scim+json"

    def test_response_media_type_is_a_setting(self, api):
        with override_settings(DRF_SCIM={"RESPONSE_MEDIA_TYPE": "application/json"}):
            response = api.get(f"{BASE}/Users")
        assert response["Content-Type"] == "application/json"

    def test_errors_too_use_the_configured_media_type(self):
        client = SCIMClient()
        with override_settings(DRF_SCIM={"RESPONSE_MEDIA_TYPE": "application/json"}):
            response = client.get(f"{BASE}/Users")
        assert response.status_code == 401
        assert response["Content-Type"] == "application/json"


@pytest.mark.django_db
def test_database_unavailable_is_a_scim_503_with_retry_after(api, create_user, monkeypatch):
    from django.db import OperationalError

    create_user()

    def unavailable(self, *args, **kwargs):
        raise OperationalError("could not connect to server: secret-host:5432")

    monkeypatch.setattr(UserSerializer, "to_representation", unavailable)
    body = assert_error(api.get(f"{BASE}/Users"), 503)
    assert "secret-host" not in body["detail"]
    assert api.get(f"{BASE}/Users")["Retry-After"]
