"""The drf_scim site of the benchmark: drf_scim's defaults on the stack both sites share."""

from site_settings import *  # noqa: F403

INSTALLED_APPS = [*DJANGO_APPS, "rest_framework", "oauth2_provider", "drf_scim", "drf_scim.contrib.demo"]  # noqa: F405

# DRF authenticates the bearer token itself, so the shared middleware is all this site needs.
ROOT_URLCONF = "drf_site.urls"
WSGI_APPLICATION = "drf_site.wsgi.application"

DRF_SCIM = {"BASE_URL": "http://127.0.0.1/scim/v2"}
