"""A query expression drf_scim needs and Django lacks: the rows of a subquery as one JSON array."""

from __future__ import annotations

from typing import Any

from django.db import NotSupportedError
from django.db.models import JSONField, Subquery

# The aggregate that turns the subquery's rows (a JSON object "j" and a sort key "o" each) into an array
# in order. SQLite keeps the order of a sorted subquery it aggregates (and has no ORDER BY in aggregates
# before 3.44).
AGGREGATES = {
    "postgresql": "COALESCE(JSONB_AGG(rows.j ORDER BY rows.o), '[]'::jsonb)",
    "sqlite": "JSON_GROUP_ARRAY(JSON(rows.j))",
}


class JSONArraySubquery(Subquery):
    """``(SELECT <json array of the rows> FROM (<subquery>) rows)``: a correlated list in the outer row.

    The subquery selects one JSON object per row as ``j`` and its sort key as ``o``
    (``.order_by(key).values(j=JSONObject(...), o=key)``); the outer row gets the objects as a list of
    dicts in that order, ``[]`` when there are none. PostgreSQL and SQLite
    only (``supported()``); elsewhere callers fetch the rows with a query of their own.
    """

    output_field = JSONField()

    def copy(self) -> JSONArraySubquery:
        clone = super().copy()
        clone.__dict__.pop("_compiled", None)
        return clone

    @staticmethod
    def supported(connection: Any) -> bool:
        return connection.vendor in AGGREGATES

    def as_sql(self, compiler: Any, connection: Any, template: str | None = None, **extra_context: Any):
        if not self.supported(connection):
            raise NotSupportedError(f"JSONArraySubquery is not supported on {connection.vendor}.")
        # A resolved expression is never changed, and a plan's queryset reuses its own in every request
        # (SCIMGenericViewSet.get_queryset): its SQL is compiled once per database. Relabelling (the queryset
        # inside another query) copies the expression, and copy() forgets the SQL.
        compiled = self.__dict__.setdefault("_compiled", {})
        if template is not None or extra_context or connection.alias not in compiled:
            sql, params = super().as_sql(compiler, connection, template, **extra_context)
            sql = f"(SELECT {AGGREGATES[connection.vendor]} FROM {sql} rows)"
            if template is not None or extra_context:
                return sql, params
            compiled[connection.alias] = (sql, tuple(params))
        sql, params = compiled[connection.alias]
        return sql, list(params)
