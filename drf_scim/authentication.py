"""Bearer token authentication with django-oauth-toolkit."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from oauth2_provider.contrib.rest_framework import OAuth2Authentication

from .settings import scim_settings


class SCIMOAuth2Authentication(OAuth2Authentication):
    """DOT's OAuth2 authentication, with a realm from settings and RFC 6750 challenges.

    Client-credentials tokens carry no user; ``request.user`` is then an
    ``AnonymousUser`` rather than ``None`` so that the rest of DRF keeps working.
    """

    def authenticate(self, request: Any) -> tuple[Any, Any] | None:
        result = super().authenticate(request)
        if result is None:
            return None
        user, token = result
        return (user or AnonymousUser()), token

    def authenticate_header(self, request: Any) -> str:
        self.www_authenticate_realm = scim_settings.AUTHENTICATION_REALM
        header = super().authenticate_header(request)
        if "error=" not in header and request.META.get("HTTP_AUTHORIZATION"):
            header += ',error="invalid_token"'
        return header
