"""SETs (RFC 8417) in RFC 9967's SCIM profile: the claims a receiver gets for one event, signed as a JWS.

The key is ``EVENTS_SIGNING_KEY`` (PEM or JWK JSON), else django-oauth-toolkit's ``OIDC_RSA_PRIVATE_KEY``;
jwcrypto signs (django-oauth-toolkit depends on it already). ``public_jwks()`` is what receivers verify
with, served at ``<SCIM root>/Events/jwks``.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from jwcrypto import jwk, jws

from ..models import SCIMEvent, SCIMEventDelivery, SCIMEventReceiver
from ..settings import SETTING_NAME, scim_settings
from .names import FORMED, event_uri

MEDIA_TYPE = "application/secevent+jwt"
TYPE = "secevent+jwt"


def claims(event: SCIMEvent, receiver: SCIMEventReceiver, jti: Any) -> dict[str, Any]:
    """The claims of the SET that tells ``receiver`` of ``event``, with the id ``jti``."""
    subject = {"format": "scim", "uri": event.uri}
    if event.external_id:
        subject["externalId"] = event.external_id
    names = [name for name in event.events if not receiver.events or name in receiver.events] or event.events
    found: dict[str, Any] = {
        "iss": issuer(),
        "iat": int(event.created.timestamp()),
        "jti": str(jti),
        "aud": receiver.audience,
        "sub_id": subject,
        "txn": event.txn,
    }
    found["events"] = {
        event_uri(name, full=full_form(event, receiver, name)): payload(event, receiver, name) for name in names
    }
    return found


def full_form(event: SCIMEvent, receiver: SCIMEventReceiver, name: str) -> bool:
    """Whether ``receiver`` gets the full form of ``name``: it asked for them and the event has the data."""
    return receiver.full and name in FORMED and event.data is not None


def payload(event: SCIMEvent, receiver: SCIMEventReceiver, name: str) -> dict[str, Any]:
    """The payload of one event of the SET (RFC 9967 §2.4): for create, put and patch the data (full forms)
    or the changed attributes (notice forms), and the resource's version; ``{}`` for the others."""
    if name not in FORMED:
        return {}
    found: dict[str, Any] = {}
    if full_form(event, receiver, name):
        found["data"] = event.data
    else:
        found["attributes"] = list(event.attributes)
    if event.version:
        found["version"] = event.version
    return found


def issuer() -> str:
    """The ``iss`` claim: ``EVENTS_ISSUER``, else ``BASE_URL``."""
    found = scim_settings.EVENTS_ISSUER or scim_settings.BASE_URL
    if not found:
        raise ImproperlyConfigured(
            f"SCIM events need an issuer: set {SETTING_NAME}['EVENTS_ISSUER'] (or BASE_URL), e.g. "
            "'https://api.example.com/scim/v2'."
        )
    return found


def encode(delivery: SCIMEventDelivery) -> str:
    """The signed SET of ``delivery`` (JWS compact serialization)."""
    return sign(claims(delivery.event, delivery.receiver, delivery.jti))


def sign(payload_claims: dict[str, Any]) -> str:
    key = signing_key()
    header = {"alg": scim_settings.EVENTS_SIGNING_ALGORITHM, "typ": TYPE, "kid": key["kid"]}
    token = jws.JWS(json.dumps(payload_claims, separators=(",", ":")).encode())
    token.add_signature(key, None, json.dumps(header, separators=(",", ":")))
    return token.serialize(compact=True)


@lru_cache(maxsize=1)
def signing_key() -> jwk.JWK:
    """The private key SETs are signed with (its ``kid``: the RFC 7638 thumbprint unless the JWK names one)."""
    configured = scim_settings.EVENTS_SIGNING_KEY
    if not configured:
        configured = (getattr(settings, "OAUTH2_PROVIDER", None) or {}).get("OIDC_RSA_PRIVATE_KEY")
    if not configured:
        raise ImproperlyConfigured(
            f"SCIM events are signed: set {SETTING_NAME}['EVENTS_SIGNING_KEY'] to a private key (PEM, or a JWK as "
            "JSON), e.g. the output of `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048`."
        )
    try:
        if isinstance(configured, dict) or configured.lstrip().startswith("{"):
            key = jwk.JWK(**(configured if isinstance(configured, dict) else json.loads(configured)))
        else:
            key = jwk.JWK.from_pem(configured.encode() if isinstance(configured, str) else configured)
    except (ValueError, TypeError, jwk.InvalidJWKValue) as exc:
        raise ImproperlyConfigured(f"{SETTING_NAME}['EVENTS_SIGNING_KEY'] is no private key: {exc}") from exc
    if not key.has_private:
        raise ImproperlyConfigured(
            f"{SETTING_NAME}['EVENTS_SIGNING_KEY'] holds a public key; SETs need the private one."
        )
    if not key.get("kid"):
        key = jwk.JWK(**{**key.export(as_dict=True), "kid": key.thumbprint()})
    return key


def public_jwks() -> dict[str, Any]:
    """The JWK Set receivers verify SETs with."""
    public = signing_key().export_public(as_dict=True)
    return {"keys": [{**public, "use": "sig", "alg": scim_settings.EVENTS_SIGNING_ALGORITHM}]}


def _forget_key(*, setting: str, **kwargs: Any) -> None:
    if setting in (SETTING_NAME, "OAUTH2_PROVIDER"):
        signing_key.cache_clear()


setting_changed.connect(_forget_key)
