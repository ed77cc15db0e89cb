"""Translate a filter AST into a Django ``Q`` object, with the attribute map read off a SCIM serializer.

Every attribute path resolves to a *target*: something that turns one comparison
(or ``pr``) into a ``Q``. Targets come from the serializer's fields and their
``source``: a model column, a key of the resource's JSON document, a
multi-valued attribute (matched with an EXISTS subquery over its indexed
``SCIMValue`` rows), or a relation (members, groups) matched with an EXISTS
subquery over the many-to-many table, so a resource is never returned twice.
Fields and serializers can supply their own target (``get_filter_target``).

Comparisons are null-safe: a leaf is ``present AND compare``, so ``not`` and
``ne`` also match resources where the attribute is unassigned.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Exists, F, OuterRef, Q, TextField, Value
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Left, Lower, NullIf, Right, StrIndex
from django.db.models.lookups import (
    Contains,
    EndsWith,
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    IContains,
    IEndsWith,
    IExact,
    IStartsWith,
    LessThan,
    LessThanOrEqual,
    StartsWith,
)
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework import serializers

from ..exceptions import InvalidFilter
from ..models import SCIMValue
from ..schema.attributes import (
    BINARY,
    BOOLEAN,
    COMPLEX,
    DATETIME,
    DECIMAL,
    INTEGER,
    REFERENCE,
    STRING,
    Attribute,
    attribute_of,
)
from .nodes import And, AttributePath, Comparison, Node, Not, Or, Present, ValueFilter

NOTHING = Q(pk__in=[])

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
ORM_LOOKUPS = {"eq": "exact", "gt": "gt", "ge": "gte", "lt": "lt", "le": "lte"}
ORDERING = {"gt": GreaterThan, "ge": GreaterThanOrEqual, "lt": LessThan, "le": LessThanOrEqual}
TEXT_LOOKUPS = {
    # operator: (case-sensitive lookup, case-insensitive lookup)
    "eq": (Exact, IExact),
    "co": (Contains, IContains),
    "sw": (StartsWith, IStartsWith),
    "ew": (EndsWith, IEndsWith),
}
OPERATORS_BY_TYPE = {
    STRING: {"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"},
    REFERENCE: {"eq", "ne", "co", "sw", "ew"},
    BINARY: {"eq", "ne"},
    BOOLEAN: {"eq", "ne"},
    INTEGER: {"eq", "ne", "gt", "ge", "lt", "le"},
    DECIMAL: {"eq", "ne", "gt", "ge", "lt", "le"},
    DATETIME: {"eq", "ne", "gt", "ge", "lt", "le"},
}


class UnknownAttribute(InvalidFilter):
    """The filter names an attribute the resource type does not have."""


def lookup_path(source_attrs: list[str]) -> str:
    return "__".join(source_attrs)


def case_exact_match(operator: str, text: Any, value: str) -> Any:
    """co, sw and ew that respect case on every database (SQLite's LIKE ignores it)."""
    if operator == "co":
        return GreaterThan(StrIndex(text, Value(value)), 0)
    if operator == "sw":
        return Exact(Left(text, len(value)), value)
    return Exact(Right(text, len(value)), value)


def parse_filter_datetime(name: str, value: Any) -> datetime:
    """An xsd:dateTime literal as an aware datetime (UTC when it names no offset)."""
    message = f'{name!r} is a dateTime; compare it with an xsd:dateTime string such as "2011-05-13T04:42:34Z".'
    try:
        parsed = parse_datetime(value) if isinstance(value, str) else None
        if parsed is None:
            raise InvalidFilter(message)
        if timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed, UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise InvalidFilter(message) from None


class Target:
    """One filterable attribute: turns comparisons on it into ``Q`` objects."""

    def __init__(self, attribute: Attribute) -> None:
        self.attribute = attribute

    def present(self) -> Q:
        raise NotImplementedError

    def compare(self, operator: str, value: Any) -> Q:
        raise NotImplementedError

    def sub_target(self, name: str) -> Target:
        raise InvalidFilter(f"Attribute {self.attribute.name!r} has no sub-attribute {name!r}.")

    def value_filter(self, node: Node, translator: FilterTranslator) -> Q:
        raise InvalidFilter(f"Attribute {self.attribute.name!r} is not multi-valued; it cannot take a [filter].")

    def order_by(self) -> Any:
        raise InvalidFilter(f"Attribute {self.attribute.name!r} cannot be sorted on.")

    def check(self, operator: str, value: Any) -> Any:
        """Validate the operator and the literal for this attribute's type; return the value to compare with."""
        kind = self.attribute.type
        if operator not in OPERATORS_BY_TYPE.get(kind, set()):
            raise InvalidFilter(f"Operator {operator!r} does not apply to {self.attribute.name!r} ({kind}).")
        if value is None:
            raise InvalidFilter(f"Compare {self.attribute.name!r} with a value, or use 'pr' to test for presence.")
        if kind in (STRING, REFERENCE, BINARY):
            if not isinstance(value, str):
                raise InvalidFilter(f"{self.attribute.name!r} is a string; compare it with a quoted string.")
            if "\x00" in value:
                raise InvalidFilter("Filter strings cannot contain the NUL character.")
            return value
        if kind == BOOLEAN:
            if isinstance(value, str) and value.lower() in ("true", "false"):
                return value.lower() == "true"
            if not isinstance(value, bool):
                raise InvalidFilter(f"{self.attribute.name!r} is a boolean; compare it with true or false.")
            return value
        if kind in (INTEGER, DECIMAL):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise InvalidFilter(f"{self.attribute.name!r} is a number; compare it with a number.")
            if kind == INTEGER and isinstance(value, float) and not value.is_integer():
                raise InvalidFilter(f"{self.attribute.name!r} is an integer.")
            if not -(2**63) <= value < 2**63:  # what a database column holds
                if kind == INTEGER:
                    raise InvalidFilter(f"{value!r} is out of the range of {self.attribute.name!r}.")
                return float(value)
            return value
        if kind == DATETIME:
            return parse_filter_datetime(self.attribute.name, value)
        return value


class ExpressionTarget(Target):
    """A singular attribute held in a column, or under a key of a JSON document."""

    def __init__(
        self, attribute: Attribute, path: str, *, json_field: str | None = None, nullable: bool = True
    ) -> None:
        super().__init__(attribute)
        self.path = path
        # For a key of a JSON document: the lookup of the JSONField itself ("scim__data").
        self.json_field = json_field
        self.json = json_field is not None
        self.nullable = nullable

    @property
    def case_insensitive(self) -> bool:
        return self.attribute.type in (STRING, REFERENCE) and not self.attribute.case_exact

    def text(self) -> Any:
        if not self.json:
            return F(self.path)
        keys = self.path[len(self.json_field) + 2 :].split("__")
        expression: Any = F(self.json_field)
        for key in keys[:-1]:
            expression = KeyTransform(key, expression)
        return KeyTextTransform(keys[-1], expression)

    def present(self) -> Q:
        if self.json:
            return Q(**{f"{self.path}__isnull": False})  # the key exists; unassigned values are never stored
        if self.attribute.type in (STRING, REFERENCE, BINARY):
            condition = ~Q(**{self.path: ""})
            return condition & Q(**{f"{self.path}__isnull": False}) if self.nullable else condition
        return Q(**{f"{self.path}__isnull": False}) if self.nullable else Q()

    def compare(self, operator: str, value: Any) -> Q:
        value = self.check(operator, value)
        if operator == "ne":
            return ~(self.present() & self.compare_value("eq", value))
        return self.present() & self.compare_value(operator, value)

    def compare_value(self, operator: str, value: Any) -> Q:
        if self.attribute.type in (STRING, REFERENCE, BINARY):
            if operator in TEXT_LOOKUPS:
                if self.case_insensitive or operator == "eq":
                    exact, insensitive = TEXT_LOOKUPS[operator]
                    return Q((insensitive if self.case_insensitive else exact)(self.text(), value))
                return Q(case_exact_match(operator, self.text(), value))
            lhs, rhs = (Lower(self.text()), value.lower()) if self.case_insensitive else (self.text(), value)
            return Q(ORDERING[operator](lhs, rhs))
        return Q(**{f"{self.path}__{ORM_LOOKUPS[operator]}": value})

    def order_by(self) -> Any:
        if self.attribute.multi_valued or self.attribute.type == COMPLEX:
            return super().order_by()
        if self.attribute.type not in (STRING, REFERENCE, BINARY):
            return F(self.path)
        expression = Lower(self.text()) if self.case_insensitive else self.text()
        return NullIf(expression, Value(""), output_field=TextField())  # an empty string is unassigned: last


class IdTarget(ExpressionTarget):
    """The SCIM ``id``: a UUID column; a value that is not a UUID matches nothing.

    ``scope`` narrows a reference to the rows it may point at (the manager's tenant).
    """

    def __init__(self, attribute: Attribute, path: str, *, nullable: bool = True, scope: Q | None = None) -> None:
        super().__init__(attribute, path, nullable=nullable)
        self.scope = scope

    def check(self, operator: str, value: Any) -> Any:
        if operator not in ("eq", "ne"):
            raise InvalidFilter(f"{self.attribute.name!r} is an opaque id: compare it with eq or ne.")
        return super().check(operator, value)

    def compare_value(self, operator: str, value: Any) -> Q:
        try:
            condition = Q(**{self.path: uuid.UUID(value)})
        except ValueError:
            return NOTHING
        return condition & self.scope if self.scope is not None else condition

    def present(self) -> Q:
        return Q(**{f"{self.path}__isnull": False}) if self.nullable else Q()

    def order_by(self) -> Any:
        return F(self.path)


class ConstantTarget(Target):
    """An attribute whose value is the same for every resource (meta.resourceType)."""

    def __init__(self, attribute: Attribute, value: str) -> None:
        super().__init__(attribute)
        self.value = value

    def present(self) -> Q:
        return Q()

    def compare(self, operator: str, value: Any) -> Q:
        value = self.check(operator, value)
        matches = {
            "eq": self.value.lower() == value.lower(),
            "ne": self.value.lower() != value.lower(),
            "co": value.lower() in self.value.lower(),
            "sw": self.value.lower().startswith(value.lower()),
            "ew": self.value.lower().endswith(value.lower()),
        }
        if operator not in matches:
            raise InvalidFilter(f"Operator {operator!r} does not apply to {self.attribute.name!r}.")
        return Q() if matches[operator] else NOTHING


class ComplexTarget(Target):
    """A singular complex attribute: its sub-attributes are targets of their own."""

    def __init__(
        self, attribute: Attribute, sub_targets: Callable[[str], Target | None], names: tuple[str, ...] = ("value",)
    ) -> None:
        super().__init__(attribute)
        self.sub_targets = sub_targets
        self.names = names

    def sub_target(self, name: str) -> Target:
        target = self.sub_targets(name)
        if target is None:
            return super().sub_target(name)
        return target

    def present(self) -> Q:
        """A complex attribute is present when one of its sub-attributes is."""
        presence = NOTHING
        for name in self.names:
            target = self.sub_targets(name)
            if target is not None:
                presence |= target.present()
        return presence

    def compare(self, operator: str, value: Any) -> Q:
        default = self.sub_targets("value")
        if default is None:
            raise InvalidFilter(f"{self.attribute.name!r} is complex: compare one of its sub-attributes.")
        return default.compare(operator, value)


class ExistsTarget(Target):
    """A multi-valued attribute: matches when some value matches, through an EXISTS subquery.

    ``rows`` is a queryset of one row per value, correlated to the outer resource
    with ``OuterRef``; ``sub_targets`` maps a sub-attribute name to a target on
    those rows. Without a sub-attribute, comparisons apply to ``value``.
    """

    def __init__(self, attribute: Attribute, rows: models.QuerySet, sub_targets: Callable[[str], Target | None]):
        super().__init__(attribute)
        self.rows = rows
        self.sub_targets = sub_targets

    def exists(self, condition: Q | None = None) -> Q:
        return Q(Exists(self.rows.filter(condition) if condition is not None else self.rows))

    def present(self) -> Q:
        return self.exists()

    def compare(self, operator: str, value: Any) -> Q:
        return self.sub_target("value").compare(operator, value)

    def sub_target(self, name: str) -> Target:
        target = self.sub_targets(name)
        if target is None:
            return super().sub_target(name)
        return _ExistsSubTarget(target, self)

    def value_filter(self, node: Node, translator: FilterTranslator) -> Q:
        return self.exists(translator.with_resolver(self.inner_resolver).to_q(node))

    def inner_resolver(self, path: AttributePath) -> Target:
        if path.schema or path.sub_attribute:
            raise InvalidFilter(f"Inside {self.attribute.name}[...] name sub-attributes only, e.g. value or type.")
        target = self.sub_targets(path.attribute)
        if target is None:
            raise InvalidFilter(f"Attribute {self.attribute.name!r} has no sub-attribute {path.attribute!r}.")
        return target


class _ExistsSubTarget(Target):
    """``emails.type eq "work"``: some value whose sub-attribute matches."""

    def __init__(self, inner: Target, parent: ExistsTarget) -> None:
        super().__init__(inner.attribute)
        self.inner = inner
        self.parent = parent

    def present(self) -> Q:
        return self.parent.exists(self.inner.present())

    def compare(self, operator: str, value: Any) -> Q:
        if operator == "ne":
            return ~self.parent.exists(self.inner.compare("eq", value))
        return self.parent.exists(self.inner.compare(operator, value))


class FoldedKeyTarget(ExpressionTarget):
    """A case-insensitive string whose case-folded copy has an index (userName): ``eq`` uses the index."""

    def __init__(self, attribute: Attribute, path: str, key_path: str, *, json_field: str | None = None) -> None:
        super().__init__(attribute, path, json_field=json_field, nullable=False)
        self.key_path = key_path

    def compare_value(self, operator: str, value: Any) -> Q:
        """Every comparison runs on the folded key: indexed for eq, and free of column prefixes."""
        lookup = {**ORM_LOOKUPS, "co": "contains", "sw": "startswith", "ew": "endswith"}[operator]
        return Q(**{f"{self.key_path}__{lookup}": value.casefold()})

    def order_by(self) -> Any:
        return NullIf(F(self.key_path), Value(""))


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


def _find(fields: dict[str, serializers.Field], name: str) -> tuple[str, serializers.Field] | None:
    lowered = name.lower()
    for field_name, field in fields.items():
        if field_name.lower() == lowered and not field.write_only:
            return field_name, field
    return None


class AttributeMap:
    """Resolves attribute paths of one resource type to filter targets, from its serializer's fields."""

    def __init__(self, serializer: serializers.Serializer, filterset_class: type | None = None) -> None:
        self.serializer = serializer
        self.declared = {name.lower(): (name, f) for name, f in getattr(filterset_class, "base_filters", {}).items()}
        self.prefix = serializer.get_resource_prefix().replace(".", "__")
        self.document = serializer.get_document_path().split(".")
        self.extensions = {urn.lower(): urn for urn in serializer.get_schema_urns()[1:]}
        self.resolved: dict[tuple[str | None, str], Target] = {}

    def resolve(self, path: AttributePath) -> Target:
        """The target of ``path`` (an attribute, without sub-attribute), found once per map."""
        key = (path.schema.lower() if path.schema else None, path.attribute.lower())
        target = self.resolved.get(key)
        if target is None:
            target = self.resolved[key] = self.find(path)
        return target

    def find(self, path: AttributePath) -> Target:
        serializer = self.serializer
        fields = serializer.field_declarations()  # looked up here; only the field found is bound
        bind = serializer.bound_field
        schema = path.schema.lower() if path.schema else None
        if schema is not None and schema != serializer.Meta.schema.lower():
            urn = self.extensions.get(schema)
            if urn is None:
                raise UnknownAttribute(f"Unknown schema {path.schema!r} in filter.")
            fields = bind(urn).fields
            bind = fields.__getitem__
        elif path.attribute.lower() == "schemas":
            return SchemasTarget(serializer)
        elif path.attribute.lower() in self.declared:
            return self.declared_target(*self.declared[path.attribute.lower()], fields)
        found = _find({k: v for k, v in fields.items() if k.lower() not in self.extensions}, path.attribute)
        if found is None:
            raise UnknownAttribute(f"Unknown attribute {str(path)!r} in filter.")
        name = found[0]
        return self.target_for(name, bind(name))

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
        found = _find(fields, name)
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
            found = _find(field.fields, name)
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
        child = field.child

        def sub(name: str) -> Target | None:
            found = _find(child.fields, name) if isinstance(child, serializers.Serializer) else None
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
        return ~matched if operator == "ne" else matched

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
