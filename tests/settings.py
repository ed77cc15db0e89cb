"""Test settings: the sample site plus the test-only apps, with a fast password hasher."""

from sample_site.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "rest_framework.authtoken", "tests.testapp"]  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ROOT_URLCONF = "tests.urls"
LOGGING = {"version": 1, "disable_existing_loggers": False}
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
DRF_SCIM = {}
