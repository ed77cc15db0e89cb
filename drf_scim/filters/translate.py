"""Translate a filter AST into a Django ``Q`` object, with the attribute map read off a SCIM serializer.

Every attribute path resolves to a *target* (:mod:`drf_scim.filters.targets`): something that turns one
comparison (or ``pr``) into a ``Q``. The serializer's :class:`~drf_scim.filters.attribute_map.AttributeMap`
finds them from its fields and their ``source``: a model column, a key of the resource's JSON document, a
multi-valued attribute (matched with an EXISTS subquery over its indexed ``SCIMValue`` rows), or a relation
(members, groups) matched with an EXISTS subquery over the many-to-many table, so a resource is never
returned twice. Fields and serializers can supply their own target (``get_filter_target``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Q
from rest_framework import serializers

from ..exceptions import InvalidFilter
from .attribute_map import DJANGO_FILTER_TYPES, AttributeMap, SchemasTarget, UnknownAttribute, lookup_path
from .nodes import And, AttributePath, Comparison, Node, Not, Or, Present, ValueFilter
from .targets import (
    NOTHING,
    OPERATORS_BY_TYPE,
    ORDERING,
    ORM_LOOKUPS,
    TEXT_LOOKUPS,
    ComplexTarget,
    ConstantTarget,
    ExistsTarget,
    ExpressionTarget,
    FoldedKeyTarget,
    IdTarget,
    Target,
    case_exact_match,
    parse_filter_datetime,
)

__all__ = [
    "DJANGO_FILTER_TYPES",
    "NOTHING",
    "OPERATORS_BY_TYPE",
    "ORDERING",
    "ORM_LOOKUPS",
    "TEXT_LOOKUPS",
    "AttributeMap",
    "ComplexTarget",
    "ConstantTarget",
    "ExistsTarget",
    "ExpressionTarget",
    "FilterTranslator",
    "FoldedKeyTarget",
    "IdTarget",
    "SchemasTarget",
    "Target",
    "UnknownAttribute",
    "case_exact_match",
    "lookup_path",
    "parse_filter_datetime",
]


class FilterTranslator:
    """Turns filter nodes into ``Q`` objects for the resources of one serializer."""

    def __init__(self, resolver: Callable[[AttributePath], Target], *, unknown_matches_nothing: bool = False) -> None:
        self.resolver = resolver
        # The root .search spans resource types: a comparison on an attribute one type lacks is false there.
        self.unknown_matches_nothing = unknown_matches_nothing

    @classmethod
    def for_serializer(
        cls, serializer: serializers.Serializer, filterset_class: type | None = None, **options: Any
    ) -> FilterTranslator:
        return cls(AttributeMap(serializer, filterset_class).resolve, **options)

    def with_resolver(self, resolver: Callable[[AttributePath], Target]) -> FilterTranslator:
        return type(self)(resolver)

    def to_q(self, node: Node) -> Q:
        # An empty Q matches every row (id pr): Django drops it from & and from | alike, so | and ~ need care.
        if isinstance(node, And):
            return self.to_q(node.left) & self.to_q(node.right)
        if isinstance(node, Or):
            left, right = self.to_q(node.left), self.to_q(node.right)
            return left | right if left and right else Q()
        if isinstance(node, Not):
            operand = self.to_q(node.operand)
            return ~operand if operand else NOTHING
        try:
            if isinstance(node, Present):
                return self.target(node.path).present()
            if isinstance(node, Comparison):
                return self.target(node.path).compare(node.operator, node.value)
            if isinstance(node, ValueFilter):
                return self.target(node.path).value_filter(node.filter, self)
        except UnknownAttribute:
            if self.unknown_matches_nothing:
                return NOTHING
            raise
        raise InvalidFilter(f"Unsupported filter expression {type(node).__name__}.")

    def target(self, path: AttributePath) -> Target:
        target = self.resolver(AttributePath(path.schema, path.attribute))
        if path.sub_attribute:
            target = target.sub_target(path.sub_attribute)
        return target
