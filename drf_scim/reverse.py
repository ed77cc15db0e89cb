"""Absolute URLs of the SCIM root and of resources (meta.location, $ref, Location)."""

from __future__ import annotations

import contextlib
from typing import Any

from django.urls import NoReverseMatch, reverse

from .schema.registry import get_endpoint
from .settings import scim_settings

ROOT_URL_NAME = "scim-root"


def scim_root_url(request: Any) -> str:
    """The SCIM root: ``DRF_SCIM["BASE_URL"]`` when set, else derived from the request."""
    cached = getattr(request, "_scim_root_url", None)
    if cached:
        return cached
    base = scim_settings.BASE_URL
    if not base:
        match = getattr(request, "resolver_match", None)
        namespace = match.namespace if match else ""
        name = f"{namespace}:{ROOT_URL_NAME}" if namespace else ROOT_URL_NAME
        try:
            path = reverse(name)
        except NoReverseMatch:
            path = "/"
        base = request.build_absolute_uri(path)
    base = base.rstrip("/")
    with contextlib.suppress(AttributeError):
        request._scim_root_url = base
    return base


def resource_location(request: Any, resource_type: str, scim_id: Any) -> str:
    """The absolute URL of one resource."""
    return f"{scim_root_url(request)}/{get_endpoint(resource_type)}/{scim_id}"
