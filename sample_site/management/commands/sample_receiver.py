"""The sample site's push receiver, so that ``make run`` shows SCIM events end to end.

It generates the signing key once into ``sample_site/.local/events.pem`` (unless ``EVENTS_SIGNING_KEY`` is in
the environment), and creates the push receiver "sample receiver" (or points it at ``--url`` again) that
``make events`` delivers to: ``sample_site/events.py`` at ``/events/receiver``.
"""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from jwcrypto import jwk

from drf_scim.models import SCIMEventReceiver

NAME = "sample receiver"


class Command(BaseCommand):
    help = "Create the sample site's events signing key and push receiver unless they exist; print the receiver."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--url",
            default="http://127.0.0.1:8000/events/receiver",
            help="Where the receiver is served (its push endpoint and the SETs' aud); default the one of make run.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = settings.EVENTS_KEY_FILE
        if not os.environ.get("EVENTS_SIGNING_KEY") and not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            key = jwk.JWK.generate(kty="RSA", size=2048).export_to_pem(private_key=True, password=None)
            path.touch(mode=0o600)
            path.write_bytes(key)
            self.stdout.write(f"Generated the events signing key {path}.")
        url = options["url"]
        _, created = SCIMEventReceiver.objects.update_or_create(
            name=NAME,
            defaults={"delivery": SCIMEventReceiver.Delivery.PUSH, "endpoint": url, "audience": url, "active": True},
        )
        self.stdout.write(f"{'Created' if created else 'Kept'} the push receiver {NAME!r} at {url}.")
