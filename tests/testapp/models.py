"""Models used only by the tests."""

from django.db import models

from drf_scim.models import SCIMResource


class Device(SCIMResource):
    """A custom SCIM resource type: the model subclasses SCIMResource, so it holds its own SCIM id."""

    serial_number = models.CharField(max_length=64)
    name = models.CharField(max_length=100, blank=True)

    class Meta:
        # Unique per tenant, like userName: a multi-tenant deployment scopes its own constraints too.
        constraints = [models.UniqueConstraint(fields=["tenant", "serial_number"], name="device_serial_per_tenant")]
