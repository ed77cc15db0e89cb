from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Registers ``scim_seed``; no models."""

    name = "drf_scim.contrib.demo"
    label = "drf_scim_demo"
    verbose_name = "SCIM demo data"
