"""Index pagination (RFC 7644 §3.4.2.4) and the ListResponse envelope."""

from __future__ import annotations

from typing import Any

from django.db import models
from rest_framework.pagination import BasePagination
from rest_framework.response import Response

from .constants import LIST_RESPONSE_SCHEMA
from .exceptions import InvalidValue
from .params import scim_params
from .settings import scim_settings


def list_response(resources: list[Any], total: int, start_index: int = 1) -> dict[str, Any]:
    """A ListResponse body."""
    return {
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": total,
        "itemsPerPage": len(resources),
        "startIndex": start_index,
        "Resources": resources,
    }


class SCIMPagination(BasePagination):
    """``startIndex`` (1-based) and ``count`` paging with one COUNT and one LIMIT/OFFSET query.

    A startIndex below 1 means 1, a negative count means 0, count=0 returns only
    totalResults, and a count above ``MAX_PAGE_SIZE`` is lowered to it.
    """

    start_index_query_param = "startIndex"
    count_query_param = "count"

    def get_default_page_size(self) -> int:
        return scim_settings.DEFAULT_PAGE_SIZE

    def get_max_page_size(self) -> int:
        return scim_settings.MAX_PAGE_SIZE

    def _integer(self, params: Any, name: str) -> int | None:
        raw = params.get(name)
        if raw is None or raw == "":
            return None
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise InvalidValue(f"{name} must be an integer, got {raw!r}.") from None

    def get_start_index(self, params: Any) -> int:
        value = self._integer(params, self.start_index_query_param)
        return max(value, 1) if value is not None else 1

    def get_count(self, params: Any) -> int:
        value = self._integer(params, self.count_query_param)
        if value is None:
            value = self.get_default_page_size()
        return min(max(value, 0), self.get_max_page_size())

    def get_params(self, request: Any) -> Any:
        """Paging parameters: the query string, or a SearchRequest body."""
        return scim_params(request)

    def paginate_queryset(self, queryset: models.QuerySet, request: Any, view: Any = None) -> list[Any]:
        params = self.get_params(request)
        self.start_index = self.get_start_index(params)
        self.count = self.get_count(params)
        self.total = queryset.count()
        if self.count == 0 or self.start_index > self.total:
            return []
        offset = self.start_index - 1
        return list(queryset[offset : offset + self.count])

    def get_paginated_response(self, data: list[Any]) -> Response:
        return Response(list_response(list(data), self.total, self.start_index))

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["schemas", "totalResults", "Resources"],
            "properties": {
                "schemas": {"type": "array", "items": {"type": "string", "enum": [LIST_RESPONSE_SCHEMA]}},
                "totalResults": {"type": "integer", "minimum": 0},
                "itemsPerPage": {"type": "integer", "minimum": 0},
                "startIndex": {"type": "integer", "minimum": 1},
                "Resources": schema,
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": self.start_index_query_param,
                "required": False,
                "in": "query",
                "description": "1-based index of the first result.",
                "schema": {"type": "integer", "minimum": 1},
            },
            {
                "name": self.count_query_param,
                "required": False,
                "in": "query",
                "description": "Maximum number of results per page.",
                "schema": {"type": "integer", "minimum": 0},
            },
        ]
