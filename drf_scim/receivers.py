"""Signal receivers that keep SCIM in step with the accounts the host project changes itself.

Connected by ``DrfScimConfig.ready()``. An account created outside SCIM (the admin, a sign-up form,
``createsuperuser``) is adopted at once, in the host's transaction; one loaded from a fixture is
adopted when the fixture's transaction commits (the fixture may hold its SCIM row too). A change to an
account's own columns moves its version on; a change of a group's members through Django's
many-to-many manager moves the group's. What bypasses signals (``QuerySet.update()``,
``bulk_create()``, raw SQL) is caught up by ``manage.py scim_adopt``. drf_scim's own writes are left
alone (``adoption.scim_writes``). What these receivers see is recorded in the audit trail as changes made
outside SCIM (``drf_scim.audit``), in the host's transaction.
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any

from django.apps import apps as global_apps
from django.db import DEFAULT_DB_ALIAS, router, transaction

from .adoption import IGNORED_COLUMNS, Adoption, memberships_changed, scim_is_writing
from .settings import scim_settings

logger = logging.getLogger("drf_scim.adoption")
_fixture_accounts = threading.local()
_membership_writes = [0]  # a counter: a list, so the receiver moves it without a global statement


def membership_writes() -> int:
    """How many writes of memberships this process has made: the changes of the user-group table the
    signals see, and the writes of drf_scim's relation attributes, which send none (``count_membership_write``).
    It only grows: a create that finds it unchanged after its transaction and its receivers knows that
    nothing added the new resource to a group (``CreateResourceMixin``), with no query."""
    return _membership_writes[0]


def count_membership_write() -> None:
    """Count a write of memberships that sends no ``m2m_changed`` (``bulk_create()``, ``QuerySet.delete()``)."""
    _membership_writes[0] += 1


def account_saved(
    sender: type, instance: Any, created: bool, raw: bool, using: str, update_fields: Any = None, **kwargs: Any
) -> None:
    if scim_is_writing():
        return
    adoption = Adoption.of_model(sender, using)
    if adoption is None:
        return
    adoption.records_changes = True
    if raw:
        adopt_on_commit(adoption, instance.pk)
        return
    if created:
        report = adoption.adopt([instance.pk])
    elif update_fields is None or not set(update_fields) <= IGNORED_COLUMNS:
        report = adoption.refresh_accounts([instance])
    else:
        return
    for conflict in report.conflicts:  # the host's save stands; the name stays with the resource holding it
        logger.warning("%s", conflict)
    if report.withdrawn:
        logger.warning("%s is no SCIM resource any more: ADOPTION_TENANT does not adopt it.", instance)


def adopt_on_commit(adoption: Adoption, pk: Any) -> None:
    """Adopt the accounts a fixture loads once its transaction commits, in one batch."""
    pending = getattr(_fixture_accounts, "pending", None)
    if pending is None:
        pending = _fixture_accounts.pending = {}
    key = (adoption.using, adoption.model)
    pending.setdefault(key, set()).add(pk)

    def adopt() -> None:
        pks = pending.pop(key, None)
        if pks:
            Adoption.of_model(key[1], key[0]).adopt(pks)

    transaction.on_commit(adopt, using=adoption.using)


def members_changed(
    sender: type, instance: Any, action: str, reverse: bool, pk_set: Any, using: str, **kwargs: Any
) -> None:
    """``user.groups`` or ``group.user_set`` changed outside SCIM: the groups concerned move on."""
    if action.startswith("post_"):
        count_membership_write()
    if scim_is_writing():
        return
    if action == "pre_clear" and not reverse:  # the groups a user leaves are known only before
        instance._drf_scim_cleared_groups = list(instance.groups.values_list("pk", flat=True))
    elif action in ("post_add", "post_remove", "post_clear"):
        if reverse:
            groups = [instance.pk]
        elif action == "post_clear":
            groups = instance.__dict__.pop("_drf_scim_cleared_groups", [])
        else:
            groups = pk_set or []
        memberships_changed(groups, using)
        record_memberships(instance, action, reverse, pk_set, groups, using)


def record_memberships(instance: Any, action: str, reverse: bool, pk_set: Any, groups: list, using: str) -> None:
    """Record the members ``user.groups`` or ``group.user_set`` added or removed, per SCIM group of the
    user's tenant: two reads (the SCIM rows of the groups and of the users) and one INSERT."""
    from .audit import Operation, record_outside
    from .models import SCIMGroup, SCIMUser

    kind = Operation.MEMBERS_ADDED if action == "post_add" else Operation.MEMBERS_REMOVED
    users = list(pk_set or []) if reverse else [instance.pk]
    rows = list(SCIMGroup.objects.using(using).filter(group__in=list(groups)))
    if not rows:
        return
    members: dict[str, list[str]] = {row.tenant: [] for row in rows}
    for tenant, scim_id in (
        SCIMUser.objects.using(using)
        .filter(user__in=users, deleted__isnull=True, tenant__in=list(members))
        .values_list("tenant", "scim_id")
    ):
        members[tenant].append(str(scim_id))
    entries = []
    for row in rows:
        if reverse and action == "post_clear":
            change = {"added": [], "removed": [], "cleared": True}
        elif members[row.tenant]:
            key = "added" if kind == Operation.MEMBERS_ADDED else "removed"
            change = {"added": [], "removed": [], key: members[row.tenant]}
        else:
            continue
        entries.append((scim_settings.GROUP_SERIALIZER.Meta.resource_type, row, kind, {"members": change}))
    record_outside(entries, using)


def account_deleted(sender: type, instance: Any, using: str, **kwargs: Any) -> None:
    """An account deleted outside SCIM: its SCIM row goes with it (cascade), recorded as deleted."""
    if scim_is_writing():
        return
    adoption = Adoption.of_model(sender, using)
    if adoption is None:
        return
    from .audit import Operation, record_outside

    companion = adoption.companions().filter(**{adoption.link: instance.pk}).first()
    if companion is not None and getattr(companion, "deleted", None) is None:
        record_outside([(adoption.resource_type, companion, Operation.DELETED, {})], using)


def adopt_after_migrate(
    sender: Any,
    apps: Any = global_apps,
    using: str = DEFAULT_DB_ALIAS,
    verbosity: int = 1,
    stdout: Any = None,
    **kwargs: Any,
) -> None:
    """After ``migrate``, every account made before drf_scim was installed (or since, by means that
    send no signal) becomes a resource."""
    if not companion_tables_migrated(apps):
        return
    for adoption in Adoption.of_resource_types(using):
        if not all(router.allow_migrate_model(using, model) for model in (adoption.model, adoption.companion_model)):
            continue  # this database holds neither the accounts nor their SCIM rows
        report = adoption.adopt()
        if verbosity >= 1 and report:
            conflicts = f"; {len(report.conflicts)} left out, see manage.py scim_adopt --dry-run"
            (stdout or sys.stdout).write(
                f"  drf_scim adopted {report.adopted} {adoption.resource_type} resource(s)"
                f"{conflicts if report.conflicts else ''}.\n"
            )


def companion_tables_migrated(apps: Any) -> bool:
    """Whether the migrated state has drf_scim's tables with every column (not while migrating back)."""
    for name in ("SCIMUser", "SCIMGroup", "SCIMValue"):
        try:
            state = apps.get_model("drf_scim", name)
        except LookupError:
            return False
        current = global_apps.get_model("drf_scim", name)
        if {f.column for f in current._meta.concrete_fields} - {f.column for f in state._meta.concrete_fields}:
            return False
    return True
