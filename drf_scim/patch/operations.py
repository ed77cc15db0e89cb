"""The operations of a PatchOp request body (RFC 7644 §3.5.2), validated before anything is read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..constants import PATCH_OP_SCHEMA
from ..exceptions import InvalidPath, InvalidSyntax, InvalidValue
from ..settings import scim_settings

OPS = ("add", "remove", "replace")


@dataclass
class Operation:
    """One operation of a PatchOp request, as validated."""

    index: int
    op: str
    path: str | None
    value: Any
    has_value: bool

    def describe(self) -> str:
        target = f" {self.path!r}" if self.path else ""
        return f"Operations[{self.index}] ({self.op}{target})"


def parse_operations(body: Any) -> list[Operation]:
    """Validate a PatchOp body (RFC 7644 §3.5.2) and return its operations."""
    if not isinstance(body, Mapping):
        raise InvalidSyntax("The request body must be a PatchOp JSON object.")
    keys = {str(key).lower(): key for key in body}
    schemas = body.get(keys.get("schemas", "schemas"))
    if schemas is not None and (not isinstance(schemas, list) or PATCH_OP_SCHEMA not in schemas):
        raise InvalidSyntax(f"A PatchOp's schemas must contain {PATCH_OP_SCHEMA!r}.")
    raw = body.get(keys.get("operations", "Operations"))
    if not isinstance(raw, list) or not raw:
        raise InvalidSyntax("A PatchOp needs a non-empty list of Operations.")
    if len(raw) > scim_settings.MAX_PATCH_OPERATIONS:
        raise InvalidValue(f"A PatchOp may carry at most {scim_settings.MAX_PATCH_OPERATIONS} operations.")
    operations = []
    for index, item in enumerate(raw):
        if not isinstance(item, Mapping):
            raise InvalidSyntax(f"Operations[{index}] must be an object.")
        fields = {str(key).lower(): value for key, value in item.items()}
        op = fields.get("op")
        if not isinstance(op, str) or op.lower() not in OPS:
            raise InvalidSyntax(f"Operations[{index}]: op must be add, remove or replace, not {op!r}.")
        path = fields.get("path")
        if path is not None and not isinstance(path, str):
            raise InvalidPath(f"Operations[{index}]: path must be a string.")
        operation = Operation(index, op.lower(), path or None, fields.get("value"), "value" in fields)
        if operation.op in ("add", "replace") and not operation.has_value:
            raise InvalidValue(f"{operation.describe()} needs a value.")
        operations.append(operation)
    return operations
