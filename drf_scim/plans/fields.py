"""Field plans: the fields of a SCIM serializer, built once per ``get_fields_cache_key()`` and copied per
instance, with what rendering, prefetching and indexing find among them.

DRF deep-copies a serializer's declared fields for every instance; for a resource of a few dozen nested
fields that costs more than the rest of a request. A field plan keeps the fields built once
(``prototypes``, unbound); each serializer gets shallow copies (:func:`copy_field`), and a serializer
that only renders shares the fields whose rendering reads nothing from their serializer
(:func:`renders_context_free`, :func:`renders_context_free_tree`).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from rest_framework import serializers
from rest_framework.fields import empty

from ..fields import BooleanAttribute
from ..schema.attributes import returned_of
from . import BoundedCache, uncacheable_overrides

FIELD_HOOKS = ("get_fields", "get_fields_cache_key")  # a project's override may make the fields vary


class FieldPlan:
    """What every serializer with one fields key shares.

    ``prototypes``: the fields as built, unbound. Filled on first use: ``fetching_paths`` (where, among the
    nested fields, the fields that fetch related rows are) and ``fetched_names`` (the attributes holding those
    that read rows a write may change), ``indexed`` (the multi-valued attributes of the JSON document, by
    their path in it), ``shared_reading`` (nested attributes bound once under a context-free serializer,
    which every serializer that renders may use).
    """

    __slots__ = ("fetched_names", "fetching_paths", "indexed", "prototypes", "shared_reading")

    def __init__(self, prototypes: dict[str, serializers.Field]) -> None:
        self.prototypes = prototypes
        self.fetching_paths: list[tuple[str, ...]] | None = None
        self.fetched_names: frozenset[str] | None = None
        self.indexed: dict[str, list[str]] | None = None
        self.shared_reading: dict[str, serializers.Field] | None = None


field_plans: BoundedCache[FieldPlan] = BoundedCache(1024)  # keys hold classes: bounded by the code


def field_plan(key: Hashable, build: Any) -> FieldPlan:
    """The plan of ``key``; ``build()`` gives the built fields of its first serializer."""

    def plan() -> FieldPlan:
        prototypes = {name: copy_field(field, None) for name, field in build().items()}
        for field in prototypes.values():
            returned_of(field)  # computed once, then carried by every copy
            field._renders_context_free = renders_context_free(field)
            field._source_split = source_split(field)
        return FieldPlan(prototypes)

    return field_plans.get(key, plan)


def shares_fields(cls: type) -> bool:
    """Whether every instance of ``cls`` has the same fields, whatever its request: its ``get_fields`` and
    ``get_fields_cache_key`` are drf_scim's or marked :func:`~drf_scim.plans.cacheable`."""
    return not uncacheable_overrides(cls, FIELD_HOOKS)


def copy_field(field: serializers.Field, parent: serializers.Field | None) -> serializers.Field:
    """A copy of a built field for another serializer instance, bound to ``parent``.

    Shallow: what a field computed when it was built (source, validators, messages) is shared; what ties
    it to one serializer tree (its parent, a nested serializer's own fields, a list's child) is not.
    """
    clone = object.__new__(type(field))  # copy.copy, minus its generic protocol (this runs per request)
    clone.__dict__ = field.__dict__.copy()
    clone.__dict__.pop("fields", None)  # a nested serializer builds its own fields for the new tree
    clone.parent = parent
    for name in ("child", "child_relation"):
        child = clone.__dict__.get(name)
        if isinstance(child, serializers.Field):
            setattr(clone, name, copy_field(child, clone))
    return clone


# to_representation methods that read nothing but the value and the field's own options (not its parent,
# root or context).
CONTEXT_FREE_REPRESENTATIONS = frozenset(
    {
        serializers.CharField.to_representation,
        serializers.BooleanField.to_representation,
        BooleanAttribute.to_representation,
        serializers.IntegerField.to_representation,
        serializers.FloatField.to_representation,
        serializers.DateTimeField.to_representation,
    }
)


def source_split(field: serializers.Field) -> tuple[bool, tuple[str, ...], tuple[str, ...]]:
    """Whether DRF's ``get_attribute`` reads ``field`` (then ``read_source`` does), and its source split into
    the path of the object that holds it and the rest (``SCIMSerializerMixin._render_plan``)."""
    attrs = tuple(field.source_attrs)
    return type(field).get_attribute is serializers.Field.get_attribute, attrs[:-1], attrs[-1:]


def renders_context_free(field: serializers.Field) -> bool:
    """Whether rendering ``field`` needs nothing from the serializer it is bound to: then every serializer
    may render it with one shared copy (``SCIMSerializerMixin.reading_fields``)."""
    return (
        type(field).get_attribute is serializers.Field.get_attribute
        and type(field).to_representation in CONTEXT_FREE_REPRESENTATIONS
        and field.default is empty
        and not isinstance(field, serializers.BaseSerializer)
    )


def renders_context_free_tree(field: serializers.Field) -> bool:
    """``renders_context_free`` for nested attributes too: a complex or multi-valued attribute renders
    context-free when it renders as drf_scim's do and every readable field under it renders context-free."""
    from ..serializers.attributes import MultiValuedAttribute
    from ..serializers.mixins import SCIMSerializerMixin

    if field.default is not empty or type(field).get_attribute is not serializers.Field.get_attribute:
        return False
    if isinstance(field, serializers.ListSerializer):
        return type(field).to_representation is MultiValuedAttribute.to_representation and renders_context_free_tree(
            field.child
        )
    if isinstance(field, SCIMSerializerMixin):
        kind = type(field)
        return (
            shares_fields(kind)  # its fields are the same for every request
            and kind.to_representation is SCIMSerializerMixin.to_representation
            and kind._readable_fields is SCIMSerializerMixin._readable_fields
            and kind.get_render_empty is SCIMSerializerMixin.get_render_empty
            and all(renders_context_free_tree(child) for child in field.fields.values() if not child.write_only)
        )
    return renders_context_free(field)
