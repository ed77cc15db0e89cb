"""The events RFC 9967 defines for provisioning, by the names receivers subscribe to.

A name is the event URI without ``urn:ietf:params:scim:event:`` (RFC 9967 §7.4, lower case); create, put
and patch come in a notice form (which attributes changed) and a full form (with the data), delete,
activate and deactivate in one form with an empty payload.
"""

from __future__ import annotations

from ..models import SCIMChange

PREFIX = "urn:ietf:params:scim:event:"
CREATE, PUT, PATCH, DELETE = "prov:create", "prov:put", "prov:patch", "prov:delete"
ACTIVATE, DEACTIVATE = "prov:activate", "prov:deactivate"
FORMED = frozenset({CREATE, PUT, PATCH})  # those with :notice and :full forms
NAMES = (CREATE, PUT, PATCH, DELETE, ACTIVATE, DEACTIVATE)
CHOICES = [(name, name) for name in NAMES]

Operation = SCIMChange.Operation
_BY_OPERATION = {
    Operation.CREATED: [CREATE],
    Operation.REPLACED: [PUT],
    Operation.PATCHED: [PATCH],
    Operation.MEMBERS_ADDED: [PATCH],
    Operation.MEMBERS_REMOVED: [PATCH],
    Operation.DELETED: [DELETE],
}


def events_of(operation: str, *, kind: str = PATCH) -> list[str]:
    """The event names one change makes: its own, and ``prov:activate``/``prov:deactivate`` beside the
    ``kind`` of write (a PUT or a PATCH) that turned ``active``."""
    if operation == Operation.ACTIVATED:
        return [kind, ACTIVATE]
    if operation == Operation.DEACTIVATED:
        return [kind, DEACTIVATE]
    return list(_BY_OPERATION.get(operation, [PATCH]))


def event_uri(name: str, *, full: bool) -> str:
    """The URI of event ``name`` in its full or notice form (the one form of those without)."""
    if name in FORMED:
        return f"{PREFIX}{name}:{'full' if full else 'notice'}"
    return f"{PREFIX}{name}"


def advertised_uris() -> list[str]:
    """Every event URI this service provider emits: ServiceProviderConfig's ``securityEvents.eventUris``."""
    return [uri for name in NAMES for uri in dict.fromkeys((event_uri(name, full=False), event_uri(name, full=True)))]
