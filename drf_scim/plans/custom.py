"""Statements PostgreSQL plans for their values on every run: the filters whose best plan depends on them.

With parameters bound server-side (``"server_side_binding": True``, as docs/howto/deploying.rst recommends),
psycopg prepares a statement once a connection has run it ``prepare_threshold`` times, and PostgreSQL may then
keep one generic plan for every value. A lookup by id or ``userName eq`` has the same best plan whatever the
value, and gains. A LIKE pattern (``co``, ``sw``, ``ew``) does not: how many users ``"54321@ex"`` matches
decides between the trigram or pattern-ops index and walking the primary key to fill a page, and a generic
plan, estimated without the pattern, walks the primary key. At 1,000,000 users that made a page of
``userName co`` take a second. :func:`custom_plans` runs a list's statements unprepared instead, so each is
planned with its pattern, at the cost of planning it (tens of microseconds), on PostgreSQL only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connections


@contextmanager
def custom_plans(using: str) -> Iterator[None]:
    """Run the statements inside unprepared on ``using``: planned with their values (psycopg 3 only)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        yield
        return
    # The connection the statements will run on: the per-request health check (CONN_HEALTH_CHECKS) that the
    # first cursor would make is made now, so that it does not replace the connection inside.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    raw = connection.connection
    threshold = getattr(raw, "prepare_threshold", None)  # psycopg 3's; None: nothing is prepared anyway
    if threshold is None:
        yield
        return
    raw.prepare_threshold = None
    try:
        yield
    finally:
        if connection.connection is raw:  # not closed and replaced meanwhile (a pool may hand it out)
            raw.prepare_threshold = threshold
