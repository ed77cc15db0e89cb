"""What serializers build once per process (their fields) and what they must not."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from drf_scim.serializers import GroupSerializer, UserSerializer

pytestmark = pytest.mark.django_db


class PerTenantGroupSerializer(GroupSerializer):
    """A project hiding members from one tenant in get_fields (DRF's hook for fields that vary)."""

    class Meta(GroupSerializer.Meta):
        pass

    def get_fields(self):
        fields = super().get_fields()
        if self.context.get("tenant") == "restricted":
            fields.pop("members")
        return fields


def test_a_serializer_overriding_get_fields_builds_them_for_each_instance():
    assert "members" in PerTenantGroupSerializer(context={"tenant": "open"}).fields
    assert "members" not in PerTenantGroupSerializer(context={"tenant": "restricted"}).fields
    assert "members" in PerTenantGroupSerializer(context={"tenant": "open"}).fields


class TitledUserSerializer(UserSerializer):
    class Meta(UserSerializer.Meta):
        render_empty = ("groups", "title")


def test_render_empty_renders_an_unassigned_attribute_as_null(create_user):
    user = get_user_model().objects.get(scim__scim_id=create_user()["id"])
    data = TitledUserSerializer(user, context={"tenant": ""}).data
    assert data["title"] is None
    assert data["groups"] == []
    assert "nickName" not in data
