from django.apps import AppConfig


class DrfScimConfig(AppConfig):
    name = "drf_scim"
    verbose_name = "SCIM"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.apps import apps

        from . import checks  # noqa: F401  (registers the system checks)

        if apps.is_installed("drf_spectacular"):
            from .contrib import drf_spectacular  # noqa: F401  (registers the OpenAPI extensions)
