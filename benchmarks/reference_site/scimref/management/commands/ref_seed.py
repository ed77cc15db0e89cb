"""``scim_seed`` for the reference site: the same users, groups and memberships, as django-scim2 stores them."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models.functions import Cast

from drf_scim.contrib.demo.management.commands import scim_seed
from scimref.models import Group, User


class Command(scim_seed.Command):
    help = "Seed django-scim2's tables like scim_seed: N users, G groups of 10 and an optional group 'big' of B."

    def new_user(self, User: Any, n: int, password: str) -> Any:
        user = super().new_user(User, n, password)
        user.scim_username = user.username
        user.scim_external_id = f"ext-{n}"
        return user

    def users_created(self, users: list[tuple[int, Any]]) -> None:
        # django-scim2 sets scim_id = str(pk) in save(), which bulk inserts skip.
        ids = [user.pk for _, user in users]
        User.objects.filter(pk__in=ids).update(scim_id=Cast("pk", models.CharField()))

    def create_group(self, name: str, member_ids: list[int]) -> int:
        group = Group.objects.create(name=name, scim_display_name=name)  # save() sets its scim_id
        self.add_members(User.scim_groups.through, group.pk, member_ids)
        return group.pk
