"""A custom resource type, as a project would declare it."""

import django_filters
from django.contrib.auth import get_user_model

from drf_scim.fields import BooleanAttribute, StringAttribute
from drf_scim.plans import cacheable
from drf_scim.serializers import SCIMSerializer
from drf_scim.viewsets import SCIMModelViewSet, UserViewSet

from .models import Device

DEVICE_SCHEMA = "urn:example:params:scim:schemas:core:1.0:Device"


class DeviceSerializer(SCIMSerializer):
    serialNumber = StringAttribute(source="serial_number", max_length=64, required=True, uniqueness="server")
    displayName = StringAttribute(source="name", max_length=100, required=False)
    managed = BooleanAttribute(required=False)  # no column: kept in the JSON document

    class Meta:
        model = Device
        schema = DEVICE_SCHEMA
        resource_type = "Device"
        description = "A device"


class DeviceViewSet(SCIMModelViewSet):
    serializer_class = DeviceSerializer


class StaffFilterSet(django_filters.FilterSet):
    """django-filter declarations: ``staff`` becomes a SCIM filter attribute and a query parameter."""

    staff = django_filters.BooleanFilter(field_name="is_staff")
    department = django_filters.CharFilter(field_name="scim__data__enterprise__department")

    class Meta:
        model = get_user_model()
        fields: list[str] = []


class FilterableUserViewSet(UserViewSet):
    filterset_class = StaffFilterSet


class StaffOnlyUserViewSet(UserViewSet):
    """A project narrowing what a client sees beyond the SCIM rows: only staff users are resources. The
    narrowing depends on nothing of the request: the plan may keep it (the fast path stays on)."""

    @cacheable
    def get_base_queryset(self):
        return super().get_base_queryset().filter(is_staff=True)


class ActiveOnlyUserViewSet(UserViewSet):
    """The same narrowing in get_queryset, DRF's usual place for it, served without the fast path."""

    fast_path = False

    def get_queryset(self):
        return super().get_queryset().filter(is_active=True)
