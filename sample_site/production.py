"""Production settings of the sample site (docs/howto/deploying.rst): ``DJANGO_SETTINGS_MODULE=sample_site.production``.

They pass ``manage.py check --deploy``. TLS ends at a proxy in front of gunicorn, which sets X-Forwarded-Proto.
"""

import os

from django.core.exceptions import ImproperlyConfigured

from .settings import *  # noqa: F403
from .settings import DRF_SCIM, MIDDLEWARE, OAUTH2_PROVIDER

DEBUG = False
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("Set DJANGO_SECRET_KEY to 50 or more random characters (it also keys cursors).")
ALLOWED_HOSTS = [host for host in os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(",") if host]

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = True
SECURE_HSTS_SECONDS = 31_536_000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True

MIDDLEWARE = [*MIDDLEWARE, "django.middleware.clickjacking.XFrameOptionsMiddleware"]

# django-oauth-toolkit as RFC 9700 (the OAuth 2.0 Security BCP) asks; drf_scim itself refuses tokens in URLs.
OAUTH2_PROVIDER = {
    **OAUTH2_PROVIDER,
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
}

# Signed with a key from the environment only (never the development key `make run` generates).
DRF_SCIM = {
    **DRF_SCIM,
    "OPENAPI_REQUIRES_AUTHENTICATION": True,
    "EVENTS_SIGNING_KEY": os.environ.get("EVENTS_SIGNING_KEY") or None,
}
