"""Where attribute values live: reading a field's source from a model or the resource's JSON document,
and writing validated values into nested dicts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist
from django.db import models
from rest_framework import serializers
from rest_framework.fields import is_simple_callable

# What read_source answers for a missing key or attribute (None is a value: "unassigned").
MISSING = object()


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


def has_attribute(model: type[models.Model] | None, name: str) -> bool:
    """Whether ``model`` has a field or attribute called ``name`` (then it is the storage)."""
    if model is None:
        return False
    try:
        model._meta.get_field(name)
    except FieldDoesNotExist:
        return hasattr(model, name)
    return True


def read_source(instance: Any, attrs: Iterable[str]) -> Any:
    """DRF's ``get_attribute(instance, attrs)``, answering ``MISSING`` instead of raising for a missing key
    or attribute: most SCIM attributes of a resource are unassigned, and raising twice for each of them
    would be a good part of the cost of rendering one."""
    for attr in attrs:
        if type(instance) is dict:  # the JSON document: no callables in it
            instance = instance.get(attr, MISSING)
            if instance is MISSING or instance is None:
                return instance
            continue
        if not isinstance(instance, models.Model) and isinstance(instance, Mapping):  # models first: Mapping is slow
            instance = instance.get(attr, MISSING)
        else:
            try:
                instance = getattr(instance, attr, MISSING)
            except ObjectDoesNotExist:
                return None
        if instance is MISSING or instance is None:
            return instance
        if callable(instance) and is_simple_callable(instance):
            instance = instance()
    return instance


def is_unassigned(value: Any) -> bool:
    """Unassigned in SCIM's sense: null, an empty string, an empty list or object."""
    return value is None or (isinstance(value, (str, list, dict)) and not value)
