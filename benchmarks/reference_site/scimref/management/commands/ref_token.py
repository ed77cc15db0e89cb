"""Print (last line) a one-day bearer token of django-oauth-toolkit for the service user ``scim-idp``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_application_model, set_token_value
from oauthlib.common import generate_token

from scimref.models import User

SCOPES = "scim:read scim:write"


class Command(BaseCommand):
    help = "Create a bearer token bound to the user 'scim-idp' (django-scim2 requires an authenticated user)."

    def handle(self, *args: Any, **options: Any) -> None:
        Application = get_application_model()
        with transaction.atomic():
            user = User.objects.filter(username="scim-idp").first()
            if user is None:
                user = User.objects.create_user("scim-idp")  # unusable password; save() assigns scim_id
            application, _ = Application.objects.get_or_create(
                name="scim-idp",
                defaults={
                    "user": user,
                    "client_type": Application.CLIENT_CONFIDENTIAL,
                    "authorization_grant_type": Application.GRANT_CLIENT_CREDENTIALS,
                },
            )
            raw = generate_token()
            token = get_access_token_model()(
                user=user, application=application, scope=SCOPES, expires=timezone.now() + timedelta(days=1)
            )
            set_token_value(token, raw)
            token.save()
        self.stdout.write(f"Token of user 'scim-idp' (scopes {SCOPES!r}), expires {token.expires:%Y-%m-%d %H:%M} UTC:")
        self.stdout.write(raw)
