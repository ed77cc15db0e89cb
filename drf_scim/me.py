"""/Me (RFC 7644 §3.11): the User resource of the authenticated subject."""

from __future__ import annotations

from typing import Any

from django.db import models
from rest_framework import exceptions
from rest_framework.views import APIView

from .exceptions import NotImplementedSCIM
from .settings import scim_settings
from .tenancy import get_tenant
from .views import SCIMViewMixin


def token_user(request: Any) -> models.Model | None:
    """The default ``ME_RESOLVER``: the user the access token was issued to, if any."""
    user = getattr(request, "user", None)
    return user if getattr(user, "is_authenticated", False) else None


class MeView(SCIMViewMixin, APIView):
    """The User resource of the token's user: GET, PUT, PATCH and DELETE as on /Users/{id}.

    A token issued to a client (client credentials) has no user: 501, as RFC 7644 §3.11 allows.
    """

    router: Any = None  # set by the SCIMRouter that serves it

    def get_scope_kind(self, request: Any) -> str:
        return "read" if request.method in ("GET", "HEAD", "OPTIONS") else "write"

    def get_resource_type_name(self) -> str:
        return "User"

    def user_viewset(self) -> type:
        """The viewset of /Users on the router that serves this view."""
        viewset = next(
            (vs for _, vs, _ in self.router.registry if getattr(vs, "get_resource_type_name", lambda: "")() == "User"),
            None,
        )
        if viewset is None:
            raise exceptions.NotFound("This service does not serve Users.")
        return viewset

    def user_view(self) -> Any:
        return self.user_viewset().as_view(
            {"get": "retrieve", "put": "update", "patch": "partial_update", "delete": "destroy"}
        )

    def me(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        user = scim_settings.ME_RESOLVER(request)
        if user is None:
            raise NotImplementedSCIM("/Me needs a token issued to a user; this token was issued to a client.")
        resource = getattr(user, "scim", None)
        if resource is None or resource.deleted is not None or resource.tenant != get_tenant(request):
            raise exceptions.NotFound("The authenticated user is not a SCIM resource of this service.")
        viewset = self.user_viewset()
        lookup = viewset.lookup_url_kwarg or viewset.lookup_field
        return self.user_view()(request._request, **{lookup: str(resource.scim_id)})

    def get(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        return self.me(request, *args, **kwargs)

    def put(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        return self.me(request, *args, **kwargs)

    def patch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        return self.me(request, *args, **kwargs)

    def delete(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        return self.me(request, *args, **kwargs)
