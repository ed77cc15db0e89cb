"""The reading and writing rules every SCIM serializer shares: resources, extensions and complex attributes.

Fields come from the serializer's :class:`~drf_scim.plans.fields.FieldPlan` when it has one (built once,
copied per instance), rendering skips DRF's per-field exception handling for attributes that are simply
unassigned, and writing matches names ignoring case, clears what a replace leaves out and enforces
mutability (RFC 7643 §2.1, §2.2, §2.5).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.functional import cached_property
from rest_framework import serializers
from rest_framework.fields import SkipField, empty, get_error_detail
from rest_framework.settings import api_settings
from rest_framework.utils.serializer_helpers import BindingDict

from ..exceptions import Mutability
from ..plans import cacheable, uncacheable_overrides
from ..plans.fields import FieldPlan, copy_field, field_plan, renders_context_free_tree, shares_fields, source_split
from ..schema.attributes import IMMUTABLE, WRITE_ONLY, mutability_of
from .sources import (
    MISSING,
    deep_merge,
    deep_set,
    has_attribute,
    is_unassigned,
    read_source,
    resource_model,
    resource_serializer,
)


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
        return self.render_fields(instance, self._render_plan)

    def render_fields(self, instance: Any, plan: list) -> dict[str, Any]:
        """The attributes of ``instance`` that ``plan`` (entries of ``_render_plan``) names, rendered."""
        ret: dict[str, Any] = {}
        render_empty = self._render_empty
        holders: dict[tuple[str, ...], Any] = {(): instance}  # most attributes share a holder: scim.data
        for field, plain, holder_path, rest in plan:
            if plain:
                holder = holders.get(holder_path, MISSING)
                if holder is MISSING:
                    holder = holders[holder_path] = read_source(instance, holder_path)
                if type(holder) is dict and rest:  # most attributes: a key of the JSON document
                    attribute = holder.get(rest[0], MISSING)
                else:
                    attribute = holder if holder is MISSING or holder is None else read_source(holder, rest)
                if attribute is MISSING:  # as DRF: the default, else null when allowed, else left out
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
                continue  # unassigned (is_unassigned), tested inline: this runs for every attribute of every resource
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
        # as stored), with the rules of a replace for those; see drf_scim.patch.PatchRequest.apply.
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
        if not is_unassigned(current) and primitive != current:
            raise Mutability(f"Attribute {field.field_name!r} is immutable and cannot be changed.")
