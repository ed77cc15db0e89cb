"""The base classes that make a DRF serializer a SCIM schema.

A resource serializer declares its attributes as DRF fields; each field's
``source`` says where the value lives. A field without a ``source`` reads and
writes the model attribute of its name, like in DRF, and when the model has no
such attribute it is kept in the resource's JSON document
(``SCIMResource.data``): attributes without a column need no storage code. Reading leaves unassigned attributes out
(RFC 7643 §2.5); writing matches attribute names ignoring case, clears the
attributes a replace leaves out, and saves the model, its companion row and
its relations in that order.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.db.models import Prefetch
from django.db.models.fields.related_descriptors import ReverseManyToOneDescriptor
from django.utils.functional import cached_property
from rest_framework import serializers
from rest_framework.fields import SkipField, empty, get_error_detail, is_simple_callable
from rest_framework.settings import api_settings
from rest_framework.utils.serializer_helpers import BindingDict

from ..adoption import account_state, scim_writes
from ..exceptions import Mutability, TooMany
from ..fields import AttributeMixin, StringAttribute
from ..filters.translate import FoldedKeyTarget
from ..models import SCIMResource, SCIMValue
from ..plans import cacheable, uncacheable_overrides
from ..plans.fields import (
    FieldPlan,
    copy_field,
    field_plan,
    renders_context_free,
    renders_context_free_tree,
    shares_fields,
    source_split,
)
from ..projection import Projection
from ..reverse import resource_location
from ..schema.attributes import IMMUTABLE, WRITE_ONLY, Attribute, attribute_of, mutability_of, returned_of
from ..settings import scim_settings
from ..tenancy import tenant_of


def deep_set(target: dict, keys: list[str], value: Any) -> None:
    """Set ``value`` at the path ``keys`` of nested dicts, merging dicts already there."""
    for key in keys[:-1] if keys else ():
        target = target.setdefault(key, {})
    if not keys:
        deep_merge(target, value)
    elif isinstance(value, dict) and isinstance(target.get(keys[-1]), dict):
        deep_merge(target[keys[-1]], value)
    else:
        target[keys[-1]] = value


def deep_merge(target: dict, value: Mapping) -> None:
    for key, item in value.items():
        deep_set(target, [key], item)


def compact(value: Any) -> Any:
    """A JSON-ready copy of ``value`` without null members (they mean "unassigned")."""
    if isinstance(value, Mapping):
        return {key: compact(item) for key, item in value.items() if item is not None}
    if isinstance(value, (list, tuple)):
        return [compact(item) for item in value if item is not None]
    return value


def resource_serializer(field: serializers.Field) -> serializers.Field:
    """The serializer of the resource ``field`` belongs to: its root, or the child of a ``many=True`` root
    (a list renders its resources with the fields a single resource has)."""
    root = field.root
    return root.child if isinstance(root, serializers.ListSerializer) else root


def resource_model(field: serializers.Field) -> type[models.Model] | None:
    return getattr(getattr(resource_serializer(field), "Meta", None), "model", None)


class SCIMSerializerMixin:
    """Reading and writing rules shared by resources, extensions and complex attributes."""

    # Set by the parent on nested ``source="*"`` serializers: where fields without
    # a source are kept (a dotted path into the resource's JSON document).
    document_path: str | None = None

    def get_document_path(self) -> str | None:
        return self.document_path

    @cacheable
    def get_fields_cache_key(self) -> Hashable | None:
        """Hook: serializers with the same key get the same fields, built once and copied per instance
        (:mod:`drf_scim.plans.fields`).

        The key covers what ``get_fields`` reads. Return ``None`` from a subclass whose ``get_fields``
        depends on the request or the instance, to build its fields every time as DRF does: the default
        for a class whose ``get_fields`` override is not marked :func:`drf_scim.plans.cacheable`.
        """
        if uncacheable_overrides(type(self), ("get_fields",)):
            return None
        return (type(self), self.get_document_path(), resource_model(self))

    @classmethod
    def has_static_fields(cls) -> bool:
        """Whether every instance of this class has the same fields, whatever its request (what is shared
        between requests is built only for these): see :func:`drf_scim.plans.fields.shares_fields`."""
        return shares_fields(cls)

    @cached_property
    def field_plan(self) -> FieldPlan | None:
        """The fields of this serializer's ``get_fields_cache_key()``, built once; None without a key."""
        key = self.get_fields_cache_key()
        return None if key is None else field_plan(key, self.build_fields)

    def build_fields(self) -> BindingDict:
        """The fields ``get_fields()`` declares, bound to this serializer (DRF's ``fields``)."""
        built = BindingDict(self)
        for name, field in self.get_fields().items():
            built[name] = field
        return built

    @cached_property
    def fields(self) -> BindingDict:
        plan = self.field_plan
        if plan is None:
            return self.build_fields()
        fields = BindingDict(self)
        fields.fields.update((name, copy_field(field, self)) for name, field in plan.prototypes.items())
        return fields

    @cacheable
    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        meta = getattr(self, "Meta", None)
        renamed = getattr(meta, "renamed_fields", None)
        if renamed:  # names that are not Python identifiers, such as "$ref"
            fields = {renamed.get(name, name): field for name, field in fields.items()}
        document = self.get_document_path()
        model = resource_model(self)
        for name, field in fields.items():
            if field.source is None and document and not field.read_only and not has_attribute(model, name):
                field.source = f"{document}.{name}"
            if (
                isinstance(field, SCIMSerializerMixin)
                and field.source == "*"
                and document
                and field.document_path is None
            ):
                field.document_path = f"{document}.{name}"
        return fields

    # -- reading ---------------------------------------------------------

    def get_render_empty(self) -> tuple[str, ...]:
        """Attributes rendered even when empty (Entra expects ``"members": []``)."""
        return tuple(getattr(getattr(self, "Meta", None), "render_empty", ()))

    @cached_property
    def reading_fields(self) -> Mapping[str, serializers.Field]:
        """``fields`` as rendering needs them: the fields whose rendering reads nothing from their serializer
        (``renders_context_free``) are the built ones every serializer shares, so a serializer that only
        renders copies just the others."""
        declarations = self.field_declarations()
        if declarations is self.__dict__.get("fields"):
            return declarations
        shared = self.shared_reading_fields()
        reading = {}
        for name, field in declarations.items():
            if not field.__dict__.get("_renders_context_free"):
                field = shared[name] if name in shared else copy_field(field, self)
            reading[name] = field
        return reading

    def shared_reading_fields(self) -> Mapping[str, serializers.Field]:
        """The nested attributes of a resource whose rendering, all the way down, needs nothing from the
        request (``renders_context_free_tree``: a user's name, emails, addresses...), bound once per
        ``get_fields_cache_key()`` under a context-free instance of the resource serializer and shared by
        every serializer that renders, instead of being copied and bound for each one."""
        plan = self.field_plan if resource_serializer(self) is self and self.has_static_fields() else None
        if plan is None:
            return {}
        if plan.shared_reading is None:
            plan.shared_reading = self.bind_shared_reading_fields()
        return plan.shared_reading

    def bind_shared_reading_fields(self) -> dict[str, serializers.Field]:
        try:
            template = type(self)(context={})
            if template.get_fields_cache_key() != self.get_fields_cache_key():
                return {}
        except Exception:  # a serializer whose __init__ wants a request: nothing is shared
            return {}
        shared = {}
        for name, field in template.field_declarations().items():
            if isinstance(field, serializers.BaseSerializer) and not field.write_only:
                bound = copy_field(field, template)
                if renders_context_free_tree(bound):
                    shared[name] = bound
        return shared

    def field_declarations(self) -> Mapping[str, serializers.Field]:
        """The fields as built once per ``get_fields_cache_key()``: shared and unbound, to look names and
        options up, never to render, validate or change. ``fields`` when the serializer has no key."""
        plan = self.field_plan if "fields" not in self.__dict__ else None
        return self.fields if plan is None else plan.prototypes

    def bound_field(self, name: str) -> serializers.Field:
        """``fields[name]``, binding that one field alone while the others are unbound: a filter names an
        attribute or two of the few dozen a resource has."""
        declarations = self.field_declarations()
        if declarations is self.__dict__.get("fields"):
            return declarations[name]
        bound = self.__dict__.setdefault("_bound_fields", {})
        field = bound.get(name)
        if field is None:
            field = bound[name] = copy_field(declarations[name], self)
        return field

    @property
    def _readable_fields(self):
        for field in self.reading_fields.values():
            if not field.write_only:
                yield field

    @cached_property
    def _rendered_fields(self) -> list[serializers.Field]:
        """The readable fields, found once per serializer: a list renders many resources with them."""
        return list(self._readable_fields)

    @cached_property
    def _render_plan(self) -> list[tuple[serializers.Field, bool, tuple[str, ...], tuple[str, ...]]]:
        """Per rendered field: whether DRF's ``get_attribute`` reads it (then ``read_source`` does), and its
        source split into the path of the object holding it and the rest."""
        return [
            (field, *(field.__dict__.get("_source_split") or source_split(field))) for field in self._rendered_fields
        ]

    @cached_property
    def _render_empty(self) -> frozenset[str]:
        """``get_render_empty()``, asked once per serializer rather than for each resource of a page."""
        return frozenset(self.get_render_empty())

    def to_representation(self, instance: Any) -> dict[str, Any]:
        ret: dict[str, Any] = {}
        render_empty = self._render_empty
        holders: dict[tuple[str, ...], Any] = {(): instance}  # most attributes share a holder: scim.data
        for field, plain, holder_path, rest in self._render_plan:
            if plain:
                holder = holders.get(holder_path, _MISSING)
                if holder is _MISSING:
                    holder = holders[holder_path] = read_source(instance, holder_path)
                if type(holder) is dict and rest:  # most attributes: a key of the JSON document
                    attribute = holder.get(rest[0], _MISSING)
                else:
                    attribute = holder if holder is _MISSING or holder is None else read_source(holder, rest)
                if attribute is _MISSING:  # as DRF: the default, else null when allowed, else left out
                    if field.default is not empty:
                        attribute = field.get_default()
                    elif field.allow_null:
                        attribute = None
                    else:
                        continue
            else:
                try:
                    attribute = field.get_attribute(instance)
                except SkipField:
                    continue
            if attribute is None:
                if field.field_name in render_empty:
                    ret[field.field_name] = None
                continue
            value = field.to_representation(attribute)
            if (value is None or (not value and isinstance(value, (str, list, dict)))) and (
                field.field_name not in render_empty
            ):
                continue  # unassigned (_is_empty), tested inline: this runs for every attribute of every resource
            ret[field.field_name] = value
        return ret

    # -- writing ---------------------------------------------------------

    @property
    def replacing(self) -> bool:
        """True when attributes left out of the input are cleared (POST, PUT)."""
        return not getattr(self.root, "partial", False)

    def canonical_keys(self, data: Mapping) -> dict[str, Any]:
        """Rename input keys to the declared attribute names, ignoring case (RFC 7643 §2.1)."""
        names = {name.lower(): name for name in self.fields}
        prefixes = [schema.lower() + ":" for schema in self.get_qualifying_schemas()]
        exact: dict[str, Any] = {}
        other: dict[str, Any] = {}
        for key, value in data.items():
            if not isinstance(key, str):
                continue
            if key in self.fields:
                exact[key] = value
                continue
            lowered = key.lower()
            for prefix in prefixes:
                if lowered.startswith(prefix) and lowered[len(prefix) :] in names:
                    lowered = lowered[len(prefix) :]
                    break
            other.setdefault(names.get(lowered, key), value)
        return {**other, **exact}

    def get_qualifying_schemas(self) -> list[str]:
        """Schema URNs that may prefix attribute names in input (``urn:...:User:userName``)."""
        schema = getattr(getattr(self, "Meta", None), "schema", None)
        return [schema] if schema else []

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if data is None and self.source == "*":
            # null for a complex attribute whose sub-attributes live on the resource: clear them all.
            ret: dict[str, Any] = {}
            for field in self._writable_fields:
                self.clear(ret, field)
            return ret
        if not isinstance(data, Mapping):
            raise serializers.ValidationError(
                {api_settings.NON_FIELD_ERRORS_KEY: [f"Expected a JSON object, got {type(data).__name__}."]},
                code="invalid",
            )
        data = self.canonical_keys(data)
        ret = {}
        errors: dict[str, Any] = {}
        # PATCH: only the attributes its operations changed are validated and written (the others are
        # as stored), with the rules of a replace for those; see SCIMModelViewSet.partial_update.
        changed = self.context.get("changed") if self.parent is None else None
        if changed is not None:
            changed = self.canonical_keys(dict.fromkeys(changed)).keys()  # names as declared, like the data's
        for field in self._writable_fields:
            if changed is not None and field.field_name not in changed:
                continue
            primitive = field.get_value(data)
            if primitive is empty and not field.required:
                if self.replacing:
                    self.clear(ret, field)
                continue
            try:
                self.check_mutability(field, primitive)
                validated = field.run_validation(primitive)
                validate_method = getattr(self, f"validate_{field.field_name}", None)
                if validate_method is not None:
                    validated = validate_method(validated)
            except serializers.ValidationError as exc:
                errors[field.field_name] = exc.detail
            except DjangoValidationError as exc:
                errors[field.field_name] = get_error_detail(exc)
            except SkipField:
                pass
            else:
                deep_set(ret, field.source_attrs, validated)
        if errors:
            raise serializers.ValidationError(errors)
        return ret

    def clear(self, ret: dict[str, Any], field: serializers.Field) -> None:
        """Record that a replace leaves ``field`` unassigned."""
        mutability = mutability_of(field)
        if mutability in (WRITE_ONLY, IMMUTABLE) or field.field_name in self.context.get("omit", ()):
            return
        if isinstance(field, serializers.Serializer) and field.source == "*":
            for child in field._writable_fields:
                field.clear(ret, child)
            return
        if hasattr(field, "cleared_value"):  # a field that stores its value in several places
            deep_merge(ret, field.cleared_value())
            return
        deep_set(ret, field.source_attrs, None)

    def check_mutability(self, field: serializers.Field, primitive: Any) -> None:
        """An immutable attribute, once set, only accepts its current value (RFC 7643 §2.2)."""
        instance = getattr(self.root, "instance", None)
        if instance is None or mutability_of(field) != IMMUTABLE:
            return
        if self is not self.root and self.source != "*":
            return  # sub-attributes of a stored complex value are checked with their parent
        try:
            current = field.get_attribute(instance)
        except SkipField:
            return
        current = None if current is None else field.to_representation(current)
        if not _is_empty(current) and primitive != current:
            raise Mutability(f"Attribute {field.field_name!r} is immutable and cannot be changed.")


def has_attribute(model: type[models.Model] | None, name: str) -> bool:
    """Whether ``model`` has a field or attribute called ``name`` (then it is the storage)."""
    if model is None:
        return False
    try:
        model._meta.get_field(name)
    except FieldDoesNotExist:
        return hasattr(model, name)
    return True


_MISSING = object()


def renders_alone(field: serializers.Field) -> bool:
    """Deprecated alias of ``renders_context_free``."""
    warnings.warn("renders_alone is renamed renders_context_free.", DeprecationWarning, stacklevel=2)
    return renders_context_free(field)


def renders_alone_tree(field: serializers.Field) -> bool:
    """Deprecated alias of ``renders_context_free_tree``."""
    warnings.warn("renders_alone_tree is renamed renders_context_free_tree.", DeprecationWarning, stacklevel=2)
    return renders_context_free_tree(field)


def read_source(instance: Any, attrs: Iterable[str]) -> Any:
    """DRF's ``get_attribute(instance, attrs)``, answering ``_MISSING`` instead of raising for a missing key
    or attribute: most SCIM attributes of a resource are unassigned, and raising twice for each of them
    would be a good part of the cost of rendering one."""
    for attr in attrs:
        if type(instance) is dict:  # the JSON document: no callables in it
            instance = instance.get(attr, _MISSING)
            if instance is _MISSING or instance is None:
                return instance
            continue
        if not isinstance(instance, models.Model) and isinstance(instance, Mapping):  # models first: Mapping is slow
            instance = instance.get(attr, _MISSING)
        else:
            try:
                instance = getattr(instance, attr, _MISSING)
            except ObjectDoesNotExist:
                return None
        if instance is _MISSING or instance is None:
            return instance
        if callable(instance) and is_simple_callable(instance):
            instance = instance()
    return instance


def _is_empty(value: Any) -> bool:
    """Unassigned in SCIM's sense: null, an empty string, an empty list or object."""
    return value is None or (isinstance(value, (str, list, dict)) and not value)


class MultiValuedAttribute(serializers.ListSerializer):
    """A multi-valued complex attribute (``many=True``).

    Accepts a single object where a list is expected (OneLogin sends ``emails``
    that way) and ``null`` as "no values"; at most one value may be primary.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if not kwargs.get("required", False) and not kwargs.get("read_only", False):
            kwargs.setdefault("allow_null", True)
        super().__init__(*args, **kwargs)

    def run_validation(self, data: Any = empty) -> Any:
        if isinstance(data, Mapping):
            data = [data]
        limit = self.get_max_values()
        if isinstance(data, list) and limit and len(data) > limit:
            # Each value is validated, stored and indexed: a 1 MiB body could otherwise hold 45,000 e-mails.
            raise TooMany(
                f"{self.field_name or 'The attribute'} has {len(data)} values; at most {limit} are allowed "
                "(MAX_ATTRIBUTE_VALUES)."
            )
        return super().run_validation(data)

    def get_max_values(self) -> int | None:
        """The most values this attribute takes (``MAX_ATTRIBUTE_VALUES``; relations have their own limit)."""
        return scim_settings.MAX_ATTRIBUTE_VALUES

    def to_internal_value(self, data: Any) -> list[Any]:
        values = [item for item in super().to_internal_value(data) if item is not None]
        if sum(1 for item in values if isinstance(item, Mapping) and item.get("primary") is True) > 1:
            raise serializers.ValidationError('At most one value may have "primary": true.')
        return values

    def to_representation(self, data: Any) -> list[Any]:
        values = super().to_representation(data)
        return [value for value in values if not _is_empty(value)]


class ComplexAttribute(SCIMSerializerMixin, AttributeMixin, serializers.Serializer):
    """A SCIM complex attribute; declare its sub-attributes as fields, use ``many=True`` for multi-valued."""

    class Meta:
        list_serializer_class = MultiValuedAttribute


class SCIMExtension(ComplexAttribute):
    """A schema extension, nested in its resource under its URN.

    Subclass it with ``Meta.schema`` (the URN) and fields for its attributes, and
    list it in the resource serializer's ``Meta.extensions``. Attributes without
    a ``source`` are kept in the resource's JSON document under ``Meta.storage_key``
    (by default the URN with its dots replaced by underscores).
    """

    class Meta:
        schema: str = ""
        name: str = ""
        description: str = ""
        required: bool = False
        storage_key: str | None = None

    @classmethod
    def get_schema_urn(cls) -> str:
        return cls.Meta.schema

    @classmethod
    def get_storage_key(cls) -> str:
        return getattr(cls.Meta, "storage_key", None) or cls.Meta.schema.replace(".", "_")


class IdField(AttributeMixin, serializers.UUIDField):
    """The opaque, server-assigned, case-exact SCIM id."""

    scim_defaults = {"mutability": "readOnly", "returned": "always", "uniqueness": "server", "case_exact": True}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> str:
        return str(value)


def xsd_datetime(value: datetime) -> str:
    """An xsd:dateTime (RFC 7643 §2.3.5) in UTC, as the RFC's examples write them: "2011-08-01T21:32:44.882Z".

    Whatever DRF's ``DATETIME_FORMAT`` and the current time zone, which DRF's ``DateTimeField`` follows (and
    looks up for every value: several times the cost, for every resource of a page). A naive value (``USE_TZ =
    False``) is written as it is.
    """
    if value.tzinfo is None:
        return value.isoformat()
    text = value.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class MetaField(AttributeMixin, serializers.Field):
    """The readOnly ``meta`` complex attribute of every resource."""

    scim_defaults = {"scim_type": "complex", "mutability": "readOnly"}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("read_only", True)
        kwargs.setdefault("source", "*")
        super().__init__(**kwargs)

    def to_representation(self, instance: Any) -> dict[str, Any]:
        serializer = self.parent
        resource = serializer.get_resource(instance)
        created, modified = xsd_datetime(resource.created), xsd_datetime(resource.last_modified)
        data = {"resourceType": serializer.Meta.resource_type, "created": created, "lastModified": modified}
        request = serializer.context.get("request")
        if request is not None:
            data["location"] = resource_location(request, serializer.Meta.resource_type, resource.scim_id)
        data["version"] = resource.etag
        return data


class SCIMSerializer(SCIMSerializerMixin, serializers.Serializer):
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

    # -- storage -----------------------------------------------------------

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
        plan = self.field_plan
        paths = plan.fetching_paths if plan is not None else None
        if paths is None:
            paths = []
            stack = [((name,), field) for name, field in self.fields.items()]
            while stack:
                path, field = stack.pop(0)
                if any(hasattr(field, hook) for hook in ("get_select_related", "get_prefetches", "get_annotations")):
                    paths.append(path)
                if isinstance(field, serializers.Serializer) and field.source == "*":
                    stack.extend(((*path, name), child) for name, child in field.fields.items())
            if plan is not None:
                plan.fetching_paths = paths
        readable = {field.field_name for field in self._rendered_fields}
        for path in paths:
            if path[0] in readable:
                field = self.fields[path[0]]
                for name in path[1:]:
                    field = field.fields[name]
                yield field

    def _all_fields(self, fields: Iterable[serializers.Field] | None = None):
        """The fields a response renders (or ``fields``), nested ``source="*"`` ones included."""
        stack = list(self._readable_fields if fields is None else fields)
        while stack:
            field = stack.pop(0)
            yield field
            if isinstance(field, serializers.Serializer) and field.source == "*":
                stack.extend(field.fields.values())

    def get_indexed_attributes(self) -> dict[str, list[str]]:
        """Multi-valued attributes kept in the JSON document, by their path in it ("emails").

        Their values are copied to ``SCIMValue`` rows so that filters can match them. Found once per
        ``get_fields_cache_key()``.
        """
        plan = self.field_plan
        indexed = plan.indexed if plan is not None else None
        if indexed is None:
            document = self.get_document_path().split(".")
            indexed = {}
            for field in self._all_fields(self.fields.values()):
                path = getattr(field, "source_attrs", None) or []
                if isinstance(field, MultiValuedAttribute) and path[: len(document)] == document:
                    relative = path[len(document) :]
                    indexed[".".join(relative)] = relative
            if plan is not None:
                plan.indexed = indexed
        return indexed

    def indexed_values(self, resource: SCIMResource) -> dict[str, list[Any]]:
        values = {}
        for key, path in self.get_indexed_attributes().items():
            node: Any = resource.data
            for part in path:
                node = node.get(part) if isinstance(node, dict) else None
            values[key] = [item for item in node or [] if isinstance(item, dict)] if isinstance(node, list) else []
        return values

    def sync_indexed_values(self, resource: SCIMResource, before: dict[str, list[Any]] | None) -> None:
        """Copy multi-valued attributes to ``SCIMValue`` rows when they changed."""
        current = self.indexed_values(resource)
        if current == (before if before is not None else {key: [] for key in current}):
            return
        if before is not None:
            resource_type = ContentType.objects.get_for_model(resource)
            SCIMValue.objects.filter(resource_type=resource_type, resource_id=resource.pk).delete()
        SCIMValue.objects.bulk_create(self.value_rows(resource, current))

    @staticmethod
    def value_rows(resource: SCIMResource, values: dict[str, list[Any]]) -> list[SCIMValue]:
        """The ``SCIMValue`` rows of ``values`` (``indexed_values(resource)``), unsaved."""
        resource_type = ContentType.objects.get_for_model(resource)
        return [
            SCIMValue(
                resource_type=resource_type,
                resource_id=resource.pk,
                attribute=key,
                value_key=SCIMValue.key_of(item),
                item=item,
            )
            for key, items in values.items()
            for item in items
        ]

    def new_instance(self) -> models.Model:
        instance = self.Meta.model()
        relation = getattr(self.Meta, "scim_relation", None)
        if relation:
            companion_model = self.Meta.model._meta.get_field(relation).related_model
            setattr(instance, relation, companion_model())
        self.get_resource(instance).tenant = tenant_of(self)
        return instance

    def create(self, validated_data: dict[str, Any]) -> models.Model:
        instance = self.new_instance()
        relations = self.assign(instance, validated_data)
        self.save_resource(instance, created=True, relations=relations)
        return instance

    def update(self, instance: models.Model, validated_data: dict[str, Any]) -> models.Model:
        self._indexed_before = self.indexed_values(self.get_resource(instance))
        relations = self.assign(instance, validated_data)
        self.save_resource(instance, created=False, relations=relations)
        return instance

    def save_resource(self, instance: models.Model, *, created: bool, relations: list) -> None:
        """Save ``instance``, its companion row, then its relations and indexed values.

        The version is bumped on every update.
        """
        resource = self.get_resource(instance)
        for column, key in self.get_folded_key_values(instance).items():
            setattr(resource, column, key)
        if not created:
            resource.bump_version()
        with scim_writes():
            instance.save()
            if resource is not instance:
                link = self.Meta.model._meta.get_field(self.Meta.scim_relation).field.name
                setattr(resource, link, instance)
                resource.host_state = account_state(instance)
                resource.save()
            for target, name, values in relations:
                self.write_relation(target, name, values or [])
        self.sync_indexed_values(resource, None if created else getattr(self, "_indexed_before", None))

    def get_folded_key_values(self, instance: models.Model) -> dict[str, str]:
        """The case-folded keys of ``instance`` (``Meta.folded_keys``), by the SCIM row's column."""
        return {
            column: (self.fields[name].get_attribute(instance) or "").casefold()
            for name, column in self.get_folded_keys().items()
        }

    def get_adopted_document(self, instance: models.Model) -> dict[str, Any]:
        """Hook: the JSON document of an account made outside SCIM when it becomes a resource."""
        return {}

    def refresh_document(self, instance: models.Model, document: dict[str, Any]) -> dict[str, Any]:
        """Hook: ``document`` brought up to date with a change made to ``instance`` outside SCIM."""
        return document

    def write_relation(self, target: models.Model, name: str, values: list[Any]) -> None:
        """Replace a relation: through the attribute that shows it (which leaves alone the rows it does
        not show: other tenants', resources SCIM does not serve), else with the manager's ``set()``."""
        field = next(
            (
                f
                for f in self.fields.values()
                if getattr(f, "source_attrs", None) == [name] and hasattr(f, "replace_related")
            ),
            None,
        )
        if field is not None and target is not None:
            field.replace_related(target, values)
        else:
            getattr(target, name).set(values)

    def assign(self, target: Any, values: Mapping[str, Any]) -> list[tuple[Any, str, Any]]:
        """Write validated values onto ``target`` (a model or a JSON dict); return relation writes."""
        relations: list[tuple[Any, str, Any]] = []
        self._assign(target, values, relations)
        return relations

    def _assign(self, target: Any, values: Mapping[str, Any], relations: list) -> None:
        for key, value in values.items():
            if isinstance(target, dict):
                if value is None or value == "" or value == []:
                    target.pop(key, None)  # unassigned (RFC 7643 §2.5): not kept in the document
                elif isinstance(value, Mapping):
                    child = target.get(key)
                    if not isinstance(child, dict):
                        child = target[key] = {}
                    self._assign(child, value, relations)
                    if not child:
                        target.pop(key, None)
                else:
                    target[key] = compact(value)
                continue

            try:
                model_field = target._meta.get_field(key)
            except FieldDoesNotExist:
                model_field = None
            if isinstance(getattr(type(target), key, None), ReverseManyToOneDescriptor):
                relations.append((target, key, value))  # many-to-many or reverse foreign key
                continue
            current = getattr(target, key, None)
            if isinstance(value, Mapping) and isinstance(current, (dict, models.Model)):
                self._assign(current, value, relations)
                continue
            if value is None and model_field is not None and not model_field.null:
                value = model_field.get_default()
            setattr(target, key, value)

    # -- representation ----------------------------------------------------

    def to_representation(self, instance: models.Model) -> dict[str, Any]:
        data = super().to_representation(instance)
        projection = self.get_projection()
        if projection is not None and projection.prunes:
            pruned = {name: projection.prune(name, value) for name, value in data.items()}
            render_empty = self._render_empty
            data = {name: value for name, value in pruned.items() if not _is_empty(value) or name in render_empty}
        core, extensions = self._schema_urns
        return {"schemas": [core, *(urn for urn in extensions if urn in data)], **data}

    @cached_property
    def _schema_urns(self) -> tuple[str, tuple[str, ...]]:
        """The core schema and the extensions' URNs, found once per serializer rather than per resource."""
        urns = self.get_schema_urns()
        return urns[0], tuple(urns[1:])
