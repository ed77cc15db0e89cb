"""Viewsets: one per resource type, from the URL to the database and back.

``SCIMModelViewSet`` is DRF's ``ModelViewSet`` for a SCIM resource type: the actions of
:mod:`drf_scim.mixins` on :class:`~drf_scim.generics.SCIMGenericViewSet`. Three requests, from the router to
the database:

``GET /Users?filter=userName eq "bjensen"``
    ``SCIMRouter`` routes it to ``UserViewSet.list`` (``ListResourceMixin``). DRF's ``initial`` authenticates
    the bearer token and ``SCIMScopePermission`` checks its scopes (``get_scope_kind()``); ``get_queryset()``
    is the tenant's users with what their representation reads (``get_base_queryset()``,
    ``build_queryset()``, kept by the request's plan); ``SCIMFilterBackend`` turns the filter into a ``Q``
    (:mod:`drf_scim.filters`), the paginator reads one page (:mod:`drf_scim.pagination`: a plan's first page
    of that filter shape with SQL compiled once, or a page by keys, or a cursor page), the serializer renders
    it, projected. The fast path, :mod:`drf_scim.plans`, is what "kept by the plan" means throughout.

``PATCH /Groups/{id}``
    ``GroupViewSet.partial_update`` (``UpdateResourceMixin``): the PatchOp body becomes a
    :class:`~drf_scim.patch.PatchRequest`; in one transaction the group is read with its SCIM row locked
    (``fetch_object``), If-Match checked (``check_preconditions``), the operations applied to its document,
    the attributes they changed validated and saved with the rules of a PUT (``perform_save``; a broken
    unique constraint is a 409,
    :mod:`drf_scim.conflicts`), and member changes written as row inserts and deletes.

``POST /Bulk``
    :class:`~drf_scim.bulk.BulkView` resolves each operation's path with the URLconf and calls that view
    with a request it builds (the method, the body, the Bulk request's headers and If-Match from the
    operation's ``version``; no middleware runs): each one then goes the way above, in its own transaction.

``UserViewSet`` and ``GroupViewSet`` add what is particular to users and groups: the signals they send and,
for users, the soft delete of ``SOFT_DELETE_USERS``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import F
from django.utils import timezone

from . import plans, signals
from .adoption import scim_writes
from .generics import ROW_BUILDERS, SCIMGenericViewSet, etag_matches
from .mixins import (
    CreateResourceMixin,
    DestroyResourceMixin,
    ListResourceMixin,
    ResourceChangeMixin,
    RetrieveResourceMixin,
    UpdateResourceMixin,
)
from .models import SCIMUser
from .settings import scim_settings

__all__ = [
    "ROW_BUILDERS",
    "CreateResourceMixin",
    "DestroyResourceMixin",
    "GroupViewSet",
    "ListResourceMixin",
    "ResourceChangeMixin",
    "RetrieveResourceMixin",
    "SCIMGenericViewSet",
    "SCIMModelViewSet",
    "UpdateResourceMixin",
    "UserViewSet",
    "etag_matches",
]


class SCIMModelViewSet(
    ListResourceMixin,
    RetrieveResourceMixin,
    CreateResourceMixin,
    UpdateResourceMixin,
    DestroyResourceMixin,
    SCIMGenericViewSet,
):
    """List, retrieve, create (POST), replace (PUT), modify (PATCH) and delete one resource type.

    Subclasses name their serializer with ``serializer_class`` (or a setting, via
    ``get_scim_serializer_class``); the model, the lookup and the related rows to fetch
    all follow from it.
    """


class UserViewSet(SCIMModelViewSet):
    """/Users; DELETE deactivates instead when ``SOFT_DELETE_USERS`` is on."""

    def snapshot(self, instance: models.Model) -> dict[str, Any]:
        return {"active": getattr(instance, "is_active", True)}

    def resource_created(self, instance: models.Model) -> None:
        self.send_after_commit(signals.user_provisioned, instance)

    def resource_changed(self, instance: models.Model, before: dict[str, Any], members_changed: bool) -> None:
        self.send_after_commit(signals.user_updated, instance)
        if before.get("active") and not getattr(instance, "is_active", True):
            self.send_after_commit(signals.user_deprovisioned, instance, deleted=False)

    def resource_deleted(self, instance: models.Model) -> None:
        self.send_after_commit(signals.user_deprovisioned, instance, deleted=True)

    @classmethod
    def get_scim_serializer_class(cls) -> type:
        return cls.serializer_class or scim_settings.USER_SERIALIZER

    @plans.cacheable
    def get_resource_conditions(self) -> dict[str, Any]:
        return {**super().get_resource_conditions(), "deleted__isnull": True}

    def perform_destroy(self, instance: models.Model) -> None:
        if not scim_settings.SOFT_DELETE_USERS:
            return super().perform_destroy(instance)
        resource = instance.scim
        # Reports no longer point at a manager that answers 404.
        SCIMUser.objects.filter(manager=resource).update(
            manager=None, version=F("version") + 1, last_modified=timezone.now()
        )
        resource.data["deletedUserName"] = instance.get_username()
        resource.deleted = timezone.now()
        resource.user_name_key = None
        resource.bump_version()
        resource.save()
        # Free the userName for a new user while keeping the row for audit.
        setattr(instance, get_user_model().USERNAME_FIELD, f"deleted.{resource.scim_id}")
        instance.is_active = False
        with scim_writes():
            instance.save()


class GroupViewSet(SCIMModelViewSet):
    """/Groups; ``group_membership_changed`` is sent when members may have changed."""

    def resource_created(self, instance: models.Model) -> None:
        self.send_after_commit(signals.group_membership_changed, instance)

    def resource_changed(self, instance: models.Model, before: dict[str, Any], members_changed: bool) -> None:
        if members_changed:
            self.send_after_commit(signals.group_membership_changed, instance)

    def resource_deleted(self, instance: models.Model) -> None:
        self.send_after_commit(signals.group_membership_changed, instance)

    @classmethod
    def get_scim_serializer_class(cls) -> type:
        return cls.serializer_class or scim_settings.GROUP_SERIALIZER
