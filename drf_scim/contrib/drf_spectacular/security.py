"""The security scheme: OAuth2 bearer tokens, and the scopes each operation needs."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from drf_spectacular.drainage import warn
from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
)

from ...settings import scim_settings


def scope_alternatives(view: Any, request: Any) -> list[list[str]]:
    """The scope sets, any one of which lets ``request`` through ``view`` (empty: no scope check, or a
    permission that cannot tell without a real request, which is warned about)."""
    from ...permissions import SCIMScopePermission

    try:
        for permission in view.get_permissions():
            if isinstance(permission, SCIMScopePermission):
                return permission.get_scope_alternatives(request, view)
    except Exception as exc:  # a host's permission may need more than a method: document no scope
        warn(f"could not tell the scopes {type(view).__name__} needs for {request.method}: {exc!r}")
    return []


def scopes_sentence(view_class: type, method: str, action: str | None = None) -> str:
    """The end of an operation's description: the scope its token needs ("" when none is checked)."""
    view = view_class()
    view.action = action
    alternatives = scope_alternatives(view, SimpleNamespace(method=method))
    if not alternatives:
        return ""
    return " Needs a token with the scope " + " or ".join(" ".join(scopes) for scopes in alternatives) + "."


class SCIMOAuth2Scheme(OpenApiAuthenticationExtension):
    """Bearer tokens from ``scim_token``; with ``SPECTACULAR_SETTINGS["OAUTH2_TOKEN_URL"]`` also the OAuth2
    client credentials flow of that URL, with the scopes each operation needs."""

    target_class = "drf_scim.authentication.SCIMOAuth2Authentication"
    match_subclasses = True

    @staticmethod
    def token_url() -> str | None:
        from drf_spectacular.settings import spectacular_settings

        return spectacular_settings.OAUTH2_TOKEN_URL or None

    @property
    def name(self) -> list[str]:  # type: ignore[override]
        return ["bearerAuth", "oauth2"] if self.token_url() else ["bearerAuth"]

    def get_security_requirement(self, auto_schema: Any) -> list[dict[str, list[str]]]:
        requirements: list[dict[str, list[str]]] = [{"bearerAuth": []}]
        if self.token_url():
            view = auto_schema.view
            requirements += [{"oauth2": scopes} for scopes in scope_alternatives(view, view.request)]
        return requirements

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, Any]]:
        bearer = {
            "type": "http",
            "scheme": "bearer",
            "description": "An access token, as printed by scim_token; each operation names the scope it needs.",
        }
        token_url = self.token_url()
        if not token_url:
            return [bearer]
        scopes = {
            scim_settings.READ_SCOPE: "Read SCIM resources",
            scim_settings.WRITE_SCOPE: "Create, replace, patch and delete SCIM resources",
        }
        for name, kinds in (scim_settings.RESOURCE_TYPE_SCOPES or {}).items():
            for kind, scope in kinds.items():
                scopes[scope] = f"{kind.capitalize()} {name} resources"
        return [bearer, {"type": "oauth2", "flows": {"clientCredentials": {"tokenUrl": token_url, "scopes": scopes}}}]


# -- views ----------------------------------------------------------------------
