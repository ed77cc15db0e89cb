"""How much each provisioning connection is used: its SCIM requests, counted per connection and day (UTC).

Counting costs a request no query. ``SCIMViewMixin.dispatch`` adds each request to this process's tally; the
tally is written (an UPDATE, or an INSERT, per connection and day) once a request has finished and
``ACTIVITY_FLUSH_SECONDS`` have passed since the last write: after the response was sent, and never inside a
transaction, so that no client waits for it and no rollback takes it along. What a reader (the admin,
``scim_token --list``) shows is what is stored plus the tally of its own process; another process's tally is
stored within ``ACTIVITY_FLUSH_SECONDS`` of its next request, or when its worker exits (``flush()`` in
gunicorn's ``worker_exit``, as ``deploy/gunicorn.conf.py`` does).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.core.signals import request_finished
from django.db import DEFAULT_DB_ALIAS, DatabaseError, IntegrityError, close_old_connections, connections, transaction
from django.db.models import DateTimeField, F, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from .models import SCIMActivity
from .settings import scim_settings

logger = logging.getLogger("drf_scim")
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
RECENT_DAYS = 7


@dataclass
class Counts:
    """The requests of one connection on one day."""

    requests: int = 0
    writes: int = 0
    errors: int = 0
    last_request: datetime | None = None

    def add(self, other: Counts) -> None:
        self.requests += other.requests
        self.writes += other.writes
        self.errors += other.errors
        if other.last_request is not None and (self.last_request is None or other.last_request > self.last_request):
            self.last_request = other.last_request


@dataclass
class Usage:
    """What a connection did lately: its last request, and its requests today and over the last seven days."""

    last_request: datetime | None = None
    requests_today: int = 0
    requests_7_days: int = 0
    errors_7_days: int = 0


class ActivityRecorder:
    """This process's tally of SCIM requests per (client_id, day), and its writing to ``SCIMActivity``."""

    def __init__(self) -> None:
        self._tally: dict[tuple[str, date], Counts] = {}
        self._lock = threading.Lock()
        self._last_write = time.monotonic()

    def record(self, client_id: str, method: str, status_code: int) -> None:
        """Count one request of the connection ``client_id``."""
        now = timezone.now()
        with self._lock:
            counts = self._tally.setdefault((client_id, now.date()), Counts())
            counts.requests += 1
            counts.writes += method in WRITE_METHODS
            counts.errors += status_code >= 400
            counts.last_request = now

    def pending(self, client_id: str) -> dict[date, Counts]:
        """The counts of ``client_id`` this process has not written yet, by day."""
        with self._lock:
            return {day: Counts(**vars(counts)) for (key, day), counts in self._tally.items() if key == client_id}

    def forget(self, client_ids: Any = None) -> None:
        """Drop the tally of ``client_ids`` (connections deleted), or all of it."""
        with self._lock:
            if client_ids is None:
                self._tally.clear()
            else:
                gone = set(client_ids)
                for key in [key for key in self._tally if key[0] in gone]:
                    del self._tally[key]

    def flush(self, using: str = DEFAULT_DB_ALIAS) -> int:
        """Write the tally; how many (connection, day) rows were written. What could not be written is kept."""
        with self._lock:
            tally, self._tally = self._tally, {}
            self._last_write = time.monotonic()
        written = 0
        try:
            for key in list(tally):
                write_counts(*key, tally[key], using=using)
                del tally[key]
                written += 1
        except DatabaseError as error:
            logger.warning("SCIM activity not written yet (%s); kept for the next attempt.", error)
        finally:
            if tally:
                with self._lock:
                    for key, counts in tally.items():
                        self._tally.setdefault(key, Counts()).add(counts)
        return written

    def flush_if_due(self, **kwargs: Any) -> None:
        """``request_finished``: write the tally when it is due, outside any transaction."""
        seconds = scim_settings.ACTIVITY_FLUSH_SECONDS
        if seconds is None or not self._tally or time.monotonic() - self._last_write < seconds:
            return
        if connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return
        self.flush()
        close_old_connections()


def write_counts(client_id: str, day: date, counts: Counts, using: str = DEFAULT_DB_ALIAS) -> None:
    """Add ``counts`` to the stored row of (client_id, day), made when there is none."""
    rows = SCIMActivity.objects.using(using).filter(client_id=client_id, day=day)
    changes = {
        "requests": F("requests") + counts.requests,
        "writes": F("writes") + counts.writes,
        "errors": F("errors") + counts.errors,
        "last_request": Greatest("last_request", Value(counts.last_request, output_field=DateTimeField())),
    }
    with transaction.atomic(using=using):
        if rows.update(**changes):
            return
        try:
            with transaction.atomic(using=using):
                SCIMActivity.objects.using(using).create(client_id=client_id, day=day, **vars(counts))
        except IntegrityError:  # another process made the row meanwhile
            rows.update(**changes)


recorder = ActivityRecorder()
request_finished.connect(recorder.flush_if_due, dispatch_uid="drf_scim_write_activity")


def flush() -> int:
    """Write this process's tally now (e.g. when a worker exits), outside any transaction (a rollback would take
    the counts along); how many rows were written."""
    return recorder.flush()


def record_request(request: Any, http_request: Any, response: Any) -> None:
    """Count a SCIM request made with an OAuth2 application's token (other requests have no connection)."""
    if scim_settings.ACTIVITY_FLUSH_SECONDS is None or getattr(http_request, "scim_bulk_operation", False):
        return
    # What authentication found, if it ran: reading request.auth would authenticate (again).
    application = getattr(getattr(request, "_auth", None), "application", None)
    client_id = getattr(application, "client_id", None)
    if client_id:
        recorder.record(client_id, http_request.method, response.status_code)


def with_activity(queryset: QuerySet, *, day: date | None = None) -> QuerySet:
    """``queryset`` of connections (anything with a ``client_id``) annotated with their stored activity:
    ``stored_last_request``, ``stored_requests_today``, ``stored_requests_7_days``, ``stored_errors_7_days``."""
    day = day or timezone.now().date()
    stored = SCIMActivity.objects.filter(client_id=OuterRef("client_id"))
    recent = stored.filter(day__gt=day - timedelta(days=RECENT_DAYS)).order_by().values("client_id")
    return queryset.annotate(
        stored_last_request=Subquery(stored.order_by("-day").values("last_request")[:1]),
        stored_requests_today=Coalesce(Subquery(stored.filter(day=day).values("requests")[:1]), 0),
        stored_requests_7_days=Coalesce(Subquery(recent.annotate(total=Sum("requests")).values("total")[:1]), 0),
        stored_errors_7_days=Coalesce(Subquery(recent.annotate(total=Sum("errors")).values("total")[:1]), 0),
    )


def usage(connection: Any, *, day: date | None = None) -> Usage:
    """The activity of a connection annotated by ``with_activity``, with this process's tally added."""
    day = day or timezone.now().date()
    result = Usage(
        last_request=connection.stored_last_request,
        requests_today=connection.stored_requests_today,
        requests_7_days=connection.stored_requests_7_days,
        errors_7_days=connection.stored_errors_7_days,
    )
    for pending_day, counts in recorder.pending(connection.client_id).items():
        if pending_day == day:
            result.requests_today += counts.requests
        if pending_day > day - timedelta(days=RECENT_DAYS):
            result.requests_7_days += counts.requests
            result.errors_7_days += counts.errors
        if result.last_request is None or counts.last_request > result.last_request:
            result.last_request = counts.last_request
    return result


def daily_activity(client_id: str, days: int = 14) -> list[tuple[date, Counts]]:
    """The last ``days`` days of a connection's activity, newest first (days without requests left out)."""
    since = timezone.now().date() - timedelta(days=days - 1)
    by_day = {
        row.day: Counts(row.requests, row.writes, row.errors, row.last_request)
        for row in SCIMActivity.objects.filter(client_id=client_id, day__gte=since)
    }
    for day, counts in recorder.pending(client_id).items():
        if day >= since:
            by_day.setdefault(day, Counts()).add(counts)
    return sorted(by_day.items(), reverse=True)
