"""The policies every SCIM view shares, and the view that answers unknown paths."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from rest_framework import exceptions
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from .settings import scim_settings


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

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.monotonic()
        response = super().dispatch(request, *args, **kwargs)
        log_request(self.request, request, response, time.monotonic() - started)
        return response


request_logger = logging.getLogger("drf_scim.requests")
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


def log_request(request: Any, http_request: Any, response: Any, seconds: float) -> None:
    """One line on ``drf_scim.requests`` per SCIM request: method, path, status, client, tenant, duration.

    The Authorization header and the query string are never logged; bodies only with
    ``LOG_REQUEST_BODIES``, redacted.
    """
    if getattr(http_request, "scim_logged", False) or not request_logger.isEnabledFor(logging.INFO):
        return
    http_request.scim_logged = True
    auth = getattr(request, "auth", None)
    application = getattr(auth, "application", None)
    user = getattr(request, "_user", None)
    if application is not None:
        client = application.name
    elif getattr(user, "is_authenticated", False):
        client = user.get_username()
    else:
        client = "-"
    tenant = getattr(request, "scim_tenant", None) or "-"
    fields = {
        "method": http_request.method,
        "path": http_request.path,
        "status": response.status_code,
        "client": client,
        "tenant": tenant,
        "duration_ms": round(seconds * 1000, 1),
    }
    message = "{method} {path} {status} client={client} tenant={tenant} {duration_ms}ms".format(**fields)
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
