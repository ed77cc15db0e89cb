"""drf-spectacular extensions: an OpenAPI 3 document that describes SCIM exactly.

Imported by ``DrfScimConfig.ready()`` when drf-spectacular is installed; the extensions
register themselves. Resource schemas come from the same attribute characteristics as
/Schemas (so a customer's extension or resource type appears with no extra code), and
every operation documents its SCIM Error responses, its query parameters and the scope it
needs. Add ``preprocess_scim_paths`` to ``SPECTACULAR_SETTINGS["PREPROCESSING_HOOKS"]`` for paths
without the trailing slash the router tolerates, and ``scim_operation_order`` as ``SORT_OPERATIONS``
for RFC 7644's order of endpoints.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.plumbing import alpha_operation_sorter
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.authentication import SessionAuthentication

from ...settings import scim_settings
from ...views import SCIMViewMixin
from . import components, extensions, security  # noqa: F401  (importing them registers the extensions)


def scim_operation_order(endpoint: tuple) -> tuple:
    """``SPECTACULAR_SETTINGS["SORT_OPERATIONS"]``: SCIM endpoints in RFC 7644 §3.2's order (Users, Groups,
    other resource types, Me, discovery, Bulk, .search), then every other endpoint; within each,
    drf-spectacular's order (path, then method)."""
    from ...bulk import BulkView
    from ...discovery import ResourceTypeViewSet, SchemaViewSet, ServiceProviderConfigViewSet
    from ...me import MeView
    from ...search import RootSearchView
    from ...viewsets import GroupViewSet, SCIMModelViewSet, UserViewSet

    order = [
        UserViewSet,
        GroupViewSet,
        SCIMModelViewSet,
        MeView,
        ServiceProviderConfigViewSet,
        ResourceTypeViewSet,
        SchemaViewSet,
        BulkView,
        RootSearchView,
    ]
    view = getattr(endpoint[3], "cls", None)
    rank = next((i for i, kind in enumerate(order) if isinstance(view, type) and issubclass(view, kind)), len(order))
    return (rank, *alpha_operation_sorter(endpoint))


def preprocess_scim_paths(endpoints: list[tuple], **kwargs: Any) -> list[tuple]:
    """drf-spectacular preprocessing hook: SCIM paths without the trailing slash the router tolerates."""
    result = []
    for path, path_regex, method, callback in endpoints:
        view = getattr(callback, "cls", None)
        scim_view = isinstance(view, type) and issubclass(view, (SCIMViewMixin, DocumentationViewMixin))
        if scim_view and path.endswith("/") and path.count("/") > 1:
            path = path.rstrip("/")
        result.append((path, path_regex, method, callback))
    return result


class DocumentationViewMixin:
    """drf-spectacular's views behind ``OPENAPI_REQUIRES_AUTHENTICATION``: SCIM's own authentication (a bearer
    token) or a staff session, checked by ``DocumentationPermission``."""

    @property
    def authentication_classes(self) -> list:
        if not scim_settings.OPENAPI_REQUIRES_AUTHENTICATION:
            return []
        return [*scim_settings.AUTHENTICATION_CLASSES, SessionAuthentication]

    @property
    def permission_classes(self) -> list:
        from ...permissions import DocumentationPermission

        return [DocumentationPermission]


class SchemaView(DocumentationViewMixin, SpectacularAPIView):
    """The OpenAPI document (``SpectacularAPIView``), behind ``OPENAPI_REQUIRES_AUTHENTICATION``."""


class SwaggerView(DocumentationViewMixin, SpectacularSwaggerView):
    """Swagger UI (``SpectacularSwaggerView``), behind ``OPENAPI_REQUIRES_AUTHENTICATION``."""


class RedocView(DocumentationViewMixin, SpectacularRedocView):
    """Redoc (``SpectacularRedocView``), behind ``OPENAPI_REQUIRES_AUTHENTICATION``."""


__all__ = ["RedocView", "SchemaView", "SwaggerView", "preprocess_scim_paths", "scim_operation_order"]
