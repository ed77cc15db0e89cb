"""The policies every SCIM view shares, and the view that answers unknown paths."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.signals import connection_created
from django.http import HttpResponse
from rest_framework import exceptions
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from .activity import record_request
from .exceptions import LengthRequired, PayloadTooLarge, error_body
from .settings import scim_settings

logger = logging.getLogger("drf_scim")
BODY_METHODS = ("POST", "PUT", "PATCH")


class SCIMViewMixin:
    """The policies of every SCIM view, read from ``DRF_SCIM`` at request time.

    Each is a property, so a subclass overrides it the DRF way, with a plain
    class attribute (``renderer_classes = [...]``).
    """

    @property
    def authentication_classes(self) -> list:
        return scim_settings.AUTHENTICATION_CLASSES

    @property
    def permission_classes(self) -> list:
        return scim_settings.PERMISSION_CLASSES

    @property
    def parser_classes(self) -> list:
        return scim_settings.PARSER_CLASSES

    @property
    def renderer_classes(self) -> list:
        return scim_settings.RENDERER_CLASSES

    @property
    def throttle_classes(self) -> list:
        return scim_settings.THROTTLE_CLASSES

    @property
    def content_negotiation_class(self) -> type:
        return scim_settings.CONTENT_NEGOTIATION_CLASS

    def get_exception_handler(self) -> Callable:
        return scim_settings.EXCEPTION_HANDLER

    def initial(self, request: Any, *args: Any, **kwargs: Any) -> None:
        self.apply_statement_timeout()
        super().initial(request, *args, **kwargs)
        self.check_request_body(request)

    def apply_statement_timeout(self) -> None:
        """Bound every statement of this request by ``STATEMENT_TIMEOUT`` (before the token is looked up)."""
        set_statement_timeout(scim_settings.STATEMENT_TIMEOUT)

    def check_request_body(self, request: Any) -> None:
        """Refuse a body too large (413) or of unknown length (411) once the client is authenticated and
        before anything reads it."""
        if request.method not in BODY_METHODS:
            return
        meta = request.META
        length = meta.get("CONTENT_LENGTH") or ""
        if not length and "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower():
            raise LengthRequired()
        limit = scim_settings.MAX_PAYLOAD_SIZE
        try:
            too_large = bool(limit) and int(length or 0) > limit
        except ValueError:
            too_large = False
        if too_large:
            raise PayloadTooLarge(f"The request body is {length} bytes; the limit (maxPayloadSize) is {limit} bytes.")

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.monotonic()
        outer_timeout = getattr(connections[DEFAULT_DB_ALIAS], "drf_scim_pending_timeout", None)  # Bulk's
        try:
            response = super().dispatch(request, *args, **kwargs)
        except Exception as exc:  # raised outside the exception handler (by the handler itself, say)
            response = self.failure_response(exc)
        finally:
            end_statement_timeout(restore=outer_timeout)
        log_request(getattr(self, "request", None), request, response, time.monotonic() - started, self.logged_tenant())
        record_request(getattr(self, "request", None), request, response)
        return response

    def logged_tenant(self) -> str | None:
        """The tenant this request acted for, if the view resolved one (the request log names it)."""
        context = self.__dict__.get("scim_context")
        return getattr(context, "tenant", None) if context is not None else getattr(self, "tenant", None)

    def finalize_response(self, request: Any, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        response.headers.setdefault("Cache-Control", self.cache_control)
        return response

    # SCIM responses carry accounts and their attributes: no cache (a proxy's, the browser's) keeps them.
    cache_control = "no-store"

    def failure_response(self, exc: Exception) -> HttpResponse:
        """A plain SCIM 500 for an exception the exception handler could not answer, so that no error page
        (Django's technical page lists local variables, tokens among them) ever answers a SCIM request."""
        logger.error("Unhandled error outside the SCIM exception handler", exc_info=exc)
        response = HttpResponse(
            json.dumps(error_body(500, "An unexpected error occurred.")),
            status=500,
            content_type=scim_settings.RESPONSE_MEDIA_TYPE,
        )
        response["Cache-Control"] = self.cache_control
        return response


def set_statement_timeout(milliseconds: int | None, using: str = DEFAULT_DB_ALIAS) -> None:
    """Set PostgreSQL's ``statement_timeout`` on the connection ``using``, once per database session: a
    statement that runs longer is cancelled (an OperationalError, which answers a SCIM 503), so no filter,
    page or write can hold a worker past it. Other databases, and ``milliseconds`` 0 or None: nothing.

    A connection not open yet gets it when it opens (a request that needs no database opens none); the
    setting stays on the session, and another request served by the same connection keeps it.
    """
    connection = connections[using]
    if not milliseconds or connection.vendor != "postgresql":
        return
    connection.drf_scim_pending_timeout = int(milliseconds)  # for a session opened during this request
    if connection.connection is not None and getattr(connection, "drf_scim_statement_timeout", None) != int(
        milliseconds
    ):
        _apply_statement_timeout(connection, int(milliseconds))


def end_statement_timeout(using: str = DEFAULT_DB_ALIAS, restore: int | None = None) -> None:
    """The request is over: a session opened from now on gets no timeout from drf_scim (outside SCIM), or
    ``restore``'s (the rest of the Bulk request a bulk operation was dispatched from)."""
    connections[using].drf_scim_pending_timeout = restore


def _apply_statement_timeout(connection: Any, milliseconds: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('statement_timeout', %s, false)", [str(int(milliseconds))])
    # Set inside the request's transaction (ATOMIC_REQUESTS), the setting is undone when that transaction
    # rolls back, as every SCIM error's does: the next request then sets it again rather than take it as set.
    in_request_transaction = connection.in_atomic_block and connection.settings_dict.get("ATOMIC_REQUESTS")
    connection.drf_scim_statement_timeout = None if in_request_transaction else milliseconds


def forget_statement_timeout(sender: Any, connection: Any, **kwargs: Any) -> None:
    """A new database session: it has the timeout a SCIM request asked for before it opened, or none."""
    connection.drf_scim_statement_timeout = None
    pending = getattr(connection, "drf_scim_pending_timeout", None)
    connection.drf_scim_pending_timeout = None  # not again while applying it
    if pending:
        _apply_statement_timeout(connection, pending)
    connection.drf_scim_pending_timeout = pending


connection_created.connect(forget_statement_timeout, dispatch_uid="drf_scim_forget_statement_timeout")


request_logger = logging.getLogger("drf_scim.requests")
REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,100}")


def get_request_id(request: Any) -> str:
    """The id of a request, in its log line and its audit trail: the ``X-Request-ID`` header a proxy or load
    balancer gave it (when it is one: up to 100 letters, digits and ``._:@/+=-``), else one made for it; the
    same on every call (a Bulk request hands its id to its operations)."""
    http_request = getattr(request, "_request", request)
    found = getattr(http_request, "scim_request_id", None)
    if found is None:
        header = http_request.META.get("HTTP_X_REQUEST_ID", "")
        found = header if REQUEST_ID.fullmatch(header) else uuid.uuid4().hex
        http_request.scim_request_id = found
    return found


SECRET_KEYS = ("password", "secret", "token")


def redact(value: Any) -> Any:
    """A copy of a request body with passwords, secrets and tokens replaced by "***"."""
    if isinstance(value, dict):
        return {
            key: "***" if any(word in str(key).lower() for word in SECRET_KEYS) else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


def log_request(request: Any, http_request: Any, response: Any, seconds: float, tenant: str | None = None) -> None:
    """One line on ``drf_scim.requests`` per SCIM request: method, path, status, client, tenant, duration.

    The Authorization header and the query string are never logged; bodies only with
    ``LOG_REQUEST_BODIES``, redacted.
    """
    if getattr(http_request, "scim_logged", False) or not request_logger.isEnabledFor(logging.INFO):
        return
    http_request.scim_logged = True
    # What authentication found, if it ran: reading request.auth would authenticate (again), outside the
    # exception handler.
    auth = getattr(request, "_auth", None)
    application = getattr(auth, "application", None)
    user = getattr(request, "_user", None)
    if application is not None:
        client = application.name
    elif getattr(user, "is_authenticated", False):
        client = user.get_username()
    else:
        client = "-"
    tenant = tenant or "-"
    fields = {
        "method": http_request.method,
        "path": http_request.path,
        "status": response.status_code,
        "client": client,
        "tenant": tenant,
        "duration_ms": round(seconds * 1000, 1),
        "request_id": get_request_id(http_request),
    }
    message = "{method} {path} {status} client={client} tenant={tenant} {duration_ms}ms request_id={request_id}"
    message = message.format(**fields)
    if scim_settings.LOG_REQUEST_BODIES and http_request.method in ("POST", "PUT", "PATCH"):
        try:
            fields["body"] = redact(request.data)
        except Exception:
            fields["body"] = None
        message += f" body={fields['body']!r}"
    request_logger.info(message, extra={"scim": fields})


class NotFoundView(SCIMViewMixin, APIView):
    """Answer every request for a path the SCIM router does not serve with a SCIM 404."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def not_found(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        raise exceptions.NotFound(f"There is no SCIM endpoint at {request.path}.")

    get = post = put = patch = delete = options = not_found
