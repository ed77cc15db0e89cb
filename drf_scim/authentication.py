"""Bearer token authentication with django-oauth-toolkit, with a short-lived cache of verified tokens."""

from __future__ import annotations

import hashlib
import threading
import time
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import SuspiciousOperation
from django.core.signals import setting_changed
from django.db import DatabaseError
from django.db.models.signals import post_delete, post_save
from django.http import QueryDict
from django.views.decorators.debug import sensitive_variables
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from oauth2_provider.models import get_access_token_model
from oauth2_provider.oauth2_backends import get_oauthlib_core
from rest_framework.exceptions import AuthenticationFailed

from .exceptions import ServiceUnavailable, TokenInURL
from .settings import scim_settings


class TokenCache:
    """Tokens this process verified recently, by checksum, so a request need not look its token up again.

    An entry lives ``TOKEN_CACHE_SECONDS``; the token's own expiry is checked on every use, and a token
    row deleted or saved in this process is forgotten at once. Other processes, and changes that send no
    signal (``QuerySet.update()``), reach the cache when the entry ends. Tokens bound to a resource
    (RFC 8707 audience) are never cached: their check depends on the URL.
    """

    max_entries = 1024

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def get(self, token: str) -> Any | None:
        entry = self._entries.get(self.key(token))
        if entry is None or entry[0] < time.monotonic() or entry[1].is_expired():
            return None
        return entry[1]

    def put(self, token: str, access_token: Any) -> None:
        seconds = scim_settings.TOKEN_CACHE_SECONDS
        if not seconds or getattr(access_token, "resource", None):
            return
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[self.key(token)] = (time.monotonic() + seconds, access_token)

    def forget(self, pk: Any = None) -> None:
        """Forget the entries of the token row ``pk`` (whatever value it had), or every entry."""
        with self._lock:
            if pk is None:
                self._entries.clear()
            else:
                for key in [key for key, (_, cached) in self._entries.items() if cached.pk == pk]:
                    del self._entries[key]


token_cache = TokenCache()


def _forget_token(sender: Any, instance: Any, **kwargs: Any) -> None:
    if instance.pk is not None:
        token_cache.forget(instance.pk)


setting_changed.connect(lambda **kwargs: token_cache.forget(), weak=False, dispatch_uid="drf_scim_forget_tokens")
post_save.connect(_forget_token, sender=get_access_token_model(), dispatch_uid="drf_scim_forget_token_saved")
post_delete.connect(_forget_token, sender=get_access_token_model(), dispatch_uid="drf_scim_forget_token_deleted")


def bearer_token(request: Any) -> str | None:
    """The token of an ``Authorization: Bearer`` header (RFC 6750 §2.1), or None."""
    scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


class HeaderOnlyRequest:
    """A Django request as DOT sees it when verifying a bearer token: without its body.

    RFC 6750 also allows a token in a form-encoded body; reading the body for it would parse (and size-check)
    the body before the client is authenticated. drf_scim takes the token from the Authorization header only.
    """

    body = b""

    def __init__(self, request: Any) -> None:
        self._request = request
        self.POST = QueryDict()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._request, name)


class InvalidToken(AuthenticationFailed):
    """A bearer token that is unknown, expired or revoked: the 401 says so, as its ``error="invalid_token"`` does."""

    default_detail = "Invalid or expired token: the bearer token is unknown, expired or revoked."
    default_code = "invalid_token"


class SCIMOAuth2Authentication(OAuth2Authentication):
    """DOT's OAuth2 authentication, with a realm from settings and RFC 6750 challenges.

    The token is read from the ``Authorization`` header only, before (and without) reading the body; a token in
    the query string (``?access_token=``, which ends up in access logs) is refused with a 400. Client-credentials
    tokens carry no user; ``request.user`` is then an ``AnonymousUser`` rather than ``None`` so that the rest of
    DRF keeps working. A token DOT verified is trusted for ``TOKEN_CACHE_SECONDS`` by this process (its expiry and
    its application's ``is_usable()`` are still checked each time). A database that cannot be reached is a 503.
    A bearer token it cannot verify is refused here (``InvalidToken``, as DRF's ``TokenAuthentication`` refuses a
    bad key) rather than left to a later class, so the 401 says why; a request without one is "not provided".
    """

    invalid_token_class = InvalidToken

    # Decorated as a plain function (it passes ``self`` through): method_decorator would rebuild the wrapper
    # on every request.
    @sensitive_variables("token", "access_token", "result")
    def authenticate(self, request: Any) -> tuple[Any, Any] | None:
        if "access_token" in getattr(request, "_request", request).GET:
            raise TokenInURL()
        token = bearer_token(request)
        if token is None:
            return None
        try:
            access_token = token_cache.get(token)
            if access_token is not None and (
                access_token.application is None or access_token.application.is_usable(request)
            ):
                return (access_token.user or AnonymousUser()), access_token
            result = self.verify_token(request)
        except DatabaseError:
            raise ServiceUnavailable("The service cannot reach its database. Try again later.") from None
        if result is None:
            raise self.invalid_token_class()
        user, access_token = result
        token_cache.put(token, access_token)
        return (user or AnonymousUser()), access_token

    def verify_token(self, request: Any) -> tuple[Any, Any] | None:
        """(user, access token) of the request's bearer token, as DOT verifies it; None when it is not valid."""
        django_request = getattr(request, "_request", request)
        try:
            valid, r = get_oauthlib_core().verify_request(HeaderOnlyRequest(django_request), scopes=[])
        except ValueError as error:
            if str(error) == "Invalid hex encoding in query string.":
                raise SuspiciousOperation(error) from None
            raise
        if valid:
            return r.user, r.access_token
        request.oauth2_error = getattr(r, "oauth2_error", {})
        return None

    def authenticate_header(self, request: Any) -> str:
        self.www_authenticate_realm = scim_settings.AUTHENTICATION_REALM
        header = super().authenticate_header(request)
        if "error=" not in header and bearer_token(request) is not None:
            header += ',error="invalid_token"'
        return header
