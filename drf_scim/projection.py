"""``attributes`` and ``excludedAttributes`` (RFC 7644 §3.4.2.5): which attributes a response carries.

A projection is parsed once per request into two trees of lower-cased names
(``{"name": {"givenname": None}, "username": None}``: ``None`` means the whole
attribute). The serializer asks it which top-level attributes to render, so
that relations left out are never fetched, and prunes sub-attributes from what
it rendered.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .schema.attributes import ALWAYS, NEVER, REQUEST
from .schema.paths import PathResolver

Tree = dict[str, "Tree | None"]


def split_names(value: Any) -> list[str]:
    """Names from a comma-separated string (query string) or a list (SearchRequest)."""
    if value is None:
        return []
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    return [str(item).strip() for item in items if str(item).strip()]


def build_tree(paths: Iterable[str], schemas: list[str], core_schema: str) -> Tree:
    """Parse attribute paths into a tree; extension URNs become top-level keys.

    Names are not checked against the schemas: an unknown attribute is a key that matches nothing.
    """
    tree: Tree = {}
    resolver = PathResolver(core_schema, schemas)
    for path in paths:
        parts = resolver.names(path)
        node: Tree = tree
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            if part in node and node[part] is None:
                break  # the whole attribute is already named
            if last:
                node[part] = None
            else:
                node = node.setdefault(part, {})  # type: ignore[assignment]
    return tree


@dataclass(frozen=True)
class Projection:
    """The attributes a client asked for (``attributes``) or asked to leave out (``excludedAttributes``)."""

    attributes: Tree | None = None
    excluded: Tree | None = None

    @classmethod
    def from_params(cls, attributes: Any, excluded: Any, *, schemas: list[str], core_schema: str) -> Projection:
        wanted = split_names(attributes)
        unwanted = split_names(excluded)
        return cls(
            attributes=build_tree(wanted, schemas, core_schema) if wanted else None,
            excluded=build_tree(unwanted, schemas, core_schema) if unwanted and not wanted else None,
        )

    def includes(self, name: str, returned: str) -> bool:
        """Whether the top-level attribute ``name`` belongs in the response."""
        if returned == ALWAYS:
            return True
        if returned == NEVER:
            return False
        key = name.lower()
        if self.attributes is not None:
            return key in self.attributes
        if returned == REQUEST:
            return False
        return not (self.excluded is not None and key in self.excluded and self.excluded[key] is None)

    @property
    def prunes(self) -> bool:
        """Whether ``prune`` may change a value: only when the client named attributes."""
        return self.attributes is not None or self.excluded is not None

    def names(self, path: list[str]) -> bool:
        """Whether ``attributes`` names this exact path (how returned=request sub-attributes are asked for)."""
        node: Any = self.attributes
        for part in path:
            if not isinstance(node, dict) or part.lower() not in node:
                return False
            node = node[part.lower()]
        return True

    def prune(self, name: str, value: Any) -> Any:
        """Drop the sub-attributes of ``value`` that the projection leaves out."""
        key = name.lower()
        if self.attributes is not None:
            subtree = self.attributes.get(key)
            return value if subtree is None else _keep(value, subtree)
        if self.excluded is not None and isinstance(self.excluded.get(key), dict):
            return _drop(value, self.excluded[key])
        return value


def _keep(value: Any, tree: Tree) -> Any:
    if isinstance(value, list):
        kept = [_keep(item, tree) for item in value]
        return [item for item in kept if item not in ({}, None)]
    if not isinstance(value, dict):
        return value
    result = {}
    for key, item in value.items():
        if key.lower() in tree:
            subtree = tree[key.lower()]
            result[key] = item if subtree is None else _keep(item, subtree)
    return result


def _drop(value: Any, tree: Tree) -> Any:
    if isinstance(value, list):
        return [_drop(item, tree) for item in value]
    if not isinstance(value, dict):
        return value
    result = {}
    for key, item in value.items():
        subtree = tree.get(key.lower(), ...)
        if subtree is None:
            continue
        result[key] = item if subtree is ... else _drop(item, subtree)
    return result
