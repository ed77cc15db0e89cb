"""Create realistic users and groups quickly with bulk inserts (demo data, benchmarks, tests).

Registered only where ``drf_scim.contrib.demo`` is installed (the sample site, the benchmarks' drf_scim site).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

FIRST_NAMES = ["Ada", "Grace", "Alan", "Barbara", "Edsger", "Frances", "Donald", "Margaret", "Ken", "Radia"]
LAST_NAMES = ["Lovelace", "Hopper", "Turing", "Liskov", "Dijkstra", "Allen", "Knuth", "Hamilton", "Thompson", "Perlman"]
BATCH = 5000


class Command(BaseCommand):
    help = "Seed N users (userN@example.com), G groups of 10 members and an optional group 'big' of B members."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--users", type=int, default=10, help="Users to create, user1@example.com to userN (default 10)."
        )
        parser.add_argument(
            "--groups", type=int, default=2, help="Groups to create, group1 to groupG, of 10 members each (default 2)."
        )
        parser.add_argument("--big-group", type=int, default=0, help="Members of a group named 'big' (0: none).")

    def handle(self, *args: Any, **options: Any) -> None:
        users, groups, big = options["users"], options["groups"], options["big_group"]
        if min(users, groups, big) < 0 or big > users or (groups and not users):
            raise CommandError("Counts must be positive, with --big-group at most --users and users for groups.")
        User = get_user_model()
        if User._default_manager.filter(username="user1@example.com").exists():
            self.stdout.write("Already seeded (user1@example.com exists); nothing to do.")
            return
        with transaction.atomic():
            user_ids = self.create_users(User, users)
            group_ids = self.create_groups(groups, user_ids)
            if big:
                group_ids.append(self.create_group("big", user_ids[:big]))
        self.stdout.write(f"Seeded {users} users and {len(group_ids)} groups.")

    def create_users(self, User: Any, count: int) -> list[int]:
        password = make_password(None)  # unusable, hashed once
        ids: list[int] = []
        for start in range(1, count + 1, BATCH):
            numbers = range(start, min(start + BATCH, count + 1))
            created = User._default_manager.bulk_create(self.new_user(User, n, password) for n in numbers)
            self.users_created(list(zip(numbers, created, strict=True)))
            ids.extend(user.pk for user in created)
        return ids

    def new_user(self, User: Any, n: int, password: str) -> Any:
        """User number ``n``, not saved yet."""
        return User(
            username=f"user{n}@example.com",
            first_name=FIRST_NAMES[n % len(FIRST_NAMES)],
            last_name=LAST_NAMES[(n // len(FIRST_NAMES)) % len(LAST_NAMES)],
            email=f"user{n}@example.com",
            password=password,
        )

    def users_created(self, users: list[tuple[int, Any]]) -> None:
        """Make a batch of new users (with their numbers) SCIM resources: their SCIM rows and indexed emails."""
        from drf_scim.models import SCIMUser, SCIMValue  # here: subclasses seed other stores (benchmarks/)

        resources = SCIMUser.objects.bulk_create(
            SCIMUser(
                user=user,
                user_name_key=user.username.casefold(),
                external_id=f"ext-{n}",
                data={
                    "displayName": f"{user.first_name} {user.last_name} {n}",
                    "active": True,
                    "emails": [{"value": user.email, "type": "work", "primary": True}],
                },
            )
            for n, user in users
        )
        resource_type = ContentType.objects.get_for_model(SCIMUser)
        SCIMValue.objects.bulk_create(
            SCIMValue(
                resource_type=resource_type,
                resource_id=resource.pk,
                attribute="emails",
                value_key=item["value"].casefold(),
                item=item,
            )
            for resource in resources
            for item in resource.data["emails"]
        )

    def create_groups(self, count: int, user_ids: list[int]) -> list[int]:
        ids = []
        for index in range(count):
            members = [user_ids[(index * 10 + offset) % len(user_ids)] for offset in range(min(10, len(user_ids)))]
            ids.append(self.create_group(f"group{index + 1}", members))
        return ids

    def create_group(self, name: str, member_ids: list[int]) -> int:
        from drf_scim.adoption import scim_writes
        from drf_scim.models import SCIMGroup

        with scim_writes():  # its SCIM row is written here, not adopted
            group = Group.objects.create(name=name)
        SCIMGroup.objects.create(group=group, display_name_key=name.casefold())
        self.add_members(get_user_model().groups.through, group.pk, member_ids)
        return group.pk

    def add_members(self, Membership: Any, group_id: int, member_ids: list[int]) -> None:
        for start in range(0, len(member_ids), BATCH):
            Membership.objects.bulk_create(
                Membership(user_id=user_id, group_id=group_id)
                for user_id in dict.fromkeys(member_ids[start : start + BATCH])
            )
