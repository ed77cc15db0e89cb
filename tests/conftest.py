"""Fixtures: an API client holding a bearer token, and helpers to provision through HTTP."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_application_model
from rest_framework.test import APIClient

from drf_scim.authentication import token_cache
from drf_scim.views import SCIMViewMixin
from tests.helpers import BASE, group_body, user_body


class SCIMClient(APIClient):
    """An APIClient that sends JSON as application/scim+json and decodes SCIM responses."""

    def _send(self, method: str, path: str, data: Any = None, content_type: str = "application/scim+json", **extra):
        body = data if isinstance(data, (str, bytes)) or data is None else json.dumps(data)
        response = getattr(super(), method)(path, data=body, content_type=content_type, **extra)
        ctype = response.get("Content-Type", "")
        response.body = json.loads(response.content) if response.content and "json" in ctype else None
        return response

    def get(self, path, data=None, **extra):
        response = super().get(path, data=data, **extra)
        ctype = response.get("Content-Type", "")
        response.body = json.loads(response.content) if response.content and "json" in ctype else None
        return response

    def post(self, path, data=None, **extra):
        return self._send("post", path, data, **extra)

    def put(self, path, data=None, **extra):
        return self._send("put", path, data, **extra)

    def patch(self, path, data=None, **extra):
        return self._send("patch", path, data, **extra)

    def delete(self, path, data=None, **extra):
        return self._send("delete", path, data, **extra)


@pytest.fixture(autouse=True)
def token_cache_off(monkeypatch):
    """Every request looks its token up, so the query counts the tests assert include it and tokens of
    one test never outlive its database (tests/test_token_cache.py covers the cache, on by default)."""
    monkeypatch.setattr(token_cache, "put", lambda token, access_token: None)


@pytest.fixture(autouse=True)
def statement_timeout_off(monkeypatch):
    """SCIM views leave the session's statement_timeout alone, so the query counts the tests assert are those
    of a worker whose connection has it already (it is set once per connection; tests/test_reliability.py
    covers it)."""
    monkeypatch.setattr(SCIMViewMixin, "apply_statement_timeout", lambda self: None)


@pytest.fixture
def make_token(db) -> Callable[..., str]:
    """Create an access token with the given scopes; returns the raw token."""
    counter = iter(range(1, 1_000_000))

    def make(scopes: str = "scim:read scim:write", *, expired: bool = False, client: str = "tests") -> str:
        Application = get_application_model()
        application, _ = Application.objects.get_or_create(
            name=client,
            defaults={
                "client_type": Application.CLIENT_CONFIDENTIAL,
                "authorization_grant_type": Application.GRANT_CLIENT_CREDENTIALS,
            },
        )
        raw = f"token-{client}-{next(counter)}-{scopes.replace(' ', '-')}"
        delta = timedelta(hours=-1 if expired else 1)
        get_access_token_model().objects.create(
            application=application, token=raw, scope=scopes, expires=timezone.now() + delta
        )
        return raw

    return make


@pytest.fixture
def anon() -> SCIMClient:
    return SCIMClient()


@pytest.fixture
def api(make_token) -> SCIMClient:
    client = SCIMClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token()}")
    return client


@pytest.fixture
def create_user(api) -> Callable[..., dict[str, Any]]:
    def create(user_name: str = "bjensen@example.com", **extra: Any) -> dict[str, Any]:
        response = api.post(f"{BASE}/Users", user_body(user_name, **extra))
        assert response.status_code == 201, response.body
        return response.body

    return create


@pytest.fixture
def create_group(api) -> Callable[..., dict[str, Any]]:
    def create(display_name: str = "Tour Guides", members: list[str] = (), **extra: Any) -> dict[str, Any]:
        response = api.post(f"{BASE}/Groups", group_body(display_name, members, **extra))
        assert response.status_code == 201, response.body
        return response.body

    return create


# -- SCIM events -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def signing_pem() -> str:
    """An RSA private key (PEM) to sign SETs with, made once per test session."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture
def events_on(settings, signing_pem) -> dict[str, Any]:
    """DRF_SCIM with a signing key, an issuer and immediate retries; extend ``settings.DRF_SCIM`` for more."""
    settings.DRF_SCIM = {
        **settings.DRF_SCIM,
        "EVENTS_ISSUER": "https://scim.example.com/scim/v2",
        "EVENTS_SIGNING_KEY": signing_pem,
        "EVENTS_RETRY_SECONDS": 0,
    }
    return settings.DRF_SCIM


class EventReceiverServer:
    """A real RFC 8935 receiver on 127.0.0.1: records each request, answers from ``script`` (then 202).

    A scripted answer is an HTTP status, ``"drop"`` (closes the connection unanswered), ``("sleep", seconds)``
    (answers 202 that late), or ``(status, json_body)``; ``delay`` slows every answer down.
    """

    def __init__(self) -> None:
        import http.server
        import threading

        self.requests: list[dict[str, Any]] = []
        self.script: list[Any] = []
        self.delay = 0.0
        self.lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                import time

                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                with server.lock:
                    server.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                    answer = server.script.pop(0) if server.script else 202
                time.sleep(server.delay)
                if answer == "drop":
                    self.close_connection = True
                    return
                if isinstance(answer, tuple) and answer[0] == "sleep":
                    time.sleep(answer[1])
                    answer = 202
                status, payload = answer if isinstance(answer, tuple) else (answer, None)
                content = json.dumps(payload).encode() if payload is not None else b""
                self.send_response(status)
                if payload is not None:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/events"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def event_server():
    server = EventReceiverServer()
    yield server
    server.close()
