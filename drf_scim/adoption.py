"""Accounts made outside SCIM are SCIM resources too.

Every user and group of the host project that belongs to a tenant is a resource, whether SCIM made
it or the admin, a sign-up form, a fixture or a data import did: it has a companion row
(``SCIMUser``, ``SCIMGroup``) holding its SCIM id, tenant and version. ``DRF_SCIM["ADOPTION_TENANT"]``
decides the tenant of an account (``adoption_tenant``).

Companion rows are written a batch at a time (``Adoption.adopt``): after ``migrate``, by
``manage.py scim_adopt``, and when the host creates an account (``receivers.py``). A change the host
makes to an account's own columns moves its version and lastModified on (``Adoption.refresh``), so
identity providers see it and a stale ``If-Match`` fails.

userName and displayName are unique per tenant ignoring case. Where accounts' names collide that
way, the account that already is a resource keeps the name, else the oldest (lowest primary key) is
adopted; the others are reported as conflicts and stay out of SCIM until renamed.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, models, transaction
from django.db.models import F
from django.utils import timezone

from .django_internals import forget_related
from .models import SCIMValue
from .settings import SETTING_NAME, scim_settings
from .tenancy import SINGLE_TENANT

# Columns whose changes SCIM does not show: signing in moves last_login, and passwords are write-only.
IGNORED_COLUMNS = frozenset({"password", "last_login"})
BATCH_SIZE = 2000
# Adopting this many rows at once refreshes the database's statistics of them (Adoption.analyze).
ANALYZE_AFTER = 500

_scim_writing: contextvars.ContextVar[bool] = contextvars.ContextVar("drf_scim_writing", default=False)


@contextlib.contextmanager
def scim_writes() -> Iterator[None]:
    """drf_scim itself saves the accounts of this block (and their companion rows): the receivers of
    changes made outside SCIM leave them alone."""
    token = _scim_writing.set(True)
    try:
        yield
    finally:
        _scim_writing.reset(token)


def scim_is_writing() -> bool:
    return _scim_writing.get()


def default_tenant(account: models.Model) -> str | None:
    """``ADOPTION_TENANT`` that adopts every account into the default tenant (""), but staff, superusers and
    groups that carry permissions.

    They run the project itself: a provisioning token that could set their passwords, delete them or add
    its users to such a group would have a way into the Django admin.
    """
    if getattr(account, "is_superuser", False) or getattr(account, "is_staff", False):
        return None
    permissions = getattr(account, "permissions", None)  # auth's Group
    if permissions is not None and hasattr(permissions, "exists") and permissions.exists():
        return None
    return SINGLE_TENANT


def every_account(account: models.Model) -> str:
    """``ADOPTION_TENANT`` that adopts every account into the default tenant, staff and superusers too."""
    return SINGLE_TENANT


def no_tenant(account: models.Model) -> None:
    """``ADOPTION_TENANT`` that adopts no account: only what SCIM creates is a resource."""
    return None


def adoption_tenant(account: models.Model) -> str | None:
    """The tenant ``account`` belongs to, or None when it is no SCIM resource.

    Unset, a single-tenant project (no ``TENANT_RESOLVER``) adopts every account but staff and
    superusers (``default_tenant``), and a multi-tenant one none: only ``ADOPTION_TENANT`` can say which
    customer an account belongs to.
    """
    policy = scim_settings.ADOPTION_TENANT
    if policy is None:
        return default_tenant(account) if scim_settings.TENANT_RESOLVER is None else None
    tenant = policy(account)
    if tenant is not None and not isinstance(tenant, str):
        raise ImproperlyConfigured(
            f"{SETTING_NAME}['ADOPTION_TENANT'] must return a tenant key (a str) or None, not {tenant!r}."
        )
    return tenant


def account_state(account: models.Model) -> str:
    """A digest of the account's own columns (but ``IGNORED_COLUMNS``): whether the host changed it."""
    digest = hashlib.blake2b(digest_size=16)
    for column in account._meta.concrete_fields:
        if not column.primary_key and column.name not in IGNORED_COLUMNS:
            digest.update(f"{column.attname}={getattr(account, column.attname)!r}\x00".encode())
    return digest.hexdigest()


@dataclass
class Conflict:
    """An account left out (or unkeyed) because another one holds its name, ignoring case."""

    account: str
    attribute: str
    value: str
    tenant: str
    holder: str

    def __str__(self) -> str:
        tenant = f"tenant {self.tenant!r}" if self.tenant else "the default tenant"
        return (
            f"{self.account}: {self.attribute} {self.value!r} is held by {self.holder} in {tenant}. "
            f"Rename one of them, then run manage.py scim_adopt again."
        )


@dataclass
class Report:
    """What one adoption run did (or, dry, would do) for one resource type."""

    resource_type: str
    adopted: int = 0
    left_out: int = 0
    refreshed: int = 0
    withdrawn: int = 0
    conflicts: list[Conflict] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.adopted or self.refreshed or self.withdrawn or self.conflicts)


def describe(account: models.Model) -> str:
    return f"{account._meta.verbose_name} #{account.pk} ({account})"


class Adoption:
    """How the accounts of one resource type (a serializer with ``Meta.scim_relation``) become and stay
    SCIM resources."""

    def __init__(self, serializer_class: type, using: str = DEFAULT_DB_ALIAS) -> None:
        meta = serializer_class.Meta
        self.serializer_class = serializer_class
        self.resource_type: str = meta.resource_type
        self.model: type[models.Model] = meta.model
        self.relation: str = meta.scim_relation
        reverse = self.model._meta.get_field(self.relation)
        self.companion_model: type[models.Model] = reverse.related_model
        self.link: str = reverse.field.name
        self.using = using
        self._serializers: dict[str, Any] = {}
        # Whether what this adoption writes is recorded in the audit trail as changes made outside SCIM: on for
        # the changes the receivers see (drf_scim.receivers), off for migrate's and scim_adopt's catching up.
        self.records_changes = False

    @classmethod
    def of_resource_types(cls, using: str = DEFAULT_DB_ALIAS) -> list[Adoption]:
        """One per built-in resource type kept in companion rows (``USER_SERIALIZER``, ``GROUP_SERIALIZER``)."""
        serializers = (scim_settings.USER_SERIALIZER, scim_settings.GROUP_SERIALIZER)
        return [cls(serializer, using) for serializer in serializers if getattr(serializer.Meta, "scim_relation", None)]

    @classmethod
    def of_model(cls, model: type[models.Model], using: str = DEFAULT_DB_ALIAS) -> Adoption | None:
        return next((adoption for adoption in cls.of_resource_types(using) if adoption.model is model), None)

    def serializer(self, tenant: str) -> Any:
        """The resource type's serializer for ``tenant``, without a request (its keys and documents)."""
        serializer = self._serializers.get(tenant)
        if serializer is None:
            serializer = self._serializers[tenant] = self.serializer_class(context={"tenant": tenant})
        return serializer

    def accounts(self) -> models.QuerySet:
        return self.model._default_manager.db_manager(self.using).all()

    def companions(self) -> models.QuerySet:
        return self.companion_model._default_manager.db_manager(self.using).all()

    # -- adoption ----------------------------------------------------------

    def adopt(self, pks: Iterable[Any] | None = None, *, dry_run: bool = False) -> Report:
        """Give the accounts without a companion row (all, or those of ``pks``) one, a batch at a time."""
        report = Report(self.resource_type)
        claimed: dict[tuple[str, str, str], str] = {}
        missing = self.accounts().filter(**{f"{self.relation}__isnull": True}).order_by("pk")
        for batch in self.batches(missing, pks):
            self.adopt_batch(batch, report, claimed, dry_run=dry_run)
        if not dry_run and report.adopted >= ANALYZE_AFTER:
            self.analyze()
        return report

    def analyze(self) -> None:
        """Refresh PostgreSQL's statistics of the tables an adoption filled, so that the identity
        provider's first cycle, right after it, is planned on indexes (autovacuum would only come later)."""
        connection = connections[self.using]
        if connection.vendor == "postgresql":
            filled = (self.companion_model, SCIMValue)
            tables = ", ".join(connection.ops.quote_name(model._meta.db_table) for model in filled)
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {tables}")

    def batches(self, rows: models.QuerySet, pks: Iterable[Any] | None) -> Iterator[list[models.Model]]:
        """``rows`` (those of ``pks`` only, when given) in batches of ``BATCH_SIZE``, by primary key."""
        if pks is not None:
            wanted = sorted(set(pks))
            for start in range(0, len(wanted), BATCH_SIZE):
                yield list(rows.filter(pk__in=wanted[start : start + BATCH_SIZE]))
            return
        last = None
        while True:
            batch = list((rows if last is None else rows.filter(pk__gt=last))[:BATCH_SIZE])
            if not batch:
                return
            last = batch[-1].pk
            yield batch

    def adopt_batch(
        self,
        accounts: Sequence[models.Model],
        report: Report,
        claimed: dict[tuple[str, str, str], str],
        *,
        dry_run: bool,
        retry: bool = True,
    ) -> None:
        """Adopt ``accounts`` in one transaction, but those of no tenant and those whose name is held."""
        candidates, left_out = [], 0
        for account in accounts:
            tenant = adoption_tenant(account)
            if tenant is None:
                left_out += 1
                continue
            serializer = self.serializer(tenant)
            companion = self.companion_model(tenant=tenant, adopted=True, **{self.link: account})
            setattr(account, self.relation, companion)
            companion.data = serializer.get_adopted_document(account)
            for column, key in serializer.get_folded_key_values(account).items():
                setattr(companion, column, key)
            companion.host_state = account_state(account)
            candidates.append((account, serializer, companion))

        held = self.held_keys(companion for _, _, companion in candidates)
        adopted, claims, conflicts = [], {}, []
        for account, serializer, companion in candidates:
            keys = [(companion.tenant, column, getattr(companion, column)) for column in self.key_columns()]
            holders = ((key, held.get(key) or claimed.get(key) or claims.get(key)) for key in keys)
            clash = next(((key, holder) for key, holder in holders if holder is not None), None)
            if clash is not None:
                (tenant, column, value), holder = clash
                conflicts.append(Conflict(describe(account), self.attribute_of(column), value, tenant, holder))
                continue
            claims.update((key, describe(account)) for key in keys)
            adopted.append((serializer, companion))
        if not dry_run and adopted:
            try:
                with transaction.atomic(using=self.using):
                    self.insert(adopted)
            except IntegrityError:
                # An account was adopted (or a name taken) concurrently: read this batch again, once.
                if not retry:
                    raise
                again = self.accounts().filter(**{f"{self.relation}__isnull": True, "pk__in": [a.pk for a in accounts]})
                self.adopt_batch(list(again.order_by("pk")), report, claimed, dry_run=dry_run, retry=False)
                return
        claimed.update(claims)
        report.adopted += len(adopted)
        report.left_out += left_out
        report.conflicts.extend(conflicts)

    def insert(self, adopted: list[tuple[Any, models.Model]]) -> None:
        """Insert the companion rows of ``adopted`` and the indexed values of their documents."""
        companions = self.companions().bulk_create([companion for _, companion in adopted], batch_size=BATCH_SIZE)
        if any(companion.pk is None for companion in companions):  # a database that returns no keys
            ids = dict(
                self.companions()
                .filter(**{f"{self.link}__in": [getattr(c, f"{self.link}_id") for c in companions]})
                .values_list(f"{self.link}_id", "pk")
            )
            for companion in companions:
                companion.pk = ids[getattr(companion, f"{self.link}_id")]
        rows = [
            row
            for serializer, companion in adopted
            for row in serializer.value_rows(companion, serializer.indexed_values(companion))
        ]
        SCIMValue.objects.db_manager(self.using).bulk_create(rows, batch_size=BATCH_SIZE)
        if self.records_changes:
            from .audit import Operation, diff, record_outside

            created = Operation.CREATED
            record_outside(((self.resource_type, c, created, diff({}, c.data)) for _, c in adopted), self.using)

    def key_columns(self) -> list[str]:
        return list(self.serializer_class.get_folded_keys().values())

    def attribute_of(self, column: str) -> str:
        return next(name for name, key in self.serializer_class.get_folded_keys().items() if key == column)

    def held_keys(self, companions: Iterable[models.Model]) -> dict[tuple[str, str, str], str]:
        """Which of the companions' keys resources already hold, and by whom: one query per key column."""
        companions = list(companions)
        held: dict[tuple[str, str, str], str] = {}
        for column in self.key_columns():
            keys = {getattr(companion, column) for companion in companions} - {None}
            if not keys:
                continue
            rows = self.companions().filter(
                tenant__in={companion.tenant for companion in companions}, **{f"{column}__in": keys}
            )
            for tenant, key, scim_id, account in rows.values_list("tenant", column, "scim_id", self.link):
                holder = f"the SCIM resource {scim_id} ({self.model._meta.verbose_name} #{account})"
                held[(tenant, column, key)] = holder
        return held

    # -- changes made outside SCIM -----------------------------------------

    def refresh_accounts(self, accounts: Sequence[models.Model]) -> Report:
        """Bring the companion rows of ``accounts`` up to date with them; adopt those without one."""
        by_pk = {account.pk: account for account in accounts}
        with transaction.atomic(using=self.using):
            # Locked as SCIM's own writes lock them, so that neither overwrites what the other wrote.
            rows = self.companions().select_for_update().filter(**{f"{self.link}__in": list(by_pk)})
            companions = {getattr(companion, f"{self.link}_id"): companion for companion in rows}
            report = Report(self.resource_type)
            if len(companions) < len(by_pk):
                report = self.adopt([pk for pk in by_pk if pk not in companions])
            self.refresh([(by_pk[pk], companion) for pk, companion in companions.items()], report)
        return report

    def resync(self, *, dry_run: bool = False) -> Report:
        """Adopt every account without a companion row, then bring every companion row up to date: after
        changes that sent no signal (``QuerySet.update()``, raw SQL, an import)."""
        report = self.adopt(dry_run=dry_run)
        adopted = self.accounts().filter(**{f"{self.relation}__isnull": False}).select_related(self.relation)
        for batch in self.batches(adopted.order_by("pk"), None):
            self.refresh([(account, getattr(account, self.relation)) for account in batch], report, dry_run=dry_run)
        return report

    def refresh(
        self, pairs: Iterable[tuple[models.Model, models.Model]], report: Report, *, dry_run: bool = False
    ) -> None:
        """For each (account, companion) the host changed: a new version, the document and the keys
        brought up to date. A name another resource holds stays with it: this one keeps no key (filters
        on the name miss it) and is reported, until one of them is renamed."""
        now = timezone.now()
        withdrawn, changed = [], []
        for account, companion in pairs:
            if getattr(companion, "deleted", None) is not None:
                continue  # soft-deleted: kept for audit as it was
            if companion.adopted and adoption_tenant(account) != companion.tenant:
                withdrawn.append((account, companion))  # adopted, and ADOPTION_TENANT no longer says so
                continue
            setattr(account, self.relation, companion)
            serializer = self.serializer(companion.tenant)
            state = account_state(account)
            if not companion.host_state:  # a row from before host_state was kept: recorded, not a change
                companion.host_state = state
                if not dry_run:
                    self.companions().filter(pk=companion.pk).update(host_state=state)
            keys = serializer.get_folded_key_values(account)
            rekeyed = {column: key for column, key in keys.items() if getattr(companion, column) != key}
            if rekeyed:
                held = self.held_keys([self.companion_model(tenant=companion.tenant, **rekeyed)])
                for column, key in list(rekeyed.items()):
                    holder = held.get((companion.tenant, column, key))
                    if holder is not None:
                        self.conflict(report, account, column, key, companion.tenant, holder)
                        rekeyed[column] = None
                rekeyed = {column: key for column, key in rekeyed.items() if getattr(companion, column) != key}
            if state == companion.host_state and not rekeyed:
                continue
            report.refreshed += 1
            if dry_run:
                continue
            indexed = serializer.indexed_values(companion)
            document = serializer.refresh_document(account, companion.data)
            changes = {"host_state": state, "last_modified": now, **rekeyed}
            if document != companion.data:
                changes["data"] = document
            previous, companion.data = companion.data, document
            reindexed = serializer.indexed_values(companion)
            if self.records_changes:
                changed.append((companion, self.changes_of(serializer, account, previous, document, rekeyed)))
            with transaction.atomic(using=self.using) if reindexed != indexed else contextlib.nullcontext():
                self.write(companion, changes, report, account)
                if reindexed != indexed:
                    values = SCIMValue.objects.db_manager(self.using)
                    resource_type = ContentType.objects.db_manager(self.using).get_for_model(companion)
                    values.filter(resource_type=resource_type, resource_id=companion.pk).delete()
                    values.bulk_create(serializer.value_rows(companion, reindexed))
        if changed:
            from .audit import Operation, record_outside

            patched = Operation.PATCHED
            record_outside(((self.resource_type, c, patched, diff) for c, diff in changed), self.using)
        self.withdraw(withdrawn, report, dry_run=dry_run)

    def changes_of(
        self, serializer: Any, account: models.Model, old: dict[str, Any], new: dict[str, Any], rekeyed: dict
    ) -> dict[str, Any]:
        """What the audit trail records of a change made outside SCIM: the document's attributes old -> new, and
        the new value of each renamed key (userName); other columns changed too, whose old values are gone."""
        from .audit import diff

        changes = diff(old, new)
        for column in rekeyed:
            name = self.attribute_of(column)
            changes[name] = {"new": serializer.fields[name].get_attribute(account)}  # the old one is gone
        return changes

    def withdraw(self, pairs: list[tuple[models.Model, models.Model]], report: Report, *, dry_run: bool) -> None:
        """Stop serving adopted accounts that ``ADOPTION_TENANT`` no longer adopts (made staff, say): their
        SCIM rows go, and an account the policy now gives another tenant is adopted there anew."""
        report.withdrawn += len(pairs)
        if dry_run or not pairs:
            return
        companions = [companion for _, companion in pairs]
        resource_type = ContentType.objects.db_manager(self.using).get_for_model(self.companion_model)
        with transaction.atomic(using=self.using):
            SCIMValue.objects.db_manager(self.using).filter(
                resource_type=resource_type, resource_id__in=[companion.pk for companion in companions]
            ).delete()
            self.companions().filter(pk__in=[companion.pk for companion in companions]).delete()
            if self.records_changes:
                from .audit import Operation, record_outside

                deleted = Operation.DELETED
                record_outside(((self.resource_type, c, deleted, {}) for c in companions), self.using)
        for account, _ in pairs:
            forget_related(account, self.relation)
        moved = self.adopt([account.pk for account, _ in pairs])
        report.adopted += moved.adopted
        report.conflicts.extend(moved.conflicts)

    def write(self, companion: models.Model, changes: dict[str, Any], report: Report, account: models.Model) -> None:
        """Save ``changes`` to ``companion``, its version counted up in the database; a key taken
        meanwhile is left unset."""
        rows = self.companions().filter(pk=companion.pk)
        new_key = any(changes.get(column) is not None for column in self.key_columns())
        try:
            with transaction.atomic(using=self.using) if new_key else contextlib.nullcontext():
                rows.update(version=F("version") + 1, **changes)
        except IntegrityError:
            for column in self.key_columns():
                if changes.get(column) is not None:
                    self.conflict(report, account, column, changes[column], companion.tenant, "another resource")
                    changes[column] = None
            rows.update(version=F("version") + 1, **changes)
        for name, value in changes.items():
            setattr(companion, name, value)
        companion.version = (companion.version or 0) + 1

    def conflict(self, report: Report, account: models.Model, column: str, key: str, tenant: str, holder: str) -> None:
        report.conflicts.append(Conflict(describe(account), self.attribute_of(column), key, tenant, holder))


def memberships_changed(group_pks: Iterable[Any], using: str = DEFAULT_DB_ALIAS) -> None:
    """Groups whose members changed outside SCIM get a new version and lastModified."""
    adoption = Adoption.of_model(scim_settings.GROUP_SERIALIZER.Meta.model, using)
    group_pks = list(group_pks)
    if adoption is not None and group_pks:
        adoption.companions().filter(**{f"{adoption.link}__in": group_pks}).update(
            version=F("version") + 1, last_modified=timezone.now()
        )
