from django.apps import AppConfig


class DrfScimConfig(AppConfig):
    name = "drf_scim"
    verbose_name = "SCIM"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
