"""The router a project includes under its SCIM prefix (for example ``scim/v2/``)."""

from __future__ import annotations

from typing import Any

from django.urls import re_path
from rest_framework.routers import SimpleRouter

from .bulk import BulkView
from .events.views import JWKSView, PollView
from .me import MeView
from .reverse import ROOT_URL_NAME
from .schema.registry import register_resource_type
from .search import RootSearchView
from .views import NotFoundView


class SCIMRouter(SimpleRouter):
    """Routes SCIM endpoints without trailing slashes (one is tolerated).

    ``SCIMRouter()`` serves /Users and /Groups and the discovery endpoints that
    describe them (/ServiceProviderConfig, /ResourceTypes, /Schemas); register a custom resource type
    with ``router.register("Devices", DeviceViewSet)``. It also serves /Me, /Bulk, /.search, and /Events and
    /Events/jwks (SCIM events: RFC 8936 polling and the SETs' signing keys). Every other path under
    the prefix answers a SCIM 404.
    """

    def __init__(self, *, include_defaults: bool = True) -> None:
        super().__init__(trailing_slash=False)
        self.trailing_slash = "/?"
        for prefix, viewset in self.get_discovery_viewsets().items():
            super().register(prefix, viewset, prefix)
        if include_defaults:
            from .viewsets import GroupViewSet, UserViewSet

            self.register("Users", UserViewSet)
            self.register("Groups", GroupViewSet)

    def register(self, prefix: str, viewset: Any, basename: str | None = None) -> None:
        super().register(prefix, viewset, basename or prefix)
        register_resource_type(viewset.get_resource_type_name(), prefix)

    def get_discovery_viewsets(self) -> dict[str, type]:
        """The discovery endpoints, each bound to this router so it describes what the router serves."""
        from .discovery import ResourceTypeViewSet, SchemaViewSet, ServiceProviderConfigViewSet

        bound = {"router": self}
        return {
            "ServiceProviderConfig": type("ServiceProviderConfigViewSet", (ServiceProviderConfigViewSet,), bound),
            "ResourceTypes": type("ResourceTypeViewSet", (ResourceTypeViewSet,), bound),
            "Schemas": type("SchemaViewSet", (SchemaViewSet,), bound),
        }

    def get_urls(self) -> list:
        urls = super().get_urls()
        not_found = NotFoundView.as_view()
        urls.append(re_path(r"^\.search/?$", RootSearchView.as_view(router=self), name="scim-search"))
        urls.append(re_path(r"^Me/?$", MeView.as_view(router=self), name="scim-me"))
        urls.append(re_path(r"^Bulk/?$", BulkView.as_view(router=self), name="scim-bulk"))
        urls.append(re_path(r"^Events/?$", PollView.as_view(), name="scim-events"))
        urls.append(re_path(r"^Events/jwks/?$", JWKSView.as_view(), name="scim-events-jwks"))
        urls.append(re_path(r"^$", not_found, name=ROOT_URL_NAME))
        urls.append(re_path(r"^.*$", not_found, name="scim-not-found"))
        return urls
