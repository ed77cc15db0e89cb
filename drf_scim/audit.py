"""The audit trail: one ``SCIMChange`` row per committed change of a resource, in the change's transaction.

A write through SCIM records itself with an ``AuditTrail`` (``SCIMModelViewSet.audit_trail``): what
changed is the difference between the resource's document before and after (``diff``), rendered
without its relations, plus the relation deltas the write applied (a group's ``members``: the ids a
PATCH added or removed, never the whole relation). A rolled-back request takes its row along; a Bulk
operation is a request of its own, so it records its own row. Changes made outside SCIM are recorded by
the receivers that see them (``drf_scim.receivers``), with ``source`` "outside" and no connection.

Passwords (any write-only attribute) are never recorded, only that one was set: ``{"password": "set"}``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.db import DEFAULT_DB_ALIAS, models, router
from django.utils import timezone

from .constants import PATCH_OP_SCHEMA
from .events import outbox
from .events.names import PATCH, PUT, events_of
from .models import SCIMChange
from .plans.inserts import record_change
from .plans.rendered import Rendered
from .serializers.relations import relation_names
from .settings import scim_settings
from .views import get_request_id

if TYPE_CHECKING:
    from .patch import PatchRequest, RelationChange

Operation = SCIMChange.Operation
Source = SCIMChange.Source
SET = "set"  # what a password's entry says: it was set, never its value
SKIPPED = frozenset({"schemas", "meta", "id"})  # bookkeeping every write moves on, or never changes
_ABSENT: Any = object()


# -- what changed ----------------------------------------------------------------


def diff(
    old: Mapping[str, Any] | None, new: Mapping[str, Any] | None, *, secrets: Iterable[str] = ()
) -> dict[str, Any]:
    """What differs between two SCIM documents, by attribute path.

    A single-valued attribute gives ``{"old": ..., "new": ...}`` (None where absent); a multi-valued one
    (a JSON list) ``{"added": [...], "removed": [...]}``; complex attributes are compared by sub-attribute
    (``name.givenName``) and extensions by their URN (``urn:...:User:department``). An attribute named
    in ``secrets`` gives ``"set"`` when the new document has a value for it, and never a value.
    ``schemas``, ``meta`` and ``id`` are left out.
    """
    found: dict[str, Any] = {}
    _diff(old or {}, new or {}, "", {name.lower() for name in secrets}, found)
    return found


def _diff(old: Mapping[str, Any], new: Mapping[str, Any], prefix: str, secrets: set[str], found: dict) -> None:
    for key in [*old, *(key for key in new if key not in old)]:
        if not prefix and key in SKIPPED:
            continue
        path = f"{prefix}{key}"
        before, after = old.get(key, _ABSENT), new.get(key, _ABSENT)
        if key.lower() in secrets:
            if after not in (_ABSENT, None) and not same(before, after):
                found[path] = SET
        elif isinstance(before, Mapping) or isinstance(after, Mapping):
            separator = ":" if not prefix and key.lower().startswith("urn:") else "."
            _diff(
                before if isinstance(before, Mapping) else {},
                after if isinstance(after, Mapping) else {},
                path + separator,
                secrets,
                found,
            )
        elif isinstance(before, list) or isinstance(after, list):
            added, removed = values_delta(
                before if isinstance(before, list) else [], after if isinstance(after, list) else []
            )
            if added or removed:
                found[path] = {"added": added, "removed": removed}
        elif not same(before, after):
            found[path] = {"old": None if before is _ABSENT else before, "new": None if after is _ABSENT else after}


def values_delta(before: list[Any], after: list[Any]) -> tuple[list[Any], list[Any]]:
    """The values of ``after`` not in ``before``, and those of ``before`` not in ``after``, in their order."""
    old_keys, new_keys = {_key(item) for item in before}, {_key(item) for item in after}
    return [item for item in after if _key(item) not in old_keys], [
        item for item in before if _key(item) not in new_keys
    ]


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def same(a: Any, b: Any) -> bool:
    """Equal JSON values of the same type (``1`` is not ``true``, nor ``[1]`` ``[true]``)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, (dict, list)):
        return _key(a) == _key(b)
    return a == b  # a string, a number, a boolean, null: compared as they are


def secrets_set(serializer: Any) -> dict[str, str]:
    """``{"password": "set"}`` for each write-only attribute the validated data of ``serializer`` sets."""
    data = getattr(serializer, "validated_data", None) or {}
    return {
        field.field_name: SET
        for field in serializer.fields.values()
        if field.write_only and data.get(field.source) not in (None, "")
    }


def relation_changes(changes: Iterable[RelationChange]) -> dict[str, dict[str, Any]]:
    """The member ids a PATCH's relation deltas added and removed, by attribute, from the operations alone.

    ``"cleared": true`` says every value was removed first (a ``remove`` without value, a ``replace``);
    ``"removed_where"`` lists the paths of removals by a filter other than ``value eq "<id>"``.
    """
    found: dict[str, dict[str, Any]] = {}
    for change in changes:
        entry = found.setdefault(change.field.field_name, {"added": [], "removed": []})
        if change.kind in ("clear", "replace"):
            entry["cleared"] = True
            entry["added"], entry["removed"] = [], []
        if change.kind in ("add", "replace"):
            entry["added"].extend(change.field.values_of(change.values))
        elif change.kind == "remove":
            entry["removed"].extend(
                str(item["value"]) for item in change.values if isinstance(item, dict) and item.get("value") is not None
            )
        elif change.kind == "remove_matching":
            value = equal_value(change.filter)
            if value is not None:
                entry["removed"].append(value)
            else:
                entry.setdefault("removed_where", []).append(change.operation.path)
    for entry in found.values():
        entry["added"] = list(dict.fromkeys(entry["added"]))
        entry["removed"] = list(dict.fromkeys(entry["removed"]))
    return {name: entry for name, entry in found.items() if any(entry.values())}


def equal_value(node: Any) -> str | None:
    """The id a ``value eq "<id>"`` filter names, else None."""
    path = getattr(node, "path", None)
    if getattr(node, "operator", None) == "eq" and getattr(path, "attribute", "").lower() == "value":
        return None if path.sub_attribute else str(node.value)
    return None


def operation_of(kind: str, changes: Mapping[str, Any]) -> str:
    """The operation a replace or patch with ``changes`` records: ``deactivated``/``activated`` when
    ``active`` turned false/true, ``members_added``/``members_removed`` when members alone changed, one way;
    else ``kind``."""
    if kind not in (Operation.REPLACED, Operation.PATCHED):
        return kind
    active = changes.get("active")
    if isinstance(active, Mapping):
        if active.get("new") is False and active.get("old") is not False:
            return Operation.DEACTIVATED
        if active.get("new") is True and active.get("old") is False:
            return Operation.ACTIVATED
    members = changes.get("members")
    if isinstance(members, Mapping) and set(changes) == {"members"}:
        removed = members.get("removed") or members.get("cleared") or members.get("removed_where")
        if members.get("added") and not removed:
            return Operation.MEMBERS_ADDED
        if removed and not members.get("added"):
            return Operation.MEMBERS_REMOVED
    return kind


class AuditTrail:
    """Records the changes one SCIM request makes to resources of one type, each as one ``SCIMChange`` INSERT.

    ``SCIMModelViewSet`` builds one per request (``get_audit_trail``) and calls it inside the write's
    transaction: ``created``, ``before`` then ``replaced``, ``patched``, ``deleted``.
    """

    def __init__(self, request: Any, serializer_class: type, context: dict[str, Any]) -> None:
        self.serializer_class = serializer_class
        self.context = {**context, "projection": None}
        self._omitted: dict[bool, set[str]] = {}
        self._rendered: dict[Any, Rendered] = {}
        self.request_id = get_request_id(request) if request is not None else ""
        auth = getattr(request, "_auth", None)
        application = getattr(auth, "application", None)
        user = getattr(request, "_user", None)
        self.client_id: str | None = getattr(application, "client_id", None) or None
        if application is not None:
            self.actor = application.name or application.client_id
        elif getattr(user, "is_authenticated", False):
            self.actor = user.get_username()
        else:
            self.actor = ""

    def serializer(self, instance: models.Model, *, writable_relations: bool = False) -> Any:
        """The serializer that renders the audited document of ``instance``: every attribute, no relation
        (but the writable ones, with ``writable_relations``, read from what the row brought along)."""
        omit = self._omitted.get(writable_relations)
        if omit is None:
            reader = self.serializer_class(context=self.context)
            omit = relation_names(reader)
            if writable_relations:
                omit -= relation_names(reader, writable_only=True)
            self._omitted[writable_relations] = omit
        return self.serializer_class(instance, context={**self.context, "omit": omit})

    def document(self, instance: models.Model, *, writable_relations: bool = False) -> dict[str, Any]:
        return self.serializer(instance, writable_relations=writable_relations).to_representation(instance)

    def saved_document(self, instance: models.Model, serializer: Any = None) -> dict[str, Any]:
        """The audited document of ``instance`` as a write saved it, kept for the response to reuse
        (``rendered``): rendered by ``serializer``, whose context leaves the relations out, else as
        ``document()`` renders it (which a subclass may override: then nothing is kept)."""
        if serializer is None:
            if type(self).document is not AuditTrail.document or type(self).serializer is not AuditTrail.serializer:
                return self.document(instance)
            serializer = self.serializer(instance)
        document = serializer.to_representation(instance)
        self._rendered[instance.pk] = Rendered.of(serializer, instance, document)
        return document

    def rendered(self, instance: models.Model) -> Rendered | None:
        """What ``saved_document`` rendered of ``instance`` in this request, for its response to reuse."""
        return self._rendered.get(instance.pk)

    def before(self, instance: models.Model) -> dict[str, Any]:
        """The document of ``instance`` before a PUT, with the writable relations it holds."""
        return self.document(instance, writable_relations=True)

    def created(self, serializer: Any) -> SCIMChange:
        instance = serializer.instance
        document = self.saved_document(instance)
        changes = {**diff({}, document), **secrets_set(serializer)}
        relations = self.relation_values(serializer)
        for name, ids in relations.items():
            if ids:
                changes[name] = {"added": ids, "removed": []}
        return self.write(Operation.CREATED, instance, changes, data=with_relations(document, relations))

    def replaced(self, serializer: Any, before: dict[str, Any]) -> SCIMChange:
        """Record a PUT; ``before`` is what ``before()`` returned before the save."""
        instance = serializer.instance
        relations = self.relation_values(serializer)
        old = {name: value for name, value in before.items() if name not in relations}
        document = self.saved_document(instance)
        changes = {**diff(old, document), **secrets_set(serializer)}
        for name, ids in relations.items():
            held = [str(item.get("value")) for item in before.get(name) or [] if isinstance(item, dict)]
            added, removed = values_delta(held, ids)
            if added or removed:
                changes[name] = {"added": added, "removed": removed}
        operation = operation_of(Operation.REPLACED, changes)
        return self.write(operation, instance, changes, kind=PUT, data=with_relations(document, relations))

    def patched(self, serializer: Any, patch: PatchRequest) -> SCIMChange:
        """Record a PATCH: the document it started from against the one saved, and its relation deltas."""
        instance = serializer.instance
        changes = {
            **diff(patch.original_document(), self.saved_document(instance, serializer)),
            **secrets_set(serializer),
            **relation_changes(patch.result.relations if patch.result else ()),
        }
        operation = operation_of(Operation.PATCHED, changes)
        secrets = {field.field_name for field in serializer.fields.values() if field.write_only}
        return self.write(operation, instance, changes, data=patch_document(patch, secrets))

    def deleted(self, instance: models.Model) -> SCIMChange:
        return self.write(Operation.DELETED, instance, {})

    def relation_values(self, serializer: Any) -> dict[str, list[str]]:
        """The ids of the writable relations a POST or PUT sets, by attribute (those it sends)."""
        data = getattr(serializer, "validated_data", None) or {}
        found = {}
        for name in relation_names(serializer, writable_only=True):
            field = serializer.fields[name]
            if field.source in data:
                found[name] = [str(obj.scim.scim_id) for obj in data[field.source] or []]
        return found

    def write(
        self, operation: str, instance: models.Model, changes: dict[str, Any], *, kind: str = PATCH, data: Any = None
    ) -> SCIMChange:
        """The INSERT of one change of ``instance``, and that of its outbox event (``drf_scim.events``):
        ``kind`` the write (``prov:put`` or ``prov:patch``) an activation or deactivation came with,
        ``data`` what the event's full form carries."""
        relation = getattr(self.serializer_class.Meta, "scim_relation", None)
        resource = getattr(instance, relation) if relation else instance
        change = SCIMChange(
            connection_id=self.client_id,
            actor=self.actor,
            tenant=resource.tenant,
            resource_type=self.serializer_class.Meta.resource_type,
            resource_id=resource.scim_id,
            operation=operation,
            source=Source.SCIM,
            request_id=self.request_id,
            changes=changes,
        )
        event = None
        if scim_settings.EVENTS_OUTBOX:
            event = outbox.event_for(
                change,
                events=events_of(operation, kind=kind),
                external_id=resource.external_id,
                attributes=changes,
                data=data,
                version="" if operation == Operation.DELETED else resource.etag,
            )
        record_change(change, event, router.db_for_write(SCIMChange, instance=resource))
        return change


def with_relations(document: dict[str, Any], relations: Mapping[str, list[str]]) -> dict[str, Any]:
    """``document`` with the relations a POST or PUT set, as ``[{"value": id}]``."""
    return {**document, **{name: [{"value": value} for value in ids] for name, ids in relations.items()}}


def patch_document(patch: PatchRequest, secrets: Iterable[str] = ()) -> dict[str, Any]:
    """The PatchOp a PATCH applied (its validated operations), without the values of ``secrets``: an
    operation on a password is left out, and a password inside a value is dropped from it."""
    hidden = {name.lower() for name in secrets}
    operations = []
    for operation in patch.operations:
        if operation.path and operation.path.split("[")[0].split(".")[0].rsplit(":", 1)[-1].lower() in hidden:
            continue
        entry: dict[str, Any] = {"op": operation.op}
        if operation.path:
            entry["path"] = operation.path
        if operation.has_value:
            value = operation.value
            if isinstance(value, Mapping):
                value = {key: item for key, item in value.items() if key.lower() not in hidden}
            entry["value"] = value
        operations.append(entry)
    return {"schemas": [PATCH_OP_SCHEMA], "Operations": operations}


# -- changes made outside SCIM -----------------------------------------------------


def record_outside(
    rows: Iterable[tuple[str, models.Model, str, dict[str, Any]]], using: str = DEFAULT_DB_ALIAS
) -> list[SCIMChange]:
    """Record changes made outside SCIM (the admin, the host's code), each row ``(resource type, SCIM row,
    operation, changes)``: one INSERT of the changes, one of their outbox events."""
    rows = list(rows)
    changes = [
        SCIMChange(
            tenant=resource.tenant,
            resource_type=resource_type,
            resource_id=resource.scim_id,
            operation=operation,
            source=Source.OUTSIDE,
            changes=diff_or_changes,
        )
        for resource_type, resource, operation, diff_or_changes in rows
    ]
    if not changes:
        return []
    changes = SCIMChange.objects.using(using).bulk_create(changes)
    resources = [resource for _, resource, _, _ in rows]
    outbox.record_many(
        [
            outbox.event_for(
                change,
                external_id=resource.external_id,
                attributes=change.changes,
                version="" if change.operation == Operation.DELETED else resource.etag,
            )
            for change, resource in zip(changes, resources, strict=True)
        ],
        using=using,
    )
    return changes


# -- retention -------------------------------------------------------------------

PRUNE_BATCH_SIZE = 5000


def expired(days: int | None = None, *, now: Any = None) -> models.QuerySet:
    """The changes older than ``days`` (``AUDIT_RETENTION_DAYS`` unless given); none when it is None."""
    days = scim_settings.AUDIT_RETENTION_DAYS if days is None else days
    if days is None:
        return SCIMChange.objects.none()
    return SCIMChange.objects.filter(timestamp__lt=(now or timezone.now()) - timedelta(days=days))


def prune(days: int | None = None, *, batch_size: int = PRUNE_BATCH_SIZE) -> int:
    """Delete the changes older than ``days`` (``AUDIT_RETENTION_DAYS``), a batch at a time, oldest first;
    how many were deleted. Each batch is its own short statement, so writes go on meanwhile."""
    cutoff = expired(days)
    deleted = 0
    while True:
        batch = list(cutoff.order_by("timestamp", "pk").values_list("pk", flat=True)[:batch_size])
        if not batch:
            return deleted
        deleted += SCIMChange.objects.filter(pk__in=batch).delete()[0]
