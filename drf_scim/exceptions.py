"""SCIM errors (RFC 7644 §3.12) and the exception handler that renders every failure as one."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import OperationalError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from .constants import ERROR_SCHEMA

logger = logging.getLogger("drf_scim")


class SCIMException(exceptions.APIException):
    """An APIException that carries a SCIM ``scimType``."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "The request is not valid."
    default_code = "invalid"
    scim_type: str | None = None

    def __init__(self, detail: Any = None, code: str | None = None, scim_type: str | None = None):
        super().__init__(detail, code)
        if scim_type is not None:
            self.scim_type = scim_type


class InvalidSyntax(SCIMException):
    default_detail = "The request body could not be parsed."
    scim_type = "invalidSyntax"


class InvalidValue(SCIMException):
    default_detail = "A required value was missing, or a value was not compatible with its attribute."
    scim_type = "invalidValue"


class InvalidFilter(SCIMException):
    default_detail = "The filter is not valid."
    scim_type = "invalidFilter"


class InvalidPath(SCIMException):
    default_detail = "The path attribute is not valid."
    scim_type = "invalidPath"


class NoTarget(SCIMException):
    default_detail = "The path did not yield an attribute or value that could be operated on."
    scim_type = "noTarget"


class Mutability(SCIMException):
    default_detail = "The request attempted to modify an immutable attribute."
    scim_type = "mutability"


class TooMany(SCIMException):
    default_detail = "The request would return more results than the server allows."
    scim_type = "tooMany"


class InvalidCursor(SCIMException):
    default_detail = "The cursor is not valid for this request."
    scim_type = "invalidCursor"


class ExpiredCursor(SCIMException):
    default_detail = "The cursor has expired; start again without one."
    scim_type = "expiredCursor"


class Uniqueness(SCIMException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "One or more of the attribute values are already in use or are reserved."
    default_code = "conflict"
    scim_type = "uniqueness"


class PreconditionFailed(SCIMException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The resource has changed since the version given in If-Match."
    default_code = "precondition_failed"


class PayloadTooLarge(SCIMException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


class LengthRequired(SCIMException):
    status_code = status.HTTP_411_LENGTH_REQUIRED
    default_detail = (
        "A request body must come with a Content-Length header; chunked transfer encoding is not supported."
    )
    default_code = "length_required"


class TokenInURL(SCIMException):
    """A bearer token in the query string (RFC 6750 §2.3), which proxies and access logs record: refused."""

    default_detail = (
        "Access tokens in the URL are refused (they end up in logs): send the token in the Authorization header."
    )
    default_code = "invalid_request"
    auth_header = 'Bearer error="invalid_request"'


class NotImplementedSCIM(SCIMException):
    status_code = status.HTTP_501_NOT_IMPLEMENTED
    default_detail = "This operation is not supported by the service provider."
    default_code = "not_implemented"


class ServiceUnavailable(SCIMException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The service is temporarily unavailable. Try again later."
    default_code = "unavailable"


def error_body(status_code: int, detail: str, scim_type: str | None = None) -> dict[str, Any]:
    """The JSON body of a SCIM Error response."""
    body: dict[str, Any] = {"schemas": [ERROR_SCHEMA], "status": str(status_code), "detail": detail}
    if scim_type:
        body["scimType"] = scim_type
    return body


def flatten_detail(detail: Any, prefix: str = "") -> list[str]:
    """Turn DRF's nested error detail into ``attribute.path: message`` lines."""
    if isinstance(detail, dict):
        lines = []
        for key, value in detail.items():
            name = "" if key == "non_field_errors" else str(key)
            path = f"{prefix}.{name}" if prefix and name else (prefix or name)
            lines.extend(flatten_detail(value, path))
        return lines
    if isinstance(detail, list):
        lines = []
        for index, value in enumerate(detail):
            nested = isinstance(value, (dict, list)) and len(detail) > 1
            lines.extend(flatten_detail(value, f"{prefix}[{index}]" if nested else prefix))
        return lines
    return [f"{prefix}: {detail}" if prefix else str(detail)]


def translate_exception(exc: Exception) -> exceptions.APIException | None:
    """Map Django and database exceptions onto APIExceptions; None when unknown."""
    if isinstance(exc, exceptions.APIException):
        return exc
    if isinstance(exc, Http404):
        return exceptions.NotFound("The resource was not found.")
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge()
    if isinstance(exc, OperationalError):
        logger.warning("Database unavailable while serving a SCIM request", exc_info=exc)
        return ServiceUnavailable()
    return None


def scim_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """Render any exception raised by a SCIM view as a SCIM Error response."""
    api_exc = translate_exception(exc)
    set_rollback()
    if api_exc is None:
        logger.error("Unhandled error in a SCIM request", exc_info=exc)
        return Response(
            error_body(500, "An unexpected error occurred."),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )

    headers: dict[str, str] = {}
    if getattr(api_exc, "auth_header", None):
        headers["WWW-Authenticate"] = api_exc.auth_header
    if getattr(api_exc, "wait", None):
        headers["Retry-After"] = str(int(api_exc.wait))
    if isinstance(api_exc, ServiceUnavailable):
        headers["Retry-After"] = "5"

    scim_type = getattr(api_exc, "scim_type", None)
    if isinstance(api_exc, exceptions.ValidationError):
        scim_type = scim_type or "invalidValue"
        detail = "; ".join(flatten_detail(api_exc.detail)) or "Invalid value."
    elif isinstance(api_exc, exceptions.ParseError):
        scim_type = scim_type or "invalidSyntax"
        detail = str(api_exc.detail)
    elif isinstance(api_exc.detail, (dict, list)):
        detail = "; ".join(flatten_detail(api_exc.detail))
    else:
        detail = str(api_exc.detail)

    return Response(error_body(api_exc.status_code, detail, scim_type), status=api_exc.status_code, headers=headers)
