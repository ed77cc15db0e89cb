"""Resource plans: the querysets, prepared reads and filter translators of one resource type, tenant and
projection, built for the first request that needs them and reused by the others."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

from django.core.exceptions import FieldError
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.db.models import Q

from . import BoundedCache
from .prepared import PreparedLookup, PreparedQuerySet, integer_markers, q_shape, q_with_values, string_markers

MAX_PLANS = 256  # one per viewset, tenant and projection: the projection comes from clients
MAX_PAGES_PER_PLAN = 64  # one per filter shape and page size: the filters come from clients

Build = Callable[[], models.QuerySet]


class ResourcePlan:
    """What one resource type, tenant and projection (``key``) reads with: built once, shared by requests.

    The querysets are built by the viewset's hooks (``build_queryset``...) and handed out as clones;
    the reads by id, the first pages of a filter shape and the full pages of an unfiltered list have
    their SQL compiled once (:mod:`drf_scim.plans.prepared`).
    """

    shared = True

    def __init__(self, key: Hashable) -> None:
        self.key = key
        self.querysets: dict[str, models.QuerySet] = {}  # per purpose: "read", a PATCH's...
        self.lookups: dict[Hashable, PreparedLookup | None] = {}
        self.translators: dict[Hashable, Any] = {}
        self.pages: BoundedCache[PreparedQuerySet | None] = BoundedCache(MAX_PAGES_PER_PLAN, process_wide=False)

    def queryset(self, purpose: str, build: Build) -> models.QuerySet:
        """A clone of what ``build()`` returned the first time ``purpose`` was asked for."""
        queryset = self.querysets.get(purpose)
        if queryset is None:
            queryset = self.querysets[purpose] = build()
        return queryset.all()

    def get(self, name: Hashable, build: Build, path: str, value: Any) -> models.Model:
        """``build().get(**{path: value})``, with SQL compiled once per ``name``: ``build()`` must return
        the same queryset for one name (a clone of ``queryset(purpose)``, locked or not)."""
        try:
            lookup = self.lookups[name]
        except KeyError:
            queryset = build()
            lookup = PreparedLookup(queryset, path) if PreparedLookup.supports(queryset, path) else None
            self.lookups[name] = lookup
            if lookup is None:
                return queryset.get(**{path: value})
        return build().get(**{path: value}) if lookup is None else lookup.get(value)

    def first_page(self, unfiltered: models.QuerySet, condition: Q, count: int) -> list[models.Model] | None:
        """The first ``count`` rows of ``unfiltered.filter(condition)``, with SQL compiled once per shape of
        the condition (``userName eq "..."`` whatever the name); None when it cannot be prepared."""
        shape = q_shape(condition)
        if shape is None:
            return None
        signature, values = shape
        return self.rows(
            ("page", signature, count),
            lambda markers: unfiltered.filter(q_with_values(condition, markers))[:count],
            lambda: string_markers(len(values)),
            values,
        )

    def rows_of_keys(
        self, build: Callable[[Sequence[int]], models.QuerySet], page: Sequence[Any]
    ) -> list[models.Model] | None:
        """The rows ``build(page)`` reads for a full page of primary keys, SQL compiled once per page size."""
        return self.rows(("keys", len(page)), build, lambda: integer_markers(len(page)), page)

    def rows(
        self,
        name: Hashable,
        build: Callable[[Sequence[Any]], models.QuerySet],
        markers: Callable[[], Sequence[Any]],
        values: Sequence[Any],
    ) -> list[models.Model] | None:
        """The rows of ``build(markers())`` with ``values`` in the markers' places, SQL compiled once per
        ``name``; None when that queryset cannot be prepared (a field that takes no such marker)."""

        def prepare() -> PreparedQuerySet | None:
            chosen = markers()
            try:
                return PreparedQuerySet(build(chosen), chosen)
            except (DjangoValidationError, FieldError, TypeError, ValueError):
                return None

        prepared = self.pages.get(name, prepare)
        return prepared.rows(values) if prepared is not None else None

    def values(self, queryset: models.QuerySet, names: Sequence[str], pk: Any) -> dict[str, Any] | None:
        """The annotations ``names`` of the row ``pk`` of ``queryset`` (a plan's), SQL compiled once."""
        key = ("values", tuple(names))
        lookup = self.lookups.get(key)
        if lookup is None:
            lookup = self.lookups[key] = PreparedLookup(queryset.prefetch_related(None).values(*names), "pk")
        try:
            return lookup.get(pk)
        except models.ObjectDoesNotExist:
            return None

    def translator(self, options: Hashable, build: Callable[[], Any]) -> Any:
        """The filter translator built with ``options`` (a filterset class, leniency)."""
        translator = self.translators.get(options)
        if translator is None:
            translator = self.translators[options] = build()
        return translator


class RequestPlan(ResourcePlan):
    """The plan of a request served without the fast path: everything is built for it, nothing kept."""

    shared = False

    def __init__(self) -> None:
        super().__init__(None)

    def queryset(self, purpose: str, build: Build) -> models.QuerySet:
        return build()

    def get(self, name: Hashable, build: Build, path: str, value: Any) -> models.Model:
        return build().get(**{path: value})

    def rows(self, name: Hashable, build: Any, markers: Any, values: Sequence[Any]) -> None:
        return None

    def values(self, queryset: models.QuerySet, names: Sequence[str], pk: Any) -> dict[str, Any] | None:
        return queryset.prefetch_related(None).filter(pk=pk).values(*names).first()

    def translator(self, options: Hashable, build: Callable[[], Any]) -> Any:
        return build()


resource_plans: BoundedCache[ResourcePlan] = BoundedCache(MAX_PLANS)


def plan_for(key: Hashable | None) -> ResourcePlan:
    """The shared plan of ``key``, or a plan of this request alone when ``key`` is None."""
    if key is None:
        return RequestPlan()
    return resource_plans.get(key, lambda: ResourcePlan(key))
