"""The policies every SCIM view shares, and the view that answers unknown paths."""

from __future__ import annotations

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
    def content_negotiation_class(self) -> type:
        return scim_settings.CONTENT_NEGOTIATION_CLASS

    def get_exception_handler(self) -> Callable:
        return scim_settings.EXCEPTION_HANDLER


class NotFoundView(SCIMViewMixin, APIView):
    """Answer every request for a path the SCIM router does not serve with a SCIM 404."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def not_found(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        raise exceptions.NotFound(f"There is no SCIM endpoint at {request.path}.")

    get = post = put = patch = delete = options = not_found
