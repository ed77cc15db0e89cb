"""Models used only by the tests."""

from django.db import models

from drf_scim.models import SCIMResource


class Device(SCIMResource):
    """A custom SCIM resource type: the model subclasses SCIMResource, so it holds its own SCIM id."""

    serial_number = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=100, blank=True)
