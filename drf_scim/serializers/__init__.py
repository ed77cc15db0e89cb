"""SCIM serializers: the base classes and the built-in resource types."""

from .attributes import ComplexAttribute, MultiValuedAttribute, SCIMExtension
from .base import SCIMSerializer
from .enterprise import EnterpriseUserExtension
from .groups import GroupSerializer
from .users import UserSerializer

__all__ = [
    "ComplexAttribute",
    "EnterpriseUserExtension",
    "GroupSerializer",
    "MultiValuedAttribute",
    "SCIMExtension",
    "SCIMSerializer",
    "UserSerializer",
]
