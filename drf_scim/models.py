"""What a stock Django project cannot hold for SCIM lives here.

``SCIMResource`` is the abstract base of every SCIM-managed row: the opaque id,
externalId, timestamps, a version counter and a JSON document for attributes that
have no column. Custom resource types inherit it directly; ``django.contrib.auth``'s
User and Group get one companion row each (``SCIMUser``, ``SCIMGroup``), so the
host's own tables are left untouched.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.contenttypes.fields import GenericForeignKey, GenericRelation
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone


class SCIMValue(models.Model):
    """One value of a multi-valued attribute kept in a resource's JSON document.

    The document stays the source of truth; these rows copy each value so that a
    filter such as ``emails[type eq "work" and value co "@example.com"]`` is an
    indexed EXISTS subquery on every database.
    """

    resource_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    resource_id = models.BigIntegerField()
    resource = GenericForeignKey("resource_type", "resource_id")
    # Path of the attribute in the JSON document: "emails", "enterprise.badges"...
    attribute = models.CharField(max_length=255)
    # The "value" sub-attribute, case-folded, for indexed equality.
    value_key = models.TextField(null=True, blank=True)
    item = models.JSONField(default=dict)

    class Meta:
        verbose_name = "SCIM attribute value"
        indexes = [
            models.Index(fields=["resource_type", "attribute", "value_key"], name="drf_scim_value_key"),
            models.Index(fields=["resource_type", "resource_id"], name="drf_scim_value_resource"),
        ]

    def __str__(self) -> str:
        return f"{self.attribute} of {self.resource_type_id}:{self.resource_id}"

    @staticmethod
    def key_of(item: object) -> str | None:
        value = item.get("value") if isinstance(item, dict) else None
        return value.casefold() if isinstance(value, str) else None


class SCIMResource(models.Model):
    """Abstract base holding the SCIM bookkeeping of one resource."""

    scim_id = models.UUIDField("SCIM id", default=uuid.uuid4, unique=True, editable=False)
    # The customer organisation this resource belongs to ("" when the deployment serves one).
    tenant = models.CharField(max_length=100, default="", blank=True, db_index=True)
    external_id = models.CharField("externalId", max_length=255, null=True, blank=True, db_index=True)
    created = models.DateTimeField(auto_now_add=True)
    last_modified = models.DateTimeField(auto_now=True)
    version = models.PositiveBigIntegerField(default=1)
    data = models.JSONField("attributes without a column", default=dict, blank=True)
    values = GenericRelation(SCIMValue, content_type_field="resource_type", object_id_field="resource_id")

    class Meta:
        abstract = True

    def bump_version(self) -> None:
        """Count one more modification (saved with the next ``save()``)."""
        self.version = (self.version or 0) + 1

    @property
    def etag(self) -> str:
        return f'W/"{self.version}"'


class SCIMUser(SCIMResource):
    """SCIM bookkeeping of one user of ``AUTH_USER_MODEL``."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="scim")
    # userName folded to lower case: the unique key that makes "Alice" and "alice" collide.
    user_name_key = models.CharField(max_length=255, null=True, blank=True)
    manager = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="reports")
    # Set when SOFT_DELETE_USERS kept the user after a DELETE.
    deleted = models.DateTimeField(null=True, blank=True)
    # A digest of the user's own columns as last seen (drf_scim.adoption.account_state): a change made
    # outside SCIM moves the version on only when it changed one of them.
    host_state = models.CharField(max_length=32, blank=True, default="")
    # Made by drf_scim.adoption for an account made outside SCIM (not by an identity provider): its tenant
    # follows ADOPTION_TENANT on every change, so an account that policy no longer adopts stops being a resource.
    adopted = models.BooleanField(default=False)

    class Meta:
        verbose_name = "SCIM user"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user_name_key"], name="drf_scim_unique_user_name"),
        ]
        indexes = [
            # Counting and paging the unfiltered list reads this index alone (UserViewSet.get_resource_keys).
            models.Index(
                fields=["tenant", "user"], condition=models.Q(deleted__isnull=True), name="drf_scim_live_users"
            ),
            # userName sw "..." is a LIKE 'prefix%' on the folded key, which PostgreSQL answers from a btree
            # only with pattern operators under a collation other than C (opclasses: PostgreSQL only).
            models.Index(
                fields=["tenant", "user_name_key"],
                opclasses=["varchar_pattern_ops", "varchar_pattern_ops"],
                name="drf_scim_user_name_prefix",
            ),
        ]

    def __str__(self) -> str:
        return f"SCIM user {self.scim_id}"


class SCIMGroup(SCIMResource):
    """SCIM bookkeeping of one ``django.contrib.auth`` group."""

    group = models.OneToOneField(Group, on_delete=models.CASCADE, related_name="scim")
    # displayName folded to lower case: groups are matched by displayName ignoring case, so it is unique so.
    display_name_key = models.CharField(max_length=255, null=True, blank=True)
    # A digest of the group's own columns as last seen (drf_scim.adoption.account_state).
    host_state = models.CharField(max_length=32, blank=True, default="")
    # Made by drf_scim.adoption for an account made outside SCIM (not by an identity provider): its tenant
    # follows ADOPTION_TENANT on every change, so an account that policy no longer adopts stops being a resource.
    adopted = models.BooleanField(default=False)

    class Meta:
        verbose_name = "SCIM group"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "display_name_key"], name="drf_scim_unique_display_name"),
        ]
        indexes = [
            models.Index(fields=["tenant", "group"], name="drf_scim_tenant_groups"),
            # displayName sw "...": see SCIMUser's drf_scim_user_name_prefix.
            models.Index(
                fields=["tenant", "display_name_key"],
                opclasses=["varchar_pattern_ops", "varchar_pattern_ops"],
                name="drf_scim_display_name_prefix",
            ),
        ]

    def __str__(self) -> str:
        return f"SCIM group {self.scim_id}"


class SCIMClient(models.Model):
    """A provisioning connection: the OAuth2 application an identity provider uses, and the tenant it provisions.

    Keyed by the ``client_id`` of its django-oauth-toolkit application (loaded with every token), so
    resolving the tenant of a request costs one indexed lookup. ``tenant`` "" is the default tenant.
    """

    client_id = models.CharField(max_length=255, unique=True)
    tenant = models.CharField(max_length=100, db_index=True, blank=True, default="")
    created = models.DateTimeField(auto_now_add=True, null=True)

    class Meta:
        verbose_name = "SCIM connection"

    def __str__(self) -> str:
        # ``name``: the application's, where a queryset annotated it (drf_scim.connections.with_tokens).
        return getattr(self, "name", None) or f"{self.client_id} -> {self.tenant or '(default tenant)'}"


class SCIMActivity(models.Model):
    """The SCIM requests of one connection on one day (UTC), written in batches by ``drf_scim.activity``."""

    client_id = models.CharField(max_length=255)
    day = models.DateField()
    requests = models.PositiveBigIntegerField(default=0)
    writes = models.PositiveBigIntegerField("writes (POST, PUT, PATCH, DELETE)", default=0)
    errors = models.PositiveBigIntegerField("error responses (4xx, 5xx)", default=0)
    last_request = models.DateTimeField()

    class Meta:
        verbose_name = "SCIM activity"
        verbose_name_plural = "SCIM activity"
        constraints = [models.UniqueConstraint(fields=["client_id", "day"], name="drf_scim_activity_per_day")]

    def __str__(self) -> str:
        return f"{self.client_id} on {self.day}: {self.requests} requests"


class SCIMChange(models.Model):
    """One committed change of one resource: the audit trail, written in the change's own transaction.

    ``changes`` holds what changed, by attribute: ``{"old": ..., "new": ...}`` for a single-valued one,
    ``{"added": [...], "removed": [...]}`` for a multi-valued one (members by id), ``"set"`` for a
    password; see :mod:`drf_scim.audit`.
    """

    class Operation(models.TextChoices):
        # Each maps to one SCIM event (point 2 of the events work): create, put, patch, delete,
        # activate, deactivate; members_added and members_removed are patches of members alone.
        CREATED = "created", "created"
        REPLACED = "replaced", "replaced (PUT)"
        PATCHED = "patched", "patched"
        DELETED = "deleted", "deleted"
        ACTIVATED = "activated", "activated"
        DEACTIVATED = "deactivated", "deactivated"
        MEMBERS_ADDED = "members_added", "members added"
        MEMBERS_REMOVED = "members_removed", "members removed"

    class Source(models.TextChoices):
        SCIM = "scim", "SCIM"
        OUTSIDE = "outside", "outside SCIM"

    timestamp = models.DateTimeField(default=timezone.now)
    # The connection (OAuth2 application) by its client_id: no constraint, so that a change outlives its
    # connection, and no query to write it (the token brought the client_id). None: no OAuth2 client.
    connection = models.ForeignKey(
        SCIMClient,
        to_field="client_id",
        db_column="client_id",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        null=True,
        blank=True,
        related_name="changes",
    )
    # Who made it, as the request log names it: the OAuth2 application's name, else the user's.
    actor = models.CharField(max_length=255, blank=True, default="")
    tenant = models.CharField(max_length=100, blank=True, default="")
    resource_type = models.CharField(max_length=100)
    resource_id = models.UUIDField("SCIM id")
    operation = models.CharField(max_length=20, choices=Operation.choices)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.SCIM)
    request_id = models.CharField("request id", max_length=100, blank=True, default="")
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = "SCIM change"
        verbose_name_plural = "SCIM audit trail"
        ordering = ("-timestamp", "-pk")
        # One per admin filter, each with the date the list is ordered (and pruned) by.
        indexes = [
            models.Index(fields=["timestamp"], name="drf_scim_change_time"),
            models.Index(fields=["resource_id", "timestamp"], name="drf_scim_change_resource"),
            models.Index(fields=["tenant", "timestamp"], name="drf_scim_change_tenant"),
            models.Index(fields=["connection", "timestamp"], name="drf_scim_change_connection"),
            models.Index(fields=["operation", "timestamp"], name="drf_scim_change_operation"),
        ]

    def __str__(self) -> str:
        return f"{self.resource_type} {self.resource_id} {self.operation} at {self.timestamp:%Y-%m-%d %H:%M:%S}"


class SCIMEventReceiver(models.Model):
    """Who hears about the changes of one tenant as RFC 9967 Security Event Tokens, and how.

    A push receiver gets each SET POSTed to ``endpoint`` (RFC 8935); a poll receiver fetches and
    acknowledges them itself at the poll endpoint (RFC 8936), authenticated with a token of the
    OAuth2 application ``client_id``. ``events`` narrows what it hears (empty: every event);
    ``full`` asks for the full forms of create, put and patch, which carry the data.
    """

    class Delivery(models.TextChoices):
        PUSH = "push", "push (RFC 8935)"
        POLL = "poll", "poll (RFC 8936)"

    name = models.CharField(max_length=100)
    tenant = models.CharField(max_length=100, blank=True, default="", db_index=True)
    delivery = models.CharField(max_length=4, choices=Delivery.choices, default=Delivery.PUSH)
    endpoint = models.URLField("push endpoint", max_length=500, blank=True, default="")
    # Sent as the Authorization header of each push (e.g. "Bearer <token>"), when the receiver asks for one.
    authorization = models.CharField("Authorization header", max_length=500, blank=True, default="")
    # The SETs' "aud" claim: the receiver's own name for itself (e.g. its URL).
    audience = models.CharField(max_length=500)
    # Event names without their URN prefix ("prov:create", "prov:deactivate"...); empty: every event.
    events = models.JSONField(default=list, blank=True)
    full = models.BooleanField("full events", default=False)
    # Poll receivers: the OAuth2 application (its client_id) whose tokens may fetch this receiver's SETs.
    client_id = models.CharField("poll client_id", max_length=255, blank=True, default="", db_index=True)
    active = models.BooleanField(default=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "SCIM event receiver"

    def __str__(self) -> str:
        return self.name


class SCIMEvent(models.Model):
    """The outbox: one event per committed change, written in the change's transaction.

    It holds what every receiver's SET is built from (``drf_scim.events.tokens``): the event names, the
    subject, the changed attributes (the notice forms), the data (the full forms: the resource, or the
    PatchOp request) and the version. ``fanned_out`` turns true once the deliveries to the receivers
    of its tenant exist (``drf_scim.events.outbox.fan_out``).
    """

    change = models.OneToOneField(
        SCIMChange, on_delete=models.DO_NOTHING, db_constraint=False, null=True, blank=True, related_name="event"
    )
    created = models.DateTimeField(default=timezone.now)
    tenant = models.CharField(max_length=100, blank=True, default="")
    resource_type = models.CharField(max_length=100)
    resource_id = models.UUIDField("SCIM id")
    # The subject's relative URI, "/Users/<id>" (RFC 9967's "scim" subject identifier).
    uri = models.CharField(max_length=300)
    external_id = models.CharField("externalId", max_length=255, blank=True, default="")
    events = models.JSONField(default=list)
    attributes = models.JSONField(default=list, blank=True)
    data = models.JSONField(null=True, blank=True)
    version = models.CharField(max_length=50, blank=True, default="")
    # The SETs' "txn" claim: the request id, shared by every change one request made.
    txn = models.CharField(max_length=100, blank=True, default="")
    fanned_out = models.BooleanField(default=False)

    class Meta:
        verbose_name = "SCIM event"
        ordering = ("pk",)
        indexes = [
            models.Index(fields=["id"], condition=models.Q(fanned_out=False), name="drf_scim_event_pending"),
            models.Index(fields=["created"], name="drf_scim_event_created"),
        ]

    def __str__(self) -> str:
        return f"{', '.join(self.events)} {self.uri}"


class SCIMEventDelivery(models.Model):
    """One SET for one receiver: its ``jti``, and where its delivery stands.

    ``pending`` until the receiver acknowledges it (push: a 202; poll: an ``ack``); after
    ``EVENTS_MAX_ATTEMPTS`` failed pushes, or a SET the receiver rejected, ``failed`` (the dead letters the
    admin lists, which an operator may retry). ``leased_until`` is set while a worker or a poll holds it.
    """

    class State(models.TextChoices):
        PENDING = "pending", "pending"
        DELIVERED = "delivered", "delivered"
        FAILED = "failed", "failed (dead letter)"

    event = models.ForeignKey(SCIMEvent, on_delete=models.CASCADE, related_name="deliveries")
    receiver = models.ForeignKey(SCIMEventReceiver, on_delete=models.CASCADE, related_name="deliveries")
    jti = models.UUIDField("jti", default=uuid.uuid4, unique=True, editable=False)
    # The event's subject, copied so that the next SET of a resource waits for the one before it (by event:
    # the order its changes committed in, which fan-outs racing on other batches may not keep in their pks).
    resource_id = models.UUIDField("SCIM id")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt = models.DateTimeField(default=timezone.now)
    leased_until = models.DateTimeField(null=True, blank=True)
    lease = models.UUIDField(null=True, blank=True, editable=False)
    last_status = models.PositiveIntegerField("last HTTP status", null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    delivered = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "SCIM event delivery"
        verbose_name_plural = "SCIM event deliveries"
        ordering = ("pk",)
        constraints = [models.UniqueConstraint(fields=["event", "receiver"], name="drf_scim_one_delivery")]
        indexes = [
            models.Index(
                fields=["receiver", "next_attempt"],
                condition=models.Q(state="pending"),
                name="drf_scim_delivery_due",
            ),
            models.Index(
                fields=["receiver", "resource_id", "event"],
                condition=models.Q(state="pending"),
                name="drf_scim_delivery_order",
            ),
            models.Index(fields=["state", "receiver"], name="drf_scim_delivery_state"),
        ]

    def __str__(self) -> str:
        return f"{self.jti} to {self.receiver_id}: {self.state}"
