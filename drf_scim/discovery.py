"""The discovery endpoints: /ServiceProviderConfig, /ResourceTypes and /Schemas (RFC 7644 §4).

Each router serves them for the resource types registered on it, so they always
describe exactly what that router serves.
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, viewsets
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.response import Response

from .pagination import list_response
from .permissions import InsufficientScope, SCIMScopePermission
from .schema.documents import resource_type_document, schema_documents, service_provider_config
from .settings import scim_settings
from .views import SCIMViewMixin


class DiscoveryPermission(SCIMScopePermission):
    """Any SCIM scope (read or write) can read the discovery documents."""

    def get_scope_alternatives(self, request: Any, view: Any) -> list[list[str]]:
        accepted = [scim_settings.READ_SCOPE, scim_settings.WRITE_SCOPE]
        for scopes in (scim_settings.RESOURCE_TYPE_SCOPES or {}).values():
            accepted.extend(scopes.values())
        return [[scope] for scope in dict.fromkeys(accepted)]

    def has_permission(self, request: Any, view: Any) -> bool:
        token = request.auth
        if token is not None and hasattr(token, "scope"):
            accepted = [scopes[0] for scopes in self.get_scope_alternatives(request, view)]
            if token.is_valid() and set(token.scope.split()) & set(accepted):
                return True
            raise InsufficientScope(accepted)
        return super().has_permission(request, view)


class DiscoveryViewSet(SCIMViewMixin, viewsets.ViewSet):
    """Base of the discovery viewsets; ``router`` is set by the SCIMRouter that serves them."""

    router: Any = None
    lookup_value_regex = "[^/]+"

    @property
    def permission_classes(self) -> list[type[BasePermission]]:
        if scim_settings.DISCOVERY_REQUIRES_AUTHENTICATION:
            return [DiscoveryPermission]
        return [AllowAny]

    def resource_viewsets(self) -> list[tuple[str, type]]:
        return [(prefix, viewset) for prefix, viewset, _ in self.router.registry if hasattr(viewset, "supports")]


class ServiceProviderConfigViewSet(DiscoveryViewSet):
    def list(self, request: Any) -> Response:
        return Response(service_provider_config([viewset for _, viewset in self.resource_viewsets()], request))


class DocumentsViewSet(DiscoveryViewSet):
    """A ListResponse of documents, and each by its id (ignoring case)."""

    kind = "document"

    def documents(self, request: Any) -> list[dict[str, Any]]:
        raise NotImplementedError

    def list(self, request: Any) -> Response:
        documents = self.documents(request)
        return Response(list_response(documents, len(documents)))

    def retrieve(self, request: Any, pk: str) -> Response:
        for document in self.documents(request):
            if document["id"].lower() == pk.lower():
                return Response(document)
        raise exceptions.NotFound(f"There is no {self.kind} {pk!r}.")


class ResourceTypeViewSet(DocumentsViewSet):
    kind = "resource type"

    def documents(self, request: Any) -> list[dict[str, Any]]:
        return [
            resource_type_document(prefix, viewset.get_scim_serializer_class(), request)
            for prefix, viewset in self.resource_viewsets()
        ]


class SchemaViewSet(DocumentsViewSet):
    kind = "schema"

    def documents(self, request: Any) -> list[dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for _, viewset in self.resource_viewsets():
            for document in schema_documents(viewset.get_scim_serializer_class(), request):
                found.setdefault(document["id"], document)
        return list(found.values())
