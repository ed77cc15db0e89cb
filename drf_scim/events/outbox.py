"""The outbox: events written with the changes they describe, fanned out to receivers, claimed for delivery.

Every function here is a few short statements that hold no lock across a delivery: ``claim`` leases rows
(``leased_until``) in one transaction and returns, so a push or a poll runs outside any transaction, and a
worker that dies lets its leases run out for another to take.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from django.db import connections, models, router, transaction
from django.db.models import Case, Exists, OuterRef, Q, Value, When
from django.utils import timezone

from ..models import SCIMChange, SCIMEvent, SCIMEventDelivery, SCIMEventReceiver
from ..plans.inserts import transaction_prefix
from ..schema.registry import get_endpoint
from ..settings import scim_settings
from .names import events_of

FAN_OUT_BATCH_SIZE = 500
PRUNE_BATCH_SIZE = 5000
Pending = SCIMEventDelivery.State.PENDING


# -- written with the change --------------------------------------------------------


def event_for(
    change: SCIMChange,
    *,
    events: list[str] | None = None,
    external_id: str | None = None,
    attributes: Iterable[str] = (),
    data: Any = None,
    version: str = "",
) -> SCIMEvent:
    """The (unsaved) outbox event of ``change``: ``events`` its names (by default those of its operation),
    ``attributes`` the paths it changed, ``data`` what the full form carries (the resource after a create or
    PUT, the PatchOp of a PATCH)."""
    return SCIMEvent(
        change=change,
        created=change.timestamp,
        tenant=change.tenant,
        resource_type=change.resource_type,
        resource_id=change.resource_id,
        uri=f"/{get_endpoint(change.resource_type)}/{change.resource_id}",
        external_id=external_id or "",
        events=events or events_of(change.operation),
        attributes=list(dict.fromkeys(attributes)),
        data=data,
        version=version,
        txn=transaction_id(change),
    )


def transaction_id(change: SCIMChange) -> str:
    """The SETs' ``txn`` (RFC 9967 §2.2): one per state change, shared by every SET made of it, so a receiver
    that dedupes by it drops no other change: the request id and the change's id (a Bulk request makes
    several changes under one request id). Empty while the change has no id: ``record_change`` sets it."""
    return f"{transaction_prefix(change)}{change.pk}" if change.pk is not None else ""


def record_many(events: Sequence[SCIMEvent], using: str | None = None) -> list[SCIMEvent]:
    """Write several outbox events in one INSERT (the changes made outside SCIM)."""
    if not scim_settings.EVENTS_OUTBOX or not events:
        return []
    return SCIMEvent.objects.using(using or router.db_for_write(SCIMEvent)).bulk_create(events)


# -- fanned out to the receivers -----------------------------------------------------


def wants(receiver: SCIMEventReceiver, event: SCIMEvent) -> bool:
    """Whether ``receiver`` hears of ``event``: its tenant, created since it exists, one of its events."""
    if receiver.tenant != event.tenant or event.created < receiver.created:
        return False
    return not receiver.events or any(name in receiver.events for name in event.events)


def fan_out(batch_size: int = FAN_OUT_BATCH_SIZE, *, max_batches: int | None = None) -> int:
    """Give the events not yet fanned out their deliveries, a batch at a time; how many events it took.

    ``max_batches`` bounds the work of one call (a poll request does one batch: at most four queries);
    None goes on until none is left. Workers may race: on PostgreSQL each takes other events (SKIP
    LOCKED); elsewhere the unique (event, receiver) constraint keeps a delivery from being made twice.
    """
    using = router.db_for_write(SCIMEvent)
    taken = batches = 0
    while max_batches is None or batches < max_batches:
        batches += 1
        with transaction.atomic(using=using):
            events = list(lock(SCIMEvent.objects.using(using).filter(fanned_out=False).order_by("pk"))[:batch_size])
            if not events:
                return taken
            tenants = {event.tenant for event in events}
            receivers = list(SCIMEventReceiver.objects.using(using).filter(active=True, tenant__in=tenants))
            deliveries = [
                SCIMEventDelivery(event=event, receiver=receiver, resource_id=event.resource_id)
                for event in events
                for receiver in receivers
                if wants(receiver, event)
            ]
            SCIMEventDelivery.objects.using(using).bulk_create(deliveries, ignore_conflicts=True)
            SCIMEvent.objects.using(using).filter(pk__in=[event.pk for event in events]).update(fanned_out=True)
        taken += len(events)
        if len(events) < batch_size:
            return taken
    return taken


def lock(queryset: models.QuerySet) -> models.QuerySet:
    """``queryset`` locking its rows, skipping those another transaction holds, where the database can."""
    if connections[queryset.db].features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=True, of=("self",))
    return queryset


# -- claimed for delivery ------------------------------------------------------------


def due(receivers: models.QuerySet | Iterable[SCIMEventReceiver], now: Any = None) -> models.QuerySet:
    """The deliveries to ``receivers`` that may go out now, oldest event first: pending, not held by a lease,
    and the oldest pending one of their resource (a resource's next SET waits for the one before).

    A resource's events are numbered in the order its changes committed (each write holds the resource's
    row lock when it inserts its event), so "before" is by event, not by delivery.
    """
    now = now or timezone.now()
    earlier = SCIMEventDelivery.objects.filter(
        receiver=OuterRef("receiver"),
        resource_id=OuterRef("resource_id"),
        state=Pending,
        event__lt=OuterRef("event"),
    )
    return (
        SCIMEventDelivery.objects.filter(receiver__in=receivers, state=Pending, next_attempt__lte=now)
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
        .exclude(Exists(earlier))
        .order_by("event", "pk")
    )


def claim(
    receivers: models.QuerySet | Iterable[SCIMEventReceiver], limit: int, *, lease_seconds: int | None = None
) -> list[SCIMEventDelivery]:
    """Lease up to ``limit`` due deliveries to ``receivers`` for ``lease_seconds`` (``EVENTS_LEASE_SECONDS``),
    counting an attempt each; they come with their event and receiver.

    Two claims never get the same delivery while its lease runs: the UPDATE takes only rows no lease
    holds, and on PostgreSQL a claim skips the rows another is taking.
    """
    now = timezone.now()
    seconds = scim_settings.EVENTS_LEASE_SECONDS if lease_seconds is None else lease_seconds
    token = uuid.uuid4()
    using = router.db_for_write(SCIMEventDelivery)
    with transaction.atomic(using=using):
        keys = list(lock(due(receivers, now).using(using)).values_list("pk", flat=True)[:limit])
        if not keys:
            return []
        SCIMEventDelivery.objects.using(using).filter(pk__in=keys).filter(
            Q(leased_until__isnull=True) | Q(leased_until__lt=now)
        ).update(leased_until=now + timedelta(seconds=seconds), lease=token, attempts=models.F("attempts") + 1)
    return list(
        SCIMEventDelivery.objects.using(using)
        .filter(lease=token)
        .select_related("event", "receiver")
        .order_by("event", "pk")
    )


def delivered(deliveries: models.QuerySet | Iterable[SCIMEventDelivery], status: int | None = None) -> int:
    """Mark ``deliveries`` (a queryset, or the deliveries themselves) acknowledged, in one UPDATE; how many
    were still pending."""
    if not isinstance(deliveries, models.QuerySet):
        deliveries = SCIMEventDelivery.objects.filter(pk__in=[delivery.pk for delivery in deliveries])
    return deliveries.filter(state=Pending).update(
        state=SCIMEventDelivery.State.DELIVERED,
        delivered=timezone.now(),
        leased_until=None,
        lease=None,
        last_status=status,
        last_error="",
    )


def release(deliveries: Iterable[SCIMEventDelivery]) -> int:
    """Give back claimed deliveries that were not sent (a worker stopping): due again at once, the
    attempt their claim counted taken back."""
    return SCIMEventDelivery.objects.filter(
        pk__in=[delivery.pk for delivery in deliveries], state=Pending, lease__isnull=False
    ).update(leased_until=None, lease=None, attempts=models.F("attempts") - 1)


def failed(delivery: SCIMEventDelivery, error: str, *, status: int | None = None, final: bool = False) -> str:
    """Record a failed attempt of ``delivery``: retried after a backoff, or a dead letter when ``final`` or
    after ``EVENTS_MAX_ATTEMPTS`` attempts; the state it is left in."""
    dead = final or delivery.attempts >= scim_settings.EVENTS_MAX_ATTEMPTS
    state = SCIMEventDelivery.State.FAILED if dead else Pending
    SCIMEventDelivery.objects.filter(pk=delivery.pk, state=Pending).update(
        state=state,
        next_attempt=timezone.now() + timedelta(seconds=backoff(delivery.attempts)),
        leased_until=None,
        lease=None,
        last_status=status,
        last_error=error[:2000],
    )
    return state


def rejected(deliveries: models.QuerySet, errors: Mapping[uuid.UUID | str, str], *, status: int | None = None) -> int:
    """Make dead letters of the pending ``deliveries`` whose jti ``errors`` names, each with its error, in one
    UPDATE (``failed(..., final=True)`` for many: a receiver that reports a SET invalid will not take it
    again); how many."""
    if not errors:
        return 0
    reasons = [When(jti=jti, then=Value(error[:2000])) for jti, error in errors.items()]
    return deliveries.filter(jti__in=list(errors), state=Pending).update(
        state=SCIMEventDelivery.State.FAILED,
        leased_until=None,
        lease=None,
        last_status=status,
        last_error=Case(*reasons, default=Value(""), output_field=models.TextField()),
    )


def backoff(attempts: int) -> float:
    """Seconds before the retry that follows ``attempts`` failed attempts: ``EVENTS_RETRY_SECONDS`` doubled
    each time, up to ``EVENTS_RETRY_MAX_SECONDS``."""
    base, most = scim_settings.EVENTS_RETRY_SECONDS, scim_settings.EVENTS_RETRY_MAX_SECONDS
    return float(min(most, base * 2 ** max(0, attempts - 1)))


def retry(deliveries: models.QuerySet) -> int:
    """Give dead letters (or any deliveries) a fresh start: pending, due now, no attempt counted."""
    return deliveries.update(state=Pending, attempts=0, next_attempt=timezone.now(), leased_until=None, lease=None)


# -- retention -----------------------------------------------------------------------


def prunable(days: int | None = None) -> models.QuerySet:
    """The events fanned out more than ``days`` (``EVENTS_RETENTION_DAYS``) ago whose deliveries are all
    delivered; none when the retention is None. Dead letters and pending SETs keep their events."""
    days = scim_settings.EVENTS_RETENTION_DAYS if days is None else days
    if days is None:
        return SCIMEvent.objects.none()
    open_deliveries = SCIMEventDelivery.objects.filter(event=OuterRef("pk")).exclude(
        state=SCIMEventDelivery.State.DELIVERED
    )
    return (
        SCIMEvent.objects.filter(fanned_out=True, created__lt=timezone.now() - timedelta(days=days))
        .exclude(Exists(open_deliveries))
        .order_by("pk")
    )


def prune(days: int | None = None, *, batch_size: int = PRUNE_BATCH_SIZE) -> int:
    """Delete the ``prunable`` events with their deliveries, a batch at a time; how many events."""
    old = prunable(days)
    deleted = 0
    while True:
        keys = list(old.values_list("pk", flat=True)[:batch_size])
        if not keys:
            return deleted
        SCIMEventDelivery.objects.filter(event__in=keys).delete()
        deleted += SCIMEvent.objects.filter(pk__in=keys).delete()[0]
