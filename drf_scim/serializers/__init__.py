"""SCIM serializers: the base classes and the built-in resource types."""

from .base import ComplexAttribute, MultiValuedAttribute, SCIMExtension, SCIMSerializer
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
