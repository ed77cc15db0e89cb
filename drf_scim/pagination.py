"""Index pagination (RFC 7644 §3.4.2.4) and the ListResponse envelope."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import time
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.db import models
from django.db.models import Q, Subquery
from django.utils.crypto import salted_hmac
from rest_framework.pagination import BasePagination
from rest_framework.response import Response

from .constants import LIST_RESPONSE_SCHEMA
from .context import SCIMRequestContext, context_of
from .django_internals import annotation_names, values_column
from .exceptions import ExpiredCursor, InvalidCursor, InvalidValue
from .filters.backends import SORT_KEY
from .settings import scim_settings

# Beyond the end of any list, and within the 64-bit OFFSET databases take: a larger startIndex means it.
MAX_OFFSET = 2**62
KEYS_AFTER = "scim_keys_after"  # annotated on a page's rows: how many keys follow the page (page_by_keys)


class CountOf(Subquery):
    """The number of rows of a queryset, as a scalar subquery."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) counted)"
    output_field = models.BigIntegerField()


def keys_after(keys: models.QuerySet, page: Sequence[Any]) -> models.QuerySet:
    """The keys that follow ``page`` (a slice of ``keys``, a list's primary keys in order)."""
    return keys.filter(**{f"{values_column(keys)}__gt": page[-1]}).order_by()


def rows_of_keys(queryset: models.QuerySet, keys: models.QuerySet, page: Sequence[Any]) -> models.QuerySet:
    """The rows of ``page``, each annotated with the number of keys after it (``SCIMPagination.page_by_keys``)."""
    return queryset.filter(pk__in=page).annotate(**{KEYS_AFTER: CountOf(keys_after(keys, page))})


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
    """``startIndex`` (1-based) and ``count`` paging: a LIMIT/OFFSET query and, unless the page holds the
    end of the list, a COUNT (an unfiltered list counts only what follows the page, ``page_by_keys``).

    A startIndex below 1 means 1, a negative count means 0, count=0 returns only
    totalResults, and a count above ``MAX_PAGE_SIZE`` is lowered to it.
    """

    start_index_query_param = "startIndex"
    count_query_param = "count"
    cursor_query_param = "cursor"

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

    def paginate_queryset(self, queryset: models.QuerySet, request: Any, view: Any = None) -> list[Any]:
        context = context_of(view, request)
        params = context.params  # the query string, or a SearchRequest body
        self.count = self.get_count(params)
        self.cursor_page: CursorPage | None = None
        cursor = params.get(self.cursor_query_param)
        if cursor is not None:  # present, even empty: cursor paging (RFC 9865)
            keys = context.resource_keys  # an unfiltered list is counted on the SCIM rows alone
            self.total = (queryset if keys is None else keys).count()
            companion = CursorPage.companion_key(queryset, view)
            self.cursor_page = CursorPage.fetch(queryset, request, context, cursor, self.count, companion)
            return self.cursor_page.rows
        self.start_index = self.get_start_index(params)
        offset = min(self.start_index - 1, MAX_OFFSET)
        if context.resource_keys is not None:
            return self.page_by_keys(queryset, context.resource_keys, offset, context)
        rows = self.read_page(queryset, offset, context)
        if self.count and len(rows) < self.count and (rows or offset == 0):
            self.total = offset + len(rows)  # the page holds the end of the list: no COUNT needed
        else:
            self.total = queryset.count()
        return rows

    def read_page(self, queryset: models.QuerySet, offset: int, context: SCIMRequestContext) -> list[Any]:
        """The rows of the page; a first page with SQL compiled once per filter shape (lookups such as
        ``userName eq "..."``; every later page would be SQL of its own to keep)."""
        if not self.count:
            return []
        rows = context.first_page(queryset, self.count) if offset == 0 else None
        return list(queryset[offset : offset + self.count]) if rows is None else rows

    def page_by_keys(
        self, queryset: models.QuerySet, keys: models.QuerySet, offset: int, context: SCIMRequestContext
    ) -> list[Any]:
        """The page of an unfiltered list, from ``keys`` (the primary keys in list order, read from the SCIM
        rows' index alone): the page's keys, then its rows together with the number of keys after it.

        The total is the offset, plus the page, plus the keys after the page, so the index is walked once
        to its end rather than once to count it and again to skip to the page: a page at 90% reads about
        half the entries a COUNT and an OFFSET would. Two queries, whatever the page and the list.
        """
        if not self.count:
            self.total = keys.count()
            return []
        page = list(keys[offset : offset + self.count])
        if not page:  # an empty list, or a startIndex past its end
            self.total = keys.count() if offset else 0
            return []
        if len(page) < self.count:  # the page holds the end of the list
            self.total = offset + len(page)
            return list(queryset.filter(pk__in=page))
        rows = context.plan.rows_of_keys(lambda markers: rows_of_keys(queryset, keys, markers), page)
        if rows is None:
            rows = list(rows_of_keys(queryset, keys, page))
        after_page = getattr(rows[0], KEYS_AFTER) if rows else keys_after(keys, page).count()  # rows deleted since
        self.total = offset + len(page) + after_page
        return rows

    def get_paginated_response(self, data: list[Any]) -> Response:
        if self.cursor_page is not None:
            body = list_response(list(data), self.total)
            del body["startIndex"]
            body.update(self.cursor_page.links())
            return Response(body)
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
                "nextCursor": {"type": "string"},
                "previousCursor": {"type": "string"},
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
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "Cursor paging (RFC 9865): empty for the first page, then nextCursor or previousCursor.",
                "schema": {"type": "string"},
            },
            {
                "name": self.count_query_param,
                "required": False,
                "in": "query",
                "description": "Maximum number of results per page.",
                "schema": {"type": "integer", "minimum": 0},
            },
        ]


class CursorPage:
    """One page of keyset (cursor) paging: rows after, or before, a position in the list's order.

    The order is the list's own: ``sortBy`` (annotated as ``scim_sort_key``, nulls last) then the
    primary key, so no OFFSET is involved and a page costs the same anywhere in the list, and rows
    inserted meanwhile neither repeat nor shift a page. Cursors are encrypted and authenticated
    (AES-GCM, with a key derived from ``SECRET_KEY``): a client can neither forge one nor read a key
    out of it, and one issued to one client and tenant is invalid for any other. They expire after
    ``CURSOR_TIMEOUT``, only fit the filter and sort they were issued for, and are made of RFC 3986
    unreserved characters only (RFC 9865 §2), so they need no escaping in a URL.
    """

    salt = "drf_scim.cursor"

    def __init__(
        self, rows: list[Any], request: Any, tenant: str, fingerprint: str, has_next: bool, has_previous: bool
    ) -> None:
        self.rows = rows
        self.request = request
        self.tenant = tenant
        self.fingerprint = fingerprint
        self.has_next = has_next
        self.has_previous = has_previous

    @staticmethod
    def fingerprint_of(request: Any, params: Any) -> str:
        parts = [request.path, *(str(params.get(name) or "") for name in ("filter", "sortBy", "sortOrder"))]
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]

    @classmethod
    def fetch(
        cls,
        queryset: models.QuerySet,
        request: Any,
        context: SCIMRequestContext,
        cursor: Any,
        count: int,
        companion: str | None = None,
    ) -> CursorPage:
        """The page after (or before) ``cursor``; ``companion``: see ``companion_key``."""
        fingerprint = cls.fingerprint_of(request, context.params)
        position = cls.decode(cursor, fingerprint, request, context.tenant) if cursor else None
        keyed = SORT_KEY in annotation_names(queryset)
        descending = context.sort_descending
        backward = position is not None and position["d"] == "p"
        if position is not None:
            queryset = queryset.filter(cls.beyond(position, keyed, descending, backward, companion))
        if backward:
            queryset = queryset.reverse()
        rows = list(queryset[: count + 1]) if count else []
        more = len(rows) > count
        rows = rows[:count]
        if backward:
            rows.reverse()
        has_next = more if not backward else True
        has_previous = (position is not None) if not backward else more
        return cls(rows, request, context.tenant, fingerprint, has_next and bool(rows), has_previous and bool(rows))

    @staticmethod
    def companion_key(queryset: models.QuerySet, view: Any) -> str | None:
        """The lookup of the SCIM row's link to the primary key (``scim__user_id``) when the resource is a
        host model with a one-to-one SCIM row (``Meta.scim_relation``), else None.

        PostgreSQL merge-joins a user and its SCIM row in primary key order, but does not carry
        ``auth_user.id > n`` over to the SCIM rows: they were read from the start of the list, and a
        page 90% of the way into 100,000 users read 90,000 of them. Bounding the link as the primary key
        is bounded starts both reads at the cursor.
        """
        get_serializer_class = getattr(view, "get_serializer_class", None)
        meta = getattr(get_serializer_class(), "Meta", None) if get_serializer_class else None
        relation = getattr(meta, "scim_relation", None)
        if not relation:
            return None
        link = queryset.model._meta.get_field(relation).field  # the SCIM row's one-to-one field
        return f"{relation}__{link.attname}" if link.target_field.primary_key else None

    @staticmethod
    def beyond(
        position: dict[str, Any], keyed: bool, descending: bool, backward: bool, companion: str | None = None
    ) -> Q:
        """The rows after ``position`` in the direction of travel (``companion``: see ``companion_key``)."""
        upward = descending == backward  # travelling towards greater keys
        compare = "gt" if upward else "lt"
        after_pk = Q(**{f"pk__{compare}": position["p"]})
        if not keyed:
            return (after_pk & Q(**{f"{companion}__{compare}": position["p"]})) if companion else after_pk
        key = decode_key(position["k"])
        key_is_null = Q(**{f"{SORT_KEY}__isnull": True})
        if key is None:
            # Unassigned keys come last when travelling forward, first when travelling back.
            return (key_is_null & after_pk) | (~key_is_null if backward else Q(pk__in=[]))
        beyond_key = Q(**{f"{SORT_KEY}__{compare}": key}) | (Q(**{SORT_KEY: key}) & after_pk)
        return beyond_key if backward else beyond_key | key_is_null

    @classmethod
    def cipher(cls) -> AESGCM:
        return AESGCM(salted_hmac(cls.salt, "cursor key", algorithm="sha256").digest())

    @staticmethod
    def audience(request: Any, tenant: str) -> bytes:
        """Who a cursor is for: its tenant and the client that asked for it (the associated data)."""
        auth = getattr(request, "auth", None)
        application = getattr(auth, "application", None)
        user = getattr(request, "user", None)
        if application is not None:
            client = f"app:{application.pk}"
        elif getattr(user, "is_authenticated", False):
            client = f"user:{user.pk}"
        else:
            client = "-"
        return f"{tenant}\x1f{client}".encode()

    def encode(self, row: Any, direction: str) -> str:
        state = {"p": row.pk, "d": direction, "f": self.fingerprint, "t": int(time.time())}
        if hasattr(row, SORT_KEY):
            state["k"] = encode_key(getattr(row, SORT_KEY))
        nonce = os.urandom(12)
        sealed = self.cipher().encrypt(
            nonce, json.dumps(state, separators=(",", ":")).encode(), self.audience(self.request, self.tenant)
        )
        return base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode("ascii")

    @classmethod
    def decode(cls, cursor: Any, fingerprint: str, request: Any, tenant: str) -> dict[str, Any]:
        if not isinstance(cursor, str):
            raise InvalidCursor("The cursor must be a string.")
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            state = json.loads(cls.cipher().decrypt(raw[:12], raw[12:], cls.audience(request, tenant)))
        except (binascii.Error, ValueError, InvalidTag, UnicodeError):
            raise InvalidCursor("The cursor was not issued by this server to this client.") from None
        if not isinstance(state, dict) or not isinstance(state.get("t"), int):
            raise InvalidCursor("The cursor was not issued by this server to this client.")
        if time.time() - state["t"] > scim_settings.CURSOR_TIMEOUT:
            raise ExpiredCursor()
        if state.get("f") != fingerprint or state.get("d") not in ("n", "p"):
            raise InvalidCursor("The cursor belongs to another list (filter or sort changed).")
        return state

    def links(self) -> dict[str, str]:
        links = {}
        if self.has_next:
            links["nextCursor"] = self.encode(self.rows[-1], "n")
        if self.has_previous:
            links["previousCursor"] = self.encode(self.rows[0], "p")
        return links


def encode_key(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, uuid.UUID):
        return {"uuid": str(value)}
    return value


def decode_key(value: Any) -> Any:
    if isinstance(value, dict) and "dt" in value:
        return datetime.fromisoformat(value["dt"])
    if isinstance(value, dict) and "uuid" in value:
        return uuid.UUID(value["uuid"])
    return value
