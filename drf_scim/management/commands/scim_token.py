"""Manage the OAuth2 clients of identity providers: create tokens, list clients, revoke tokens.

``scim_token --client NAME [--scopes S] [--expires-days N] [--tenant T]`` creates (or reuses) the
application of that provisioning client and prints a new access token as the last line.
``scim_token --list`` lists the clients; ``scim_token --client NAME --revoke`` revokes all of its
tokens. Tokens are printed once, never logged, and never listed.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_application_model
from oauthlib.common import generate_token

from drf_scim.models import SCIMClient
from drf_scim.settings import scim_settings

TENANT_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")


def assign_token(token: Any, raw: str) -> None:
    try:
        from oauth2_provider.models import set_token_value
    except ImportError:  # django-oauth-toolkit before 3.2 stores tokens as given
        token.token = raw
    else:
        set_token_value(token, raw)


class Command(BaseCommand):
    help = "Create an OAuth2 token for a SCIM client (printed last), list clients (--list) or revoke (--revoke)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--client", help="Name of the provisioning client, e.g. 'Okta'.")
        parser.add_argument(
            "--scopes", default=None, help="Space-separated scopes (default: READ_SCOPE and WRITE_SCOPE)."
        )
        parser.add_argument("--expires-days", type=int, default=365, help="Days until the token expires (default 365).")
        parser.add_argument("--tenant", default=None, help="Tenant the client provisions (multi-tenant deployments).")
        parser.add_argument("--list", action="store_true", help="List the clients, their tenants and live tokens.")
        parser.add_argument("--revoke", action="store_true", help="Revoke every token of --client.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"]:
            return self.list_clients()
        name = (options["client"] or "").strip()
        if not name:
            raise CommandError("--client is required (or use --list).")
        if options["revoke"]:
            return self.revoke(name)
        if options["expires_days"] < 1:
            raise CommandError("--expires-days must be at least 1.")
        self.create_token(name, options)

    def create_token(self, name: str, options: dict[str, Any]) -> None:
        scopes = options["scopes"] or f"{scim_settings.READ_SCOPE} {scim_settings.WRITE_SCOPE}"
        scopes = " ".join(scopes.split())
        Application = get_application_model()
        with transaction.atomic():
            application = Application.objects.filter(name=name).order_by("pk").first()
            created = application is None
            if created:
                application = Application.objects.create(
                    name=name,
                    client_type=Application.CLIENT_CONFIDENTIAL,
                    authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
                )
            tenant = options["tenant"]
            if tenant is not None and not TENANT_NAME.fullmatch(tenant):
                raise CommandError("--tenant takes letters, digits, '.', '_' and '-' (at most 100).")
            if tenant is not None:
                SCIMClient.objects.update_or_create(
                    client_id=application.client_id, defaults={"tenant": tenant.strip()}
                )
            raw = generate_token()
            token = get_access_token_model()(
                application=application,
                scope=scopes,
                expires=timezone.now() + timedelta(days=options["expires_days"]),
            )
            assign_token(token, raw)
            token.save()

        verb = "Created" if created else "Reused"
        tenant_note = ""
        client = SCIMClient.objects.filter(client_id=application.client_id).first()
        if client is not None:
            tenant_note = f", tenant {client.tenant!r}"
        self.stdout.write(f"{verb} OAuth2 application {name!r} (client_id {application.client_id}{tenant_note}).")
        self.stdout.write(f"Scopes: {scopes}; expires {token.expires:%Y-%m-%d}.")
        self.stdout.write(raw)

    def list_clients(self) -> None:
        tenants = dict(SCIMClient.objects.values_list("client_id", "tenant"))
        now = timezone.now()
        AccessToken = get_access_token_model()
        applications = get_application_model().objects.order_by("name")
        if not applications:
            self.stdout.write("No clients.")
        for application in applications:
            live = AccessToken.objects.filter(application=application, expires__gt=now).count()
            tenant = tenants.get(application.client_id, "")
            self.stdout.write(
                f"{application.name}\tclient_id={application.client_id}\ttenant={tenant or '-'}\tlive tokens={live}"
            )

    def revoke(self, name: str) -> None:
        application = get_application_model().objects.filter(name=name).first()
        if application is None:
            raise CommandError(f"No client named {name!r}.")
        tokens = get_access_token_model().objects.filter(application=application)
        count = 0
        for token in tokens:
            token.revoke()
            count += 1
        self.stdout.write(f"Revoked {count} token{'s' if count != 1 else ''} of {name!r}.")
