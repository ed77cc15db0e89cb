"""Settings of the reference site: django-scim2 configured as its documentation says, on DATABASE_URL."""

import os

import dj_database_url

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "reference-site-not-for-production")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "oauth2_provider",
    "django_scim",
    "scimref",
]

MIDDLEWARE = [
    "querycount.QueryCountMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "oauth2_provider.middleware.OAuth2TokenMiddleware",
]

# Bearer tokens of django-oauth-toolkit, as in the drf_scim site; django-scim2 then checks request.user.
AUTHENTICATION_BACKENDS = [
    "oauth2_provider.backends.OAuth2Backend",
    "django.contrib.auth.backends.ModelBackend",
]
OAUTH2_PROVIDER = {"SCOPES": {"scim:read": "Read over SCIM", "scim:write": "Provision over SCIM"}}

ROOT_URLCONF = "reference_site.urls"
WSGI_APPLICATION = "reference_site.wsgi.application"

DATABASES = {"default": dj_database_url.config(conn_max_age=60)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "scimref.User"

USE_TZ = True
TIME_ZONE = "UTC"

SCIM_SERVICE_PROVIDER = {
    "NETLOC": os.environ.get("SCIM_NETLOC", "127.0.0.1"),
    "SCHEME": "http",
    "AUTHENTICATION_SCHEMES": [
        {
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication with an OAuth 2.0 bearer token",
            "primary": True,
        }
    ],
    "WWW_AUTHENTICATE_HEADER": 'Bearer realm="django-scim2"',
    "GROUP_MODEL": "scimref.models.Group",
    "GROUP_FILTER_PARSER": "scimref.filters.GroupFilterQuery",
}
# No LOGGING: the django_scim logger stays at its default (no DEBUG handler), as in production.
