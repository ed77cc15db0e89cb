"""Scope checks: reads need the read scope, writes the write scope (optionally per resource type)."""

from __future__ import annotations

from typing import Any

from oauth2_provider.contrib.rest_framework import TokenHasScope
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS

from .settings import scim_settings


class InsufficientScope(PermissionDenied):
    """403 with an RFC 6750 ``insufficient_scope`` challenge naming the scope needed."""

    def __init__(self, alternatives: list[str]) -> None:
        """``alternatives``: scopes any one of which would do; the challenge names the first."""
        super().__init__(f"The access token lacks the scope {' or '.join(alternatives)}.")
        self.auth_header = (
            f'Bearer realm="{scim_settings.AUTHENTICATION_REALM}", error="insufficient_scope", '
            f'scope="{alternatives[0]}"'
        )


class SCIMScopePermission(TokenHasScope):
    """Require ``READ_SCOPE`` for reads (GET, POST .search) and ``WRITE_SCOPE`` for writes.

    With ``RESOURCE_TYPE_SCOPES`` a token may instead hold the scope of the resource type
    (``scim:users:read``...). A view may name its own scopes with ``required_scopes``.
    Requests authenticated by a non-OAuth2 class (a static token, a session) pass when
    authenticated: that class is then the policy.
    """

    def get_scope_kind(self, request: Any, view: Any) -> str:
        getter = getattr(view, "get_scope_kind", None)
        if getter is not None:
            return getter(request)
        return "read" if request.method in SAFE_METHODS else "write"

    def get_scopes(self, request: Any, view: Any) -> list[str]:
        """The scopes this request needs (the global ones; what drf-spectacular documents)."""
        scopes = getattr(view, "required_scopes", None)
        if scopes is not None:
            return list(scopes)
        kind = self.get_scope_kind(request, view)
        return [scim_settings.READ_SCOPE if kind == "read" else scim_settings.WRITE_SCOPE]

    def get_scope_alternatives(self, request: Any, view: Any) -> list[list[str]]:
        """Each list is a set of scopes that suffices on its own."""
        alternatives = [self.get_scopes(request, view)]
        if getattr(view, "required_scopes", None) is None:
            name = getattr(view, "get_resource_type_name", lambda: None)()
            per_type = (scim_settings.RESOURCE_TYPE_SCOPES or {}).get(name, {}).get(self.get_scope_kind(request, view))
            if per_type:
                alternatives.append([per_type])
        return alternatives

    def has_permission(self, request: Any, view: Any) -> bool:
        token = request.auth
        if token is None or not hasattr(token, "scope"):
            # Another authentication class (a static token, a session) is then the whole policy.
            return bool(getattr(request.user, "is_authenticated", False) or token)
        alternatives = self.get_scope_alternatives(request, view)
        if any(token.is_valid(scopes) for scopes in alternatives):
            return True
        raise InsufficientScope([" ".join(scopes) for scopes in alternatives])


class EventsPermission(SCIMScopePermission):
    """The poll endpoint (RFC 8936): a token with ``EVENTS_SCOPE``, whatever the read and write scopes say."""

    def get_scopes(self, request: Any, view: Any) -> list[str]:
        return [scim_settings.EVENTS_SCOPE]

    def get_scope_alternatives(self, request: Any, view: Any) -> list[list[str]]:
        return [self.get_scopes(request, view)]


class DocumentationPermission(SCIMScopePermission):
    """The OpenAPI document and its UIs, when ``OPENAPI_REQUIRES_AUTHENTICATION`` is on: a token with the read
    or the write scope, or a staff user's session (a browser opening Swagger UI)."""

    def has_permission(self, request: Any, view: Any) -> bool:
        if not scim_settings.OPENAPI_REQUIRES_AUTHENTICATION:
            return True
        token = request.auth
        if token is not None and hasattr(token, "scope"):
            if any(token.is_valid([scope]) for scope in (scim_settings.READ_SCOPE, scim_settings.WRITE_SCOPE)):
                return True
            raise InsufficientScope([scim_settings.READ_SCOPE, scim_settings.WRITE_SCOPE])
        return bool(getattr(request.user, "is_staff", False))
