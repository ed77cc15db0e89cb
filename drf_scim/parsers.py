"""Request parsers: SCIM accepts ``application/scim+json`` and ``application/json``."""

from __future__ import annotations

import json
from typing import Any

from rest_framework import parsers

from .constants import SCIM_MEDIA_TYPE
from .exceptions import InvalidSyntax, PayloadTooLarge
from .settings import scim_settings


class SCIMParser(parsers.JSONParser):
    """Parse a JSON body, refusing bodies over ``MAX_PAYLOAD_SIZE`` before reading them."""

    media_type = SCIM_MEDIA_TYPE

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        request = (parser_context or {}).get("request")
        limit = scim_settings.MAX_PAYLOAD_SIZE
        if request is not None and limit:
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > limit:
                raise PayloadTooLarge(
                    f"The request body is {length} bytes; the limit (maxPayloadSize) is {limit} bytes."
                )
        if stream is None:
            raise InvalidSyntax("The request body is empty.")
        raw = stream.read(limit + 1) if limit else stream.read()
        if limit and len(raw) > limit:
            raise PayloadTooLarge(f"The request body exceeds the limit (maxPayloadSize) of {limit} bytes.")
        try:
            return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant, object_pairs_hook=_unique_keys)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise InvalidSyntax(f"The request body is not valid JSON: {exc}") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object with a key given twice is ambiguous: reject it rather than keep one silently.

    SCIM attribute names are case-insensitive (RFC 7643 §2.1), so keys differing only in case
    name the same attribute twice too.
    """
    result: dict[str, Any] = {}
    folded: dict[str, str] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        other = folded.setdefault(key.casefold(), key)
        if other != key:
            raise ValueError(f"keys {other!r} and {key!r} differ only in case (attribute names are case-insensitive)")
        result[key] = value
    return result


class JSONParser(SCIMParser):
    """The same parser for ``application/json``, which many identity providers send."""

    media_type = "application/json"
