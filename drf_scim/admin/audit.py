"""The audit trail in the admin: every change, read-only, filtered by connection, tenant, resource, operation
and date; and each SCIM user's and group's latest changes on its own page (``history``).

Each filter lists its choices from small tables (connections, routed resource types), never by reading the
trail itself, and every page costs the same queries however many changes are stored.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from .. import connections
from ..models import SCIMChange, SCIMClient

HISTORY_LENGTH = 20  # the changes a user's or group's page shows; the link lists them all


class ConnectionFilter(admin.SimpleListFilter):
    """By connection (OAuth2 application), or the changes that came without one (outside SCIM, other auth)."""

    title = "connection"
    parameter_name = "connection"
    NONE = "-"

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
        choices = [(row.client_id, str(row)) for row in connections.with_tokens().order_by("client_id")]
        return [*choices, (self.NONE, "none (outside SCIM)")]

    def queryset(self, request: Any, queryset: Any) -> Any:
        value = self.value()
        if value is None:
            return queryset
        if value == self.NONE:
            return queryset.filter(connection__isnull=True)
        return queryset.filter(connection_id=value)


class TenantFilter(admin.SimpleListFilter):
    """By tenant: those of the connections, and the default one."""

    title = "tenant"
    parameter_name = "tenant"

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
        tenants = set(SCIMClient.objects.values_list("tenant", flat=True).distinct()) | {""}
        return [(tenant or "''", tenant or "(default tenant)") for tenant in sorted(tenants)]

    def queryset(self, request: Any, queryset: Any) -> Any:
        value = self.value()
        if value is None:
            return queryset
        return queryset.filter(tenant="" if value == "''" else value)


class ResourceTypeFilter(admin.SimpleListFilter):
    """By resource type: the ones the URLconf serves."""

    title = "resource type"
    parameter_name = "resource_type"

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
        from ..checks import routed_viewsets

        names = {"User", "Group"}
        for viewset in routed_viewsets():
            try:
                names.add(viewset.get_resource_type_name())
            except Exception:  # (a viewset that needs more than its class to name its type)
                continue
        return [(name, name) for name in sorted(names)]

    def queryset(self, request: Any, queryset: Any) -> Any:
        return queryset if self.value() is None else queryset.filter(resource_type=self.value())


def changes_text(changes: dict[str, Any]) -> str:
    """One line per changed attribute: ``name: old -> new``, ``emails: +1 -1``, ``password: set``."""
    lines = []
    for name, change in changes.items():
        if not isinstance(change, dict):
            lines.append(f"{name}: {change}")
        elif "old" in change or "new" in change:
            lines.append(f"{name}: {json.dumps(change.get('old'))} -> {json.dumps(change.get('new'))}")
        else:
            parts = [f"+{len(change.get('added') or [])}", f"-{len(change.get('removed') or [])}"]
            if change.get("cleared"):
                parts.insert(0, "cleared")
            if change.get("removed_where"):
                parts.append(f"where {', '.join(change['removed_where'])}")
            lines.append(f"{name}: {' '.join(parts)}")
    return "\n".join(lines)


@admin.register(SCIMChange)
class SCIMChangeAdmin(admin.ModelAdmin):
    """The audit trail, read-only: rows are written by the changes themselves and go by ``scim_audit prune``."""

    list_display = ("timestamp", "operation", "resource_type", "resource_id", "tenant", "who", "source", "summary")
    list_filter = (ConnectionFilter, TenantFilter, ResourceTypeFilter, "operation", "source")
    date_hierarchy = "timestamp"
    search_fields = ("resource_id", "request_id")
    show_full_result_count = False  # no second COUNT over the whole trail
    fields = (
        "timestamp",
        "operation",
        "source",
        "resource_type",
        "resource_id",
        "tenant",
        "connection_id",
        "actor",
        "request_id",
        "changes_document",
    )
    readonly_fields = fields

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    @admin.display(description="connection", ordering="actor")
    def who(self, obj: SCIMChange) -> str:
        return obj.actor or ("outside SCIM" if obj.source == SCIMChange.Source.OUTSIDE else "-")

    @admin.display(description="changes")
    def summary(self, obj: SCIMChange) -> str:
        return format_html("<pre>{}</pre>", changes_text(obj.changes)) if obj.changes else "-"

    @admin.display(description="changes")
    def changes_document(self, obj: SCIMChange) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.changes, indent=2, sort_keys=True, ensure_ascii=False))

    @admin.display(description="connection (client_id)")
    def connection_id(self, obj: SCIMChange) -> str:
        return obj.connection_id or "-"


def history(resource: Any) -> str:
    """The latest changes of ``resource`` (a SCIM row) as a table, with a link to all of them: one query."""
    rows = list(
        SCIMChange.objects.filter(resource_id=resource.scim_id).order_by("-timestamp", "-pk")[: HISTORY_LENGTH + 1]
    )
    if not rows:
        return "-"
    link = reverse(f"admin:{SCIMChange._meta.app_label}_{SCIMChange._meta.model_name}_changelist")
    link += "?" + urlencode({"resource_id": str(resource.scim_id)})
    lines = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><pre>{}</pre></td></tr>",
        (
            (
                row.timestamp.strftime("%Y-%m-%d %H:%M:%S"),
                row.get_operation_display(),
                row.actor or row.get_source_display(),
                row.request_id or "-",
                changes_text(row.changes) or "-",
            )
            for row in rows[:HISTORY_LENGTH]
        ),
    )
    more = "all changes" if len(rows) > HISTORY_LENGTH else "in the audit trail"
    return format_html(
        "<table><thead><tr><th>when</th><th>operation</th><th>by</th><th>request id</th><th>changes</th></tr>"
        '</thead><tbody>{}</tbody></table><p><a href="{}">{}</a></p>',
        lines,
        link,
        more,
    )
