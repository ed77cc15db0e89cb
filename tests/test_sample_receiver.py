"""The sample site's event receiver (sample_site/events.py): SETs the real worker pushes, verified, stored once."""

from __future__ import annotations

import json
from io import StringIO

import pytest
import requests
from django.core.management import call_command
from django.test import Client
from jwcrypto import jwk

from drf_scim.events import outbox, tokens
from drf_scim.events.push import PushWorker
from drf_scim.models import SCIMEventDelivery, SCIMEventReceiver
from sample_site.events import stored_sets
from tests.helpers import BASE, patch_body

pytestmark = pytest.mark.django_db

KEY = jwk.JWK.generate(kty="RSA", size=2048)
OTHER_KEY = jwk.JWK.generate(kty="RSA", size=2048)
ISSUER = "http://testserver/scim/v2"
URL = "http://testserver/events/receiver"


class WSGIAdapter(requests.adapters.BaseAdapter):
    """requests into the Django test client: the worker's HTTP calls reach the sample site's views."""

    def send(self, request, **kwargs):
        headers = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in request.headers.items()}
        content_type = headers.pop("HTTP_CONTENT_TYPE", "")
        answer = Client().generic(request.method, request.path_url, request.body or b"", content_type, **headers)
        response = requests.Response()
        response.status_code = answer.status_code
        response._content = answer.content
        response.headers.update(dict(answer.items()))
        response.url, response.request = request.url, request
        return response

    def close(self):
        pass


@pytest.fixture
def signing(settings, tmp_path):
    settings.DRF_SCIM = {
        "EVENTS_SIGNING_KEY": KEY.export_to_pem(private_key=True, password=None).decode(),
        "EVENTS_ISSUER": ISSUER,
    }
    settings.RECEIVED_SETS_FILE = tmp_path / "received.jsonl"
    settings.EVENTS_KEY_FILE = tmp_path / "events.pem"  # (sample_receiver's, never the checkout's)
    return settings


@pytest.fixture
def worker() -> PushWorker:
    session = requests.Session()
    session.mount("http://testserver/", WSGIAdapter())
    return PushWorker(session=session)


def sample_receiver(url: str = URL) -> SCIMEventReceiver:
    out = StringIO()
    call_command("sample_receiver", "--url", url, stdout=out)
    return SCIMEventReceiver.objects.get(name="sample receiver")


def test_the_worker_pushes_each_change_to_the_sample_receiver_which_stores_it_once(signing, worker, api, create_user):
    receiver = sample_receiver()
    user = create_user("ann@example.com")
    api.patch(f"{BASE}/Users/{user['id']}", patch_body({"op": "replace", "path": "active", "value": False}))
    report = worker.run_once()
    assert (report.delivered, report.failed, report.retried) == (2, 0, 0), report.errors
    rows = stored_sets(signing.RECEIVED_SETS_FILE)
    assert [list(row["claims"]["events"]) for row in rows] == [
        ["urn:ietf:params:scim:event:prov:create:notice"],
        ["urn:ietf:params:scim:event:prov:patch:notice", "urn:ietf:params:scim:event:prov:deactivate"],
    ]
    first = rows[0]["claims"]
    assert (first["iss"], first["aud"], first["sub_id"]["uri"]) == (ISSUER, URL, f"/Users/{user['id']}")
    assert {str(delivery.jti) for delivery in SCIMEventDelivery.objects.filter(receiver=receiver)} == {
        row["jti"] for row in rows
    }
    assert set(SCIMEventDelivery.objects.values_list("state", "last_status")) == {("delivered", 202)}

    outbox.retry(SCIMEventDelivery.objects.all())  # sent again: acknowledged again, stored once
    assert worker.run_once().delivered == 2
    assert len(stored_sets(signing.RECEIVED_SETS_FILE)) == 2


def test_the_received_page_lists_the_sets_decoded_for_staff(signing, worker, create_user, admin_client, anon):
    sample_receiver()
    user = create_user("ann@example.com")
    worker.run_once()
    page = admin_client.get("/events/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "urn:ietf:params:scim:event:prov:create:notice" in html and f"/Users/{user['id']}" in html
    assert anon.get("/events/").status_code == 302  # the admin login


def post(body: str, content_type: str = tokens.MEDIA_TYPE):
    return Client().post("/events/receiver", body, content_type=content_type)


def token_of(claims: dict, key: jwk.JWK = KEY, typ: str = tokens.TYPE) -> str:
    from jwcrypto import jws

    signed = jws.JWS(json.dumps(claims).encode())
    signed.add_signature(key, None, json.dumps({"alg": "RS256", "typ": typ, "kid": KEY.thumbprint()}))
    return signed.serialize(compact=True)


GOOD = {"iss": ISSUER, "aud": URL, "jti": "1", "iat": 1, "events": {"urn:ietf:params:scim:event:prov:delete": {}}}


@pytest.mark.parametrize(
    ("body", "content_type", "err"),
    [
        ("not a jwt", tokens.MEDIA_TYPE, "invalid_request"),
        (token_of(GOOD), "application/json", "invalid_request"),
        (token_of(GOOD, typ="JWT"), tokens.MEDIA_TYPE, "invalid_request"),
        (token_of(GOOD, key=OTHER_KEY), tokens.MEDIA_TYPE, "invalid_key"),
        (token_of({**GOOD, "iss": "https://elsewhere"}), tokens.MEDIA_TYPE, "invalid_issuer"),
        (token_of({**GOOD, "aud": ["https://elsewhere"]}), tokens.MEDIA_TYPE, "invalid_audience"),
    ],
)
def test_the_sample_receiver_answers_rfc_8935_errors(signing, body, content_type, err):
    response = post(body, content_type)
    assert response.status_code == 400
    assert response.json()["err"] == err and response.json()["description"]
    assert response["Content-Language"] == "en"
    assert stored_sets(signing.RECEIVED_SETS_FILE) == []


def test_the_sample_receiver_takes_a_good_set_with_an_empty_202(signing):
    response = post(token_of({**GOOD, "aud": [URL]}))
    assert (response.status_code, response.content) == (202, b"")
    assert [row["jti"] for row in stored_sets(signing.RECEIVED_SETS_FILE)] == ["1"]


def test_a_rejected_set_is_a_dead_letter_with_the_receivers_error(signing, worker, create_user):
    sample_receiver("http://testserver/events/receiver?not=me")  # an aud the receiver does not answer to
    create_user("ann@example.com")
    report = worker.run_once()
    assert (report.delivered, report.failed) == (0, 1)
    delivery = SCIMEventDelivery.objects.get()
    assert (delivery.state, delivery.last_status) == ("failed", 400)
    assert delivery.last_error.startswith("invalid_audience: ")


def test_sample_receiver_makes_the_key_once_and_keeps_one_receiver(settings, tmp_path, monkeypatch):
    monkeypatch.delenv("EVENTS_SIGNING_KEY", raising=False)
    settings.EVENTS_KEY_FILE = tmp_path / "keys" / "events.pem"
    out = StringIO()
    call_command("sample_receiver", stdout=out)
    pem = settings.EVENTS_KEY_FILE.read_bytes()
    assert jwk.JWK.from_pem(pem).has_private
    assert settings.EVENTS_KEY_FILE.stat().st_mode & 0o077 == 0
    call_command("sample_receiver", "--url", "http://localhost:9000/events/receiver", stdout=out)
    assert settings.EVENTS_KEY_FILE.read_bytes() == pem
    assert list(SCIMEventReceiver.objects.values_list("endpoint", "audience")) == [
        ("http://localhost:9000/events/receiver", "http://localhost:9000/events/receiver")
    ]
    assert out.getvalue().splitlines()[-1] == (
        "Kept the push receiver 'sample receiver' at http://localhost:9000/events/receiver."
    )
