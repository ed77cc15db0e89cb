"""What every resource viewset builds on: the resource type it serves, the request's context, the rows a
client may see, and the lookup of one of them.

``SCIMGenericViewSet`` is to drf_scim's viewsets what DRF's ``GenericViewSet`` is to DRF's: the queryset,
the lookup and the serializer, with no action. The actions (list, retrieve, create, replace, modify,
delete) are the mixins of :mod:`drf_scim.mixins`; ``drf_scim.viewsets.SCIMModelViewSet`` puts them
together. Every read starts from ``get_base_queryset()``, the one place that decides which rows (which
tenant's, which not soft-deleted) a client may see; the querysets built from it are kept by the request's
plan (:mod:`drf_scim.plans`) unless a hook in ``plan_hooks`` is overridden without ``@plans.cacheable``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable
from functools import cached_property, partial
from typing import Any

from django.core.exceptions import ImproperlyConfigured, ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.db.models import prefetch_related_objects
from django.http import Http404
from rest_framework import viewsets
from rest_framework.generics import get_object_or_404

from . import plans
from .context import SCIMRequestContext
from .django_internals import annotation_names, forget_prefetched, has_filters
from .exceptions import InvalidSyntax, PreconditionFailed
from .filters.translate import FilterTranslator
from .plans.fields import shares_fields
from .plans.queries import plan_for
from .projection import Projection
from .reverse import resource_location
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


class SCIMGenericViewSet(SCIMViewMixin, viewsets.GenericViewSet):
    """The base of a resource type's viewset: its serializer, the request's context and plan, the rows a
    client may see and the lookup of one, with no action (``SCIMModelViewSet`` adds them).

    Subclasses name their serializer with ``serializer_class`` (or a setting, via
    ``get_scim_serializer_class``); the model, the lookup and the related rows to fetch
    all follow from it.
    """

    lookup_field = "scim_id"
    lookup_url_kwarg = "id"  # /Users/{id}, as RFC 7644 names it
    lookup_value_regex = "[^/]+"
    serializer_class: type | None = None
    # The fast path (drf_scim.plans): False builds every queryset, translator and SQL for each request.
    fast_path: bool = True
    # What a plan caches is built by these: an override not marked @drf_scim.plans.cacheable turns the
    # fast path off for the class (drf_scim.W001).
    plan_hooks: tuple[str, ...] = ("get_queryset", "build_queryset", "get_base_queryset", "get_resource_conditions")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "get_queryset_cache_key" in cls.__dict__:
            raise ImproperlyConfigured(
                f"{cls.__qualname__}.get_queryset_cache_key() is renamed get_plan_key(context); the context "
                "holds the request's tenant and parameters."
            )

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
        SearchRequest's), ``lenient`` inside the root ``.search``, ``tenant`` from ``get_tenant()`` unless given."""
        context = SCIMRequestContext(
            params=self.request.query_params if params is None else params,
            tenant=self.get_tenant() if tenant is None else tenant,
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
            context["tenant"] = scim.tenant
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
        """Hook: the tenant this request acts for (``DRF_SCIM["TENANT_RESOLVER"]`` by default).

        Asked once per request, when its context is built: rows, plans and serializers read
        ``scim_context.tenant``, so an override decides all of them alike.
        """
        return get_tenant(self.request)

    @plans.cacheable
    def get_resource_conditions(self) -> dict[str, Any]:
        """Lookups on the SCIM row that make a row one of the request's resources: its tenant.

        UserViewSet adds "not soft-deleted". ``get_base_queryset`` applies them.
        """
        return {"tenant": self.scim_context.tenant}

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
        own = all(getattr(type(self), name) is getattr(SCIMGenericViewSet, name) for name in ROW_BUILDERS)
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
        context = self.scim_context
        context.planned = context.plan.queryset("read", self.build_queryset)
        return context.planned

    @plans.cacheable
    def build_queryset(self) -> models.QuerySet:
        """The base queryset with the related rows, prefetches and references the serializer renders."""
        serializer = self.get_serializer()
        return (
            serializer.select_related_rows(self.get_base_queryset())
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
                serializer_class(context={"tenant": self.scim_context.tenant}), filterset_class, **options
            ),
        )

    def get_lookup_filter(self) -> dict[str, Any]:
        prefix = self.get_serializer_class().get_resource_prefix().replace(".", "__")
        return {f"{prefix}scim_id": self.kwargs[self.lookup_url_kwarg or self.lookup_field]}

    def get_object(self, *, for_update: bool = False) -> models.Model:
        """The resource named in the URL; ``for_update`` locks its row until the transaction ends."""
        instance = self.fetch_object(self.get_queryset, "read", for_update=for_update)
        self.check_object_permissions(self.request, instance)
        return instance

    def fetch_object(
        self, queryset: Callable[[], models.QuerySet] | models.QuerySet, purpose: str, *, for_update: bool = False
    ) -> models.Model:
        """The resource named in the URL, read from ``queryset()`` (the plan's queryset for ``purpose``), or 404.

        The plan compiles the read's SQL once: only the id changes, and ``queryset`` is called when the plan
        has no compiled read (a queryset's clone costs a good part of a read by id).
        """
        lookup = self.get_lookup_filter()
        if isinstance(queryset, models.QuerySet):  # given as such (a caller written for a queryset)
            queryset = partial(models.QuerySet.all, queryset)
        if len(lookup) != 1:
            return get_object_or_404(self.lock(queryset()) if for_update else queryset(), **lookup)
        [(path, value)] = lookup.items()
        build = (lambda: self.lock(queryset())) if for_update else queryset
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

    # -- what the actions share --------------------------------------------

    def get_resource_headers(
        self, serializer: Any, instance: models.Model, *, location: bool = False
    ) -> dict[str, str]:
        resource = serializer.get_resource(instance)
        headers = {"ETag": resource.etag}
        if location:
            headers["Location"] = resource_location(self.request, serializer.Meta.resource_type, resource.scim_id)
        return headers

    def refresh_relations(self, serializer: Any, instance: models.Model, *, empty: Collection[str] = ()) -> None:
        """Fetch the related rows the response shows, after a write changed them; the annotations named in
        ``empty`` are known to hold nothing, and are not read."""
        forget_prefetched(instance)
        names = serializer.get_annotation_names()
        for name in empty:
            if name in names:
                setattr(instance, name, [])
        names = [name for name in names if name not in empty]
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
