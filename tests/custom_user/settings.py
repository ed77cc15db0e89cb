"""The test settings with a custom AUTH_USER_MODEL (run in a separate process by test_custom_user_model)."""

from tests.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.custom_user"]  # noqa: F405
AUTH_USER_MODEL = "custom_user.Account"
DRF_SCIM = {"USER_SERIALIZER": "tests.custom_user.serializers.AccountSerializer"}
DATABASES["default"]["TEST"] = {"NAME": "test_scim_custom_user"}  # noqa: F405
