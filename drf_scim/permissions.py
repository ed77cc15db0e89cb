"""Scope checks: reads need the read scope, writes the write scope."""

from __future__ import annotations

from typing import Any

from oauth2_provider.contrib.rest_framework import TokenHasScope
from rest_framework.permissions import SAFE_METHODS

from .settings import scim_settings


class SCIMScopePermission(TokenHasScope):
    """Require ``READ_SCOPE`` for GET/HEAD and ``WRITE_SCOPE`` for other methods.

    A view may name its own scopes with ``required_scopes`` or
    ``get_required_scopes(request)``. Requests authenticated by a non-OAuth2
    class (a static token, a session) pass when authenticated: that class is
    then the policy.
    """

    def get_scopes(self, request: Any, view: Any) -> list[str]:
        getter = getattr(view, "get_required_scopes", None)
        if getter is not None:
            return list(getter(request))
        scopes = getattr(view, "required_scopes", None)
        if scopes is not None:
            return list(scopes)
        if request.method in SAFE_METHODS:
            return [scim_settings.READ_SCOPE]
        return [scim_settings.WRITE_SCOPE]

    def has_permission(self, request: Any, view: Any) -> bool:
        token = request.auth
        if token is not None and not hasattr(token, "scope"):
            return bool(getattr(request.user, "is_authenticated", False) or token)
        if token is None:
            return False
        scopes = self.get_scopes(request, view)
        if token.is_valid(scopes):
            return True
        missing = [scope for scope in scopes if scope not in set(token.scope.split())]
        self.message = f"The access token lacks the scope{'s' if len(missing) > 1 else ''} {' '.join(missing)}."
        return False
