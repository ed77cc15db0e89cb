"""The Group resource type (RFC 7643 §4.2) on ``django.contrib.auth``'s Group."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group

from ..constants import GROUP_SCHEMA
from ..fields import TenantUniqueStringAttribute
from ..filters.translate import FoldedKeyTarget, Target
from ..schema.attributes import attribute_of
from .base import SCIMSerializer
from .relations import MembersAttribute


class GroupSerializer(SCIMSerializer):
    """A SCIM Group whose members are Users."""

    displayName = TenantUniqueStringAttribute(
        source="name",
        max_length=150,
        required=True,
        allow_blank=False,
        uniqueness="server",
        help_text="A human-readable name for the group.",
    )
    members = MembersAttribute(source="user_set", help_text="The members of the group.")

    class Meta:
        model = Group
        schema = GROUP_SCHEMA
        resource_type = "Group"
        description = "Group"
        scim_relation = "scim"
        render_empty = ("members",)

    def save_resource(self, instance: Any, *, created: bool, relations: list) -> None:
        display_name = self.fields["displayName"].get_attribute(instance) or ""
        self.get_resource(instance).display_name_key = display_name.casefold()
        super().save_resource(instance, created=created, relations=relations)

    def get_filter_target(self, name: str, field: Any, attribute_map: Any) -> Target | None:
        """``displayName eq`` (how Entra and Okta find groups) compares the folded unique key."""
        if name == "displayName" and field.parent is self:
            path = attribute_map.expression_target(attribute_of(name, field), field.source_attrs)
            return FoldedKeyTarget(path.attribute, path.path, "scim__display_name_key", json_field=path.json_field)
        return None
