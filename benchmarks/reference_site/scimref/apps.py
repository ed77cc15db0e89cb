from django.apps import AppConfig


class ScimrefConfig(AppConfig):
    name = "scimref"
    default_auto_field = "django.db.models.BigAutoField"
