"""The audit trail's upkeep: ``scim_audit prune`` deletes the changes older than the retention.

``scim_audit prune [--days N] [--dry-run]`` deletes, a batch at a time, the changes recorded more than
``AUDIT_RETENTION_DAYS`` (or ``N``) days ago; ``--dry-run`` counts them and deletes nothing. Run it daily
(cron, a systemd timer, a scheduled task); it does nothing when the retention is None and no ``--days`` is given.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from drf_scim import audit
from drf_scim.settings import scim_settings


class Command(BaseCommand):
    help = "Delete the audit trail's changes older than DRF_SCIM['AUDIT_RETENTION_DAYS'] (prune)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("action", choices=["prune"], help="prune: delete the changes older than the retention.")
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="Delete the changes older than this many days (default: AUDIT_RETENTION_DAYS).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Count the changes that would go; delete none.")
        parser.add_argument(
            "--batch-size",
            type=int,
            default=audit.PRUNE_BATCH_SIZE,
            help=f"Changes deleted per statement (default: {audit.PRUNE_BATCH_SIZE}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        days, batch_size = options["days"], options["batch_size"]
        if days is not None and days < 1:
            raise CommandError("--days must be 1 or more.")
        if batch_size < 1:
            raise CommandError("--batch-size must be 1 or more.")
        if days is None and scim_settings.AUDIT_RETENTION_DAYS is None:
            self.stdout.write("AUDIT_RETENTION_DAYS is None: the audit trail is kept; nothing pruned.")
            return
        shown = days if days is not None else scim_settings.AUDIT_RETENTION_DAYS
        if options["dry_run"]:
            count = audit.expired(days).count()
            self.stdout.write(f"Would delete {count} change(s) older than {shown} days.")
            return
        count = audit.prune(days, batch_size=batch_size)
        self.stdout.write(f"Deleted {count} change(s) older than {shown} days.")
