"""DRF filter backends: ``filter`` (RFC 7644 §3.4.2.2) and ``sortBy``/``sortOrder`` (§3.4.2.3)."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import F
from rest_framework.filters import BaseFilterBackend

from ..context import FilteredList, SCIMRequestContext, context_of
from ..django_internals import defer_filter
from ..exceptions import InvalidFilter, InvalidValue
from ..settings import scim_settings
from .budget import FilterCost, FilterTooComplex, check_budget
from .grammar import FilterSyntaxError, parse_filter, parse_path
from .translate import FilterTranslator, UnknownAttribute

SORT_KEY = "scim_sort_key"  # the annotation sortBy orders by (cursor paging reads it back)


class UnknownSortAttribute(InvalidValue):
    """sortBy names an attribute the resource type does not have."""


def get_translator(view: Any, context: SCIMRequestContext) -> FilterTranslator:
    """The translator of the view's resource type (a view may provide ``get_filter_translator``)."""
    getter = getattr(view, "get_filter_translator", None)
    if getter is not None:
        return getter()
    return FilterTranslator.for_serializer(
        view.get_serializer(),
        getattr(view, "filterset_class", None),
        unknown_matches_nothing=context.lenient,
    )


def check_filter_budget(node: Any) -> FilterCost:
    """The cost of a filter; a 400 invalidFilter beyond the complexity budget of the ``FILTER_MAX_*`` settings."""
    try:
        return check_budget(
            node,
            max_clauses=scim_settings.FILTER_MAX_CLAUSES,
            max_value_filters=scim_settings.FILTER_MAX_VALUE_FILTERS,
            max_substring_clauses=scim_settings.FILTER_MAX_SUBSTRING_CLAUSES,
        )
    except FilterTooComplex as exc:
        raise InvalidFilter(str(exc)) from None


class SCIMFilterBackend(BaseFilterBackend):
    """Filter a queryset with the ``filter`` parameter; an invalid filter is a 400 invalidFilter."""

    filter_param = "filter"
    scim_feature = "filter"

    def filter_queryset(self, request: Any, queryset: models.QuerySet, view: Any) -> models.QuerySet:
        context = context_of(view, request)
        text = context.params.get(self.filter_param)
        if text is None or text == "":
            return queryset
        if not isinstance(text, str):
            raise InvalidFilter("The filter must be a string.")
        try:
            node = parse_filter(
                text, max_length=scim_settings.FILTER_MAX_LENGTH, max_depth=scim_settings.FILTER_MAX_DEPTH
            )
        except FilterSyntaxError as exc:
            raise InvalidFilter(str(exc)) from None
        # a pattern's best plan depends on the pattern: planned for it every time (SCIMRequestContext.planning)
        context.pattern_filter = check_filter_budget(node).pattern_clauses > 0
        condition = get_translator(view, context).to_q(node)
        if queryset is not context.planned:  # an earlier backend or an override changed it: no plan's page
            return queryset.filter(condition)
        # Deferred: a lookup's first page runs SQL compiled earlier (SCIMRequestContext.first_page) and never
        # needs the condition built into this query.
        filtered = defer_filter(queryset, condition)
        context.filtered = FilteredList(queryset, condition, filtered)
        return filtered

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": self.filter_param,
                "required": False,
                "in": "query",
                "description": 'A SCIM filter (RFC 7644 §3.4.2.2), e.g. userName eq "bjensen".',
                "schema": {"type": "string"},
            }
        ]


class SCIMSortBackend(BaseFilterBackend):
    """Order by ``sortBy`` (any singular attribute) and ``sortOrder``, with the primary key as tie-breaker."""

    sort_by_param = "sortBy"
    sort_order_param = "sortOrder"
    scim_feature = "sort"

    def filter_queryset(self, request: Any, queryset: models.QuerySet, view: Any) -> models.QuerySet:
        context = context_of(view, request)
        params = context.params
        sort_by = params.get(self.sort_by_param)
        order = params.get(self.sort_order_param) or "ascending"
        if not isinstance(order, str) or order.lower() not in ("ascending", "descending"):
            raise InvalidValue(f"{self.sort_order_param} must be 'ascending' or 'descending'.")
        if not sort_by:
            return queryset
        try:
            path = parse_path(sort_by)
        except FilterSyntaxError as exc:
            raise InvalidValue(f"Invalid sortBy: {exc}") from None
        if path.filter is not None:
            raise InvalidValue("sortBy names a singular attribute, without a [filter].")
        try:
            expression = get_translator(view, context).target(path.path).order_by()
        except UnknownAttribute as exc:
            if context.lenient:
                return queryset  # root .search: this resource type stays in its default order
            raise UnknownSortAttribute(f"Cannot sort by {sort_by!r}: {exc.detail}") from None
        except InvalidFilter as exc:
            raise InvalidValue(f"Cannot sort by {sort_by!r}: {exc.detail}") from None
        descending = order.lower() == "descending"
        context.sort_descending = descending  # cursor paging walks the same order (pagination.py)
        key = F(SORT_KEY)
        ordered = key.desc(nulls_last=True) if descending else key.asc(nulls_last=True)
        return queryset.annotate(**{SORT_KEY: expression}).order_by(ordered, "-pk" if descending else "pk")

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": self.sort_by_param,
                "required": False,
                "in": "query",
                "description": "Attribute to sort by, e.g. name.familyName.",
                "schema": {"type": "string"},
            },
            {
                "name": self.sort_order_param,
                "required": False,
                "in": "query",
                "description": "ascending (default) or descending.",
                "schema": {"type": "string", "enum": ["ascending", "descending"]},
            },
        ]
