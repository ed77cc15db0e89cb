"""Attributes that reference other SCIM resources through Django relations.

``members`` of a Group and ``groups`` of a User read a many-to-many relation
(inside the resource's own row, as a JSON array, on PostgreSQL and SQLite; in one
prefetch query per page elsewhere); ``manager`` of the Enterprise User extension,
a foreign key, is in ``manager.py``. Writes resolve SCIM ids in one query and
reject unknown ones, so a reference never points at nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connections, models
from django.db.models import F, OuterRef, Prefetch
from django.db.models.functions import JSONObject
from rest_framework import serializers
from rest_framework.fields import empty

from ..django_internals import is_evaluated
from ..exceptions import InvalidValue, flatten_detail
from ..expressions import JSONArraySubquery
from ..fields import ReferenceAttribute, StringAttribute, TenantUniqueStringAttribute
from ..filters.translate import (
    ConstantTarget,
    ExistsTarget,
    FilterTranslator,
    FoldedKeyTarget,
    IdTarget,
    Target,
)
from ..receivers import count_membership_write
from ..reverse import resource_location
from ..schema.attributes import STRING, Attribute, attribute_of
from ..settings import scim_settings
from ..tenancy import tenant_of
from .base import ComplexAttribute, MultiValuedAttribute

if TYPE_CHECKING:
    from ..patch import RelationChange


def parse_ids(values: list[Any]) -> tuple[list[uuid.UUID], list[str]]:
    """Split raw id values into parsed UUIDs and the ones that cannot be ids."""
    parsed, invalid = [], []
    for value in values:
        try:
            parsed.append(uuid.UUID(str(value)))
        except (TypeError, ValueError, AttributeError):
            invalid.append(str(value))
    return parsed, invalid


class ReferenceSerializer(ComplexAttribute):
    """Sub-attributes of a reference to another resource: value, $ref, display, type."""

    value = StringAttribute(
        required=True,
        allow_blank=False,
        case_exact=True,
        mutability="immutable",
        help_text="Identifier of the referenced resource.",
    )
    ref = ReferenceAttribute(
        required=False,
        reference_types=("User", "Group"),
        mutability="immutable",
        help_text="The URI of the referenced resource.",
    )
    display = StringAttribute(required=False, mutability="readOnly", help_text="A human-readable name.")
    type = StringAttribute(required=False, mutability="immutable", help_text="The type of the referenced resource.")

    class Meta:
        renamed_fields = {"ref": "$ref"}
        list_serializer_class = MultiValuedAttribute


class MemberSerializer(ReferenceSerializer):
    """A member of a Group: value, $ref and type (RFC 7643 §8.7.1); a display sent by a client is ignored."""

    display = None  # not part of the Group schema
    type = StringAttribute(
        required=False, canonical_values=("User", "Group"), mutability="immutable", help_text="The type of the member."
    )


class GroupReferenceSerializer(ReferenceSerializer):
    type = StringAttribute(
        required=False,
        canonical_values=("direct", "indirect"),
        mutability="readOnly",
        help_text="How the membership was derived.",
    )


class ReferenceRows(list):
    """References read from the resource's own row (``RelatedResourcesAttribute.get_annotations``)."""


class RelatedResourcesAttribute(MultiValuedAttribute):
    """A multi-valued reference stored in a many-to-many relation (``source`` names the manager)."""

    resource_type = "User"
    # Filters: the through table, the column pointing at the filtered resource, the
    # one pointing at the referenced resource, and how the referenced one is named.
    # Which end of the through table is the filtered resource: "user" or "group".
    outer_end = "group"
    # How the referenced resource is named in filters (None: no display sub-attribute).
    display_column: str | None = None

    def get_max_values(self) -> int | None:
        return None  # rows of a relation, not values in a document: MAX_MEMBERS_PER_OPERATION limits them

    def through_columns(self) -> dict[str, str]:
        """The names of the through table's foreign keys to the user model and to Group."""
        through = self.get_through()
        user_model = get_user_model()
        columns = {}
        for field in through._meta.fields:
            if field.is_relation and field.related_model is user_model:
                columns["user"] = field.name
            elif field.is_relation and field.related_model is Group:
                columns["group"] = field.name
        return columns

    @property
    def outer_column(self) -> str:
        return self.through_columns()[self.outer_end]

    @property
    def inner_column(self) -> str:
        return self.through_columns()["user" if self.outer_end == "group" else "group"]

    @property
    def display_path(self) -> str | None:
        return f"{self.inner_column}__{self.display_column}" if self.display_column else None

    @property
    def display_key_path(self) -> str:
        return f"{self.inner_column}__scim__display_name_key"

    type_value = "User"

    def get_through(self) -> type[models.Model]:
        return get_user_model().groups.through

    def get_filter_target(self, attribute_map: Any) -> Target:
        """Match a group by its members (or a user by its groups) with an EXISTS over the through table."""
        attribute = attribute_of(self.field_name, self)
        rows = self.get_through().objects.filter(**{f"{self.outer_column}_id": OuterRef("pk")})
        rows = rows.filter(**{f"{self.inner_column}__scim__tenant": tenant_of(self), **self.get_extra_row_filter()})

        def sub(name: str) -> Target | None:
            lowered = name.lower()
            if lowered == "value":
                return IdTarget(
                    Attribute("value", STRING, case_exact=True), f"{self.inner_column}__scim__scim_id", nullable=False
                )
            if lowered == "display" and self.display_path:
                return FoldedKeyTarget(Attribute("display", STRING), self.display_path, self.display_key_path)
            if lowered == "type":
                return ConstantTarget(Attribute("type", STRING), self.type_value)
            return None

        return ExistsTarget(attribute, rows, sub)

    def get_extra_row_filter(self) -> dict[str, Any]:
        return {}

    # -- set deltas (PATCH), never loading the whole relation ----------------

    def rows(self, instance: models.Model) -> models.QuerySet:
        """The membership rows this attribute shows (rows of resources SCIM does not serve are left alone)."""
        return self.get_through().objects.filter(
            **{f"{self.outer_column}_id": instance.pk, f"{self.inner_column}__scim__tenant": tenant_of(self)},
            **self.get_extra_row_filter(),
        )

    def replace_related(self, instance: models.Model, objects: list[models.Model]) -> None:
        """Make ``objects`` the related rows this attribute shows, leaving rows it does not show alone."""
        inner = f"{self.inner_column}_id"
        current = set(self.rows(instance).values_list(inner, flat=True))
        wanted = {obj.pk for obj in objects}
        if current - wanted:
            self.delete_rows(self.rows(instance).filter(**{f"{inner}__in": current - wanted}))
        self.add_related(instance, [obj for obj in objects if obj.pk not in current])

    def add_related(self, instance: models.Model, objects: list[models.Model]) -> None:
        """Insert the rows that are missing; rows already there are left alone."""
        if not objects:
            return
        through = self.get_through()
        count_membership_write()  # bulk_create sends no m2m_changed
        through.objects.bulk_create(
            [through(**{f"{self.outer_column}_id": instance.pk, f"{self.inner_column}_id": obj.pk}) for obj in objects],
            ignore_conflicts=True,
        )

    def remove_related(self, instance: models.Model, values: list[Any]) -> None:
        if not (ids := parse_ids(values)[0]):
            return
        # Keys by the unique scim_id in a subquery: as a join, unanalysed tables got a quadratic plan.
        through, prefix = self.get_through(), f"{self.inner_column}__"
        conditions = {name.removeprefix(prefix): value for name, value in self.get_extra_row_filter().items()}
        inner = through._meta.get_field(self.inner_column).related_model._default_manager
        keys = inner.filter(scim__scim_id__in=ids, scim__tenant=tenant_of(self), **conditions).values("pk")
        rows = through.objects.filter(**{f"{self.outer_column}_id": instance.pk, f"{prefix[:-2]}_id__in": keys})
        self.delete_rows(rows)

    def remove_matching(self, instance: models.Model, condition: Any) -> None:
        self.delete_rows(self.rows(instance).filter(condition))

    def clear_related(self, instance: models.Model) -> None:
        self.delete_rows(self.rows(instance))

    @staticmethod
    def delete_rows(rows: models.QuerySet) -> None:
        """Delete rows of the through table, counted as a membership write: ``QuerySet.delete()`` sends no
        ``m2m_changed`` (``receivers.membership_writes``)."""
        count_membership_write()
        rows.delete()

    def apply_changes(self, instance: models.Model, changes: Sequence[RelationChange]) -> None:
        """Apply PATCH's deltas on this attribute in order, never loading the relation: every id is looked up
        in one query, and runs of adds (or of removes) become one insert (or one delete)."""
        wanted: dict[int, list[str]] = {}
        for change in changes:
            if change.kind in ("add", "replace"):
                try:
                    wanted[id(change)] = self.values_of(change.values)
                except serializers.ValidationError as exc:
                    raise InvalidValue(
                        f"{change.operation.describe()}: {'; '.join(flatten_detail(exc.detail))}"
                    ) from None
        try:
            found = self.resolve([value for change in changes for value in wanted.get(id(change), [])])
        except serializers.ValidationError as exc:
            naming = next(change for change in changes if wanted.get(id(change)))
            raise InvalidValue(f"{naming.operation.describe()}: {'; '.join(flatten_detail(exc.detail))}") from None

        run: list[Any] = []
        run_kind = None

        def flush() -> None:
            if run_kind == "add":
                self.add_related(instance, list({obj.pk: obj for obj in run}.values()))
            elif run_kind == "remove":
                self.remove_related(instance, run)
            run.clear()

        for change in changes:
            kind = change.kind
            if kind == "replace":
                flush()
                self.clear_related(instance)
                kind = "add"
            if kind != run_kind:
                flush()
                run_kind = kind if kind in ("add", "remove") else None
            if kind == "add":
                run.extend(found[value] for value in wanted[id(change)])
            elif kind == "remove":
                run.extend(item.get("value") for item in change.values if isinstance(item, dict))
            elif kind == "clear":
                self.clear_related(instance)
            else:  # remove_matching: the filter of a path such as members[value eq "..."]
                target = self.get_filter_target(None)
                self.remove_matching(instance, FilterTranslator(target.inner_resolver).to_q(change.filter))
        flush()

    def get_queryset(self) -> models.QuerySet:
        raise NotImplementedError

    def reference(self, obj: models.Model) -> dict[str, Any]:
        """The reference to a related row fetched as a model instance."""
        display = getattr(obj, self.display_column) if self.display_column else None
        return self.reference_to(obj.scim.scim_id, obj.scim.tenant, display)

    def reference_to(self, scim_id: uuid.UUID, tenant: str, display: str | None) -> dict[str, Any]:
        """The reference to the resource ``scim_id`` (``display``: its name as stored)."""
        data: dict[str, Any] = {"value": str(scim_id)}
        if display is not None:
            data["display"] = TenantUniqueStringAttribute.unprefixed(display, tenant)
        data["type"] = self.type_value
        request = self.context.get("request")
        if request is not None:
            data["$ref"] = resource_location(request, self.resource_type, scim_id)
        return data

    # The columns ``reference()`` reads: prefetching only these keeps a page (or a big group) cheap.
    reference_columns: tuple[str, ...] = ("scim__scim_id", "scim__tenant")

    def get_annotation_name(self) -> str:
        return f"scim_references_{self.field_name}"

    def watched_when_created(self) -> bool:
        """Whether a resource just created holds none of these references but those its create set, unless
        a membership write was counted meanwhile (``receivers.membership_writes``): true of the user-group
        table, whose writes drf_scim counts (its receivers' and its own relation writes). Host code that
        bypasses the signals (``bulk_create()``, raw SQL) during a create is not seen: its response shows the
        references the next read does."""
        user_model = get_user_model()
        return hasattr(user_model, "groups") and self.get_through() is user_model.groups.through

    def references_in_row(self) -> bool:
        """True when the database can return the references inside the resource's own row."""
        return JSONArraySubquery.supported(connections[self.get_through().objects.db])

    def get_annotations(self) -> dict[str, JSONArraySubquery]:
        """The references as one JSON array in the resource's row (PostgreSQL, SQLite): no query of their
        own, whatever the page size. Elsewhere ``get_prefetches`` fetches them in one query per page."""
        if not self.references_in_row():
            return {}
        inner = self.inner_column
        columns = {"value": f"{inner}__scim__scim_id", "tenant": f"{inner}__scim__tenant"}
        if self.display_column:
            columns["display"] = f"{inner}__{self.display_column}"
        key = F(f"{inner}_id")
        rows = self.get_through().objects.filter(
            **{f"{self.outer_column}_id": OuterRef("pk"), f"{inner}__scim__tenant": tenant_of(self)},
            **self.get_extra_row_filter(),
        )
        rows = rows.order_by(key).values(j=JSONObject(**columns), o=key)
        return {self.get_annotation_name(): JSONArraySubquery(rows)}

    def get_prefetches(self) -> list[Prefetch]:
        if self.references_in_row():
            return []
        queryset = self.get_queryset().only(*self.reference_columns).order_by("pk")
        return [Prefetch("__".join(self.source_attrs), queryset=queryset)]

    def get_attribute(self, instance: Any) -> Any:
        if getattr(instance, "pk", None) is None:
            return []
        rows = instance.__dict__.get(self.get_annotation_name())
        if rows is not None:
            return ReferenceRows(rows)
        return super().get_attribute(instance)

    def run_validation(self, data: Any = empty) -> Any:
        if data is None:
            return []  # null means "no members"
        return super().run_validation(data)

    def to_representation(self, data: Any) -> list[dict[str, Any]]:
        if isinstance(data, ReferenceRows):
            return [self.reference_to(uuid.UUID(row["value"]), row["tenant"], row.get("display")) for row in data]
        objects = data.all() if isinstance(data, models.Manager) else data
        if isinstance(objects, models.QuerySet) and not is_evaluated(objects):
            # Not prefetched: read the rows the prefetch would have, in one query.
            objects = self.get_queryset().filter(pk__in=objects.values("pk")).order_by("pk")
        return [self.reference(obj) for obj in objects]

    def to_internal_value(self, data: Any) -> list[models.Model]:
        found = self.resolve(self.values_of(data))
        return list(found.values())

    def values_of(self, data: Any) -> list[str]:
        """The ids a list of references names, validated but not looked up."""
        limit = scim_settings.MAX_MEMBERS_PER_OPERATION
        if isinstance(data, list) and len(data) > limit:
            raise serializers.ValidationError(f"At most {limit} values per operation (MAX_MEMBERS_PER_OPERATION).")
        items = super().to_internal_value(data)
        return list(dict.fromkeys(item["value"] for item in items))

    def resolve(self, values: list[str]) -> dict[str, models.Model]:
        """Look the ids up in one query; an id that names no resource is a ValidationError."""
        ids, invalid = parse_ids(values)
        rows = self.get_queryset().filter(scim__scim_id__in=ids) if ids else []
        found = {str(obj.scim.scim_id): obj for obj in rows}
        unknown = invalid + [str(value) for value in ids if str(value) not in found]
        if unknown:
            raise serializers.ValidationError(
                f"No {self.resource_type} with id {', '.join(repr(value) for value in unknown[:10])}"
                + (f" (and {len(unknown) - 10} more)" if len(unknown) > 10 else "")
                + "."
            )
        return {str(value): found[str(value)] for value in dict.fromkeys(ids)}


def relation_names(serializer: serializers.Serializer, *, writable_only: bool = False) -> set[str]:
    """The relation attributes (members, groups) of ``serializer``: PATCH works on the document without them,
    and changes the writable ones by delta (``RelatedResourcesAttribute.apply_changes``), never loading them.

    Read from the fields as declared (``field_declarations``): no field is bound to ``serializer`` for it."""
    return {
        name
        for name, field in serializer.field_declarations().items()
        if isinstance(field, RelatedResourcesAttribute) and not (writable_only and field.read_only)
    }


class MembersAttribute(RelatedResourcesAttribute):
    """``members`` of a Group: the users of a ``django.contrib.auth`` group."""

    resource_type = "User"

    def get_extra_row_filter(self) -> dict[str, Any]:
        return {f"{self.inner_column}__scim__deleted__isnull": True}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("child", MemberSerializer())
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def get_queryset(self) -> models.QuerySet:
        return (
            get_user_model()
            ._default_manager.filter(scim__tenant=tenant_of(self), scim__deleted__isnull=True)
            .select_related("scim")
        )


class GroupsAttribute(RelatedResourcesAttribute):
    """``groups`` of a User (readOnly): the ``django.contrib.auth`` groups it belongs to."""

    resource_type = "Group"
    outer_end = "user"
    display_column = "name"
    type_value = "direct"

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("child", GroupReferenceSerializer())
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    reference_columns = ("name", "scim__scim_id", "scim__tenant")

    def get_queryset(self) -> models.QuerySet:
        return Group.objects.filter(scim__tenant=tenant_of(self)).select_related("scim")


def __getattr__(name: str) -> Any:
    if name == "ManagerSerializer":  # its home is serializers/manager.py, which imports this module
        from .manager import ManagerSerializer

        return ManagerSerializer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
