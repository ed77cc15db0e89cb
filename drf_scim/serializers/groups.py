"""The Group resource type (RFC 7643 §4.2) on ``django.contrib.auth``'s Group."""

from __future__ import annotations

from django.contrib.auth.models import Group

from ..constants import GROUP_SCHEMA
from ..fields import TenantUniqueStringAttribute
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
        folded_keys = {"displayName": "display_name_key"}
