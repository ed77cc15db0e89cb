"""PATCH (RFC 7644 §3.5.2): apply a PatchOp to a resource.

The operations are applied, in order, to the resource's representation (a plain
JSON document, rendered without its large relations); the attributes the
operations changed are then validated and saved by the serializer with the
rules of a PUT (types, mutability, uniqueness), the others staying as stored
(every attribute when the serializer overrides ``validate()``). Relations
such as a group's ``members`` are never loaded: operations on them become set
deltas (insert or delete rows) applied after the save, in the same transaction.

Identity providers' dialects are accepted: op names in any case, path-less
values with dotted or URN-qualified keys, filters that create the value they
do not find, Entra's removal of members by a list of values, and more.
"""

from .engine import (
    Location,
    PatchEngine,
    PatchResult,
    RelationChange,
    apply_operations,
    canonical,
    changed_attributes,
    compare,
    equality_terms,
    is_equality_filter,
    is_true,
    matches,
    same_json,
    same_value,
)
from .operations import OPS, Operation, parse_operations
from .request import PatchRequest

__all__ = [
    "OPS",
    "Location",
    "Operation",
    "PatchEngine",
    "PatchRequest",
    "PatchResult",
    "RelationChange",
    "apply_operations",
    "canonical",
    "changed_attributes",
    "compare",
    "equality_terms",
    "is_equality_filter",
    "is_true",
    "matches",
    "parse_operations",
    "same_json",
    "same_value",
]
