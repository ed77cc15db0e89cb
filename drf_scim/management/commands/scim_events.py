"""SCIM events' delivery and upkeep: ``scim_events deliver``, ``prune`` and ``retry``.

``scim_events deliver`` is the push worker (RFC 8935): it runs until SIGTERM or SIGINT (finishing the push
under way), or once with ``--once``, printing what it did. Run as many as you like, anywhere: they share the
work through the database. ``scim_events prune [--days N] [--dry-run]`` deletes the delivered events older
than ``EVENTS_RETENTION_DAYS``; ``scim_events retry`` gives the dead letters a fresh start.
"""

from __future__ import annotations

import signal
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q, QuerySet

from drf_scim.events import outbox, tokens
from drf_scim.events.push import BATCH_SIZE, PushWorker
from drf_scim.models import SCIMEventDelivery, SCIMEventReceiver
from drf_scim.settings import scim_settings

ACTIONS = {
    "deliver": ("--once", "--interval", "--batch-size", "--receiver"),
    "prune": ("--days", "--dry-run"),
    "retry": ("--receiver",),
}
DEFAULTS = {"once": False, "interval": 1.0, "batch_size": BATCH_SIZE, "receiver": None, "days": None, "dry_run": False}


class Command(BaseCommand):
    help = "Deliver SCIM events to push receivers (deliver), delete old delivered ones (prune), retry dead letters."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "action",
            choices=list(ACTIONS),
            help="deliver: push the SETs due; prune: delete delivered events older than the retention; "
            "retry: make the dead letters pending again.",
        )
        parser.add_argument("--once", action="store_true", help="deliver: one round, print its report, and exit.")
        parser.add_argument(
            "--interval",
            type=float,
            default=DEFAULTS["interval"],
            help="deliver: seconds to wait after a round that found nothing to do (default: 1).",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=DEFAULTS["batch_size"],
            help=f"deliver: SETs claimed per round (default: {BATCH_SIZE}).",
        )
        parser.add_argument(
            "--receiver",
            nargs="+",
            action="extend",
            metavar="NAME_OR_ID",
            help="deliver, retry: only these receivers (names or ids); default: all.",
        )
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="prune: delete the delivered events older than this many days (default: EVENTS_RETENTION_DAYS).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="prune: count the events that would go; delete none."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        misplaced = [
            option
            for option in {option for allowed in ACTIONS.values() for option in allowed} - set(ACTIONS[action])
            if options[option[2:].replace("-", "_")] != DEFAULTS[option[2:].replace("-", "_")]
        ]
        if misplaced:
            raise CommandError(f"{', '.join(sorted(misplaced))}: not an option of `scim_events {action}`.")
        getattr(self, action)(options)

    # -- deliver -----------------------------------------------------------------------------------------------

    def deliver(self, options: dict[str, Any]) -> None:
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be 1 or more.")
        if options["interval"] < 0:
            raise CommandError("--interval must be 0 or more.")
        try:
            tokens.issuer()
            tokens.signing_key()
        except ImproperlyConfigured as exc:
            raise CommandError(f"SCIM events cannot be signed: {exc}") from exc
        receivers = self.receivers(options["receiver"])
        worker = PushWorker(receivers=receivers, batch_size=options["batch_size"])
        if options["once"]:
            report = worker.run_once()
            self.stdout.write(
                f"Fanned out {report.fanned_out} event(s); delivered {report.delivered} SET(s), "
                f"{report.retried} to retry, {report.failed} dead letter(s)."
            )
            for error in report.errors:
                self.stderr.write(error)
            return
        previous = {number: signal.signal(number, lambda *_: worker.stop()) for number in STOP_SIGNALS}
        self.stdout.write(f"Delivering SCIM events every {options['interval']:g}s; SIGTERM or Ctrl-C stops.")
        try:
            worker.run_forever(options["interval"])
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
        self.stdout.write("Stopped.")

    # -- retry -------------------------------------------------------------------------------------------------

    def retry(self, options: dict[str, Any]) -> None:
        dead = SCIMEventDelivery.objects.filter(state=SCIMEventDelivery.State.FAILED)
        if options["receiver"]:
            dead = dead.filter(receiver__in=self.receivers(options["receiver"]))
        self.stdout.write(f"{outbox.retry(dead)} dead letter(s) pending again.")

    # -- prune -------------------------------------------------------------------------------------------------

    def prune(self, options: dict[str, Any]) -> None:
        days = options["days"]
        if days is not None and days < 1:
            raise CommandError("--days must be 1 or more.")
        shown = days if days is not None else scim_settings.EVENTS_RETENTION_DAYS
        if shown is None:
            self.stdout.write("EVENTS_RETENTION_DAYS is None: events are kept; nothing pruned.")
            return
        if options["dry_run"]:
            self.stdout.write(f"Would delete {outbox.prunable(days).count()} event(s) delivered over {shown} days ago.")
            return
        self.stdout.write(f"Deleted {outbox.prune(days)} event(s) delivered over {shown} days ago.")

    def receivers(self, names: list[str] | None) -> QuerySet:
        """The receivers ``--receiver`` names (each a name or an id); every one when it names none."""
        found = SCIMEventReceiver.objects.all()
        if not names:
            return found
        ids = [int(name) for name in names if name.isdigit()]
        found = found.filter(Q(name__in=names) | Q(pk__in=ids))
        known = {str(receiver.pk) for receiver in found} | {receiver.name for receiver in found}
        unknown = [name for name in names if name not in known]
        if unknown:
            raise CommandError(f"No event receiver named {', '.join(map(repr, unknown))} (give a name or an id).")
        return found


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
