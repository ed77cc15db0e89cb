"""Create (or reuse) the OAuth2 application of a provisioning client and print a new bearer token."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_application_model
from oauthlib.common import generate_token

from drf_scim.settings import scim_settings


def assign_token(token: Any, raw: str) -> None:
    try:
        from oauth2_provider.models import set_token_value
    except ImportError:  # django-oauth-toolkit before 3.2 stores tokens as given
        token.token = raw
    else:
        set_token_value(token, raw)


class Command(BaseCommand):
    help = "Create or reuse an OAuth2 application for a SCIM client and print a new access token (last line)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--client", required=True, help="Name of the provisioning client, e.g. 'Okta'.")
        parser.add_argument(
            "--scopes",
            default=None,
            help="Space-separated scopes (default: the READ_SCOPE and WRITE_SCOPE settings).",
        )
        parser.add_argument("--expires-days", type=int, default=365, help="Days until the token expires (default 365).")

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["client"].strip()
        if not name:
            raise CommandError("--client must not be empty.")
        if options["expires_days"] < 1:
            raise CommandError("--expires-days must be at least 1.")
        scopes = options["scopes"] or f"{scim_settings.READ_SCOPE} {scim_settings.WRITE_SCOPE}"
        scopes = " ".join(scopes.split())

        Application = get_application_model()
        AccessToken = get_access_token_model()
        with transaction.atomic():
            application = Application.objects.filter(name=name).order_by("pk").first()
            created = application is None
            if created:
                application = Application.objects.create(
                    name=name,
                    client_type=Application.CLIENT_CONFIDENTIAL,
                    authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
                )
            raw = generate_token()
            token = AccessToken(
                application=application,
                scope=scopes,
                expires=timezone.now() + timedelta(days=options["expires_days"]),
            )
            assign_token(token, raw)
            token.save()

        verb = "Created" if created else "Reused"
        self.stdout.write(f"{verb} OAuth2 application {name!r} (client_id {application.client_id}).")
        self.stdout.write(f"Scopes: {scopes}; expires {token.expires:%Y-%m-%d}.")
        self.stdout.write(raw)
