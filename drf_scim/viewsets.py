"""Viewsets: one per resource type, from the URL to the database and back.

A request goes: authentication and scopes (``SCIMViewMixin``) -> ``get_queryset``
(the only place that decides which rows a client may see) -> the serializer
(validation, storage) inside a transaction -> the renderer.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable
from functools import cached_property
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError, IntegrityError, models, transaction
from django.db.models import F, prefetch_related_objects
from django.http import Http404
from django.utils import timezone
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from . import plans, signals
from .adoption import scim_writes
from .audit import AuditTrail
from .context import SCIMRequestContext
from .django_internals import annotation_names, forget_prefetched, has_filters
from .exceptions import InvalidSyntax, PreconditionFailed, Uniqueness
from .filters.translate import FilterTranslator
from .models import SCIMUser
from .params import search_params
from .patch import Operation, PatchRequest, parse_operations
from .plans.fields import shares_fields
from .plans.queries import plan_for
from .projection import Projection
from .reverse import resource_location
from .serializers.relations import relation_names
from .settings import scim_settings
from .tenancy import get_tenant
from .views import SCIMViewMixin


def etag_matches(header: str, etag: str) -> bool:
    """Whether an If-Match / If-None-Match header names ``etag`` (weak comparison, or ``*``)."""
    opaque = etag.removeprefix("W/")
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == opaque:
            return True
    return False


ROW_BUILDERS = ("get_queryset", "build_queryset", "get_base_queryset")  # decide which model rows a list shows


class SCIMModelViewSet(SCIMViewMixin, viewsets.GenericViewSet):
    """List, retrieve, create (POST), replace (PUT) and delete one resource type.

    Subclasses name their serializer with ``serializer_class`` (or a setting, via
    ``get_serializer_class``); the model, the lookup and the related rows to fetch
    all follow from it.
    """

    lookup_field = "scim_id"
    lookup_url_kwarg = "id"  # /Users/{id}, as RFC 7644 names it
    lookup_value_regex = "[^/]+"
    serializer_class: type | None = None
    # True/False: PATCH answers 204 / 200 for this resource type; None: PATCH_NO_CONTENT decides.
    patch_no_content: bool | None = None
    patch_request_class: type[PatchRequest] = PatchRequest
    # What records each committed change in the audit trail (drf_scim.audit), inside the change's transaction.
    audit_trail_class: type[AuditTrail] = AuditTrail
    # The fast path (drf_scim.plans): False builds every queryset, translator and SQL for each request.
    fast_path: bool = True
    # What a plan caches is built by these: an override not marked @drf_scim.plans.cacheable turns the
    # fast path off for the class (drf_scim.W001).
    plan_hooks: tuple[str, ...] = ("get_queryset", "build_queryset", "get_base_queryset", "get_resource_conditions")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        legacy = cls.__dict__.get("get_queryset_cache_key")
        if legacy is not None and "get_plan_key" not in cls.__dict__:
            warnings.warn(
                f"{cls.__qualname__}.get_queryset_cache_key() is renamed get_plan_key(context).",
                DeprecationWarning,
                stacklevel=2,
            )
            cls.get_plan_key = lambda self, context: legacy(self)

    # -- declaration -------------------------------------------------------

    @classmethod
    def get_scim_serializer_class(cls) -> type:
        """The serializer class, without a request (routers and discovery use it)."""
        if cls.serializer_class is None:
            raise NotImplementedError(
                f"{cls.__name__} must set serializer_class or override get_scim_serializer_class()."
            )
        return cls.serializer_class

    @classmethod
    def supports(cls, feature: str) -> bool:
        """Whether this endpoint supports a ServiceProviderConfig feature (patch, filter, sort, etag...)."""
        if feature == "patch":
            return callable(getattr(cls, "partial_update", None))
        if feature in ("filter", "sort"):
            backends = cls.filter_backends if isinstance(cls.filter_backends, (list, tuple)) else None
            backends = backends if backends is not None else scim_settings.FILTER_BACKENDS
            return any(getattr(backend, "scim_feature", None) == feature for backend in backends)
        if feature == "etag":
            return True
        if feature == "changePassword":
            fields = cls.get_scim_serializer_class()._declared_fields
            return "password" in fields and not fields["password"].read_only
        return False

    @classmethod
    def get_resource_type_name(cls) -> str:
        return cls.get_scim_serializer_class().Meta.resource_type

    def get_serializer_class(self) -> type:
        return self.get_scim_serializer_class()

    @cached_property
    def scim_context(self) -> SCIMRequestContext:
        """This request's parameters, tenant and plan, shared with the backends, the paginator and the
        serializers (``get_scim_context``)."""
        return self.get_scim_context()

    def get_scim_context(
        self, params: Any = None, *, lenient: bool = False, tenant: str | None = None
    ) -> SCIMRequestContext:
        """Hook: the context of this request; ``params`` are the query string's unless given (a
        SearchRequest's), ``lenient`` inside the root ``.search``, ``tenant`` resolved unless given."""
        context = SCIMRequestContext(
            params=self.request.query_params if params is None else params,
            tenant=get_tenant(self.request) if tenant is None else tenant,
            lenient=lenient,
        )
        context.plan = plan_for(self.get_plan_key(context))
        return context

    def get_plan_key(self, context: SCIMRequestContext) -> Hashable | None:
        """Hook: requests with equal keys share one plan of querysets, prepared SQL and filter translators
        (:mod:`drf_scim.plans`); None builds all of it for this request alone.

        The key holds what those depend on: the viewset and serializer classes, the tenant and the
        projection. None when the fast path is off (``fast_path``, ``DRF_SCIM["FAST_PATH"]``) or a hook
        in ``plan_hooks`` is overridden without :func:`drf_scim.plans.cacheable`.
        """
        if not (self.fast_path and plans.enabled()) or plans.uncacheable_overrides(type(self), self.plan_hooks):
            return None
        params = context.params
        projection = (repr(params.get("attributes")), repr(params.get("excludedAttributes")))
        return (type(self), self.get_serializer_class(), context.tenant, *projection)

    def get_queryset_cache_key(self) -> Hashable | None:
        """Deprecated: ``get_plan_key(self.scim_context)``."""
        warnings.warn("get_queryset_cache_key() is renamed get_plan_key(context).", DeprecationWarning, stacklevel=2)
        return self.get_plan_key(self.scim_context)

    def get_projection(self) -> Projection:
        """The attributes to return, from ``attributes`` / ``excludedAttributes`` in the query string."""
        serializer_class = self.get_serializer_class()
        params = self.scim_context.params
        return Projection.from_params(
            params.get("attributes"),
            params.get("excludedAttributes"),
            schemas=serializer_class.get_schema_urns(),
            core_schema=serializer_class.Meta.schema,
        )

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        if getattr(self, "request", None) is not None:
            scim = self.scim_context
            if scim.projection is None:
                scim.projection = self.get_projection()
            context["projection"] = scim.projection
            context["tenant"] = self.get_tenant()
        return context

    @property
    def pagination_class(self) -> type | None:
        return scim_settings.PAGINATION_CLASS

    @property
    def filter_backends(self) -> list[type]:
        return scim_settings.FILTER_BACKENDS

    def get_scope_kind(self, request: Any) -> str:
        """Reads (GET and POST .search) need a read scope, everything else a write scope."""
        if request.method in ("GET", "HEAD", "OPTIONS") or self.action == "search":
            return "read"
        return "write"

    # -- rows --------------------------------------------------------------

    def get_tenant(self) -> str:
        """The tenant this request acts for (``DRF_SCIM["TENANT_RESOLVER"]``), resolved once per request."""
        return self.scim_context.tenant

    @plans.cacheable
    def get_resource_conditions(self) -> dict[str, Any]:
        """Lookups on the SCIM row that make a row one of the request's resources: its tenant.

        UserViewSet adds "not soft-deleted". ``get_base_queryset`` applies them.
        """
        return {"tenant": self.get_tenant()}

    @plans.cacheable
    def get_base_queryset(self) -> models.QuerySet:
        """Every row of the model that is a SCIM resource of the request's tenant.

        The one place that decides which rows a client may see: lists, lookups,
        filters and searches all start from it.
        """
        serializer_class = self.get_serializer_class()
        queryset = serializer_class.Meta.model._default_manager.all()
        relation = getattr(serializer_class.Meta, "scim_relation", None)
        prefix = f"{relation}__" if relation else ""
        return queryset.filter(**{f"{prefix}{key}": value for key, value in self.get_resource_conditions().items()})

    def get_resource_keys(self) -> models.QuerySet | None:
        """The primary keys of the unfiltered list, in its order, read from the SCIM rows alone.

        Paging counts and skips these (one index of the companion table) rather than the rows joined to
        the model's table: the page of 100 at position 90,000 reads no user row but its 100. None when
        ``get_queryset``, ``build_queryset`` or ``get_base_queryset`` is not drf_scim's, or the model's default
        manager filters rows, since the SCIM rows alone may not tell which rows those keep.
        """
        serializer_class = self.get_serializer_class()
        model = serializer_class.Meta.model
        own = all(getattr(type(self), name) is getattr(SCIMModelViewSet, name) for name in ROW_BUILDERS)
        if not own or has_filters(model._default_manager.all()):
            return None
        relation = getattr(serializer_class.Meta, "scim_relation", None)
        if relation is None:
            rows, key = model._default_manager.filter(**self.get_resource_conditions()), "pk"
        else:
            link = model._meta.get_field(relation)  # the reverse side of the SCIM row's one-to-one field
            rows = link.related_model._default_manager.filter(**self.get_resource_conditions())
            key = link.field.attname
        return rows.order_by(key).values_list(key, flat=True)

    @plans.cacheable
    def get_queryset(self) -> models.QuerySet:
        """The resources with what their representation reads (related rows, references), in list order.

        Built once per plan (``get_plan_key()``) and cloned for each request: building it (the joins, the
        references subquery) costs more than running it.
        """
        return self.scim_context.plan.queryset("read", self.build_queryset)

    @plans.cacheable
    def build_queryset(self) -> models.QuerySet:
        """The base queryset with the related rows, prefetches and references the serializer renders."""
        serializer = self.get_serializer()
        return (
            self.get_base_queryset()
            .select_related(*serializer.get_select_related())
            .prefetch_related(*serializer.get_prefetch_related())
            .annotate(**serializer.get_annotations())
            .order_by("pk")
        )

    def get_filter_translator(self) -> FilterTranslator:
        """What turns this resource type's filters into ``Q`` objects (SCIMFilterBackend, SCIMSortBackend).

        Kept by the plan, so that the attributes it resolved stay resolved: a lookup names the same
        attribute every time. Its serializer has the tenant in its context, never a request to keep
        alive. Built for the request from the request's serializer when the serializer's fields or
        ``get_filter_target`` may vary with it.
        """
        filterset_class = getattr(self, "filterset_class", None)
        context = self.scim_context
        options = {"unknown_matches_nothing": context.lenient}
        serializer_class = self.get_serializer_class()
        if not shares_fields(serializer_class) or plans.uncacheable_overrides(serializer_class, ("get_filter_target",)):
            return FilterTranslator.for_serializer(self.get_serializer(), filterset_class, **options)
        return context.plan.translator(
            (filterset_class, context.lenient),
            lambda: FilterTranslator.for_serializer(
                serializer_class(context={"tenant": self.get_tenant()}), filterset_class, **options
            ),
        )

    def get_lookup_filter(self) -> dict[str, Any]:
        prefix = self.get_serializer_class().get_resource_prefix().replace(".", "__")
        return {f"{prefix}scim_id": self.kwargs[self.lookup_url_kwarg or self.lookup_field]}

    def get_object(self, *, for_update: bool = False) -> models.Model:
        """The resource named in the URL; ``for_update`` locks its row until the transaction ends."""
        instance = self.fetch_object(self.get_queryset(), "read", for_update=for_update)
        self.check_object_permissions(self.request, instance)
        return instance

    def fetch_object(self, queryset: models.QuerySet, purpose: str, *, for_update: bool = False) -> models.Model:
        """The resource named in the URL, read from ``queryset`` (the plan's queryset for ``purpose``), or 404.

        The plan compiles the read's SQL once: only the id changes.
        """
        lookup = self.get_lookup_filter()
        if len(lookup) != 1:
            return get_object_or_404(self.lock(queryset) if for_update else queryset, **lookup)
        [(path, value)] = lookup.items()
        build = (lambda: self.lock(queryset)) if for_update else (lambda: queryset)
        try:
            return self.scim_context.plan.get((purpose, for_update, path), build, path, value)
        except (ObjectDoesNotExist, DjangoValidationError, TypeError, ValueError):
            raise Http404 from None

    def lock(self, queryset: models.QuerySet) -> models.QuerySet:
        """Lock the SCIM row (it holds the version) of what ``queryset`` returns, until the transaction ends."""
        relation = getattr(self.get_serializer_class().Meta, "scim_relation", None)
        return queryset.select_for_update(of=(relation or "self",))

    def get_resource_row(self, instance: models.Model) -> Any:
        """The SCIM row (id, version) of ``instance``."""
        relation = getattr(self.get_serializer_class().Meta, "scim_relation", None)
        return getattr(instance, relation) if relation else instance

    def check_preconditions(self, request: Any, instance: models.Model) -> None:
        """If-Match (RFC 7644 §3.14): a write to another version than the client read is a 412."""
        if_match = request.META.get("HTTP_IF_MATCH")  # not request.headers, which copies every header
        if if_match and not etag_matches(if_match, self.get_resource_row(instance).etag):
            raise PreconditionFailed(
                f"The resource is at version {self.get_resource_row(instance).etag}, not {if_match}; "
                "read it again before writing."
            )

    # -- responses ---------------------------------------------------------

    def get_resource_headers(
        self, serializer: Any, instance: models.Model, *, location: bool = False
    ) -> dict[str, str]:
        resource = serializer.get_resource(instance)
        headers = {"ETag": resource.etag}
        if location:
            headers["Location"] = resource_location(self.request, serializer.Meta.resource_type, resource.scim_id)
        return headers

    def refresh_relations(self, serializer: Any, instance: models.Model) -> None:
        """Fetch the related rows the response shows, after a write changed them."""
        forget_prefetched(instance)
        names = serializer.get_annotation_names()
        if names:
            queryset = self.get_queryset()  # built once: it holds the expressions already
            if set(names) <= set(annotation_names(queryset)):
                row = self.scim_context.plan.values(queryset, names, instance.pk)
            else:
                queryset = type(instance)._default_manager.annotate(**serializer.get_annotations())
                row = queryset.filter(pk=instance.pk).values(*names).first()
            for name, value in (row or {}).items():
                setattr(instance, name, value)
        prefetches = serializer.get_prefetch_related()
        if prefetches:
            prefetch_related_objects([instance], *prefetches)

    # -- actions -----------------------------------------------------------

    def list(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        unfiltered = self.get_queryset()
        queryset = self.filter_queryset(unfiltered)
        if queryset is unfiltered:  # no backend filtered or sorted: paging may count and skip the SCIM rows alone
            self.scim_context.resource_keys = self.get_resource_keys()
        page = self.paginate_queryset(queryset)
        serializer = self.get_serializer(page, many=True)
        return self.get_paginated_response(serializer.data)

    @action(detail=False, methods=["post"], url_path=r"\.search", url_name="search")
    def search(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        """POST /{Endpoint}/.search: a list whose parameters come in a SearchRequest body."""
        self.scim_context = self.get_scim_context(search_params(self.get_request_body(request)))
        return self.list(request, *args, **kwargs)

    def retrieve(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        instance = self.get_object()
        etag = self.get_resource_row(instance).etag
        if_none_match = request.META.get("HTTP_IF_NONE_MATCH")
        if if_none_match and etag_matches(if_none_match, etag):
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
        serializer = self.get_serializer(instance)
        return Response(serializer.data, headers=self.get_resource_headers(serializer, instance))

    def get_request_body(self, request: Any) -> dict[str, Any]:
        """The parsed request body, which SCIM requires to be a JSON object."""
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length <= 0 and "HTTP_TRANSFER_ENCODING" not in request.META:
            raise InvalidSyntax("The request body is empty.")
        data = request.data
        if not isinstance(data, dict):
            raise InvalidSyntax(f"The request body must be a JSON object, not {type(data).__name__}.")
        return data

    # -- signals (sent once the transaction commits) ------------------------

    def send_after_commit(self, signal: Any, instance: models.Model, **kwargs: Any) -> None:
        tenant, request, sender = self.get_tenant(), self.request, type(instance)
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

    # -- audit trail (drf_scim.audit) --------------------------------------

    @cached_property
    def audit_trail(self) -> AuditTrail:
        return self.get_audit_trail()

    def get_audit_trail(self) -> AuditTrail:
        """Hook: what records this request's changes (``audit_trail_class``), one row per changed resource."""
        return self.audit_trail_class(self.request, self.get_serializer_class(), self.get_serializer_context())

    def create(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=self.get_request_body(request))
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            self.perform_save(serializer, savepoint=False)
            self.audit_trail.created(serializer)
        self.resource_created(serializer.instance)
        self.refresh_relations(serializer, serializer.instance)
        headers = self.get_resource_headers(serializer, serializer.instance, location=True)
        return Response(serializer.data, status=status.HTTP_201_CREATED, headers=headers)

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
        return Response(serializer.data, headers=self.get_resource_headers(serializer, serializer.instance))

    def partial_update(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        """PATCH: apply a PatchOp (RFC 7644 §3.5.2) atomically; see :mod:`drf_scim.patch`."""
        patch = self.get_patch_request(parse_operations(self.get_request_body(request)))
        queryset = self.scim_context.plan.queryset(
            patch.purpose, lambda: patch.build_queryset(self.get_base_queryset())
        )
        with transaction.atomic():
            instance = self.fetch_object(queryset, patch.purpose, for_update=True)
            self.check_object_permissions(request, instance)
            self.check_preconditions(request, instance)
            serializer = patch.apply(instance)
            before = self.snapshot(instance)
            self.perform_save(serializer, savepoint=False)
            patch.apply_relation_changes(instance)
            self.audit_trail.patched(serializer, patch)
            self.resource_changed(instance, before, members_changed=patch.changes_relations)
        headers = self.get_resource_headers(serializer, instance)
        if patch.no_content:
            return Response(status=status.HTTP_204_NO_CONTENT, headers=headers)
        serializer = patch.get_response_serializer(instance, queryset, self.refresh_relations)
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

    def destroy(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        with transaction.atomic():
            instance = self.get_object(for_update=True)
            self.check_preconditions(request, instance)
            self.perform_destroy(instance)
            self.audit_trail.deleted(instance)
            self.resource_deleted(instance)
        return Response(status=status.HTTP_204_NO_CONTENT)

    # -- writes ------------------------------------------------------------

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
        if isinstance(exc, Uniqueness) and getattr(exc, "serializer", None) is not None:
            exc = self.held_outside_tenant_error(exc.serializer) or exc
        return super().handle_exception(exc)

    def held_outside_tenant_error(self, serializer: Any) -> Uniqueness | None:
        """The 409 for a name no resource of the tenant holds, but an account SCIM does not serve to
        this client does (the host's own unique column, such as auth's username); None otherwise."""
        data = serializer.initial_data if isinstance(serializer.initial_data, dict) else {}
        lowered = {key.lower(): value for key, value in data.items() if isinstance(key, str)}
        sent = {
            name: lowered[name.lower()]
            for name in serializer.get_folded_keys()
            if isinstance(lowered.get(name.lower()), str)
        }
        if not sent:
            return None
        prefix = serializer.get_resource_prefix().replace(".", "__")
        conditions = models.Q()
        for name, value in sent.items():
            conditions |= models.Q(**{f"{prefix}{serializer.get_folded_keys()[name]}": value.casefold()})
        try:
            held_here = self.get_base_queryset().filter(conditions).exists()
        except DatabaseError:  # inside a transaction that failed (ATOMIC_REQUESTS): say no more
            return None
        if held_here:
            return None
        what = " or ".join(f"{name} {value!r}" for name, value in sent.items())
        return Uniqueness(
            f"The {what} is taken by an account that is not a resource of this client's tenant; choose another."
        )

    def uniqueness_error(self, serializer: Any) -> Uniqueness:
        names = [
            attribute.name
            for attribute in serializer.get_attributes()
            if attribute.uniqueness == "server" and attribute.name != "id"
        ]
        values = [
            f"{name} {serializer.initial_data.get(name)!r}"
            for name in names
            if isinstance(serializer.initial_data, dict) and name in serializer.initial_data
        ]
        what = " or ".join(values or names) or "a unique attribute"
        return Uniqueness(f"A {serializer.Meta.resource_type} with {what} already exists.")

    def perform_destroy(self, instance: models.Model) -> None:
        with scim_writes():  # recorded by the view, not as a change made outside SCIM (drf_scim.receivers)
            instance.delete()


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
