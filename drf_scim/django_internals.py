"""Every use drf_scim makes of Django's private API, in one place.

Each function leans on something Django does not document: a queryset's deferred filter, its result
cache, its query's annotations, the prefetch cache of an instance, the state a compiler keeps after
compiling. ``tests/test_django_internals.py`` pins each one, so that a Django upgrade that changes them
fails there, by name, rather than somewhere in a SCIM request.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import models
from django.db.models import Q
from django.db.models.sql import Query


def defer_filter(queryset: models.QuerySet, condition: Q) -> models.QuerySet:
    """``queryset.filter(condition)``, with the condition added to the SQL query only when something reads
    it (as Django's related managers add theirs): a read that runs SQL compiled earlier never builds it."""
    queryset._defer_next_filter = True
    return queryset.filter(condition)


def defer_unjoined(queryset: models.QuerySet, paths: Iterable[str]) -> models.QuerySet:
    """``queryset.defer(*paths)`` but for the paths its ``select_related`` traverses: Django refuses a field
    both deferred and followed (and with ``select_related()`` of every relation, nothing is deferred)."""
    joined = queryset.query.select_related
    if joined is True:
        return queryset

    def traversed(path: str) -> bool:
        node = joined
        for name in path.split("__"):
            if not isinstance(node, dict) or name not in node:
                return False
            node = node[name]
        return True

    return queryset.defer(*(path for path in paths if not traversed(path)))


def is_evaluated(queryset: models.QuerySet) -> bool:
    """Whether ``queryset`` has run and holds its rows (a prefetch filled it)."""
    return queryset._result_cache is not None


def annotation_names(queryset: models.QuerySet) -> Mapping[str, Any]:
    """The annotations ``queryset`` selects, by name."""
    return queryset.query.annotations


def has_filters(queryset: models.QuerySet) -> bool:
    """Whether ``queryset`` has a WHERE clause (a default manager that narrows its rows)."""
    return queryset.query.has_filters()


def values_column(queryset: models.QuerySet) -> str:
    """The one column a ``values_list(name, flat=True)`` queryset reads."""
    return queryset.query.values_select[0]


def forget_prefetched(instance: models.Model) -> None:
    """Drop the related rows prefetched for ``instance`` (a write changed them)."""
    instance._prefetched_objects_cache = {}


def forget_related(instance: models.Model, name: str) -> None:
    """Drop the related object ``instance.<name>`` cached by an earlier access (its row was deleted)."""
    instance._state.fields_cache.pop(name, None)


class CompiledSQL:
    """The SQL of a query compiled on one database, and what compiling left on the compiler.

    ``converters`` remembers, per connection, what turns each column's value into Python: the columns
    never change, and asking each column's backend and field for every read costs a good part of it.
    """

    def __init__(self, sql: str, params: list[Any], state: dict[str, Any]) -> None:
        self.sql, self.params, self.state = sql, params, state
        self.converters: weakref.WeakKeyDictionary[Any, dict[int, Any]] = weakref.WeakKeyDictionary()

    def converters_on(self, compiler: Any, expressions: list[Any]) -> dict[int, Any]:
        converters = self.converters.get(compiler.connection)
        if converters is None:
            del compiler.get_converters  # Django's own, for this call and the ones it makes (composite keys)
            converters = self.converters[compiler.connection] = compiler.get_converters(expressions)
        return converters


def compile_query(queryset: models.QuerySet, alias: str) -> CompiledSQL:
    """``queryset``'s SQL on ``alias``, compiled on a copy (compiling may alter a query). Raises
    ``EmptyResultSet`` for a query that matches nothing."""
    compiler = queryset.query.clone().get_compiler(alias)
    sql, params = compiler.as_sql()
    state = {key: value for key, value in vars(compiler).items() if key not in ("query", "connection", "using")}
    return CompiledSQL(sql, list(params), state)


class PrecompiledQuery(Query):
    """A query that runs SQL compiled earlier with new parameters instead of compiling itself.

    Only the clone that carries ``precompiled`` does so: any query derived from it (a count, a filter)
    is a plain query again and compiles as usual.
    """

    precompiled: tuple[CompiledSQL, list[Any]] | None = None

    def clone(self) -> Query:
        clone = super().clone()
        clone.__dict__.pop("precompiled", None)
        return clone

    def get_compiler(self, using: str | None = None, connection: Any = None, elide_empty: bool = True) -> Any:
        compiler = super().get_compiler(using, connection, elide_empty)
        if self.precompiled is not None:
            compiled, params = self.precompiled
            compiler.__dict__.update(compiled.state)  # what compiling left on the compiler: columns, related rows
            compiler.as_sql = lambda *args, **kwargs: (compiled.sql, params)
            compiler.get_converters = lambda expressions: compiled.converters_on(compiler, expressions)
        return compiler


def precompilable(queryset: models.QuerySet) -> models.QuerySet:
    """A copy of ``queryset`` that ``run_precompiled`` can run."""
    queryset = queryset.all()
    queryset.query = queryset.query.chain(PrecompiledQuery)
    return queryset


def run_precompiled(queryset: models.QuerySet, compiled: CompiledSQL, params: list[Any]) -> list[models.Model]:
    """The rows of ``precompilable(...)``'s ``queryset`` for ``compiled`` SQL with ``params``."""
    queryset = queryset.all()
    queryset.query.precompiled = (compiled, params)
    return list(queryset)
