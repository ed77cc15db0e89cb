"""Which customer organisation (tenant) a request acts for.

``DRF_SCIM["TENANT_RESOLVER"]`` names a function ``(request) -> str``; every
queryset, lookup, uniqueness check, membership change and manager reference is
scoped to what it returns. ``None`` (the default) serves a single tenant, "".
``application_tenant`` maps the request's OAuth2 application to the tenant that
``scim_token --tenant`` recorded for it.
"""

from __future__ import annotations

from typing import Any

from .settings import scim_settings

SINGLE_TENANT = ""


def get_tenant(request: Any) -> str:
    """The tenant of ``request``, as ``TENANT_RESOLVER`` says (a viewset resolves it once per request:
    ``SCIMRequestContext.tenant``)."""
    if request is None:
        return SINGLE_TENANT
    resolver = scim_settings.TENANT_RESOLVER
    tenant = resolver(request) if resolver is not None else SINGLE_TENANT
    return tenant or SINGLE_TENANT


def application_tenant(request: Any) -> str:
    """The tenant recorded (by ``scim_token --tenant``) for the OAuth2 application of the request's token."""
    from .models import SCIMClient

    application = getattr(getattr(request, "auth", None), "application", None)
    if application is None:
        return SINGLE_TENANT
    return (
        SCIMClient.objects.filter(client_id=application.client_id).values_list("tenant", flat=True).first()
        or SINGLE_TENANT
    )


def tenant_of(serializer_or_field: Any) -> str:
    """The tenant of the request a serializer (or one of its fields) works for."""
    context = getattr(serializer_or_field, "context", None) or {}
    tenant = context.get("tenant")
    if tenant is not None:
        return tenant
    return get_tenant(context.get("request"))
