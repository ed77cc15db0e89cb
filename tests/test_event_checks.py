"""drf_scim.E012: the EVENTS_* settings and the signing key are checked at startup."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings
from jwcrypto import jwk

RSA_PEM = jwk.JWK.generate(kty="RSA", size=2048).export_to_pem(private_key=True, password=None).decode()
EC_JWK = jwk.JWK.generate(kty="EC", crv="P-256").export(private_key=True)


def e012_messages() -> list[str]:
    try:
        call_command("check", "--fail-level", "ERROR", verbosity=0)
    except SystemCheckError as exc:
        return [line for line in str(exc).splitlines() if "drf_scim.E012" in line]
    return []


@pytest.mark.parametrize(
    "events",
    [
        {},
        {"EVENTS_SIGNING_KEY": RSA_PEM},
        {"EVENTS_SIGNING_KEY": EC_JWK, "EVENTS_SIGNING_ALGORITHM": "ES256"},
        {"EVENTS_RETENTION_DAYS": None, "EVENTS_RETRY_SECONDS": 0, "EVENTS_PUSH_TIMEOUT": 2.5},
    ],
)
def test_sound_event_settings_pass_the_checks(events):
    with override_settings(DRF_SCIM=events):
        assert e012_messages() == []


@pytest.mark.parametrize(
    ("events", "says"),
    [
        ({"EVENTS_MAX_ATTEMPTS": 0}, "EVENTS_MAX_ATTEMPTS'] must be a positive integer"),
        ({"EVENTS_RETRY_SECONDS": -1}, "EVENTS_RETRY_SECONDS'] must be a number of seconds"),
        ({"EVENTS_LEASE_SECONDS": "60"}, "EVENTS_LEASE_SECONDS'] must be a number of seconds"),
        ({"EVENTS_RETENTION_DAYS": 0}, "EVENTS_RETENTION_DAYS'] must be a positive integer (days), or None"),
        ({"EVENTS_SIGNING_KEY": "not a key"}, "EVENTS_SIGNING_KEY'] is no private key"),
        (
            {"EVENTS_SIGNING_KEY": jwk.JWK.from_pem(RSA_PEM.encode()).export_to_pem().decode()},
            "holds a public key",
        ),
        ({"EVENTS_SIGNING_KEY": RSA_PEM, "EVENTS_SIGNING_ALGORITHM": "ES256"}, "cannot sign with the configured key"),
        ({"EVENTS_SIGNING_KEY": RSA_PEM, "EVENTS_SIGNING_ALGORITHM": "HS999"}, "cannot sign with the configured key"),
    ],
)
def test_a_wrong_event_setting_is_error_e012(events, says):
    with override_settings(DRF_SCIM=events):
        messages = e012_messages()
    assert len(messages) == 1, messages
    assert says in messages[0]


def test_the_oidc_key_of_django_oauth_toolkit_signs_when_no_event_key_is_set(settings):
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_RSA_PRIVATE_KEY": "garbage"}
    assert any("is no private key" in message for message in e012_messages())
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_RSA_PRIVATE_KEY": RSA_PEM}
    assert e012_messages() == []
