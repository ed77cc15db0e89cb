"""Settings of the drf_scim sample site: SQLite by default, any database through DATABASE_URL."""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "sample-site-not-for-production")
# Off unless asked for: `make run` sets DJANGO_DEBUG=1 for local use (a debug page shows settings and locals).
DEBUG = os.environ.get("DJANGO_DEBUG", "0") == "1"
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "oauth2_provider",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "drf_scim",
    "drf_scim.contrib.demo",  # scim_seed, the demo data of `make run`
    "sample_site",  # demo_admin, the admin login of `make run`
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "sample_site.urls"
WSGI_APPLICATION = "sample_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        # A connection the database dropped (a restart) is replaced on the next request, not failed on.
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # An unreachable database answers a SCIM 503 within seconds instead of holding the worker.
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = int(
        os.environ.get("DATABASE_CONNECT_TIMEOUT", "5")
    )
    if os.environ.get("DATABASE_SERVER_SIDE_BINDING"):
        # Parameters bound by PostgreSQL, which prepares the statements a connection repeats (docs/howto/deploying.rst).
        DATABASES["default"]["OPTIONS"].update({"server_side_binding": True, "prepare_threshold": 5})
    if os.environ.get("DATABASE_TRANSACTION_POOLING"):
        # Behind PgBouncer in transaction mode: a server connection serves one transaction, so no cursor may
        # outlive it, and a statement prepared on one is unknown to the next (unless PgBouncer 1.21+ with
        # max_prepared_statements, then leave prepare_threshold alone).
        DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
        DATABASES["default"]["OPTIONS"]["prepare_threshold"] = None

USE_TZ = True
TIME_ZONE = "UTC"
STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

OAUTH2_PROVIDER = {
    "SCOPES": {
        "scim:read": "Read users and groups over SCIM",
        "scim:write": "Create, update and delete users and groups over SCIM",
        "scim:users:read": "Read users over SCIM",
        "scim:users:write": "Provision users over SCIM",
        "scim:groups:read": "Read groups over SCIM",
        "scim:groups:write": "Provision groups over SCIM",
        "scim:events": "Poll for SCIM events",
    },
    "DEFAULT_SCOPES": ["scim:read"],
    # Keep only a checksum of each token (RFC 9700): a token is shown once, when it is issued.
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
}

REST_FRAMEWORK = {"DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema"}

SPECTACULAR_SETTINGS = {
    "TITLE": "drf_scim sample site",
    "DESCRIPTION": "SCIM 2.0 (RFC 7643, RFC 7644) service provider built with drf_scim.",
    "VERSION": "2.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "PREPROCESSING_HOOKS": ["drf_scim.contrib.drf_spectacular.preprocess_scim_paths"],
    "SORT_OPERATIONS": "drf_scim.contrib.drf_spectacular.scim_operation_order",
    "OAUTH2_TOKEN_URL": "/o/token/",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True},
}

# SCIM events (docs/topics/events.rst) are signed with EVENTS_SIGNING_KEY from the environment, else with the key
# `make run` generates once into sample_site/.local/ (gitignored); receivers verify them at /scim/v2/Events/jwks.
EVENTS_KEY_FILE = BASE_DIR / ".local" / "events.pem"
# What the sample receiver (sample_site/events.py) has received, one JSON line per SET.
RECEIVED_SETS_FILE = Path(os.environ.get("SAMPLE_RECEIVED_SETS", BASE_DIR / ".local" / "received-sets.jsonl"))


def events_signing_key() -> str | None:
    if os.environ.get("EVENTS_SIGNING_KEY"):
        return os.environ["EVENTS_SIGNING_KEY"]
    return EVENTS_KEY_FILE.read_text() if EVENTS_KEY_FILE.is_file() else None


DRF_SCIM = {
    "BASE_URL": os.environ.get("SCIM_BASE_URL") or None,
    "EVENTS_SIGNING_KEY": events_signing_key(),
    # The SETs' iss claim: `make run` and `make events` pass http://$(HOST):$(PORT)/scim/v2.
    "EVENTS_ISSUER": os.environ.get("SCIM_EVENTS_ISSUER") or os.environ.get("SCIM_BASE_URL") or None,
    # Two-tenant example: each OAuth2 client provisions the tenant `scim_token --tenant` gave it;
    # clients without one provision the default tenant (where `make run` seeds its demo data).
    "TENANT_RESOLVER": "drf_scim.tenancy.application_tenant",
    # Accounts made outside SCIM (the admin, createsuperuser, fixtures) belong to the default tenant.
    "ADOPTION_TENANT": "drf_scim.adoption.default_tenant",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "drf_scim": {"handlers": ["console"], "level": "INFO"},
        "drf_scim.requests": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
