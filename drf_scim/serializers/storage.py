"""How a resource serializer stores what it validated: the model, its SCIM row, its relations and the
``SCIMValue`` rows that index multi-valued attributes kept in the JSON document."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models.fields.related_descriptors import ReverseManyToOneDescriptor

from ..adoption import account_state, scim_writes
from ..models import SCIMResource, SCIMValue
from ..tenancy import tenant_of
from .attributes import MultiValuedAttribute
from .sources import compact


class ResourceStorageMixin:
    """Writing of :class:`~drf_scim.serializers.SCIMSerializer`: ``create`` and ``update`` assign the
    validated values to the model and the JSON document, then ``save_resource`` saves the model, its
    companion SCIM row, its relations and its indexed values, in that order."""

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
