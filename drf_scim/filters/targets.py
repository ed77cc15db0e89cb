"""Filter targets: what a comparison (or ``pr``) on one attribute becomes as a Django ``Q``.

A target knows where its attribute lives: a model column, a key of the resource's JSON document
(:class:`ExpressionTarget`), a multi-valued attribute matched with an EXISTS subquery over its indexed
``SCIMValue`` rows or a relation's many-to-many rows (:class:`ExistsTarget`), a complex attribute whose
sub-attributes are targets of their own (:class:`ComplexTarget`). :mod:`drf_scim.filters.attribute_map`
builds them from a serializer's fields; fields and serializers may build their own (``get_filter_target``).

Comparisons are null-safe: a leaf is ``present AND compare``, so ``not`` and
``ne`` also match resources where the attribute is unassigned.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models import Exists, F, Q, TextField, Value
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

from ..exceptions import InvalidFilter
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
)
from .nodes import AttributePath, Node

if TYPE_CHECKING:
    from .translate import FilterTranslator

NOTHING = Q(pk__in=[])

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


class KeyEndsWith(EndsWith):
    """``ew`` on a folded key. On PostgreSQL ``REVERSE(key) LIKE 'eulav%'``: a prefix of the reversed key,
    which the (tenant, reversed key) pattern-ops indexes of migration 0008 answer, where ``LIKE '%value'``
    could only use the trigram index, whose lists for trigrams every key shares (``@example.com``) grow with
    the table. Elsewhere Django's ``endswith``."""

    def as_postgresql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        column, params = compiler.compile(self.lhs)
        pattern = connection.ops.prep_for_like_query(self.rhs[::-1]) + "%"
        return f"REVERSE({column}) LIKE %s", [*params, pattern]


class FoldedKeyTarget(ExpressionTarget):
    """A case-insensitive string whose case-folded copy has an index (userName): ``eq`` uses the index."""

    def __init__(self, attribute: Attribute, path: str, key_path: str, *, json_field: str | None = None) -> None:
        super().__init__(attribute, path, json_field=json_field, nullable=False)
        self.key_path = key_path

    def compare_value(self, operator: str, value: Any) -> Q:
        """Every comparison runs on the folded key: indexed for eq, and free of column prefixes."""
        if operator == "ew":
            return Q(KeyEndsWith(F(self.key_path), value.casefold())) & Q(**{f"{self.key_path}__isnull": False})
        lookup = {**ORM_LOOKUPS, "co": "contains", "sw": "startswith"}[operator]
        return Q(**{f"{self.key_path}__{lookup}": value.casefold()})

    def order_by(self) -> Any:
        return NullIf(F(self.key_path), Value(""))
