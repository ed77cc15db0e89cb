"""DRF fields for SCIM attributes.

They behave like DRF's own fields, accept the SCIM characteristics as keyword
arguments (see :mod:`drf_scim.schema.attributes`), and follow SCIM's rules for
values: strings are never trimmed nor coerced from other types, optional
attributes accept ``null`` (which clears them), and booleans accept the strings
``"true"``/``"false"`` in any case because identity providers send them.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import models
from rest_framework import serializers

from .schema.attributes import BINARY, REFERENCE, SCIM_OPTIONS, STRING
from .tenancy import tenant_of


class AttributeMixin:
    """Accept SCIM characteristics as keyword arguments and make optional attributes nullable."""

    scim_defaults: dict[str, Any] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        options = dict(self.scim_defaults)
        options.update({key: kwargs.pop(key) for key in SCIM_OPTIONS if key in kwargs})
        self.scim_options = options
        if not kwargs.get("required", False) and not kwargs.get("read_only", False):
            kwargs.setdefault("allow_null", True)
        super().__init__(*args, **kwargs)


class StringAttribute(AttributeMixin, serializers.CharField):
    """A SCIM string: only JSON strings are accepted, and kept exactly as sent."""

    scim_defaults = {"scim_type": STRING}
    default_error_messages = {"invalid": "Must be a string.", "nul": "Must not contain the NUL character."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        if not kwargs.get("required", False):
            kwargs.setdefault("allow_blank", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        if "\x00" in data:
            self.fail("nul")
        return super().to_internal_value(data)


TENANT_SEPARATOR = "\x1f"  # ASCII unit separator: no client value may contain it, so names never collide


class TenantUniqueStringAttribute(StringAttribute):
    """A string kept in a column that is unique across all tenants (auth's username, Group.name).

    SCIM makes such values unique per tenant only, so for a tenant other than the default one the
    column holds ``<tenant><US><value>`` (US: the ASCII unit separator, which values may not
    contain, so two tenants' values can never meet); clients only ever see ``<value>``.
    ``max_length`` is the column's, prefix included.
    """

    default_error_messages = {"separator": "Must not contain the unit separator character (U+001F)."}

    def get_attribute(self, instance: Any) -> Any:
        return self.unprefixed(super().get_attribute(instance), self.parent.get_resource(instance).tenant)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if TENANT_SEPARATOR in value:
            self.fail("separator")
        tenant = tenant_of(self)
        instance = getattr(self.parent, "instance", None)
        if isinstance(instance, models.Model):
            current = super().get_attribute(instance)
            if isinstance(current, str) and self.unprefixed(current, tenant) == value:
                return current  # unchanged: an account adopted into a tenant keeps its unprefixed name
        stored = self.prefix_for(tenant) + value
        if self.max_length is not None and len(stored) > self.max_length:
            self.fail("max_length", max_length=self.max_length - len(stored) + len(value))
        return stored

    @staticmethod
    def prefix_for(tenant: str) -> str:
        return f"{tenant}{TENANT_SEPARATOR}" if tenant else ""

    @classmethod
    def unprefixed(cls, stored: Any, tenant: str) -> Any:
        """The client's value of a stored name."""
        prefix = cls.prefix_for(tenant)
        if prefix and isinstance(stored, str) and stored.startswith(prefix):
            return stored[len(prefix) :]
        return stored


class ReferenceAttribute(StringAttribute):
    """A SCIM reference (a URI), stored as sent."""

    scim_defaults = {"scim_type": REFERENCE, "reference_types": ("external",), "case_exact": True}


class BinaryAttribute(StringAttribute):
    """A SCIM binary value: base64 text, checked and stored as sent."""

    scim_defaults = {"scim_type": BINARY, "case_exact": True}
    default_error_messages = {"invalid": "Must be a base64-encoded string."}

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        try:
            base64.b64decode("".join(value.split()), validate=True)
        except (binascii.Error, ValueError):
            self.fail("invalid")
        return value


class BooleanAttribute(AttributeMixin, serializers.BooleanField):
    """A SCIM boolean; ``"True"``/``"false"`` strings (any case) are accepted as Entra sends them."""

    default_error_messages = {"invalid": "Must be a boolean."}

    def to_internal_value(self, data: Any) -> bool:
        if isinstance(data, bool):
            return data
        if isinstance(data, str) and data.strip().lower() in ("true", "false"):
            return data.strip().lower() == "true"
        self.fail("invalid")

    def to_representation(self, value: Any) -> bool | None:
        if value is True or value is False:  # what a model's BooleanField holds: DRF's lookups skipped
            return value
        return super().to_representation(value)


class IntegerAttribute(AttributeMixin, serializers.IntegerField):
    """A SCIM integer: a JSON number without a fractional part."""

    default_error_messages = {"invalid": "Must be an integer."}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class DecimalAttribute(AttributeMixin, serializers.FloatField):
    """A SCIM decimal: any JSON number."""

    default_error_messages = {"invalid": "Must be a number."}

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            self.fail("invalid")
        return super().to_internal_value(data)


class DateTimeAttribute(AttributeMixin, serializers.DateTimeField):
    """A SCIM dateTime (xsd:dateTime)."""


class PasswordAttribute(AttributeMixin, serializers.CharField):
    """The write-only password: hashed on the way in with Django's hashers, never returned."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("write_only", True)
        kwargs.setdefault("required", False)
        kwargs.setdefault("trim_whitespace", False)
        kwargs.setdefault("style", {"input_type": "password"})
        super().__init__(**kwargs)

    def run_validation(self, data: Any = serializers.empty) -> Any:
        if data is None:
            # An explicit null (Entra sends them) keeps the current password.
            raise serializers.SkipField()
        return super().run_validation(data)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return make_password(super().to_internal_value(data))
