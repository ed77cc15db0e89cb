"""The read of one resource by id, with its SQL compiled once.

Django compiles a queryset to SQL every time it runs it. A viewset reads a resource by id with the same
queryset every time but for the id, and compiling it (a few dozen columns, the joins, the references
subquery) costs more than PostgreSQL takes to run the prepared statement. ``PreparedLookup`` compiles
the queryset once per database, with a marker in place of the id, and then only binds each request's id
in the marker's place.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import MultipleObjectsReturned
from django.db import connections, models
from django.db.models.sql import Query


class PreparedQuery(Query):
    """A query that answers SQL compiled earlier, with new parameters, instead of compiling itself.

    Only the clone ``PreparedLookup.get`` makes carries the SQL: any query derived from it (a count, a
    filter) is a plain query again and compiles as usual.
    """

    prepared: tuple[dict[str, Any], str, list[Any]] | None = None

    def clone(self) -> Query:
        clone = super().clone()
        clone.__dict__.pop("prepared", None)
        return clone

    def get_compiler(self, using: str | None = None, connection: Any = None, elide_empty: bool = True) -> Any:
        compiler = super().get_compiler(using, connection, elide_empty)
        if self.prepared is not None:
            state, sql, params = self.prepared
            compiler.__dict__.update(state)  # what compiling left on the compiler: columns, related rows
            compiler.as_sql = lambda *args, **kwargs: (sql, params)
        return compiler


class Compiled:
    """The SQL of a lookup's query on one database, and where the looked-up value goes in its parameters."""

    def __init__(self, state: dict[str, Any], sql: str, params: list[Any], positions: list[int]) -> None:
        self.state, self.sql, self.params, self.positions = state, sql, params, positions

    def bind(self, value: Any) -> tuple[dict[str, Any], str, list[Any]]:
        params = list(self.params)
        for position in self.positions:
            params[position] = value
        return self.state, self.sql, params


class PreparedLookup:
    """``queryset.get(**{path: value})`` for a UUID field at ``path``, with the SQL compiled once per database.

    ``queryset`` must not change between calls (a viewset's cached queryset). Raises what ``get`` raises:
    ``DoesNotExist``, ``MultipleObjectsReturned``, and ``ValidationError`` for a value that is no UUID.
    """

    def __init__(self, queryset: models.QuerySet, path: str) -> None:
        self.queryset, self.path = queryset, path
        self.field = field_at(queryset.model, path)
        self.marker = uuid.uuid4()  # no request names it, and no other parameter of the query equals it
        template = queryset.filter(**{path: self.marker})[:2]  # a second row means MultipleObjectsReturned
        template.query = template.query.chain(PreparedQuery)
        self.template = template
        self.compiled: dict[str, Compiled | None] = {}

    @classmethod
    def supports(cls, queryset: models.QuerySet, path: str) -> bool:
        try:
            return isinstance(field_at(queryset.model, path), models.UUIDField)
        except (LookupError, AttributeError):
            return False

    def db_value(self, value: Any, connection: Any) -> Any:
        """``value`` as the exact lookup passes it to the database (a UUID, or its hex on SQLite)."""
        return self.field.get_db_prep_value(self.field.get_prep_value(value), connection, prepared=True)

    def compile(self, alias: str) -> Compiled | None:
        connection = connections[alias]
        compiler = self.template.query.get_compiler(alias)
        sql, params = compiler.as_sql()
        marker = self.db_value(self.marker, connection)
        positions = [index for index, param in enumerate(params) if param == marker]
        if not positions:
            return None  # the backend put the value somewhere else: compile every time
        state = {key: value for key, value in vars(compiler).items() if key not in ("query", "connection", "using")}
        return Compiled(state, sql, list(params), positions)

    def get(self, value: Any) -> models.Model:
        queryset = self.template.all()
        alias = queryset.db
        if alias not in self.compiled:
            self.compiled[alias] = self.compile(alias)
        compiled = self.compiled[alias]
        if compiled is None:
            return self.queryset.get(**{self.path: value})
        queryset.query.prepared = compiled.bind(self.db_value(value, connections[alias]))
        rows = list(queryset)
        if not rows:
            raise queryset.model.DoesNotExist(f"No {queryset.model._meta.object_name} matches the given query.")
        if len(rows) > 1:
            raise MultipleObjectsReturned(f"More than one {queryset.model._meta.object_name} has this id.")
        return rows[0]


def field_at(model: type[models.Model], path: str) -> models.Field:
    """The model field a lookup path (``scim__scim_id``) ends at."""
    *relations, name = path.split("__")
    for relation in relations:
        model = model._meta.get_field(relation).related_model
    return model._meta.get_field(name)
