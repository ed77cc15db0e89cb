"""The sample site's admin login, so that ``make run`` opens /admin/ on the first try.

A superuser with a well-known password: only with ``DEBUG`` on (``make run`` sets ``DJANGO_DEBUG=1``), never in
``sample_site.production``. drf_scim leaves staff and superusers out of adoption, so it is no SCIM resource.
"""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Create the sample site's demo superuser (DEBUG only) unless it exists; print its login as the last line."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--username", default="admin", help="Username of the demo superuser (default admin).")
        parser.add_argument(
            "--password",
            default=os.environ.get("DEMO_ADMIN_PASSWORD", "admin"),
            help="Its password when it is created (default $DEMO_ADMIN_PASSWORD, else admin).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("demo_admin creates a login with a well-known password: run it with DJANGO_DEBUG=1.")
        username, password = options["username"], options["password"]
        User = get_user_model()
        user = User._default_manager.filter(username=username).first()
        if user is None:
            User._default_manager.create_superuser(username=username, email="", password=password)
            self.stdout.write(f"Created the demo superuser {username!r}.")
        elif not user.check_password(password):
            self.stdout.write(f"user {username}, password unchanged (manage.py changepassword {username} resets it)")
            return
        self.stdout.write(f"user {username}, password {password}")
