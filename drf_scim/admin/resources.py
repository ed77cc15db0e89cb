"""The SCIM users and groups pages: what drf_scim keeps beside the host's accounts, read-only."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.utils.html import format_html, format_html_join

from ..models import SCIMGroup, SCIMUser, SCIMValue
from .audit import history as change_history


class ReadOnlyAdmin(admin.ModelAdmin):
    """A view of drf_scim's bookkeeping: no adding, changing or deleting here."""

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        # Deleting an account deletes its SCIM row too, and the account's delete page asks this for it; these
        # pages offer no deletion of their own, which would leave the account without its SCIM id.
        match = getattr(request, "resolver_match", None)
        own_page = bool(match and (match.url_name or "").startswith(f"{self.opts.app_label}_{self.opts.model_name}_"))
        return obj is not None and not own_page and super().has_delete_permission(request, obj)

    @admin.display(description="document (attributes without a column)")
    def document(self, obj: Any) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.data, indent=2, sort_keys=True, ensure_ascii=False))

    @admin.display(description="indexed values (filters, uniqueness)")
    def indexed_values(self, obj: Any) -> str:
        resource_type = ContentType.objects.get_for_model(type(obj))
        rows = SCIMValue.objects.filter(resource_type=resource_type, resource_id=obj.pk).order_by("attribute", "pk")
        lines = format_html_join(
            "", "<tr><td>{}</td><td>{}</td></tr>", ((row.attribute, row.value_key) for row in rows[:200])
        )
        if not lines:
            return "-"
        return format_html(
            "<table><thead><tr><th>attribute</th><th>key</th></tr></thead><tbody>{}</tbody></table>", lines
        )

    @admin.display(description="history (audit trail)")
    def history(self, obj: Any) -> str:
        return change_history(obj)


@admin.register(SCIMUser)
class SCIMUserAdmin(ReadOnlyAdmin):
    list_display = ("user", "scim_id", "tenant", "external_id", "last_modified", "adopted", "deleted")
    list_filter = ("tenant", "adopted", ("deleted", admin.EmptyFieldListFilter))
    list_select_related = ("user",)
    search_fields = ("user_name_key", "external_id", "scim_id")
    fields = (
        "user",
        "scim_id",
        "tenant",
        "external_id",
        "user_name_key",
        "manager",
        "version",
        "created",
        "last_modified",
        "deleted",
        "adopted",
        "host_state",
        "document",
        "indexed_values",
        "history",
    )
    readonly_fields = fields


@admin.register(SCIMGroup)
class SCIMGroupAdmin(ReadOnlyAdmin):
    list_display = ("group", "scim_id", "tenant", "external_id", "last_modified", "adopted")
    list_filter = ("tenant", "adopted")
    list_select_related = ("group",)
    search_fields = ("group__name", "display_name_key", "external_id", "scim_id")
    fields = (
        "group",
        "scim_id",
        "tenant",
        "external_id",
        "display_name_key",
        "version",
        "created",
        "last_modified",
        "adopted",
        "host_state",
        "document",
        "indexed_values",
        "history",
    )
    readonly_fields = fields
