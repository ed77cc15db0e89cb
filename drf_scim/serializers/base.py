"""The base class that makes a DRF serializer a SCIM resource type.

A resource serializer declares its attributes as DRF fields; each field's
``source`` says where the value lives. A field without a ``source`` reads and
writes the model attribute of its name, like in DRF, and when the model has no
such attribute it is kept in the resource's JSON document
(``SCIMResource.data``): attributes without a column need no storage code.

The parts: :mod:`.mixins` (reading and writing rules every SCIM serializer shares),
:mod:`.attributes` (complex and multi-valued attributes, extensions, ``id``, ``meta``),
:mod:`.storage` (saving), :mod:`.sources` (where values live), and here the declaration of a
resource type, its projection and the related rows its rendering fetches.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models import Prefetch
from django.utils.functional import cached_property
from rest_framework import serializers

from ..django_internals import defer_unjoined
from ..fields import StringAttribute
from ..filters.translate import FoldedKeyTarget
from ..models import SCIMResource
from ..plans import cacheable
from ..plans.fields import renders_context_free, renders_context_free_tree
from ..projection import Projection
from ..schema.attributes import Attribute, attribute_of, returned_of
from .attributes import ComplexAttribute, IdField, MetaField, MultiValuedAttribute, SCIMExtension, xsd_datetime
from .mixins import SCIMSerializerMixin
from .sources import compact, deep_merge, deep_set, is_unassigned, read_source
from .storage import ResourceStorageMixin

if TYPE_CHECKING:
    from ..plans.rendered import Rendered

__all__ = [
    "ComplexAttribute",
    "IdField",
    "MetaField",
    "MultiValuedAttribute",
    "SCIMExtension",
    "SCIMSerializer",
    "SCIMSerializerMixin",
    "compact",
    "deep_merge",
    "deep_set",
    "read_source",
    "xsd_datetime",
]


class SCIMSerializer(ResourceStorageMixin, SCIMSerializerMixin, serializers.Serializer):
    """Base class of SCIM resource serializers (User, Group and custom resource types).

    ``Meta`` declares ``model``, ``schema`` (the core URN), ``resource_type`` (its
    name), ``scim_relation`` (the name of the one-to-one companion row holding
    the SCIM bookkeeping, or ``None`` when ``model`` subclasses ``SCIMResource``),
    ``extensions`` (SCIMExtension classes, or ``(class, required)`` pairs) and
    optionally ``description`` and ``render_empty``.
    """

    class Meta:
        model: type[models.Model]
        schema: str = ""
        resource_type: str = ""
        scim_relation: str | None = None
        extensions: list = []

    # -- declaration -------------------------------------------------------

    @classmethod
    def get_extensions(cls) -> list[tuple[type[SCIMExtension], bool]]:
        """The schema extensions of this resource type with their ``required`` flag."""
        result = []
        for item in getattr(cls.Meta, "extensions", ()):
            extension, required = item if isinstance(item, tuple) else (item, getattr(item.Meta, "required", False))
            result.append((extension, bool(required)))
        return result

    @classmethod
    def get_resource_prefix(cls) -> str:
        relation = getattr(cls.Meta, "scim_relation", None)
        return f"{relation}." if relation else ""

    def get_document_path(self) -> str:
        return f"{self.get_resource_prefix()}data"

    @cacheable
    def get_fields(self) -> dict[str, serializers.Field]:
        prefix = self.get_resource_prefix()
        declared = super().get_fields()
        for extension, required in self.get_extensions():
            field = extension(source="*", required=required)
            field.document_path = f"{self.get_document_path()}.{extension.get_storage_key()}"
            declared[extension.get_schema_urn()] = field
        fields: dict[str, serializers.Field] = {
            "id": IdField(source=f"{prefix}scim_id"),
            "externalId": StringAttribute(
                source=f"{prefix}external_id", required=False, max_length=255, case_exact=True
            ),
        }
        fields.update(declared)
        fields["meta"] = MetaField()
        return fields

    @classmethod
    def get_folded_keys(cls) -> dict[str, str]:
        """``Meta.folded_keys``: attributes whose case-folded copy lives in a column of the SCIM row.

        The column carries the (tenant, key) unique constraint, and filters on the attribute run on
        it (``userName eq`` is then an index lookup).
        """
        return dict(getattr(cls.Meta, "folded_keys", {}))

    @cacheable
    def get_filter_target(self, name: str, field: serializers.Field, attribute_map: Any) -> Any:
        """Hook: the filter target of one attribute, or None for the one its field implies."""
        column = self.get_folded_keys().get(name)
        if column is None or field.parent is not self:
            return None
        target = attribute_map.expression_target(attribute_of(name, field), field.source_attrs)
        key = f"{self.get_resource_prefix().replace('.', '__')}{column}"
        return FoldedKeyTarget(target.attribute, target.path, key, json_field=target.json_field)

    @classmethod
    def get_schema_urns(cls) -> list[str]:
        """The core schema URN followed by the extension URNs."""
        return [cls.Meta.schema, *(extension.get_schema_urn() for extension, _ in cls.get_extensions())]

    def get_projection(self) -> Projection | None:
        """The ``attributes``/``excludedAttributes`` of the request, from the context."""
        return self.context.get("projection")

    @property
    def _readable_fields(self):
        projection = self.get_projection()
        omit = self.context.get("omit", ())
        for name, field in self.reading_fields.items():
            if field.write_only or name in omit:
                continue
            if projection is not None and not projection.includes(name, returned_of(field)):
                continue
            yield field

    def get_attributes(self) -> list[Attribute]:
        """The characteristics of every attribute of the core schema."""
        urns = {extension.get_schema_urn() for extension, _ in self.get_extensions()}
        return [attribute_of(name, field) for name, field in self.fields.items() if name not in urns]

    def get_qualifying_schemas(self) -> list[str]:
        return [self.Meta.schema]

    def canonical_keys(self, data: Mapping) -> dict[str, Any]:
        """Also gather extension attributes sent at the top level as ``urn:...:User:department``."""
        extensions = {urn.lower(): urn for urn in self.get_schema_urns()[1:]}
        gathered: dict[str, dict[str, Any]] = {}
        rest: dict[str, Any] = {}
        for key, value in data.items():
            lowered = key.lower() if isinstance(key, str) else ""
            urn = next((u for u in extensions if lowered.startswith(u + ":")), None)
            if urn is not None:
                gathered.setdefault(extensions[urn], {})[key[len(urn) + 1 :]] = value
            else:
                rest[key] = value
        for urn, values in gathered.items():
            existing = next((v for k, v in rest.items() if isinstance(k, str) and k.lower() == urn.lower()), None)
            if existing is None or isinstance(existing, Mapping):
                merged = {**values, **(existing or {})}
                rest = {k: v for k, v in rest.items() if not (isinstance(k, str) and k.lower() == urn.lower())}
                rest[urn] = merged
        return super().canonical_keys(rest)

    # -- reading -----------------------------------------------------------

    def get_resource(self, instance: models.Model) -> SCIMResource:
        """The row holding id, externalId, meta and the JSON document of ``instance``."""
        relation = getattr(self.Meta, "scim_relation", None)
        return getattr(instance, relation) if relation else instance

    def get_select_related(self) -> list[str]:
        relation = getattr(self.Meta, "scim_relation", None)
        paths = [relation] if relation else []
        for field in self._fetching_fields():
            paths.extend(getattr(field, "get_select_related", lambda: [])())
        return paths

    def select_related_rows(self, queryset: models.QuerySet, *others: SCIMSerializer) -> models.QuerySet:
        """``queryset`` joined to the related rows the representation reads (``get_select_related``), each
        for the columns it reads (``get_deferred``); with ``others``, serializers that render the same rows
        (a PATCH's response), for what any of them reads as well."""
        related = dict.fromkeys(path for reader in (self, *others) for path in reader.get_select_related())
        deferred = self.get_deferred()
        unread = set(deferred).intersection(*(other.get_deferred() for other in others))
        return defer_unjoined(queryset.select_related(*related), [path for path in deferred if path in unread])

    def get_deferred(self) -> list[str]:
        """The columns of the related rows ``get_select_related`` joins that the representation never reads,
        as ``QuerySet.defer`` paths: a row read in full would cost its columns for nothing. A field whose
        rendering reads more of them says so in its own ``get_deferred`` (else each read costs a query);
        a path ``select_related`` follows is never deferred."""
        return [path for field in self._fetching_fields() for path in getattr(field, "get_deferred", list)()]

    def get_prefetch_related(self) -> list[Prefetch]:
        return [
            prefetch for field in self._fetching_fields() for prefetch in getattr(field, "get_prefetches", lambda: [])()
        ]

    def get_annotation_names(self) -> list[str]:
        """The names ``get_annotations`` gives its expressions, without building them."""
        return [
            field.get_annotation_name()
            for field in self._fetching_fields()
            if hasattr(field, "get_annotation_name") and field.references_in_row()
        ]

    def get_annotations(self) -> dict[str, Any]:
        """Expressions that bring related data into the resource's own row (references, see relations.py)."""
        annotations: dict[str, Any] = {}
        for field in self._fetching_fields():
            annotations.update(getattr(field, "get_annotations", dict)())
        return annotations

    def _fetching_fields(self):
        """The rendered fields that ask for related rows (``get_select_related``, ``get_prefetches``,
        ``get_annotations``).

        Where they are among the nested fields is found once per serializer class; each request then
        reaches just those, instead of walking (and copying) every nested field.
        """
        paths, _ = self._fetching_paths()
        readable = {field.field_name for field in self._rendered_fields}
        for path in paths:
            if path[0] in readable:
                field = self.fields[path[0]]
                for name in path[1:]:
                    field = field.fields[name]
                yield field

    def _fetching_paths(self) -> tuple[list[tuple[str, ...]], frozenset[str]]:
        """Where the fields that fetch related rows are among the nested fields, and the top-level attributes
        holding those that read rows a write may change (annotations, prefetches), found once per field plan."""
        plan = self.field_plan
        if plan is not None and plan.fetched_names is not None:  # set with fetching_paths
            return plan.fetching_paths, plan.fetched_names
        paths, fetched = [], set()
        stack = [((name,), field) for name, field in self.fields.items()]
        while stack:
            path, field = stack.pop(0)
            if any(hasattr(field, hook) for hook in ("get_select_related", "get_prefetches", "get_annotations")):
                paths.append(path)
                if hasattr(field, "get_annotations") or hasattr(field, "get_prefetches"):
                    fetched.add(path[0])
            if isinstance(field, serializers.Serializer) and field.source == "*":
                stack.extend(((*path, name), child) for name, child in field.fields.items())
        if plan is not None:
            plan.fetching_paths, plan.fetched_names = paths, frozenset(fetched)
        return paths, frozenset(fetched)

    def _all_fields(self, fields: Iterable[serializers.Field] | None = None):
        """The fields a response renders (or ``fields``), nested ``source="*"`` ones included."""
        stack = list(self._readable_fields if fields is None else fields)
        while stack:
            field = stack.pop(0)
            yield field
            if isinstance(field, serializers.Serializer) and field.source == "*":
                stack.extend(field.fields.values())

    # -- representation ----------------------------------------------------

    def to_representation(self, instance: models.Model) -> dict[str, Any]:
        rendered = self.context.get("rendered")  # a rendering of this write's audit trail (plans.rendered)
        if rendered is not None and rendered.reusable_by(self, instance):
            data = self.reuse_rendered(instance, rendered)
        else:
            data = super().to_representation(instance)
        projection = self.get_projection()
        if projection is not None and projection.prunes:
            pruned = {name: projection.prune(name, value) for name, value in data.items()}
            render_empty = self._render_empty
            data = {name: value for name, value in pruned.items() if not is_unassigned(value) or name in render_empty}
        core, extensions = self._schema_urns
        return {"schemas": [core, *(urn for urn in extensions if urn in data)], **data}

    def reuse_rendered(self, instance: models.Model, rendered: Rendered) -> dict[str, Any]:
        """The representation of ``instance``: the attributes ``rendered`` holds taken from it; the ones it
        was rendered without (the relations) and those that read related rows rendered now; in the order
        of the fields."""
        plan = self._render_plan
        anew = rendered.omitted | self._fetched_names
        fresh = self.render_fields(instance, [entry for entry in plan if entry[0].field_name in anew])
        document = rendered.document
        data = {}
        for field, *_ in plan:
            name = field.field_name
            source = fresh if name in anew else document
            if name in source:
                data[name] = source[name]
        return data

    @property
    def _fetched_names(self) -> frozenset[str]:
        """The attributes whose fields, at any depth, read related rows that a write may change and
        ``refresh_relations`` reads back (annotations, prefetches)."""
        return self._fetching_paths()[1]

    @cached_property
    def _schema_urns(self) -> tuple[str, tuple[str, ...]]:
        """The core schema and the extensions' URNs, found once per serializer rather than per resource."""
        urns = self.get_schema_urns()
        return urns[0], tuple(urns[1:])


def renders_alone(field: serializers.Field) -> bool:
    """Deprecated alias of ``renders_context_free``."""
    warnings.warn("renders_alone is renamed renders_context_free.", DeprecationWarning, stacklevel=2)
    return renders_context_free(field)


def renders_alone_tree(field: serializers.Field) -> bool:
    """Deprecated alias of ``renders_context_free_tree``."""
    warnings.warn("renders_alone_tree is renamed renders_context_free_tree.", DeprecationWarning, stacklevel=2)
    return renders_context_free_tree(field)
