"""Request bodies and constants shared by the tests."""

from __future__ import annotations

from typing import Any

from drf_scim.constants import GROUP_SCHEMA, PATCH_OP_SCHEMA, USER_SCHEMA

BASE = "/scim/v2"


def audit_statements() -> int:
    """Statements a write spends on its audit row and outbox event: one on PostgreSQL (drf_scim.plans.inserts),
    two elsewhere."""
    from django.db import connection

    return 1 if connection.vendor == "postgresql" else 2


def user_body(user_name: str = "bjensen@example.com", **extra: Any) -> dict[str, Any]:
    body = {
        "schemas": [USER_SCHEMA],
        "userName": user_name,
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [{"value": user_name, "type": "work", "primary": True}],
        "active": True,
    }
    body.update(extra)
    return body


def group_body(display_name: str = "Tour Guides", members: list[str] = (), **extra: Any) -> dict[str, Any]:
    body = {"schemas": [GROUP_SCHEMA], "displayName": display_name, "members": [{"value": m} for m in members]}
    body.update(extra)
    return body


def patch_body(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP_SCHEMA], "Operations": list(operations)}
