"""Which resource types the routers serve, and at which endpoint.

Routers record every resource type they register here, so a serializer can
build the ``$ref`` of a resource of another type (a group's members are Users).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ResourceTypeEntry:
    name: str
    endpoint: str
    viewset: Any


_resource_types: dict[str, ResourceTypeEntry] = {}


def register_resource_type(name: str, endpoint: str, viewset: Any) -> None:
    _resource_types[name] = ResourceTypeEntry(name=name, endpoint=endpoint.strip("/"), viewset=viewset)


def get_endpoint(name: str) -> str:
    """The endpoint of a resource type ("Users" for "User"), relative to the SCIM root."""
    entry = _resource_types.get(name)
    return entry.endpoint if entry else f"{name}s"


def resource_types() -> list[ResourceTypeEntry]:
    return list(_resource_types.values())
