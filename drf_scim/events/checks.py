"""System checks of the EVENTS_* settings: numbers in range, and a signing key that loads and suits its algorithm."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.core.exceptions import ImproperlyConfigured

from ..settings import DEFAULTS, SETTING_NAME

COUNTS = ("EVENTS_MAX_ATTEMPTS",)  # positive integers
DURATIONS = ("EVENTS_RETRY_SECONDS", "EVENTS_RETRY_MAX_SECONDS", "EVENTS_PUSH_TIMEOUT", "EVENTS_LEASE_SECONDS")


@register(Tags.compatibility)
def check_event_settings(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """drf_scim.E012: an EVENTS_* setting out of range, or a signing key that cannot sign."""
    user_settings = getattr(settings, SETTING_NAME, {})
    if not isinstance(user_settings, dict):
        return []  # drf_scim.E001
    value = {key: user_settings.get(key, DEFAULTS[key]) for key in DEFAULTS if key.startswith("EVENTS_")}
    errors = []
    for key in COUNTS:
        if not positive(value[key]):
            errors.append(error(f"{SETTING_NAME}[{key!r}] must be a positive integer."))
    for key in DURATIONS:
        number = value[key]
        if not isinstance(number, (int, float)) or isinstance(number, bool) or number < 0:
            errors.append(error(f"{SETTING_NAME}[{key!r}] must be a number of seconds, 0 or more."))
    retention = value["EVENTS_RETENTION_DAYS"]
    if retention is not None and not positive(retention):
        errors.append(error(f"{SETTING_NAME}['EVENTS_RETENTION_DAYS'] must be a positive integer (days), or None."))
    if value["EVENTS_SIGNING_KEY"] or (getattr(settings, "OAUTH2_PROVIDER", None) or {}).get("OIDC_RSA_PRIVATE_KEY"):
        errors.extend(signing_errors())
    return errors


def signing_errors() -> list[Error]:
    """Sign a SET with the configured key and algorithm, so that a mistake shows at startup, not in the worker."""
    from .tokens import sign

    try:
        sign({"check": True})
    except ImproperlyConfigured as exc:
        return [error(str(exc))]
    except Exception as exc:  # jwcrypto's own: an algorithm it does not know, or one the key does not suit
        return [
            error(
                f"{SETTING_NAME}['EVENTS_SIGNING_ALGORITHM'] cannot sign with the configured key: {exc}",
                hint="RS256 or PS256 for an RSA key, ES256 for a P-256 key, EdDSA for an Ed25519 key.",
            )
        ]
    return []


def positive(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def error(message: str, hint: str | None = None) -> Error:
    return Error(message, hint=hint, id="drf_scim.E012")
