"""Attributes that reference other SCIM resources through Django relations.

``members`` of a Group and ``groups`` of a User read a many-to-many relation
(prefetched in one query per page), and ``manager`` of the Enterprise User
extension a foreign key. Writes resolve SCIM ids in one query and reject
unknown ones, so a reference never points at nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import models
from django.db.models import Prefetch
from rest_framework import serializers
from rest_framework.fields import empty

from ..fields import ReferenceAttribute, StringAttribute
from ..models import SCIMUser
from ..reverse import resource_location
from .base import ComplexAttribute, MultiValuedAttribute


def parse_ids(values: list[Any]) -> tuple[list[uuid.UUID], list[str]]:
    """Split raw id values into parsed UUIDs and the ones that cannot be ids."""
    parsed, invalid = [], []
    for value in values:
        try:
            parsed.append(uuid.UUID(str(value)))
        except (TypeError, ValueError, AttributeError):
            invalid.append(str(value))
    return parsed, invalid


def user_display(user: models.Model) -> str:
    """How a user is named in references: its displayName, else its userName."""
    scim = getattr(user, "scim", None)
    display = scim.data.get("displayName") if scim is not None else None
    return display or user.get_username()


class ReferenceSerializer(ComplexAttribute):
    """Sub-attributes of a reference to another resource: value, $ref, display, type."""

    value = StringAttribute(
        required=True,
        allow_blank=False,
        case_exact=True,
        mutability="immutable",
        help_text="Identifier of the referenced resource.",
    )
    ref = ReferenceAttribute(
        required=False,
        reference_types=("User", "Group"),
        mutability="immutable",
        help_text="The URI of the referenced resource.",
    )
    display = StringAttribute(required=False, mutability="readOnly", help_text="A human-readable name.")
    type = StringAttribute(required=False, mutability="immutable", help_text="The type of the referenced resource.")

    class Meta:
        renamed_fields = {"ref": "$ref"}
        list_serializer_class = MultiValuedAttribute


class MemberSerializer(ReferenceSerializer):
    type = StringAttribute(
        required=False, canonical_values=("User", "Group"), mutability="immutable", help_text="The type of the member."
    )


class GroupReferenceSerializer(ReferenceSerializer):
    type = StringAttribute(
        required=False,
        canonical_values=("direct", "indirect"),
        mutability="readOnly",
        help_text="How the membership was derived.",
    )


class RelatedResourcesAttribute(MultiValuedAttribute):
    """A multi-valued reference stored in a many-to-many relation (``source`` names the manager)."""

    resource_type = "User"

    def get_queryset(self) -> models.QuerySet:
        raise NotImplementedError

    def reference(self, obj: models.Model) -> dict[str, Any]:
        raise NotImplementedError

    def get_prefetches(self) -> list[Prefetch]:
        return [Prefetch("__".join(self.source_attrs), queryset=self.get_queryset().order_by("pk"))]

    def get_attribute(self, instance: Any) -> Any:
        if getattr(instance, "pk", None) is None:
            return []
        return super().get_attribute(instance)

    def run_validation(self, data: Any = empty) -> Any:
        if data is None:
            return []  # null means "no members"
        return super().run_validation(data)

    def to_representation(self, data: Any) -> list[dict[str, Any]]:
        objects = data.all() if isinstance(data, models.Manager) else data
        return [self.reference(obj) for obj in objects]

    def to_internal_value(self, data: Any) -> list[models.Model]:
        items = super().to_internal_value(data)
        values = list(dict.fromkeys(item["value"] for item in items))
        ids, invalid = parse_ids(values)
        found = {obj.scim.scim_id: obj for obj in self.get_queryset().filter(scim__scim_id__in=ids)} if ids else {}
        unknown = invalid + [str(value) for value in ids if value not in found]
        if unknown:
            raise serializers.ValidationError(
                f"No {self.resource_type} with id {', '.join(repr(value) for value in unknown[:10])}"
                + (f" (and {len(unknown) - 10} more)" if len(unknown) > 10 else "")
                + "."
            )
        return [found[value] for value in dict.fromkeys(ids)]


class MembersAttribute(RelatedResourcesAttribute):
    """``members`` of a Group: the users of a ``django.contrib.auth`` group."""

    resource_type = "User"

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("child", MemberSerializer())
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def get_queryset(self) -> models.QuerySet:
        return (
            get_user_model()
            ._default_manager.filter(scim__isnull=False, scim__deleted__isnull=True)
            .select_related("scim")
        )

    def reference(self, user: models.Model) -> dict[str, Any]:
        data = {"value": str(user.scim.scim_id), "display": user_display(user), "type": "User"}
        request = self.context.get("request")
        if request is not None:
            data["$ref"] = resource_location(request, "User", user.scim.scim_id)
        return data


class GroupsAttribute(RelatedResourcesAttribute):
    """``groups`` of a User (readOnly): the ``django.contrib.auth`` groups it belongs to."""

    resource_type = "Group"

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("child", GroupReferenceSerializer())
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def get_queryset(self) -> models.QuerySet:
        return Group.objects.filter(scim__isnull=False).select_related("scim")

    def reference(self, group: Group) -> dict[str, Any]:
        data = {"value": str(group.scim.scim_id), "display": group.name, "type": "direct"}
        request = self.context.get("request")
        if request is not None:
            data["$ref"] = resource_location(request, "Group", group.scim.scim_id)
        return data


class ManagerSerializer(ComplexAttribute):
    """``manager`` of the Enterprise User extension, stored as a foreign key between SCIM users.

    Accepts the id as a bare string, an object or a one-element list (identity
    providers send all three) and always returns ``{value, $ref, displayName}``.
    """

    value = StringAttribute(required=False, case_exact=True, help_text="The id of the manager.")
    ref = ReferenceAttribute(required=False, reference_types=("User",), help_text="The URI of the manager.")
    displayName = StringAttribute(required=False, mutability="readOnly", help_text="The manager's name.")

    class Meta:
        renamed_fields = {"ref": "$ref"}

    def get_select_related(self) -> list[str]:
        return ["__".join(self.source_attrs) + "__user"]

    def get_queryset(self) -> models.QuerySet:
        return SCIMUser.objects.filter(deleted__isnull=True).select_related("user")

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

    def to_representation(self, manager: SCIMUser) -> dict[str, Any]:
        display = manager.data.get("displayName") or manager.user.get_username()
        data = {"value": str(manager.scim_id), "displayName": display}
        request = self.context.get("request")
        if request is not None:
            data["$ref"] = resource_location(request, "User", manager.scim_id)
        return data
