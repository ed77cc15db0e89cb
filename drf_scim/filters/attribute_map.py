"""The attribute map of a resource type: which filter target answers each attribute path.

Paths are resolved against the serializer's schemas by :class:`drf_scim.schema.paths.PathResolver` (the same
resolution PATCH and projections use); the field found, its ``source`` and the model then decide the target
(:mod:`drf_scim.filters.targets`). A field or the serializer can supply its own (``get_filter_target``), and a
django-filter ``filterset_class`` can map attributes to model lookups.
"""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import OuterRef, Q
from rest_framework import serializers

from ..exceptions import InvalidFilter
from ..models import SCIMValue
from ..schema import paths
from ..schema.attributes import BOOLEAN, DATETIME, DECIMAL, REFERENCE, STRING, Attribute, attribute_of
from .nodes import AttributePath
from .targets import (
    NOTHING,
    ComplexTarget,
    ConstantTarget,
    ExistsTarget,
    ExpressionTarget,
    FoldedKeyTarget,
    IdTarget,
    Target,
)

try:  # django-filter declarations may map attributes to lookups (FilterSet filters named by SCIM attribute)
    import django_filters

    DJANGO_FILTER_TYPES = [
        (django_filters.BooleanFilter, BOOLEAN),
        (django_filters.IsoDateTimeFilter, DATETIME),
        (django_filters.DateTimeFilter, DATETIME),
        (django_filters.NumberFilter, DECIMAL),
    ]
except ImportError:  # pragma: no cover - django-filter is a dependency
    DJANGO_FILTER_TYPES = []


class UnknownAttribute(InvalidFilter):
    """The filter names an attribute the resource type does not have."""


def lookup_path(source_attrs: list[str]) -> str:
    """The ORM lookup of a field's ``source_attrs`` (``scim__data__emails``)."""
    return "__".join(source_attrs)


class AttributeMap:
    """Resolves attribute paths of one resource type to filter targets, from its serializer's fields."""

    def __init__(self, serializer: serializers.Serializer, filterset_class: type | None = None) -> None:
        self.serializer = serializer
        self.declared = {name.lower(): (name, f) for name, f in getattr(filterset_class, "base_filters", {}).items()}
        self.prefix = serializer.get_resource_prefix().replace(".", "__")
        self.document = serializer.get_document_path().split(".")
        self.paths = paths.PathResolver(
            serializer.Meta.schema, serializer.get_schema_urns()[1:], self.schema_fields, readable_only=True
        )
        self.resolved: dict[tuple[str | None, str], Target] = {}

    def schema_fields(self, urn: str) -> paths.Fields:
        """The attributes of one schema: the core's as declared (only the field found is bound), an
        extension's bound."""
        if urn == self.serializer.Meta.schema:
            return self.serializer.field_declarations()
        return self.serializer.bound_field(urn).fields

    def resolve(self, path: AttributePath) -> Target:
        """The target of ``path`` (an attribute, without sub-attribute), found once per map."""
        key = (path.schema.lower() if path.schema else None, path.attribute.lower())
        target = self.resolved.get(key)
        if target is None:
            target = self.resolved[key] = self.find(path)
        return target

    def find(self, path: AttributePath) -> Target:
        """The target of ``path``, or UnknownAttribute (a 400 invalidFilter)."""
        try:
            urn = self.paths.schema(path.schema)
        except paths.UnknownSchema:
            raise UnknownAttribute(f"Unknown schema {path.schema!r} in filter.") from None
        core = urn == self.serializer.Meta.schema
        if core and path.attribute.lower() == "schemas":
            return SchemasTarget(self.serializer)
        if core and path.attribute.lower() in self.declared:
            return self.declared_target(*self.declared[path.attribute.lower()], self.serializer.field_declarations())
        try:
            resolved = self.paths.attribute(path.schema, path.attribute)
        except paths.UnknownAttribute:
            raise UnknownAttribute(f"Unknown attribute {str(path)!r} in filter.") from None
        name = resolved.attribute
        return self.target_for(name, resolved.field if resolved.extension else self.serializer.bound_field(name))

    def target_for(self, name: str, field: serializers.Field) -> Target:
        hook = getattr(self.serializer, "get_filter_target", None)
        target = hook(name, field, self) if hook is not None else None
        if target is not None:
            return target
        own = getattr(field, "get_filter_target", None)
        if own is not None:
            return own(self)
        attribute = attribute_of(name, field)
        if field.field_name == "id" and field.parent is self.serializer:
            return IdTarget(attribute, f"{self.prefix}scim_id", nullable=False)
        if field.field_name == "meta" and field.parent is self.serializer:
            return self.meta_target(attribute)
        if isinstance(field, serializers.ListSerializer):
            return self.values_target(attribute, field)
        if isinstance(field, serializers.Serializer):
            return self.complex_target(attribute, field)
        return self.expression_target(attribute, field.source_attrs)

    def declared_target(self, name: str, declared: Any, fields: dict[str, serializers.Field]) -> Target:
        """An attribute mapped to a model lookup by a django-filter filter of the view's ``filterset_class``."""
        found = paths.find_attribute(fields, name, readable_only=True)
        if found is not None:
            attribute = attribute_of(found[0], self.serializer.bound_field(found[0]))  # never a shared declaration
        else:
            attribute = Attribute(name, next((t for k, t in DJANGO_FILTER_TYPES if isinstance(declared, k)), STRING))
        path = declared.field_name
        json_field = lookup_path(self.document) if path.startswith(lookup_path(self.document) + "__") else None
        return ExpressionTarget(attribute, path, json_field=json_field)

    def expression_target(self, attribute: Attribute, source_attrs: list[str]) -> ExpressionTarget:
        if source_attrs[: len(self.document)] == self.document:
            return ExpressionTarget(attribute, lookup_path(source_attrs), json_field=lookup_path(self.document))
        return ExpressionTarget(attribute, lookup_path(source_attrs), nullable=self._nullable(source_attrs))

    def _nullable(self, source_attrs: list[str]) -> bool:
        model = self.serializer.Meta.model
        for part in source_attrs:
            try:
                field = model._meta.get_field(part)
            except Exception:
                return True
            if field.is_relation and field.related_model is not None and part != source_attrs[-1]:
                model = field.related_model
                continue
            return bool(field.null)
        return True

    def complex_target(self, attribute: Attribute, field: serializers.Serializer) -> Target:
        def sub(name: str) -> Target | None:
            found = paths.find_attribute(field.fields, name, readable_only=True)
            if found is None:
                return None
            sub_name, sub_field = found
            if field.source == "*":
                return self.target_for(sub_name, sub_field)
            return self.expression_target(
                attribute_of(sub_name, sub_field), [*field.source_attrs, *sub_field.source_attrs]
            )

        names = tuple(name for name, sub_field in field.fields.items() if not sub_field.write_only)
        return ComplexTarget(attribute, sub, names)

    def values_target(self, attribute: Attribute, field: serializers.ListSerializer) -> Target:
        key_parts = field.source_attrs[len(self.document) :]
        if field.source_attrs[: len(self.document)] != self.document:
            raise InvalidFilter(f"Attribute {attribute.name!r} cannot be filtered.")
        resource_model = self.serializer.Meta.model
        relation = getattr(self.serializer.Meta, "scim_relation", None)
        owner = resource_model._meta.get_field(relation).related_model if relation else resource_model
        rows = SCIMValue.objects.filter(
            resource_type=ContentType.objects.get_for_model(owner),
            resource_id=OuterRef(f"{self.prefix}pk"),
            attribute=".".join(key_parts),
        )

        def sub(name: str) -> Target | None:
            found = paths.find_attribute(paths.sub_fields(field), name, readable_only=True)
            if found is None:
                return None
            sub_name, sub_field = found
            sub_attribute = attribute_of(sub_name, sub_field)
            path = f"item__{lookup_path(sub_field.source_attrs)}"
            if sub_name == "value" and sub_attribute.type == STRING and not sub_attribute.case_exact:
                return FoldedKeyTarget(sub_attribute, path, "value_key", json_field="item")
            return ExpressionTarget(sub_attribute, path, json_field="item")

        return ExistsTarget(attribute, rows, sub)

    def meta_target(self, attribute: Attribute) -> Target:
        resource_type = self.serializer.Meta.resource_type

        def sub(name: str) -> Target | None:
            lowered = name.lower()
            if lowered == "created":
                return ExpressionTarget(Attribute("created", DATETIME), f"{self.prefix}created", nullable=False)
            if lowered == "lastmodified":
                return ExpressionTarget(
                    Attribute("lastModified", DATETIME), f"{self.prefix}last_modified", nullable=False
                )
            if lowered == "resourcetype":
                return ConstantTarget(Attribute("resourceType", STRING), resource_type)
            return None

        return ComplexTarget(attribute, sub, ("created",))


class SchemasTarget(Target):
    """``schemas eq "urn"``: the core schema matches every resource, an extension those that hold it."""

    def __init__(self, serializer: serializers.Serializer) -> None:
        super().__init__(Attribute("schemas", REFERENCE, multi_valued=True, case_exact=False))
        self.serializer = serializer

    def present(self) -> Q:
        return Q()

    def compare(self, operator: str, value: Any) -> Q:
        value = self.check(operator, value)
        if operator not in ("eq", "ne"):
            raise InvalidFilter("schemas supports eq and ne.")
        matched = self.holds(value)
        if operator == "eq":
            return matched
        return ~matched if matched else NOTHING  # ~Q() is still Q(), every row: ne the core schema is none

    def holds(self, urn: str) -> Q:
        if urn.lower() == self.serializer.Meta.schema.lower():
            return Q()
        for extension, _ in self.serializer.get_extensions():
            urn_of = extension.get_schema_urn()
            if urn_of.lower() == urn.lower():
                presence = NOTHING
                attribute_map = AttributeMap(self.serializer)
                for name, field in self.serializer.fields[urn_of].fields.items():
                    if not field.write_only:
                        presence |= attribute_map.target_for(name, field).present()
                return presence
        return NOTHING
