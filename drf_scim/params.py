"""The list parameters a POST .search sends in its body (RFC 7644 §3.4.3) instead of the query string."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .constants import SEARCH_REQUEST_SCHEMA
from .exceptions import InvalidValue

SEARCH_FIELDS = {
    "attributes": list,
    "excludedAttributes": list,
    "filter": str,
    "sortBy": str,
    "sortOrder": str,
    "startIndex": int,
    "count": int,
    "cursor": str,
}


def search_params(body: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a SearchRequest body and return its parameters (names matched ignoring case)."""
    schemas = body.get("schemas")
    if schemas is not None and (not isinstance(schemas, list) or SEARCH_REQUEST_SCHEMA not in schemas):
        raise InvalidValue(f"A SearchRequest's schemas must contain {SEARCH_REQUEST_SCHEMA!r}.")
    names = {name.lower(): name for name in SEARCH_FIELDS}
    params: dict[str, Any] = {}
    for key, value in body.items():
        name = names.get(str(key).lower())
        if name is None or value is None:
            continue
        expected = SEARCH_FIELDS[name]
        if expected is list and isinstance(value, str):
            value = [part for part in value.split(",")]
        if expected is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise InvalidValue(f"SearchRequest {name} must be an integer.")
        if not isinstance(value, expected) or (expected is list and not all(isinstance(v, str) for v in value)):
            raise InvalidValue(
                f"SearchRequest {name} must be a {'list of strings' if expected is list else expected.__name__}."
            )
        params[name] = value
    return params
