"""The Enterprise User extension (RFC 7643 §4.3), declared like any customer extension."""

from __future__ import annotations

from ..constants import ENTERPRISE_USER_SCHEMA
from ..fields import StringAttribute
from .attributes import SCIMExtension
from .manager import ManagerSerializer


class EnterpriseUserExtension(SCIMExtension):
    """Attributes commonly used by businesses; the manager is a reference to another User."""

    employeeNumber = StringAttribute(required=False, help_text="Identifier assigned by the organization.")
    costCenter = StringAttribute(required=False, help_text="Name of a cost center.")
    organization = StringAttribute(required=False, help_text="Name of an organization.")
    division = StringAttribute(required=False, help_text="Name of a division.")
    department = StringAttribute(required=False, help_text="Name of a department.")
    manager = ManagerSerializer(source="scim.manager", required=False, help_text="The user's manager.")

    class Meta:
        schema = ENTERPRISE_USER_SCHEMA
        name = "EnterpriseUser"
        description = "Enterprise User"
        storage_key = "enterprise"
