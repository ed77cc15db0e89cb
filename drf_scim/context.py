"""The state of one request to a resource endpoint, in one object.

A SCIM list reads its parameters from the query string or a SearchRequest body, acts for a tenant,
may be lenient (the root ``.search``), is projected, sorted and filtered, and pages either through the
SCIM rows' keys or through SQL compiled earlier. The viewset builds one :class:`SCIMRequestContext` per
request (``SCIMGenericViewSet.scim_context``) and the filter backends, the paginator and (through the
serializer context's ``tenant`` and ``projection``) the serializers read it, rather than attributes
left on the request, the view or a queryset.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.db.models import Q

from .plans.custom import custom_plans
from .plans.queries import RequestPlan, ResourcePlan
from .tenancy import get_tenant


@dataclass(eq=False)
class FilteredList:
    """What ``SCIMFilterBackend`` did: ``result`` is ``unfiltered`` filtered by ``condition``."""

    unfiltered: models.QuerySet
    condition: Q
    result: models.QuerySet


@dataclass(eq=False)
class SCIMRequestContext:
    """Parameters, tenant, leniency, plan and what the list's backends decided, for one request.

    ``params``: ``filter``, ``sortBy``, ``startIndex``, ``attributes``... wherever the client put them.
    ``lenient``: inside the root ``.search``, an attribute one resource type lacks matches nothing.
    ``plan``: what the fast path keeps for this resource type, tenant and projection
    (:mod:`drf_scim.plans`). The backends set ``filtered`` and ``sort_descending``; the viewset sets
    ``resource_keys`` when the list is neither filtered nor sorted (paging counts the SCIM rows alone).
    ``pattern_filter``: the filter has ``co``, ``sw`` or ``ew``, so the list's statements are planned for
    their values (``planning()``, :mod:`drf_scim.plans.custom`).
    """

    params: Mapping[str, Any]
    tenant: str
    lenient: bool = False
    plan: ResourcePlan = field(default_factory=RequestPlan)
    projection: Any = None
    sort_descending: bool = False
    filtered: FilteredList | None = None
    resource_keys: models.QuerySet | None = None
    pattern_filter: bool = False
    planned: models.QuerySet | None = None  # what get_queryset() returned from the plan

    @classmethod
    def for_request(cls, request: Any) -> SCIMRequestContext:
        """The context of a request served by a view that builds none (a project's own view)."""
        return cls(params=request.query_params, tenant=get_tenant(request))

    def planning(self, using: str) -> AbstractContextManager[None]:
        """Where the list's statements run on ``using``: unprepared, planned for their values, after a
        pattern filter (``custom_plans``); else as the connection runs them."""
        return custom_plans(using) if self.pattern_filter else nullcontext()

    def first_page(self, queryset: models.QuerySet, count: int) -> list[models.Model] | None:
        """The first ``count`` rows of ``queryset`` with SQL compiled once per filter shape, when ``queryset``
        is what the filter backend returned (nothing changed it since); None otherwise."""
        filtered = self.filtered
        if filtered is None or filtered.result is not queryset:
            return None
        return self.plan.first_page(filtered.unfiltered, filtered.condition, count)


def context_of(view: Any, request: Any) -> SCIMRequestContext:
    """The context ``view`` built for ``request`` (``scim_context``), or one for a view that builds none."""
    context = getattr(view, "scim_context", None)
    if not isinstance(context, SCIMRequestContext):
        context = SCIMRequestContext.for_request(request)
        if view is not None:  # the backends and the paginator of one request share it
            view.scim_context = context
    return context
