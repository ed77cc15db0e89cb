"""Manage the OAuth2 clients of identity providers: create tokens, list clients, revoke tokens.

``scim_token --client NAME [--scopes S] [--expires-days N] [--tenant T [--move-tenant]]`` creates (or reuses)
the application of that provisioning client and prints a new access token as the last line.
``scim_token --list`` lists the clients; ``scim_token --client NAME --revoke`` revokes all of its
tokens. Tokens are printed once, never logged, and never listed.

Mistakes are refused rather than turned into tokens that answer 403 or into data seen by another tenant: scopes
must be configured OAuth2 scopes, a client keeps its tenant unless ``--move-tenant`` says otherwise, and
``--tenant`` needs a ``TENANT_RESOLVER``.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_application_model
from oauth2_provider.scopes import get_scopes_backend
from oauthlib.common import generate_token

from drf_scim.models import SCIMClient
from drf_scim.settings import scim_settings

TENANT_NAME = re.compile(r"[A-Za-z0-9._-]{0,100}")
SCOPE_SEPARATORS = re.compile(r"[\s,]+")


def parse_scopes(text: str) -> list[str]:
    """The scopes of ``text``, separated by spaces or commas (or both), each once, in order."""
    return list(dict.fromkeys(scope for scope in SCOPE_SEPARATORS.split(text) if scope))


def check_scopes(scopes: list[str], *, default: bool = False) -> None:
    """Refuse scopes that are not configured OAuth2 scopes (``OAUTH2_PROVIDER["SCOPES"]``): their token gets 403.

    ``default``: the scopes are READ_SCOPE and WRITE_SCOPE, as no ``--scopes`` was given.
    """
    if not scopes:
        raise CommandError("--scopes names no scope.")
    valid = list(get_scopes_backend().get_all_scopes())
    unknown = [scope for scope in scopes if scope not in valid]
    if not unknown:
        return
    listed = f"{', '.join(map(repr, unknown))}: the valid ones (OAUTH2_PROVIDER['SCOPES']) are {', '.join(valid)}."
    if default:
        raise CommandError(
            f"The default scopes (DRF_SCIM's READ_SCOPE and WRITE_SCOPE) are not all OAuth2 scopes of this project, "
            f"{listed} Add them to OAUTH2_PROVIDER['SCOPES'], or pass --scopes."
        )
    raise CommandError(f"Unknown scope{'s' if len(unknown) > 1 else ''} {listed}")


def tenant_label(tenant: str) -> str:
    return f"the tenant {tenant!r}" if tenant else "the default tenant"


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
            "--scopes",
            default=None,
            help="Scopes of the token, separated by spaces or commas, each one of OAUTH2_PROVIDER['SCOPES'] "
            "(default: READ_SCOPE and WRITE_SCOPE).",
        )
        parser.add_argument("--expires-days", type=int, default=365, help="Days until the token expires (default 365).")
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

    def get_tenant(self, options: dict[str, Any]) -> str | None:
        """The tenant ``--tenant`` asks for ("" the default tenant), or None when it names none."""
        tenant = options["tenant"]
        if tenant is None:
            if options["move_tenant"]:
                raise CommandError("--move-tenant needs --tenant: the tenant to move the client to ('' the default).")
            return None
        if scim_settings.TENANT_RESOLVER is None:
            raise CommandError(
                "--tenant is only used with a tenant resolver: set DRF_SCIM['TENANT_RESOLVER'] "
                "(e.g. 'drf_scim.tenancy.application_tenant'). Without one every client provisions the one tenant."
            )
        tenant = tenant.strip()
        if not TENANT_NAME.fullmatch(tenant):
            raise CommandError("--tenant takes letters, digits, '.', '_' and '-' (at most 100), or '' for the default.")
        return tenant

    def set_tenant(self, application: Any, tenant: str | None, *, created: bool, move: bool) -> str:
        """Record the client's tenant; an existing client changes tenant only when ``move`` says so."""
        current = SCIMClient.objects.filter(client_id=application.client_id).values_list("tenant", flat=True).first()
        current = current or ""
        if tenant is None or tenant == current:
            return current
        if not created and not move:
            raise CommandError(
                f"Client {application.name!r} provisions {tenant_label(current)}: add --move-tenant to move it, "
                f"with its tokens, to {tenant_label(tenant)}."
            )
        if tenant:
            SCIMClient.objects.update_or_create(client_id=application.client_id, defaults={"tenant": tenant})
        else:
            SCIMClient.objects.filter(client_id=application.client_id).delete()
        if not created:
            self.stdout.write(f"Moved {application.name!r} from {tenant_label(current)} to {tenant_label(tenant)}.")
        return tenant

    def create_token(self, name: str, options: dict[str, Any]) -> None:
        default = options["scopes"] is None
        if default:
            scopes = list(dict.fromkeys([scim_settings.READ_SCOPE, scim_settings.WRITE_SCOPE]))
        else:
            scopes = parse_scopes(options["scopes"])
        check_scopes(scopes, default=default)
        tenant = self.get_tenant(options)
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
            tenant = self.set_tenant(application, tenant, created=created, move=options["move_tenant"])
            raw = generate_token()
            token = get_access_token_model()(
                application=application,
                scope=" ".join(scopes),
                expires=timezone.now() + timedelta(days=options["expires_days"]),
            )
            assign_token(token, raw)
            token.save()

        verb = "Created" if created else "Reused"
        tenant_note = f", tenant {tenant!r}" if tenant else ""
        self.stdout.write(f"{verb} OAuth2 application {name!r} (client_id {application.client_id}{tenant_note}).")
        self.stdout.write(f"Scopes: {' '.join(scopes)}; expires {token.expires:%Y-%m-%d}.")
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
