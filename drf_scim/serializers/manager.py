"""``manager`` of the Enterprise User extension: a foreign key between the SCIM rows of two users."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import models
from django.db.models import Q
from rest_framework import serializers
from rest_framework.fields import empty

from ..fields import ReferenceAttribute, StringAttribute, TenantUniqueStringAttribute
from ..filters.translate import ComplexTarget, IdTarget, Target
from ..models import SCIMUser
from ..reverse import resource_location
from ..schema.attributes import STRING, Attribute, attribute_of
from ..tenancy import tenant_of
from .base import ComplexAttribute
from .relations import parse_ids


class ManagerSerializer(ComplexAttribute):
    """``manager`` of the Enterprise User extension, stored as a foreign key between SCIM users.

    Accepts the id as a bare string, an object or a one-element list (identity
    providers send all three) and always returns the complex ``{value, $ref}``, with the
    manager's ``displayName`` when ``attributes`` asks for it (returned=request).
    """

    value = StringAttribute(required=False, case_exact=True, help_text="The id of the manager.")
    ref = ReferenceAttribute(required=False, reference_types=("User",), help_text="The URI of the manager.")
    displayName = StringAttribute(
        required=False,
        mutability="readOnly",
        returned="request",
        help_text="The manager's displayName (else userName); returned when asked for in attributes.",
    )

    class Meta:
        renamed_fields = {"ref": "$ref"}

    def get_select_related(self) -> list[str]:
        path = "__".join(self.source_attrs)
        return [f"{path}__user"] if self.display_name_requested() else [path]

    def get_deferred(self) -> list[str]:
        """All the manager's columns but its key, id and tenant (and, for ``displayName``, its document and
        user): the manager is rendered from those; anything else reads its row on first use."""
        path = "__".join(self.source_attrs)
        read = {"id", "scim_id", "tenant", *(("data", "user") if self.display_name_requested() else ())}
        return [f"{path}__{field.name}" for field in SCIMUser._meta.concrete_fields if field.name not in read]

    def display_name_requested(self) -> bool:
        """``displayName`` is returned on request only (it costs the manager's user row)."""
        projection = self.context.get("projection")
        return projection is not None and bool(
            projection.names([self.parent.get_schema_urn(), self.field_name, "displayName"])
        )

    def get_filter_target(self, attribute_map: Any) -> Target:
        """``manager.value eq "<id>"`` (or ``manager eq "<id>"``) compares the manager's id."""
        path = "__".join(self.source_attrs)
        tenant = tenant_of(self)

        def sub(name: str) -> Target | None:
            if name.lower() == "value":
                return IdTarget(
                    Attribute("value", STRING, case_exact=True),
                    f"{path}__scim_id",
                    scope=Q(**{f"{path}__tenant": tenant}),
                )
            return None

        return ComplexTarget(attribute_of(self.field_name, self), sub)

    def get_queryset(self) -> models.QuerySet:
        return SCIMUser.objects.filter(tenant=tenant_of(self), deleted__isnull=True).select_related("user")

    def run_validation(self, data: Any = empty) -> SCIMUser | None:
        value = data
        if isinstance(value, list):
            if len(value) > 1:
                raise serializers.ValidationError("A user has at most one manager.")
            value = value[0] if value else None
        if isinstance(value, Mapping):
            value = value.get("value", next((v for k, v in value.items() if k.lower() == "value"), None))
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise serializers.ValidationError("The manager must be given by its id.")
        ids, _ = parse_ids([value])
        manager = self.get_queryset().filter(scim_id=ids[0]).first() if ids else None
        if manager is None:
            raise serializers.ValidationError(f"No User with id {value!r}.")
        return manager

    def get_attribute(self, instance: Any) -> Any:
        manager = super().get_attribute(instance)
        if manager is not None and manager.tenant != tenant_of(self):
            return None  # a link across tenants (only a direct database write makes one) is never shown
        return manager

    def to_representation(self, manager: SCIMUser) -> dict[str, Any]:
        data = {"value": str(manager.scim_id)}
        if self.display_name_requested():
            data["displayName"] = manager.data.get("displayName") or TenantUniqueStringAttribute.unprefixed(
                manager.user.get_username(), manager.tenant
            )
        request = self.context.get("request")
        if request is not None:
            data["$ref"] = resource_location(request, "User", manager.scim_id)
        return data
