"""Bulk-insert the benchmark data set, the same shape as drf_scim's ``scim_seed``."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import models, transaction
from django.db.models.functions import Cast

from scimref.models import Group, User

FIRST_NAMES = ["Ada", "Grace", "Alan", "Barbara", "Edsger", "Frances", "Donald", "Margaret", "Ken", "Radia"]
LAST_NAMES = ["Lovelace", "Hopper", "Turing", "Liskov", "Dijkstra", "Allen", "Knuth", "Hamilton", "Thompson", "Perlman"]
BATCH = 5000
Membership = User.scim_groups.through


class Command(BaseCommand):
    help = "Seed N users (userN@example.com), G groups of 10 members and an optional group 'big' of B members."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--users", type=int, default=10)
        parser.add_argument("--groups", type=int, default=2)
        parser.add_argument("--big-group", type=int, default=0, help="Members of a group named 'big' (0: none).")

    def handle(self, *args: Any, **options: Any) -> None:
        users, groups, big = options["users"], options["groups"], options["big_group"]
        if min(users, groups, big) < 0 or big > users or (groups and not users):
            raise CommandError("Counts must be positive, with --big-group at most --users and users for groups.")
        if User.objects.filter(username="user1@example.com").exists():
            self.stdout.write("Already seeded (user1@example.com exists); nothing to do.")
            return
        names = [f"group{index + 1}" for index in range(groups)] + (["big"] if big else [])
        with transaction.atomic():
            user_ids = self.create_users(users)
            group_ids = self.create_groups(names)
            # django-scim2 sets scim_id = str(pk) in save(); bulk inserts skip save(), so one UPDATE per table.
            for model in (User, Group):
                model.objects.filter(scim_id__isnull=True).update(scim_id=Cast("pk", models.CharField()))
            pairs = [
                (user_ids[(index * 10 + offset) % users], group_ids[index])
                for index in range(groups)
                for offset in range(min(10, users))
            ]
            pairs += [(user_id, group_ids[-1]) for user_id in user_ids[:big]]
            for start in range(0, len(pairs), BATCH):
                batch = pairs[start : start + BATCH]
                Membership.objects.bulk_create(Membership(user_id=u, group_id=g) for u, g in batch)
        self.stdout.write(f"Seeded {users} users and {len(group_ids)} groups.")

    def create_users(self, count: int) -> list[int]:
        password = make_password(None)  # unusable, hashed once
        ids: list[int] = []
        for start in range(1, count + 1, BATCH):
            rows = [
                User(
                    username=f"user{n}@example.com",
                    scim_username=f"user{n}@example.com",
                    first_name=FIRST_NAMES[n % len(FIRST_NAMES)],
                    last_name=LAST_NAMES[(n // len(FIRST_NAMES)) % len(LAST_NAMES)],
                    email=f"user{n}@example.com",
                    scim_external_id=f"ext-{n}",
                    password=password,
                )
                for n in range(start, min(start + BATCH, count + 1))
            ]
            ids.extend(user.pk for user in User.objects.bulk_create(rows))
        return ids

    def create_groups(self, names: list[str]) -> list[int]:
        ids: list[int] = []
        for start in range(0, len(names), BATCH):
            rows = [Group(name=name, scim_display_name=name) for name in names[start : start + BATCH]]
            ids.extend(group.pk for group in Group.objects.bulk_create(rows))
        return ids
