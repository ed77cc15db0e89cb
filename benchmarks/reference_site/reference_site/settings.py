"""Settings of the reference site: django-scim2 configured as its documentation says, on DATABASE_URL."""

import os

from site_settings import *  # noqa: F403

INSTALLED_APPS = [*DJANGO_APPS, "oauth2_provider", "django_scim", "scimref"]  # noqa: F405

# django-oauth-toolkit's middleware authenticates the bearer token (django-scim2 then checks request.user).
MIDDLEWARE = [*MIDDLEWARE, "oauth2_provider.middleware.OAuth2TokenMiddleware"]  # noqa: F405

AUTHENTICATION_BACKENDS = [
    "oauth2_provider.backends.OAuth2Backend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "reference_site.urls"
WSGI_APPLICATION = "reference_site.wsgi.application"
AUTH_USER_MODEL = "scimref.User"

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
    "USER_FILTER_PARSER": "scimref.filters.UserFilterQuery",
    "GROUP_FILTER_PARSER": "scimref.filters.GroupFilterQuery",
}
# No LOGGING: the django_scim logger stays at its default (no DEBUG handler), as in production.
