"""System checks for the mistakes that would otherwise surface as confusing errors at request time."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.checks import Error, Tags, register
from django.core.exceptions import ImproperlyConfigured

from .settings import DEFAULTS, SETTING_NAME, scim_settings


@register(Tags.compatibility)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    errors: list[Error] = []
    user_settings = getattr(settings, SETTING_NAME, {}) or {}
    if not isinstance(user_settings, dict):
        return [Error(f"{SETTING_NAME} must be a dict.", id="drf_scim.E001")]
    for key in user_settings:
        if key not in DEFAULTS:
            errors.append(
                Error(
                    f"Unknown setting {SETTING_NAME}[{key!r}].",
                    hint=f"Known settings: {', '.join(sorted(DEFAULTS))}.",
                    id="drf_scim.E002",
                )
            )
    imported = ("USER_SERIALIZER", "GROUP_SERIALIZER", "PAGINATION_CLASS", "EXCEPTION_HANDLER", "FILTER_BACKENDS")
    for key in (*imported, "TENANT_RESOLVER", "ADOPTION_TENANT"):
        try:
            getattr(scim_settings, key)
        except ImproperlyConfigured as exc:
            errors.append(Error(str(exc), id="drf_scim.E003"))
    limits = ("DEFAULT_PAGE_SIZE", "MAX_PAGE_SIZE", "MAX_PAYLOAD_SIZE", "FILTER_MAX_LENGTH", "FILTER_MAX_DEPTH")
    budgets = ("FILTER_MAX_CLAUSES", "FILTER_MAX_VALUE_FILTERS", "MAX_ATTRIBUTE_VALUES", "MAX_PATCH_COST")
    for key in (*limits, *budgets):
        value = user_settings.get(key, DEFAULTS[key])
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            errors.append(Error(f"{SETTING_NAME}[{key!r}] must be a positive integer.", id="drf_scim.E004"))
    for key in ("FILTER_MAX_SUBSTRING_CLAUSES", "STATEMENT_TIMEOUT", "ACTIVITY_FLUSH_SECONDS"):  # 0 has a meaning
        value = user_settings.get(key, DEFAULTS[key])
        if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0):
            errors.append(Error(f"{SETTING_NAME}[{key!r}] must be a number, 0 or more.", id="drf_scim.E004"))
    if user_settings.get("DEFAULT_PAGE_SIZE", 0) > user_settings.get("MAX_PAGE_SIZE", DEFAULTS["MAX_PAGE_SIZE"]):
        errors.append(Error(f"{SETTING_NAME}['DEFAULT_PAGE_SIZE'] exceeds MAX_PAGE_SIZE.", id="drf_scim.E005"))
    if not apps.is_installed("oauth2_provider") and any(
        "SCIMOAuth2Authentication" in str(path)
        for path in user_settings.get("AUTHENTICATION_CLASSES", DEFAULTS["AUTHENTICATION_CLASSES"])
    ):
        errors.append(
            Error(
                "drf_scim authenticates with django-oauth-toolkit, which is not installed.",
                hint="Add 'oauth2_provider' to INSTALLED_APPS, or set DRF_SCIM['AUTHENTICATION_CLASSES'].",
                id="drf_scim.E006",
            )
        )
    return errors
