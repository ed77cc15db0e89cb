"""Which resource types the routers serve, and at which endpoint.

Routers record every resource type they register here, so a serializer can
build the ``$ref`` of a resource of another type (a group's members are Users).
"""

from __future__ import annotations

_endpoints: dict[str, str] = {}


def register_resource_type(name: str, endpoint: str) -> None:
    _endpoints[name] = endpoint.strip("/")


def get_endpoint(name: str) -> str:
    """The endpoint of a resource type ("Users" for "User"), relative to the SCIM root."""
    return _endpoints.get(name, f"{name}s")
