"""SCIM events in the admin: the receivers operators manage, and the deliveries (with their dead letters) they watch.

A receiver's page is its configuration (``events`` as checkboxes, the Authorization header write-only) and
its latest deliveries; the deliveries list is read-only but for the "Retry" action, and shows each SET's
claims, never the receiver's credentials. Every list costs the same queries however many rows it shows.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Count, IntegerField, Max, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from oauth2_provider.models import get_application_model

from .. import connections
from ..events import names, outbox, tokens
from ..models import SCIMEvent, SCIMEventDelivery, SCIMEventReceiver
from ..settings import scim_settings
from .connections import local
from .forms import TENANT_HELP, refusals_as_errors

State = SCIMEventDelivery.State
Delivery = SCIMEventReceiver.Delivery
RECENT_DELIVERIES = 20  # the deliveries a receiver's page shows
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


def local_host(host: str) -> bool:
    if host in LOCAL_HOSTS or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def time_text(value: Any) -> str:
    return f"{local(value):%Y-%m-%d %H:%M:%S}" if value else "-"


class ReceiverForm(forms.ModelForm):
    """A receiver: its events as checkboxes, its Authorization header write-only, push and poll checked."""

    events = forms.MultipleChoiceField(
        choices=names.CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None checked: every event, including those added later.",
    )
    endpoint = forms.URLField(
        label="push endpoint",
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text="Push: the receiver's https URL the SETs are POSTed to (RFC 8935).",
    )
    authorization = forms.CharField(
        label="Authorization header",
        required=False,
        max_length=500,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Sent with each push, e.g. 'Bearer <token>'. Never shown; left blank, the stored value stays.",
    )
    clear_authorization = forms.BooleanField(
        label="Clear the Authorization header", required=False, help_text="Send pushes without one."
    )

    class Meta:
        model = SCIMEventReceiver
        fields = [
            "name",
            "tenant",
            "delivery",
            "endpoint",
            "authorization",
            "clear_authorization",
            "client_id",
            "audience",
            "events",
            "full",
            "active",
        ]
        help_texts = {
            "tenant": TENANT_HELP.replace("connection provisions", "receiver hears of"),
            "client_id": "Poll: the client_id of the OAuth2 application whose tokens (with the scope "
            "DRF_SCIM['EVENTS_SCOPE']) fetch the SETs at <SCIM root>/Events (RFC 8936).",
            "audience": "The SETs' aud claim: how the receiver names itself, e.g. its URL.",
            "full": "Create, put and patch events carry the data (the resource, the PatchOp), not only the changed "
            "attributes.",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stored_authorization = self.instance.authorization if self.instance.pk else ""
        self.initial.pop("authorization", None)
        if not self.stored_authorization:
            self.fields.pop("clear_authorization", None)
        else:
            self.fields["authorization"].help_text += " (One is set.)"

    def clean_tenant(self) -> str:
        with refusals_as_errors():
            return connections.clean_tenant(self.cleaned_data.get("tenant") or "")

    def clean_authorization(self) -> str:
        value = self.cleaned_data.get("authorization") or ""
        if self.data.get(self.add_prefix("clear_authorization")) and not value:
            return ""
        return value or self.stored_authorization

    def clean_endpoint(self) -> str:
        endpoint = (self.cleaned_data.get("endpoint") or "").strip()
        if not endpoint:
            return endpoint
        parts = urlsplit(endpoint)
        if parts.scheme == "https" or (parts.scheme == "http" and (settings.DEBUG or local_host(parts.hostname or ""))):
            return endpoint
        raise forms.ValidationError(
            "A push endpoint is an https URL (RFC 8935 §5.3: SETs travel over TLS); http only for localhost."
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        delivery = data.get("delivery")
        if delivery == Delivery.PUSH and not data.get("endpoint") and "endpoint" not in self.errors:
            self.add_error("endpoint", "A push receiver needs the URL its SETs are POSTed to.")
        if delivery == Delivery.POLL:
            client_id = (data.get("client_id") or "").strip()
            data["client_id"] = client_id
            if not client_id:
                self.add_error("client_id", "A poll receiver needs the client_id of its OAuth2 application.")
            elif not get_application_model().objects.filter(client_id=client_id).exists():
                self.add_error("client_id", f"No OAuth2 application has the client_id {client_id!r}.")
            elif data.get("active") and scim_settings.EVENTS_SCOPE not in connections.available_scopes():
                self.add_error(
                    "client_id",
                    f"Polling needs tokens with the scope {scim_settings.EVENTS_SCOPE!r} (DRF_SCIM's EVENTS_SCOPE), "
                    "which OAUTH2_PROVIDER['SCOPES'] does not declare: django-oauth-toolkit cannot issue it. "
                    "Declare it there first.",
                )
        return data


class ReceiverFilter(admin.SimpleListFilter):
    """By receiver: one query over the (few) receivers."""

    title = "receiver"
    parameter_name = "receiver"

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(pk), name) for pk, name in SCIMEventReceiver.objects.order_by("name").values_list("pk", "name")]

    def queryset(self, request: Any, queryset: Any) -> Any:
        return queryset if self.value() is None else queryset.filter(receiver_id=self.value())


def count_of(state: str) -> Coalesce:
    """The deliveries of the outer receiver in ``state``, as a subquery (the (state, receiver) index answers it)."""
    counted = (
        SCIMEventDelivery.objects.filter(receiver=OuterRef("pk"), state=state)
        .order_by()
        .values("receiver")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


@admin.register(SCIMEventReceiver)
class SCIMEventReceiverAdmin(admin.ModelAdmin):
    """Event receivers: who hears of the changes, by push or poll, and how far their deliveries are."""

    form = ReceiverForm
    list_display = (
        "name",
        "tenant_name",
        "delivery",
        "destination",
        "event_names",
        "full",
        "active",
        "pending",
        "failed",
        "last_delivered",
    )
    list_filter = ("delivery", "active")
    search_fields = ("name", "endpoint", "client_id", "audience")
    readonly_fields = ("created", "recent_deliveries")

    def get_queryset(self, request: Any) -> Any:
        applications = get_application_model().objects.filter(client_id=OuterRef("client_id")).values("name")[:1]
        last = (
            SCIMEventDelivery.objects.filter(receiver=OuterRef("pk"), state=State.DELIVERED)
            .order_by()
            .values("receiver")
            .annotate(last=Max("delivered"))
            .values("last")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(
                pending_count=count_of(State.PENDING),
                failed_count=count_of(State.FAILED),
                last_delivery=Subquery(last),
                client_name=Subquery(applications),
            )
        )

    def get_list_display(self, request: Any) -> tuple[str, ...]:
        shown = super().get_list_display(request)
        return shown if connections.tenants_are_used() else tuple(name for name in shown if name != "tenant_name")

    def get_fields(self, request: Any, obj: Any = None) -> list[str]:
        fields = list(ReceiverForm.Meta.fields)
        if not connections.tenants_are_used():
            fields.remove("tenant")
        if obj is None or not obj.authorization:
            fields.remove("clear_authorization")
        return [*fields, *(self.readonly_fields if obj is not None else ())]

    def get_readonly_fields(self, request: Any, obj: Any = None) -> tuple[str, ...]:
        return self.readonly_fields if obj is not None else ()

    def get_form(self, request: Any, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        kwargs["fields"] = [name for name in self.get_fields(request, obj) if name not in self.readonly_fields]
        return super().get_form(request, obj, change=change, **kwargs)

    # -- the list ------------------------------------------------------------------------------------------

    @admin.display(description="tenant", ordering="tenant")
    def tenant_name(self, obj: SCIMEventReceiver) -> str:
        return obj.tenant or "(default)"

    @admin.display(description="endpoint or poll client")
    def destination(self, obj: SCIMEventReceiver) -> str:
        if obj.delivery == Delivery.POLL:
            name = getattr(obj, "client_name", None)
            return f"{name} ({obj.client_id})" if name else f"{obj.client_id or '-'} (no such application)"
        return obj.endpoint or "-"

    @admin.display(description="events")
    def event_names(self, obj: SCIMEventReceiver) -> str:
        return ", ".join(obj.events) if obj.events else "every event"

    @admin.display(description="pending", ordering="pending_count")
    def pending(self, obj: Any) -> int:
        return obj.pending_count

    @admin.display(description="failed (dead letters)", ordering="failed_count")
    def failed(self, obj: Any) -> Any:
        if not obj.failed_count:
            return 0
        url = reverse("admin:drf_scim_scimeventdelivery_changelist")
        return format_html(
            '<a href="{}?receiver={}&amp;state__exact={}"><strong>{}</strong></a>',
            url,
            obj.pk,
            State.FAILED,
            obj.failed_count,
        )

    @admin.display(description="last delivered", ordering="last_delivery")
    def last_delivered(self, obj: Any) -> str:
        return time_text(obj.last_delivery) if obj.last_delivery else "never"

    # -- the change page -----------------------------------------------------------------------------------

    @admin.display(description="latest deliveries")
    def recent_deliveries(self, obj: SCIMEventReceiver) -> str:
        rows = list(
            SCIMEventDelivery.objects.filter(receiver=obj).select_related("event").order_by("-pk")[:RECENT_DELIVERIES]
        )
        if not rows:
            return "None yet."
        url = reverse("admin:drf_scim_scimeventdelivery_changelist")
        lines = format_html_join(
            "",
            '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>',
            (
                (
                    reverse("admin:drf_scim_scimeventdelivery_change", args=[row.pk]),
                    row.jti,
                    ", ".join(row.event.events),
                    row.event.uri,
                    row.get_state_display(),
                    row.attempts,
                    row.last_error or "-",
                )
                for row in rows
            ),
        )
        return format_html(
            "<table><thead><tr><th>jti</th><th>events</th><th>subject</th><th>state</th><th>attempts</th>"
            '<th>last error</th></tr></thead><tbody>{}</tbody></table><p><a href="{}?receiver={}">all</a></p>',
            lines,
            url,
            obj.pk,
        )


@admin.register(SCIMEventDelivery)
class SCIMEventDeliveryAdmin(admin.ModelAdmin):
    """Deliveries, read-only: written by the fan-out and the workers; dead letters are retried from here."""

    list_display = (
        "jti",
        "receiver",
        "event_names",
        "subject",
        "state",
        "attempts",
        "next_attempt",
        "last_status",
        "last_error_text",
    )
    list_filter = ("state", ReceiverFilter, ("event__created", admin.DateFieldListFilter))
    list_select_related = ("event", "receiver")
    search_fields = ("=jti", "event__uri", "event__txn")
    show_full_result_count = False
    actions = ["retry"]
    fields = (
        "jti",
        "receiver",
        "state",
        "attempts",
        "next_attempt",
        "last_status",
        "last_error",
        "delivered",
        "leased_until",
        "event_link",
        "set_claims",
    )
    readonly_fields = fields

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        # The change permission lets a user retry (an action on the list); a delivery itself is never edited.
        return obj is None and super().has_change_permission(request)

    @admin.display(description="events")
    def event_names(self, obj: SCIMEventDelivery) -> str:
        return ", ".join(obj.event.events)

    @admin.display(description="subject", ordering="event__uri")
    def subject(self, obj: SCIMEventDelivery) -> str:
        return obj.event.uri

    @admin.display(description="last error")
    def last_error_text(self, obj: SCIMEventDelivery) -> str:
        return obj.last_error[:200] or "-"

    @admin.display(description="event")
    def event_link(self, obj: SCIMEventDelivery) -> str:
        url = reverse("admin:drf_scim_scimevent_change", args=[obj.event_id])
        return format_html('<a href="{}">{}</a>', url, obj.event)

    @admin.display(description="SET claims")
    def set_claims(self, obj: SCIMEventDelivery) -> str:
        """The claims the receiver gets (signed when sent); the receiver's Authorization header is no claim."""
        try:
            found = tokens.claims(obj.event, obj.receiver, obj.jti)
        except ImproperlyConfigured as exc:
            return format_html("<strong>{}</strong>", str(exc))
        return format_html("<pre>{}</pre>", json.dumps(found, indent=2, sort_keys=True, ensure_ascii=False))

    @admin.action(description="Retry the selected deliveries", permissions=["change"])
    def retry(self, request: Any, queryset: Any) -> None:
        chosen = list(queryset.select_related(None).only("pk", "jti", "receiver_id").order_by("pk"))
        count = outbox.retry(SCIMEventDelivery.objects.filter(pk__in=[row.pk for row in chosen]))
        for row in chosen:
            self.log_change(request, row, "Retried: pending again, due now, attempts reset.")
        self.message_user(request, f"{count} deliveries will be sent again.", messages.SUCCESS)


@admin.register(SCIMEvent)
class SCIMEventAdmin(admin.ModelAdmin):
    """The outbox, read-only: one event per committed change, pruned by ``scim_events prune``."""

    list_display = ("created", "event_names", "uri", "tenant", "txn", "fanned_out")
    list_filter = ("fanned_out", "resource_type")
    date_hierarchy = "created"
    search_fields = ("=resource_id", "txn", "uri")
    show_full_result_count = False
    fields = (
        "created",
        "tenant",
        "resource_type",
        "resource_id",
        "uri",
        "external_id",
        "events",
        "attributes",
        "version",
        "txn",
        "fanned_out",
        "data_document",
    )
    readonly_fields = fields

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    @admin.display(description="events")
    def event_names(self, obj: SCIMEvent) -> str:
        return ", ".join(obj.events)

    @admin.display(description="data (full events)")
    def data_document(self, obj: SCIMEvent) -> str:
        if obj.data is None:
            return "-"
        return format_html("<pre>{}</pre>", json.dumps(obj.data, indent=2, sort_keys=True, ensure_ascii=False))
