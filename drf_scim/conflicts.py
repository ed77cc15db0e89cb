"""A write that breaks a unique constraint, as the SCIM 409 (``scimType: uniqueness``) that names the value.

The serializer finds most conflicts before the save (attributes with ``uniqueness: server``). What it cannot
see surfaces as the database's ``IntegrityError``: a concurrent write of the same name, or a unique column of
the host's own table (auth's ``username``) held by an account that is not a resource of the client's
tenant (another tenant's, or one never adopted). ``perform_save`` answers the first with
:func:`uniqueness_error`; once the transaction is over, ``handle_exception`` asks
:func:`held_outside_tenant_error` whether it was the second, which deserves its own message: the client
cannot find that account, and would otherwise retry a name it is told exists.
"""

from __future__ import annotations

from typing import Any

from django.db import DatabaseError, models

from .exceptions import Uniqueness


def uniqueness_error(serializer: Any) -> Uniqueness:
    """The 409 for ``serializer``'s write, naming the values it sent for its server-unique attributes."""
    names = [
        attribute.name
        for attribute in serializer.get_attributes()
        if attribute.uniqueness == "server" and attribute.name != "id"
    ]
    values = [
        f"{name} {serializer.initial_data.get(name)!r}"
        for name in names
        if isinstance(serializer.initial_data, dict) and name in serializer.initial_data
    ]
    what = " or ".join(values or names) or "a unique attribute"
    return Uniqueness(f"A {serializer.Meta.resource_type} with {what} already exists.")


def held_outside_tenant_error(serializer: Any, resources: models.QuerySet) -> Uniqueness | None:
    """The 409 for a name no row of ``resources`` (the tenant's, ``get_base_queryset()``) holds, although
    ``serializer``'s write broke a unique constraint on it; None when one does, or nothing can be said.

    The names compared are the serializer's case-folded keys (``get_folded_keys()``: userName, a group's
    displayName), as the client sent them.
    """
    data = serializer.initial_data if isinstance(serializer.initial_data, dict) else {}
    lowered = {key.lower(): value for key, value in data.items() if isinstance(key, str)}
    sent = {
        name: lowered[name.lower()]
        for name in serializer.get_folded_keys()
        if isinstance(lowered.get(name.lower()), str)
    }
    if not sent:
        return None
    prefix = serializer.get_resource_prefix().replace(".", "__")
    conditions = models.Q()
    for name, value in sent.items():
        conditions |= models.Q(**{f"{prefix}{serializer.get_folded_keys()[name]}": value.casefold()})
    try:
        held_here = resources.filter(conditions).exists()
    except DatabaseError:  # inside a transaction that failed (ATOMIC_REQUESTS): say no more
        return None
    if held_here:
        return None
    what = " or ".join(f"{name} {value!r}" for name, value in sent.items())
    return Uniqueness(
        f"The {what} is taken by an account that is not a resource of this client's tenant; choose another."
    )
