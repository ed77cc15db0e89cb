"""Django admin pages for the SCIM bookkeeping of users and groups."""

from django.contrib import admin

from .models import SCIMGroup, SCIMUser


@admin.register(SCIMUser)
class SCIMUserAdmin(admin.ModelAdmin):
    list_display = ("user", "scim_id", "external_id", "last_modified", "deleted")
    list_select_related = ("user",)
    search_fields = ("user_name_key", "external_id", "scim_id")
    readonly_fields = ("scim_id", "created", "last_modified", "version")
    raw_id_fields = ("user", "manager")


@admin.register(SCIMGroup)
class SCIMGroupAdmin(admin.ModelAdmin):
    list_display = ("group", "scim_id", "external_id", "last_modified")
    list_select_related = ("group",)
    search_fields = ("group__name", "external_id", "scim_id")
    readonly_fields = ("scim_id", "created", "last_modified", "version")
    raw_id_fields = ("group",)
