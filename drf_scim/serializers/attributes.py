"""The attribute serializers and fields a resource is declared with: complex and multi-valued attributes,
schema extensions, ``id`` and ``meta``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from rest_framework import serializers
from rest_framework.fields import empty

from ..exceptions import TooMany
from ..fields import AttributeMixin
from ..reverse import resource_location
from ..settings import scim_settings
from .mixins import SCIMSerializerMixin
from .sources import is_unassigned


class MultiValuedAttribute(serializers.ListSerializer):
    """A multi-valued complex attribute (``many=True``).

    Accepts a single object where a list is expected (OneLogin sends ``emails``
    that way) and ``null`` as "no values"; at most one value may be primary.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if not kwargs.get("required", False) and not kwargs.get("read_only", False):
            kwargs.setdefault("allow_null", True)
        super().__init__(*args, **kwargs)

    def run_validation(self, data: Any = empty) -> Any:
        if isinstance(data, Mapping):
            data = [data]
        limit = self.get_max_values()
        if isinstance(data, list) and limit and len(data) > limit:
            # Each value is validated, stored and indexed: a 1 MiB body could otherwise hold 45,000 e-mails.
            raise TooMany(
                f"{self.field_name or 'The attribute'} has {len(data)} values; at most {limit} are allowed "
                "(MAX_ATTRIBUTE_VALUES)."
            )
        return super().run_validation(data)

    def get_max_values(self) -> int | None:
        """The most values this attribute takes (``MAX_ATTRIBUTE_VALUES``; relations have their own limit)."""
        return scim_settings.MAX_ATTRIBUTE_VALUES

    def to_internal_value(self, data: Any) -> list[Any]:
        values = [item for item in super().to_internal_value(data) if item is not None]
        if sum(1 for item in values if isinstance(item, Mapping) and item.get("primary") is True) > 1:
            raise serializers.ValidationError('At most one value may have "primary": true.')
        return values

    def to_representation(self, data: Any) -> list[Any]:
        values = super().to_representation(data)
        return [value for value in values if not is_unassigned(value)]


class ComplexAttribute(SCIMSerializerMixin, AttributeMixin, serializers.Serializer):
    """A SCIM complex attribute; declare its sub-attributes as fields, use ``many=True`` for multi-valued."""

    class Meta:
        list_serializer_class = MultiValuedAttribute


class SCIMExtension(ComplexAttribute):
    """A schema extension, nested in its resource under its URN.

    Subclass it with ``Meta.schema`` (the URN) and fields for its attributes, and
    list it in the resource serializer's ``Meta.extensions``. Attributes without
    a ``source`` are kept in the resource's JSON document under ``Meta.storage_key``
    (by default the URN with its dots replaced by underscores).
    """

    class Meta:
        schema: str = ""
        name: str = ""
        description: str = ""
        required: bool = False
        storage_key: str | None = None

    @classmethod
    def get_schema_urn(cls) -> str:
        return cls.Meta.schema

    @classmethod
    def get_storage_key(cls) -> str:
        return getattr(cls.Meta, "storage_key", None) or cls.Meta.schema.replace(".", "_")


class IdField(AttributeMixin, serializers.UUIDField):
    """The opaque, server-assigned, case-exact SCIM id."""

    scim_defaults = {"mutability": "readOnly", "returned": "always", "uniqueness": "server", "case_exact": True}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> str:
        return str(value)


def xsd_datetime(value: datetime) -> str:
    """An xsd:dateTime (RFC 7643 §2.3.5) in UTC, as the RFC's examples write them: "2011-08-01T21:32:44.882Z".

    Whatever DRF's ``DATETIME_FORMAT`` and the current time zone, which DRF's ``DateTimeField`` follows (and
    looks up for every value: several times the cost, for every resource of a page). A naive value (``USE_TZ =
    False``) is written as it is.
    """
    if value.tzinfo is None:
        return value.isoformat()
    text = value.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class MetaField(AttributeMixin, serializers.Field):
    """The readOnly ``meta`` complex attribute of every resource."""

    scim_defaults = {"scim_type": "complex", "mutability": "readOnly"}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("read_only", True)
        kwargs.setdefault("source", "*")
        super().__init__(**kwargs)

    def to_representation(self, instance: Any) -> dict[str, Any]:
        serializer = self.parent
        resource = serializer.get_resource(instance)
        created, modified = xsd_datetime(resource.created), xsd_datetime(resource.last_modified)
        data = {"resourceType": serializer.Meta.resource_type, "created": created, "lastModified": modified}
        request = serializer.context.get("request")
        if request is not None:
            data["location"] = resource_location(request, serializer.Meta.resource_type, resource.scim_id)
        data["version"] = resource.etag
        return data
