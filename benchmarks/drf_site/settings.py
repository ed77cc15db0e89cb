"""The drf_scim site of the benchmark: drf_scim's defaults, the same middleware and database as the peer's."""

import os

import dj_database_url

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "benchmark-not-for-production")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "rest_framework",
    "oauth2_provider",
    "drf_scim",
]

# The reference site's stack, minus django-oauth-toolkit's middleware (DRF authenticates the bearer token).
MIDDLEWARE = [
    "querycount.QueryCountMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]

ROOT_URLCONF = "drf_site.urls"
WSGI_APPLICATION = "drf_site.wsgi.application"
DATABASES = {"default": dj_database_url.config(conn_max_age=60)}
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

OAUTH2_PROVIDER = {"SCOPES": {"scim:read": "Read over SCIM", "scim:write": "Write over SCIM"}}
DRF_SCIM = {"BASE_URL": "http://127.0.0.1/scim/v2"}
