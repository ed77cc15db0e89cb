"""The actions of a resource endpoint, one mixin each, as DRF's ``rest_framework.mixins``.

``ListResourceMixin`` (GET /Users, POST /Users/.search), ``RetrieveResourceMixin`` (GET /Users/{id}),
``CreateResourceMixin`` (POST), ``UpdateResourceMixin`` (PUT and PATCH), ``DestroyResourceMixin`` (DELETE).
They act on what :class:`~drf_scim.generics.SCIMGenericViewSet` provides (``get_queryset``, ``get_object``,
the request's ``scim_context``); the writes share :class:`ResourceChangeMixin`: the save in a transaction,
the 409 of a broken unique constraint (:mod:`drf_scim.conflicts`) and the change hooks, which send their
signals once the transaction commits.
"""

from __future__ import annotations

from functools import cache, cached_property
from typing import Any

from django.db import IntegrityError, models, transaction
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from . import conflicts
from .adoption import scim_writes
from .audit import AuditTrail
from .django_internals import annotation_names
from .exceptions import Uniqueness
from .generics import etag_matches
from .params import search_params
from .patch import Operation, PatchRequest, parse_operations
from .plans.rendered import Rendered
from .receivers import membership_writes
from .serializers.relations import relation_names
from .settings import scim_settings


class ListResourceMixin:
    """GET /{Endpoint} and POST /{Endpoint}/.search: filtered, sorted, paged, projected."""

    def list(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        unfiltered = self.get_queryset()
        queryset = self.filter_queryset(unfiltered)
        if queryset is unfiltered:  # no backend filtered or sorted: paging may count and skip the SCIM rows alone
            self.scim_context.resource_keys = self.get_resource_keys()
        with self.scim_context.planning(queryset.db):  # a pattern filter's statements planned for it
            page = self.paginate_queryset(queryset)
            data = self.get_serializer(page, many=True).data
        return self.get_paginated_response(data)

    @action(detail=False, methods=["post"], url_path=r"\.search", url_name="search")
    def search(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        """POST /{Endpoint}/.search: a list whose parameters come in a SearchRequest body."""
        self.scim_context = self.get_scim_context(search_params(self.get_request_body(request)))
        return self.list(request, *args, **kwargs)


class RetrieveResourceMixin:
    """GET /{Endpoint}/{id}, answering 304 to an If-None-Match that names the current version."""

    def retrieve(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        instance = self.get_object()
        etag = self.get_resource_row(instance).etag
        if_none_match = request.META.get("HTTP_IF_NONE_MATCH")
        if if_none_match and etag_matches(if_none_match, etag):
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
        serializer = self.get_serializer(instance)
        return Response(serializer.data, headers=self.get_resource_headers(serializer, instance))


class ResourceChangeMixin:
    """What every write shares: the save, the 409 of a unique constraint it breaks, the audit trail, and the
    change hooks."""

    # What records each committed change in the audit trail (drf_scim.audit), inside the change's transaction.
    audit_trail_class: type[AuditTrail] = AuditTrail

    @cached_property
    def audit_trail(self) -> AuditTrail:
        return self.get_audit_trail()

    def get_audit_trail(self) -> AuditTrail:
        """Hook: what records this request's changes (``audit_trail_class``), one row per changed resource."""
        return self.audit_trail_class(self.request, self.get_serializer_class(), self.get_serializer_context())

    def perform_save(self, serializer: Any, *, savepoint: bool = True) -> None:
        """Save in one transaction; a unique constraint violated by a concurrent write is a 409.

        ``savepoint=False`` when the caller already runs (and rolls back) its own transaction.
        """
        try:
            with transaction.atomic(savepoint=savepoint):
                serializer.save()
        except IntegrityError as exc:
            error = self.uniqueness_error(serializer)
            error.serializer = serializer  # described further by handle_exception, once the transaction is over
            raise error from exc

    def handle_exception(self, exc: Exception) -> Response:
        """A 409 raised by ``perform_save`` says, once its transaction is over, whether the name is held outside
        the tenant (``held_outside_tenant_error``), which it may query for only then."""
        if isinstance(exc, Uniqueness) and getattr(exc, "serializer", None) is not None:
            exc = self.held_outside_tenant_error(exc.serializer) or exc
        return super().handle_exception(exc)

    def held_outside_tenant_error(self, serializer: Any) -> Uniqueness | None:
        """Hook: the 409 for a name no resource of the tenant holds, but an account SCIM does not serve to
        this client does (the host's own unique column, such as auth's username); None otherwise."""
        return conflicts.held_outside_tenant_error(serializer, self.get_base_queryset())

    def uniqueness_error(self, serializer: Any) -> Uniqueness:
        """Hook: the 409 for a unique constraint the save of ``serializer`` broke."""
        return conflicts.uniqueness_error(serializer)

    def get_rendered(self, instance: models.Model) -> Rendered | None:
        """Hook: what the response to this write may take from a rendering of ``instance`` made during it
        (:mod:`drf_scim.plans.rendered`): the audit trail's. None renders the response anew."""
        return self.audit_trail.rendered(instance)

    def get_response_serializer(self, serializer: Any, instance: models.Model) -> Any:
        """The serializer of the response to a POST or PUT: ``serializer``, which saved ``instance``, given
        ``get_rendered()`` to take what it may from. Its context is the one ``get_serializer_context()`` made
        for it."""
        rendered = self.get_rendered(instance)
        if rendered is not None:
            serializer.context["rendered"] = rendered
        return serializer

    # -- change hooks (their signals are sent once the transaction commits) --

    def send_after_commit(self, signal: Any, instance: models.Model, **kwargs: Any) -> None:
        """Send ``signal`` for ``instance`` once the transaction commits: never for a write rolled back."""
        tenant, request, sender = self.scim_context.tenant, self.request, type(instance)
        transaction.on_commit(
            lambda: signal.send(sender=sender, instance=instance, tenant=tenant, request=request, **kwargs)
        )

    def resource_created(self, instance: models.Model) -> None:
        """Hook: a resource was created (UserViewSet sends user_provisioned)."""

    def resource_changed(self, instance: models.Model, before: dict[str, Any], members_changed: bool) -> None:
        """Hook: a resource was replaced or patched; ``before`` is ``snapshot()`` taken before."""

    def resource_deleted(self, instance: models.Model) -> None:
        """Hook: a resource was deleted."""

    def snapshot(self, instance: models.Model) -> dict[str, Any]:
        """What the change hooks compare (UserViewSet: whether the user was active)."""
        return {}


class CreateResourceMixin(ResourceChangeMixin):
    """POST /{Endpoint}: 201 with the resource, its Location and ETag."""

    def create(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=self.get_request_body(request))
        serializer.is_valid(raise_exception=True)
        memberships = membership_writes()
        with transaction.atomic():
            self.perform_save(serializer, savepoint=False)
            self.audit_trail.created(serializer)
        self.resource_created(serializer.instance)
        self.refresh_relations(serializer, serializer.instance, empty=self.unwritten_relations(serializer, memberships))
        headers = self.get_resource_headers(serializer, serializer.instance, location=True)
        serializer = self.get_response_serializer(serializer, serializer.instance)
        return Response(serializer.data, status=status.HTTP_201_CREATED, headers=headers)

    def unwritten_relations(self, serializer: Any, memberships: int) -> set[str]:
        """The annotations of the response to a create that are known to hold nothing, so they are not read
        back: the references (a user's groups) the create did not set, or set empty, of relations whose writes
        the signals count (``watched_when_created``), when none was counted since ``memberships``
        (``receivers.membership_writes()``): in the save, its receivers or those of the change signals."""
        if membership_writes() != memberships:
            return set()
        sent = serializer.validated_data
        fields = (serializer.fields[name] for name in relation_names(serializer))
        return {
            field.get_annotation_name()
            for field in fields
            if not sent.get(field.source) and field.watched_when_created()
        }


class UpdateResourceMixin(ResourceChangeMixin):
    """PUT /{Endpoint}/{id} (replace) and PATCH (RFC 7644 §3.5.2), each in one transaction on the locked row."""

    # True/False: PATCH answers 204 / 200 for this resource type; None: PATCH_NO_CONTENT decides.
    patch_no_content: bool | None = None
    patch_request_class: type[PatchRequest] = PatchRequest

    def update(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        data = self.get_request_body(request)
        with transaction.atomic():
            instance = self.get_object(for_update=True)
            self.check_preconditions(request, instance)
            before = self.snapshot(instance)
            audited = self.audit_trail.before(instance)
            serializer = self.get_serializer(instance, data=data)
            serializer.is_valid(raise_exception=True)
            self.perform_save(serializer, savepoint=False)
            self.audit_trail.replaced(serializer, audited)
            members_changed = bool(relation_names(serializer, writable_only=True))
            self.resource_changed(instance, before, members_changed=members_changed)
        if members_changed or not annotation_names(self.get_queryset()):  # else the locked row brought them
            self.refresh_relations(serializer, serializer.instance)
        headers = self.get_resource_headers(serializer, serializer.instance)
        return Response(self.get_response_serializer(serializer, serializer.instance).data, headers=headers)

    def partial_update(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        """PATCH: apply a PatchOp (RFC 7644 §3.5.2) atomically; see :mod:`drf_scim.patch`."""
        patch = self.get_patch_request(parse_operations(self.get_request_body(request)))

        @cache  # one clone for the read and the response
        def queryset() -> models.QuerySet:
            return self.scim_context.plan.queryset(
                patch.purpose, lambda: patch.build_queryset(self.get_base_queryset())
            )

        with transaction.atomic():
            instance = self.fetch_object(queryset, patch.purpose, for_update=True)
            self.check_object_permissions(request, instance)
            self.check_preconditions(request, instance)
            before = self.snapshot(instance)
            serializer = patch.apply(instance)
            self.perform_save(serializer, savepoint=False)
            patch.apply_relation_changes(instance)
            self.audit_trail.patched(serializer, patch)
            self.resource_changed(instance, before, members_changed=patch.changes_relations)
        headers = self.get_resource_headers(serializer, instance)
        if patch.no_content:
            return Response(status=status.HTTP_204_NO_CONTENT, headers=headers)
        serializer = patch.get_response_serializer(
            instance, queryset(), self.refresh_relations, rendered=self.get_rendered(instance)
        )
        return Response(serializer.data, headers=headers)

    def get_patch_request(self, operations: list[Operation]) -> PatchRequest:
        """What applies ``operations`` to the resource (``patch_request_class``)."""
        no_content = self.get_patch_status(self.request) == status.HTTP_204_NO_CONTENT
        return self.patch_request_class(
            self.get_serializer_class(), self.get_serializer_context(), operations, no_content=no_content
        )

    def get_patch_status(self, request: Any) -> int:
        """204 for the resource types listed in ``PATCH_NO_CONTENT``, unless attributes are asked for."""
        no_content = getattr(self, "patch_no_content", None)
        if no_content is None:
            no_content = self.get_resource_type_name() in scim_settings.PATCH_NO_CONTENT
        params = self.scim_context.params
        asked = bool(params.get("attributes") or params.get("excludedAttributes"))
        return status.HTTP_204_NO_CONTENT if no_content and not asked else status.HTTP_200_OK


class DestroyResourceMixin(ResourceChangeMixin):
    """DELETE /{Endpoint}/{id}: 204; ``perform_destroy`` decides what deleting means (UserViewSet may deactivate)."""

    def destroy(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        with transaction.atomic():
            instance = self.get_object(for_update=True)
            self.check_preconditions(request, instance)
            self.perform_destroy(instance)
            self.audit_trail.deleted(instance)
            self.resource_deleted(instance)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def perform_destroy(self, instance: models.Model) -> None:
        with scim_writes():  # recorded by the view, not as a change made outside SCIM (drf_scim.receivers)
            instance.delete()
