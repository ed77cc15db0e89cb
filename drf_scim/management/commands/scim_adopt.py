"""Make the accounts made outside SCIM resources, and catch up with changes that sent no signal."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS

from drf_scim.adoption import Adoption


class Command(BaseCommand):
    help = (
        "Adopt every user and group without a SCIM row into the tenant DRF_SCIM['ADOPTION_TENANT'] names, "
        "bring the SCIM rows of all others up to date with changes that bypassed signals (QuerySet.update(), "
        "bulk_create(), raw SQL), and report every account left out because another holds its name, ignoring case."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Report what would be adopted and refreshed; write nothing."
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="The database to adopt in (default: default).")

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run = options["dry_run"]
        verb = "would adopt" if dry_run else "adopted"
        for adoption in Adoption.of_resource_types(options["database"]):
            report = adoption.resync(dry_run=dry_run)
            refreshed = "would refresh" if dry_run else "refreshed"
            self.stdout.write(
                f"{adoption.resource_type}: {verb} {report.adopted}, {refreshed} {report.refreshed}, "
                f"left out (no tenant) {report.left_out}, withdrawn {report.withdrawn}, "
                f"conflicts {len(report.conflicts)}."
            )
            for conflict in report.conflicts:
                self.stdout.write(f"  conflict: {conflict}")
