"""The DRF_SCIM settings dict and the system checks."""

from __future__ import annotations

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from drf_scim.settings import DEFAULTS, scim_settings


def test_defaults():
    assert scim_settings.READ_SCOPE == DEFAULTS["READ_SCOPE"] == "scim:read"
    assert scim_settings.DEFAULT_PAGE_SIZE == 100


def test_override_settings_reloads():
    with override_settings(DRF_SCIM={"DEFAULT_PAGE_SIZE": 7}):
        assert scim_settings.DEFAULT_PAGE_SIZE == 7
    assert scim_settings.DEFAULT_PAGE_SIZE == 100


def test_import_strings_are_resolved():
    from drf_scim.serializers import UserSerializer

    assert scim_settings.USER_SERIALIZER is UserSerializer


def test_unknown_setting_name_is_an_attribute_error():
    with pytest.raises(AttributeError):
        scim_settings.NOT_A_SETTING  # noqa: B018


def test_bad_import_string_says_what_to_write():
    with (
        override_settings(DRF_SCIM={"USER_SERIALIZER": "nowhere.Serializer"}),
        pytest.raises(ImproperlyConfigured) as exc,
    ):
        scim_settings.USER_SERIALIZER  # noqa: B018
    assert "drf_scim.serializers.UserSerializer" in str(exc.value)


@pytest.mark.parametrize(
    ("value", "error_id"),
    [
        ({"PAGE_SIZE": 10}, "drf_scim.E002"),
        ({"USER_SERIALIZER": "nowhere.Serializer"}, "drf_scim.E003"),
        ({"ADOPTION_TENANT": "nowhere.tenant_of"}, "drf_scim.E003"),
        ({"MAX_PAGE_SIZE": 0}, "drf_scim.E004"),
        ({"MAX_PATCH_COST": "100"}, "drf_scim.E004"),
        ({"STATEMENT_TIMEOUT": -1}, "drf_scim.E004"),
        ({"ACTIVITY_FLUSH_SECONDS": "10"}, "drf_scim.E004"),
        ({"DEFAULT_PAGE_SIZE": 50, "MAX_PAGE_SIZE": 10}, "drf_scim.E005"),
    ],
)
def test_system_checks(value, error_id):
    with override_settings(DRF_SCIM=value):
        errors = [error.id for error in run_checks()]
    assert error_id in errors


def test_no_errors_by_default():
    assert [error for error in run_checks() if error.id.startswith("drf_scim")] == []
