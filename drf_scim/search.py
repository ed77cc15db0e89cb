"""POST /.search at the SCIM root (RFC 7644 §3.4.3): one ListResponse across every resource type."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

from rest_framework.response import Response
from rest_framework.views import APIView

from .exceptions import InvalidSyntax, InvalidValue
from .filters.backends import UnknownSortAttribute
from .filters.translate import UnknownAttribute
from .pagination import list_response
from .params import search_params
from .plans.custom import custom_plans
from .settings import scim_settings
from .tenancy import get_tenant
from .views import SCIMViewMixin


class RootSearchView(SCIMViewMixin, APIView):
    """Search the resource types of one router; ``router`` is set by the SCIMRouter that serves it.

    Each resource type is filtered, sorted and projected by its own viewset; the
    results are concatenated in the router's order (Users, Groups, then custom
    types), and startIndex/count page through the concatenation with one COUNT
    per resource type.
    """

    router: Any = None
    tenant: str | None = None  # the resolver's, for the request log (each view asks its get_tenant())

    def get_scope_kind(self, request: Any) -> str:
        return "read"

    def resource_views(self, request: Any, params: dict[str, Any]) -> list[Any]:
        """A list view of each resource type, with the SearchRequest's parameters for its context."""
        self.tenant = get_tenant(request)
        views = []
        for _, viewset, _ in self.router.registry:
            if hasattr(viewset, "supports"):
                view = viewset(request=request, format_kwarg=None, args=(), kwargs={}, action="list")
                view.scim_context = view.get_scim_context(params)
                views.append(view)
        return views

    def post(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        body = request.data
        if not isinstance(body, dict):
            raise InvalidSyntax("The request body must be a SearchRequest JSON object.")
        params = search_params(body)
        if params.get("cursor") is not None:
            raise InvalidValue("The root .search pages with startIndex; cursors work per resource type.")

        views = self.resource_views(request, params)
        filtered: list[Any] = []
        unknown: list[Exception] = []
        for view in views:
            try:
                filtered.append(view.filter_queryset(view.get_queryset()))
            except (UnknownAttribute, UnknownSortAttribute) as exc:
                filtered.append(None)
                unknown.append(exc)
        if unknown and len(unknown) == len(views):
            raise unknown[0]  # no resource type knows the attribute: the client's mistake
        # one filter for every type: a pattern in it is planned for its value (drf_scim.plans.custom)
        pattern_filter = any(view.scim_context.pattern_filter for view in views)
        if unknown:
            # A comparison on an attribute one type lacks is false for that type; its sort is skipped.
            for view in views:
                view.scim_context = view.get_scim_context(params, lenient=True)
            filtered = [
                queryset if queryset is not None else view.filter_queryset(view.get_queryset())
                for view, queryset in zip(views, filtered, strict=True)
            ]
        querysets = list(zip(views, filtered, strict=True))

        paginator = scim_settings.PAGINATION_CLASS()
        start = paginator.get_start_index(params)
        count = paginator.get_count(params)
        with custom_plans(querysets[0][1].db) if pattern_filter else nullcontext():
            counts = [queryset.count() for _, queryset in querysets]
            offset, remaining, resources = start - 1, count, []
            for (view, queryset), size in zip(querysets, counts, strict=True):
                if remaining <= 0:
                    break
                if offset >= size:
                    offset -= size
                    continue
                page = list(queryset[offset : offset + remaining])
                resources.extend(view.get_serializer(page, many=True).data)
                remaining -= len(page)
                offset = 0
        return Response(list_response(resources, sum(counts), start))
