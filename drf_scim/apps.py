from django.apps import AppConfig


class DrfScimConfig(AppConfig):
    name = "drf_scim"
    verbose_name = "SCIM"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.apps import apps
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group
        from django.db.models.signals import m2m_changed, post_migrate, post_save, pre_delete

        from . import (
            checks,  # noqa: F401  (registers the system checks)
            receivers,
        )
        from .events import checks as event_checks  # noqa: F401  (registers the EVENTS_* checks)

        # Accounts the host makes or changes outside SCIM (drf_scim.receivers).
        user_model = get_user_model()
        post_migrate.connect(receivers.adopt_after_migrate, sender=self)
        for model in (user_model, Group):
            post_save.connect(receivers.account_saved, sender=model, dispatch_uid=f"drf_scim.adopt.{model._meta.label}")
            pre_delete.connect(
                receivers.account_deleted, sender=model, dispatch_uid=f"drf_scim.deleted.{model._meta.label}"
            )
        if hasattr(user_model, "groups"):
            m2m_changed.connect(receivers.members_changed, sender=user_model.groups.through)

        if apps.is_installed("drf_spectacular"):
            from .contrib import drf_spectacular  # noqa: F401  (registers the OpenAPI extensions)
