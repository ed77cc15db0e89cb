"""Manage the OAuth2 clients of identity providers: create tokens, list clients, revoke tokens.

``scim_token --client NAME [--scopes S] [--expires-days N] [--tenant T [--move-tenant]]`` creates (or reuses)
the connection of that provisioning client and prints a new access token as the last line.
``scim_token --list`` lists the connections; ``scim_token --client NAME --revoke`` revokes all of its
tokens. Tokens are printed once, never logged, and never listed. The Django admin's connections page does the
same (drf_scim.connections holds what both do).

Mistakes are refused rather than turned into tokens that answer 403 or into data seen by another tenant: scopes
must be configured OAuth2 scopes, a client keeps its tenant unless ``--move-tenant`` says otherwise, and
``--tenant`` needs a ``TENANT_RESOLVER``.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from oauth2_provider.models import get_application_model

from drf_scim import connections
from drf_scim.activity import usage, with_activity
from drf_scim.connections import ConnectionRefused, MoveRefused, tenant_label


class Command(BaseCommand):
    help = "Create an OAuth2 token for a SCIM client (printed last), list clients (--list) or revoke (--revoke)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--client", help="Name of the provisioning client, e.g. 'Okta'.")
        parser.add_argument(
            "--scopes",
            default=None,
            help="Scopes of the token, separated by spaces or commas, each one of OAUTH2_PROVIDER['SCOPES'] "
            "(default: READ_SCOPE and WRITE_SCOPE).",
        )
        parser.add_argument(
            "--expires-days",
            type=int,
            default=connections.DEFAULT_EXPIRES_DAYS,
            help=f"Days until the token expires (default {connections.DEFAULT_EXPIRES_DAYS}).",
        )
        parser.add_argument(
            "--tenant",
            default=None,
            help="Tenant the client provisions (needs DRF_SCIM['TENANT_RESOLVER']); '' is the default tenant. "
            "An existing client keeps its tenant unless --move-tenant is given too.",
        )
        parser.add_argument(
            "--move-tenant",
            action="store_true",
            help="Move an existing client (and the tokens it holds) to --tenant, '' for the default tenant.",
        )
        parser.add_argument(
            "--list", action="store_true", help="List the clients: tenant, live tokens, last request, requests."
        )
        parser.add_argument("--revoke", action="store_true", help="Revoke every token of --client.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["list"]:
                return self.list_clients()
            name = (options["client"] or "").strip()
            if not name:
                raise CommandError("--client is required (or use --list).")
            if options["revoke"]:
                return self.revoke(name)
            self.create_token(name, options)
        except MoveRefused as refused:
            raise CommandError(
                f"Client {refused.name!r} provisions {tenant_label(refused.current)}: add --move-tenant to move it, "
                f"with its tokens, to {tenant_label(refused.wanted)}."
            ) from None
        except ConnectionRefused as refused:
            raise CommandError(str(refused)) from None

    def get_tenant(self, options: dict[str, Any]) -> str | None:
        """The tenant ``--tenant`` asks for ("" the default tenant), or None when it names none."""
        if options["tenant"] is None:
            if options["move_tenant"]:
                raise CommandError("--move-tenant needs --tenant: the tenant to move the client to ('' the default).")
            return None
        return connections.clean_tenant(options["tenant"])

    def create_token(self, name: str, options: dict[str, Any]) -> None:
        scopes = None if options["scopes"] is None else connections.parse_scopes(options["scopes"])
        if scopes == []:
            raise CommandError("--scopes names no scope.")
        connections.check_scopes(scopes or connections.default_scopes(), default=scopes is None)
        if options["expires_days"] < 1:
            raise CommandError("--expires-days must be at least 1.")
        tenant = self.get_tenant(options)
        with transaction.atomic():
            connection = connections.connect(name, tenant=tenant, move=options["move_tenant"])
            issued = connections.issue_token(connection.application, scopes, expires_days=options["expires_days"])
        application = connection.application
        if connection.moved_from is not None:
            self.stdout.write(
                f"Moved {name!r} from {tenant_label(connection.moved_from)} to {tenant_label(connection.tenant)}."
            )
        verb = "Created" if connection.created else "Reused"
        tenant_note = f", tenant {connection.tenant!r}" if connection.tenant else ""
        self.stdout.write(f"{verb} OAuth2 application {name!r} (client_id {application.client_id}{tenant_note}).")
        self.stdout.write(f"Scopes: {' '.join(issued.scopes)}; expires {issued.expires:%Y-%m-%d}.")
        self.stdout.write(issued.value)

    def list_clients(self) -> None:
        rows = list(with_activity(connections.with_tokens()).order_by("name"))
        if not rows:
            self.stdout.write("No clients.")
        for row in rows:
            used = usage(row)
            last = f"{used.last_request:%Y-%m-%d %H:%M:%S}" if used.last_request else "-"
            self.stdout.write(
                f"{row.name}\tclient_id={row.client_id}\ttenant={row.tenant or '-'}\tlive tokens={row.live_tokens}"
                f"\tlast request={last}\trequests (7 days)={used.requests_7_days}"
            )

    def revoke(self, name: str) -> None:
        application = get_application_model().objects.filter(name=name).order_by("pk").first()
        if application is None:
            raise CommandError(f"No client named {name!r}.")
        count = connections.revoke_tokens(application)
        self.stdout.write(f"Revoked {count} token{'s' if count != 1 else ''} of {name!r}.")
