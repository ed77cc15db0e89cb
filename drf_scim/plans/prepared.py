"""Querysets whose SQL is compiled once: the reads a viewset repeats with other values.

Django compiles a queryset to SQL every time it runs it. A viewset reads a resource by id, or looks
resources up with a filter such as ``userName eq "..."``, with the same queryset every time but for a
value or two, and compiling it (a few dozen columns, the joins, the references subquery) costs more
than PostgreSQL takes to run the prepared statement. ``PreparedQuerySet`` compiles such a queryset once
per database, with markers in place of the values, and then binds each request's values in the
markers' places. A marker that does not reach the SQL parameters unchanged (a LIKE pattern, a JSON
document) makes the queryset compile as usual.
"""

from __future__ import annotations

import copy as copy_module
import uuid
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from django.core.exceptions import EmptyResultSet, MultipleObjectsReturned
from django.db import connections, models
from django.db.models import Q, Value
from django.db.models.lookups import Lookup

from ..django_internals import CompiledSQL, compile_query, precompilable, run_precompiled

_UNCOMPILED = object()


class PreparedQuerySet:
    """``queryset`` built with ``markers`` for values, compiled once per database, run with other values.

    ``db_value(value, connection)`` turns a value (marker or real) into the parameter the database gets;
    by default the value itself, which fits strings compared with ``exact`` or ``iexact``.
    """

    def __init__(
        self,
        queryset: models.QuerySet,
        markers: Sequence[Any],
        db_value: Callable[[Any, Any], Any] | None = None,
    ) -> None:
        self.queryset, self.markers = precompilable(queryset), list(markers)
        self.db_value = db_value or (lambda value, connection: value)
        self.compiled: dict[str, Prepared | None] = {}

    def compile(self, alias: str) -> Prepared | None:
        """The SQL and the markers' positions in its parameters; None when a marker is not there as itself."""
        connection = connections[alias]
        try:
            compiled = compile_query(self.queryset, alias)
        except EmptyResultSet:
            return None
        positions = []
        for marker in self.markers:
            marker = self.db_value(marker, connection)
            found = [
                index for index, param in enumerate(compiled.params) if type(param) is type(marker) and param == marker
            ]
            if not found or str(marker) in compiled.sql:
                return None
            positions.append(found)
        return Prepared(compiled, positions)

    def rows(self, values: Sequence[Any]) -> list[models.Model] | None:
        """The rows for ``values`` (one per marker); None when this queryset cannot be prepared."""
        alias = self.queryset.db
        prepared = self.compiled.get(alias, _UNCOMPILED)
        if prepared is _UNCOMPILED:
            prepared = self.compiled[alias] = self.compile(alias)
        if prepared is None:
            return None
        connection = connections[alias]
        params = prepared.bind([self.db_value(value, connection) for value in values])
        return run_precompiled(self.queryset, prepared.compiled, params)


class Prepared:
    """Compiled SQL, and where each marker's value goes in its parameters."""

    def __init__(self, compiled: CompiledSQL, positions: list[list[int]]) -> None:
        self.compiled, self.positions = compiled, positions

    def bind(self, values: Sequence[Any]) -> list[Any]:
        params = list(self.compiled.params)
        for value, positions in zip(values, self.positions, strict=True):
            for position in positions:
                params[position] = value
        return params


class PreparedLookup:
    """``queryset.get(**{path: value})``, compiled once per database, for a UUID, integer or string field.

    ``queryset`` must not change between calls (a viewset's cached queryset). Raises what ``get`` raises:
    ``DoesNotExist``, ``MultipleObjectsReturned``, and ``ValidationError`` for a value of another type.
    """

    def __init__(self, queryset: models.QuerySet, path: str) -> None:
        self.queryset, self.path = queryset, path
        self.field = field_at(queryset.model, path)
        marker = marker_for(self.field)  # no request names it, and no other parameter of the query equals it
        # A second row would mean MultipleObjectsReturned.
        self.prepared = PreparedQuerySet(queryset.filter(**{path: marker})[:2], [marker], self.db_value)

    @classmethod
    def supports(cls, queryset: models.QuerySet, path: str) -> bool:
        try:
            return marker_for(field_at(queryset.model, path)) is not None
        except (LookupError, AttributeError):
            return False

    def db_value(self, value: Any, connection: Any) -> Any:
        """``value`` as the exact lookup passes it to the database (a UUID, or its hex on SQLite)."""
        return self.field.get_db_prep_value(self.field.get_prep_value(value), connection, prepared=True)

    def get(self, value: Any) -> models.Model:
        rows = self.prepared.rows([value])
        if rows is None:
            return self.queryset.get(**{self.path: value})
        model = self.queryset.model
        if not rows:
            raise model.DoesNotExist(f"No {model._meta.object_name} matches the given query.")
        if len(rows) > 1:
            raise MultipleObjectsReturned(f"More than one {model._meta.object_name} has this id.")
        return rows[0]


def field_at(model: type[models.Model], path: str) -> models.Field:
    """The model field a lookup path (``scim__scim_id``, ``pk``) ends at."""
    *relations, name = path.split("__")
    for relation in relations:
        model = model._meta.get_field(relation).related_model
    return model._meta.pk if name == "pk" else model._meta.get_field(name)


def marker_for(field: models.Field) -> Any:
    """A value of ``field``'s type that no request names; None for types without one."""
    if isinstance(field, models.UUIDField):
        return uuid.uuid4()
    if isinstance(field, models.IntegerField):
        return integer_markers(1)[0]
    if isinstance(field, (models.CharField, models.TextField)):
        return string_markers(1)[0]
    return None


# -- filters ---------------------------------------------------------------

LITERALS = (bool, int, type(None))  # kept in a filter's shape: they may change the SQL (isnull=True)


def q_shape(q: Q) -> tuple[Hashable, list[str]] | None:
    """``q``'s shape (its tree, lookups and non-string values) and its string values in order.

    Two filters with the same shape compile to the same SQL but for those strings. None when a
    condition is neither ``(lookup, value)`` with a string, boolean, integer or null value nor a lookup
    expression comparing with a string.
    """
    values: list[str] = []

    def walk(node: Q) -> Hashable | None:
        children = []
        for child in node.children:
            if isinstance(child, Q):
                shape = walk(child)
                if shape is None:
                    return None
                children.append(shape)
            elif isinstance(child, Lookup):  # Exact(F("column"), Value("...")), IExact(KeyTextTransform(...), "...")
                rhs = child.rhs.value if isinstance(child.rhs, Value) else child.rhs
                if not isinstance(rhs, str) or not _hashable(child.lhs):
                    return None
                values.append(rhs)
                children.append((type(child), child.lhs, isinstance(child.rhs, Value)))
            elif isinstance(child, tuple) and len(child) == 2 and isinstance(child[0], str):
                lookup, value = child
                if isinstance(value, str):
                    values.append(value)
                    children.append((lookup, str))
                elif isinstance(value, LITERALS):
                    children.append((lookup, type(value), value))
                else:
                    return None
            else:
                return None
        return (node.connector, node.negated, tuple(children))

    shape = walk(q)
    return None if shape is None else (shape, values)


def q_with_values(q: Q, values: Sequence[str]) -> Q:
    """A copy of ``q`` with its string values replaced by ``values``, in order."""
    remaining = iter(values)

    def rebuild(node: Q) -> Q:
        copy = Q()
        copy.connector, copy.negated = node.connector, node.negated
        for child in node.children:
            if isinstance(child, Q):
                copy.children.append(rebuild(child))
            elif isinstance(child, Lookup):
                rhs = next(remaining)
                if isinstance(child.rhs, Value):
                    value = copy_module.copy(child.rhs)
                    value.value = rhs
                    rhs = value
                copy.children.append(type(child)(child.lhs, rhs))
            else:
                lookup, value = child
                copy.children.append((lookup, next(remaining) if isinstance(value, str) else value))
        return copy

    return rebuild(q)


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def integer_markers(count: int) -> list[int]:
    """Distinct integers no key takes (negative, and within 32 bits)."""
    start = -(10**9 + uuid.uuid4().int % 10**9)
    return [start - index for index in range(count)]


def string_markers(count: int) -> list[str]:
    """Strings no request sends, that lowercasing, folding, trimming or escaping would all change."""
    token = uuid.uuid4().hex
    return [f" Drf\u00dfScim%_{token}{index} " for index in range(count)]
