"""What the benchmarked sites share: the same middleware, database settings and debug flag.

Each site's settings start with ``from site_settings import *`` and add their own apps.
"""

import os

import dj_database_url

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "benchmark-not-for-production")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

DJANGO_APPS = ["django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions"]

# Counting first, so that every query of a request is counted; then a typical Django project's stack.
MIDDLEWARE = [
    "querycount.QueryCountMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]

# Persistent connections with parameters bound by PostgreSQL, which prepares the statements a connection
# repeats: planning a query costs PostgreSQL more than running it on these indexed lookups.
DATABASES = {"default": dj_database_url.config(conn_max_age=60)}
DATABASES["default"]["OPTIONS"] = {"server_side_binding": True, "prepare_threshold": 5}
if os.environ.get("DATABASE_TRANSACTION_POOLING"):
    # Through PgBouncer in transaction mode (run.py --pgbouncer), as docs/howto/deploying.rst says: a server
    # connection serves one transaction, so no cursor may outlive it, and a statement prepared on one is
    # unknown to the next (PgBouncer before 1.21, Debian 12's 1.18): parameters are still bound by PostgreSQL.
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = None
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
OAUTH2_PROVIDER = {"SCOPES": {"scim:read": "Read over SCIM", "scim:write": "Provision over SCIM"}}
