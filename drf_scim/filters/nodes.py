"""The SCIM filter AST: small immutable dataclasses produced by :mod:`drf_scim.filters.grammar`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

__all__ = [
    "And",
    "AttributePath",
    "Comparison",
    "Node",
    "Not",
    "Or",
    "PatchPath",
    "Present",
    "ValueFilter",
]

#: A JSON literal as decoded from a filter.
Value: TypeAlias = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class AttributePath:
    """``[schema ":"] attribute ["." sub_attribute]``, names kept as written (case is matched later)."""

    schema: str | None
    attribute: str
    sub_attribute: str | None = None

    def __str__(self) -> str:
        text = f"{self.schema}:{self.attribute}" if self.schema else self.attribute
        return f"{text}.{self.sub_attribute}" if self.sub_attribute else text


@dataclass(frozen=True, slots=True)
class Comparison:
    """``path operator value``; ``operator`` is lower-cased (eq, ne, co, sw, ew, gt, ge, lt, le)."""

    path: AttributePath
    operator: str
    value: Value


@dataclass(frozen=True, slots=True)
class Present:
    """``path pr``."""

    path: AttributePath


@dataclass(frozen=True, slots=True)
class And:
    """``left and right``."""

    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Or:
    """``left or right``."""

    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Not:
    """``not (operand)``."""

    operand: Node


@dataclass(frozen=True, slots=True)
class ValueFilter:
    """``path[filter]``: some value of the multi-valued attribute ``path`` matches ``filter``.

    The paths inside ``filter`` are relative to the attribute (``type``, ``value``...).
    """

    path: AttributePath
    filter: Node


Node: TypeAlias = Comparison | Present | And | Or | Not | ValueFilter


@dataclass(frozen=True, slots=True)
class PatchPath:
    """A PATCH operation ``path`` (RFC 7644 §3.5.2): ``attrPath`` or ``valuePath [subAttr]``."""

    path: AttributePath
    filter: Node | None = None
    sub_attribute: str | None = None
