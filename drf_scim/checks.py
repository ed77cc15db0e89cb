"""System checks for the mistakes that would otherwise surface as confusing errors at request time."""

from __future__ import annotations

import contextlib
import difflib
import re
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register
from django.core.checks import Warning as CheckWarning
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import models
from django.urls import URLResolver, get_resolver

from .settings import DEFAULTS, SETTING_NAME, scim_settings


@register(Tags.compatibility)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    errors: list[Error] = []
    user_settings = getattr(settings, SETTING_NAME, {}) or {}
    if not isinstance(user_settings, dict):
        return [Error(f"{SETTING_NAME} must be a dict.", id="drf_scim.E001")]
    for key in user_settings:
        if key not in DEFAULTS:
            errors.append(
                Error(
                    f"Unknown setting {SETTING_NAME}[{key!r}].",
                    hint=f"Known settings: {', '.join(sorted(DEFAULTS))}.",
                    id="drf_scim.E002",
                )
            )
    imported = ("USER_SERIALIZER", "GROUP_SERIALIZER", "PAGINATION_CLASS", "EXCEPTION_HANDLER", "FILTER_BACKENDS")
    for key in (*imported, "TENANT_RESOLVER", "ADOPTION_TENANT"):
        try:
            getattr(scim_settings, key)
        except ImproperlyConfigured as exc:
            errors.append(Error(str(exc), id="drf_scim.E003"))
    limits = ("DEFAULT_PAGE_SIZE", "MAX_PAGE_SIZE", "MAX_PAYLOAD_SIZE", "FILTER_MAX_LENGTH", "FILTER_MAX_DEPTH")
    budgets = ("FILTER_MAX_CLAUSES", "FILTER_MAX_VALUE_FILTERS", "MAX_ATTRIBUTE_VALUES", "MAX_PATCH_COST")
    budgets += ("EVENTS_POLL_MAX_EVENTS", "EVENTS_POLL_MAX_ACKS")
    for key in (*limits, *budgets):
        value = user_settings.get(key, DEFAULTS[key])
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            errors.append(Error(f"{SETTING_NAME}[{key!r}] must be a positive integer.", id="drf_scim.E004"))
    zero_means = ("FILTER_MAX_SUBSTRING_CLAUSES", "STATEMENT_TIMEOUT", "ACTIVITY_FLUSH_SECONDS")  # 0 has a meaning
    for key in (*zero_means, "EVENTS_POLL_WAIT_SECONDS"):
        value = user_settings.get(key, DEFAULTS[key])
        if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0):
            errors.append(Error(f"{SETTING_NAME}[{key!r}] must be a number, 0 or more.", id="drf_scim.E004"))
    retention = user_settings.get("AUDIT_RETENTION_DAYS", DEFAULTS["AUDIT_RETENTION_DAYS"])  # None: kept forever
    if retention is not None and (not isinstance(retention, int) or isinstance(retention, bool) or retention < 1):
        errors.append(
            Error(
                f"{SETTING_NAME}['AUDIT_RETENTION_DAYS'] must be a positive integer (days), or None.",
                hint="e.g. 365; None keeps the audit trail until it is deleted otherwise.",
                id="drf_scim.E004",
            )
        )
    if user_settings.get("DEFAULT_PAGE_SIZE", 0) > user_settings.get("MAX_PAGE_SIZE", DEFAULTS["MAX_PAGE_SIZE"]):
        errors.append(Error(f"{SETTING_NAME}['DEFAULT_PAGE_SIZE'] exceeds MAX_PAGE_SIZE.", id="drf_scim.E005"))
    if not apps.is_installed("oauth2_provider") and any(
        "SCIMOAuth2Authentication" in str(path)
        for path in user_settings.get("AUTHENTICATION_CLASSES", DEFAULTS["AUTHENTICATION_CLASSES"])
    ):
        errors.append(
            Error(
                "drf_scim authenticates with django-oauth-toolkit, which is not installed.",
                hint="Add 'oauth2_provider' to INSTALLED_APPS, or set DRF_SCIM['AUTHENTICATION_CLASSES'].",
                id="drf_scim.E006",
            )
        )
    return errors


# -- SCIM serializers ----------------------------------------------------------------------------------------
#
# What drf_scim and DRF read from the ``Meta`` of a SCIM serializer, by kind of serializer. Any other name
# is read by nothing: a misspelt option (``folded_key``) silently drops what it was meant to declare.

DRF_OPTIONS = frozenset({"list_serializer_class", "validators", "ref_name"})  # ref_name: drf-spectacular
ATTRIBUTE_OPTIONS = DRF_OPTIONS | {"renamed_fields", "render_empty"}
EXTENSION_OPTIONS = ATTRIBUTE_OPTIONS | {"schema", "name", "description", "required", "storage_key"}
RESOURCE_OPTIONS = ATTRIBUTE_OPTIONS | {
    "model",
    "schema",
    "schema_name",
    "resource_type",
    "description",
    "scim_relation",
    "extensions",
    "folded_keys",
}
MODEL_SERIALIZER_OPTIONS = frozenset({"fields", "exclude", "read_only_fields", "extra_kwargs", "depth"})

# RFC 8141: a namespace identifier of 2 to 32 letters, digits and hyphens, starting and ending with a letter or
# digit. The specific string is limited to the characters the filter and PATCH path grammar accepts in a URN
# (drf_scim.filters.grammar), so that every attribute of the schema can be named in a filter; it may not end
# with ":" (the separator before an attribute name) nor hold an empty segment.
SCHEMA_URN = re.compile(
    r"^urn:(?P<nid>[a-z0-9][a-z0-9-]{0,30}[a-z0-9]):(?P<nss>[a-z0-9._%+=~-]+(?::[a-z0-9._%+=~-]+)*)$", re.IGNORECASE
)
# RFC 7643 §10.2: schemas in the IETF's SCIM namespace are urn:ietf:params:scim:schemas:<name>:...
IETF_SCHEMA = re.compile(r"^params:scim:schemas:[^:]+:.+$", re.IGNORECASE)


@register(Tags.compatibility)
def check_serializers(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Meta options, schema URNs and sources of the serializers drf_scim serves."""
    errors: list[CheckMessage] = []
    checked_classes: set[type] = set()
    for serializer_class in served_serializers():
        errors.extend(serializer_errors(serializer_class, checked_classes))
    return errors


def served_serializers() -> list[type]:
    """``USER_SERIALIZER``, ``GROUP_SERIALIZER`` and the serializers of the resource viewsets in the URLconf."""
    found: list[type] = []
    for key in ("USER_SERIALIZER", "GROUP_SERIALIZER"):
        with contextlib.suppress(ImproperlyConfigured):  # drf_scim.E003 reports it
            found.append(getattr(scim_settings, key))
    for viewset in routed_viewsets():
        try:
            found.append(viewset.get_scim_serializer_class())
        except Exception:  # (a viewset that needs more than its class: not checked here)
            continue
    return list(dict.fromkeys(found))


def routed_viewsets() -> list[type]:
    """The SCIM resource viewsets the URLconf routes to (what SCIMRouters, included in it, registered).

    The URLconf rather than every router ever built: a router that no URL includes serves nothing.
    """
    from .generics import SCIMGenericViewSet

    try:
        patterns = list(get_resolver().url_patterns)
    except Exception:  # (Django's own URL checks report a URLconf that does not import)
        return []
    viewsets: list[type] = []
    while patterns:
        pattern = patterns.pop()
        if isinstance(pattern, URLResolver):
            patterns.extend(pattern.url_patterns)
            continue
        view = getattr(getattr(pattern, "callback", None), "cls", None)
        if isinstance(view, type) and issubclass(view, SCIMGenericViewSet):
            viewsets.append(view)
    return list(dict.fromkeys(viewsets))


@register(Tags.compatibility)
def check_fast_path(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """drf_scim.W001: a routed viewset whose override of a hook a plan caches turns the fast path off."""
    from . import plans

    warnings: list[CheckMessage] = []
    for viewset in routed_viewsets():
        if not viewset.fast_path:
            continue  # declared: it never takes the fast path
        overridden = plans.uncacheable_overrides(viewset, viewset.plan_hooks)
        if overridden:
            warnings.append(
                CheckWarning(
                    f"{class_label(viewset)} overrides {', '.join(overridden)}: drf_scim cannot tell whether what "
                    "it returns depends on more than the tenant and projection, so every request to it builds "
                    "its querysets, filter translator and SQL anew.",
                    hint="Mark each override @drf_scim.plans.cacheable if it depends on nothing else (or on what "
                    "an overridden get_plan_key() / get_fields_cache_key() adds to the key), or set "
                    "fast_path = False on the viewset to say it never should take the fast path.",
                    obj=class_label(viewset),
                    id="drf_scim.W001",
                )
            )
    return warnings


def serializer_errors(serializer_class: type, checked_classes: set[type] | None = None) -> list[CheckMessage]:
    """The system check messages for one resource serializer class and the attribute classes nested in it.

    ``checked_classes``: nested classes already checked (a complex attribute shared by two resources is
    reported once).
    """
    from .serializers.base import SCIMSerializer

    checked_classes = set() if checked_classes is None else checked_classes
    label = class_label(serializer_class)
    if not (isinstance(serializer_class, type) and issubclass(serializer_class, SCIMSerializer)):
        return [
            Error(
                f"{label} serves a SCIM resource type but is not a SCIMSerializer.",
                hint="Subclass drf_scim.serializers.SCIMSerializer (or UserSerializer, GroupSerializer).",
                obj=label,
                id="drf_scim.E008",
            )
        ]
    errors = resource_meta_errors(serializer_class)
    try:
        serializer = serializer_class(context={})
        fields = dict(serializer.fields)
    except Exception:  # (fields that need a request: only the declaration is checked)
        fields = {}
    for field in nested_fields(fields):
        kind = type(field)
        if kind not in checked_classes and hasattr(field, "get_document_path"):  # SCIMSerializerMixin
            checked_classes.add(kind)
            errors.extend(meta_option_errors(kind))
    if serializer_class not in checked_classes:
        checked_classes.add(serializer_class)
        errors.extend(meta_option_errors(serializer_class))
    if not any(error.id == "drf_scim.E008" for error in errors):  # else the sources follow from a wrong model
        errors.extend(source_errors(serializer_class, fields))
    return errors


def class_label(cls: Any) -> str:
    return f"{cls.__module__}.{cls.__qualname__}" if isinstance(cls, type) else repr(cls)


def meta_options(cls: type) -> list[str]:
    """The options ``cls.Meta`` declares, its bases' included (``class Meta(UserSerializer.Meta)``)."""
    meta = getattr(cls, "Meta", None)
    if not isinstance(meta, type):
        return []
    names = (name for klass in meta.__mro__ if klass is not object for name in vars(klass))
    return list(dict.fromkeys(name for name in names if not name.startswith("_")))


def meta_option_errors(cls: type) -> list[CheckMessage]:
    """drf_scim.E007: ``Meta`` options nothing reads."""
    from .serializers.base import SCIMExtension, SCIMSerializer

    if issubclass(cls, SCIMSerializer):
        known, kind = RESOURCE_OPTIONS, "SCIMSerializer"
    elif issubclass(cls, SCIMExtension):
        known, kind = EXTENSION_OPTIONS, "SCIMExtension"
    else:
        known, kind = ATTRIBUTE_OPTIONS, "ComplexAttribute"
    errors = []
    for name in meta_options(cls):
        if name in known:
            continue
        if name in MODEL_SERIALIZER_OPTIONS:
            hint = (
                f"A SCIM serializer is a DRF Serializer, not a ModelSerializer: Meta.{name} is not read. "
                "Declare each attribute as a field of the class, with source= naming its model field."
            )
        else:
            close = difflib.get_close_matches(name, sorted(known), n=1)
            hint = f"Did you mean Meta.{close[0]}? " if close else ""
            hint += f"The Meta options of a {kind} are: {', '.join(sorted(known))}."
        errors.append(
            Error(
                f"{cls.__qualname__}.Meta.{name} is not an option of a {kind}; nothing reads it.",
                hint=hint,
                obj=class_label(cls),
                id="drf_scim.E007",
            )
        )
    return errors


def resource_meta_errors(cls: type) -> list[CheckMessage]:
    """drf_scim.E008 (option values) and drf_scim.E009 (schema URNs) for a resource serializer's ``Meta``."""
    from .models import SCIMResource
    from .serializers.base import SCIMExtension

    meta, label, name = cls.Meta, class_label(cls), cls.__qualname__
    errors: list[CheckMessage] = []

    def invalid(message: str, hint: str) -> None:
        errors.append(Error(f"{name}.Meta.{message}", hint=hint, obj=label, id="drf_scim.E008"))

    model = getattr(meta, "model", None)
    if not (isinstance(model, type) and issubclass(model, models.Model)):
        invalid("model must be a Django model class.", "Set Meta.model to the model that holds the resources.")
        model = None
    if not isinstance(getattr(meta, "resource_type", None), str) or not meta.resource_type:
        invalid(
            "resource_type must name the resource type.",
            'Set Meta.resource_type to its name, as /ResourceTypes shows it, for example "Device".',
        )
    relation = getattr(meta, "scim_relation", None)
    if model is not None:
        companion = companion_model(model, relation) if relation else model
        if relation and companion is None:
            invalid(
                f"scim_relation {relation!r} is not a one-to-one relation from {model.__name__} to a SCIMResource.",
                "Name the related_name of the OneToOneField that links the SCIMResource subclass to the model.",
            )
        elif not relation and not issubclass(model, SCIMResource):
            invalid(
                f"scim_relation is not set and {model.__name__} is not a SCIMResource.",
                "Subclass drf_scim.models.SCIMResource in the model, or set Meta.scim_relation to the "
                "related_name of a one-to-one SCIMResource subclass that holds the SCIM bookkeeping.",
            )
    extensions = []
    for item in getattr(meta, "extensions", ()) or ():
        extension = item[0] if isinstance(item, tuple) and item else item
        if isinstance(extension, type) and issubclass(extension, SCIMExtension):
            extensions.append(extension)
        else:
            invalid(
                f"extensions holds {extension!r}, which is not a SCIMExtension.",
                "List SCIMExtension subclasses, or (extension, required) pairs.",
            )
    declared = set(cls._declared_fields) | {"id", "externalId", "meta"}
    for option in ("folded_keys", "render_empty"):
        for attribute in getattr(meta, option, ()) or ():
            if attribute not in declared:
                invalid(
                    f"{option} names {attribute!r}, which is not an attribute of {name}.",
                    f"Name declared attributes in Meta.{option}: {', '.join(sorted(declared))}.",
                )
    urns: dict[str, str] = {}
    for owner in (cls, *extensions):
        urn = getattr(owner.Meta, "schema", None)
        problem = urn_problem(urn)
        if problem is not None:
            errors.append(
                Error(
                    f"{owner.__qualname__}.Meta.schema {urn!r} {problem}",
                    hint=(
                        "Write a schema URN (RFC 7643 §3, §10): urn:ietf:params:scim:schemas:core:2.0:<Name> "
                        "for a schema of the RFC, or one in your own namespace, such as "
                        "urn:example:params:scim:schemas:extension:1.0:<Name>."
                    ),
                    obj=class_label(owner),
                    id="drf_scim.E009",
                )
            )
        elif urn.lower() in urns:
            errors.append(
                Error(
                    f"{owner.__qualname__}.Meta.schema {urn!r} is also the schema of {urns[urn.lower()]}.",
                    hint=f"Give each schema of {name} its own URN.",
                    obj=class_label(owner),
                    id="drf_scim.E009",
                )
            )
        else:
            urns[urn.lower()] = owner.__qualname__
    return errors


def companion_model(model: type[models.Model], relation: str) -> type[models.Model] | None:
    """The SCIMResource subclass reached from ``model`` by the one-to-one ``relation``, or None."""
    from .models import SCIMResource

    try:
        field = model._meta.get_field(relation)
    except FieldDoesNotExist:
        return None
    related = field.related_model if field.one_to_one else None
    return related if isinstance(related, type) and issubclass(related, SCIMResource) else None


def urn_problem(urn: Any) -> str | None:
    """What is wrong with ``urn`` as a schema URN, or None."""
    if not isinstance(urn, str) or not urn:
        return "is not set: every schema is named by a URN."
    match = SCHEMA_URN.match(urn)
    if match is None:
        return (
            "is not a URN a filter can name: urn:<namespace>:<name>, the namespace of 2 to 32 letters, digits "
            "and hyphens, the name of letters, digits and . _ % + = ~ - in segments separated by single colons."
        )
    if match["nid"].lower() == "ietf" and not IETF_SCHEMA.match(match["nss"]):
        return "is in the IETF's namespace but not a SCIM schema URN (urn:ietf:params:scim:schemas:...)."
    return None


def nested_fields(fields: dict[str, Any]) -> list[Any]:
    """``fields`` and every field nested in them (complex attributes, the child of a multi-valued one)."""
    from rest_framework import serializers

    found, stack = [], list(fields.values())
    while stack:
        field = stack.pop(0)
        if isinstance(field, serializers.ListSerializer):
            field = field.child
        found.append(field)
        if isinstance(field, serializers.Serializer):
            stack.extend(field.fields.values())
    return found


def resource_fields(fields: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """The fields that read and write the resource's model instance itself, with their attribute paths:
    ``fields`` and the sub-attributes of ``source="*"`` complex attributes (``name.givenName``)."""
    from rest_framework import serializers

    found = []
    for name, field in fields.items():
        path = f"{prefix}{name}"
        if field.source == "*":
            if isinstance(field, serializers.Serializer):
                found.extend(resource_fields(dict(field.fields), f"{path}."))
            continue
        found.append((path, field))
    return found


def source_errors(cls: type, fields: dict[str, Any]) -> list[CheckMessage]:
    """drf_scim.E010 (two writable attributes with one source) and drf_scim.E011 (a source the model lacks)."""
    model = getattr(cls.Meta, "model", None)
    name, label = cls.__qualname__, class_label(cls)
    errors: list[CheckMessage] = []
    writers: dict[tuple[str, ...], str] = {}
    for path, field in resource_fields(fields):
        attrs = tuple(field.source_attrs)
        if not field.read_only:
            if attrs in writers:
                errors.append(
                    Error(
                        f"{name}: the attributes {writers[attrs]!r} and {path!r} both write "
                        f"source {'.'.join(attrs)!r}; whichever is written last wins.",
                        hint="Give one of them another source=, or make it read_only=True.",
                        obj=label,
                        id="drf_scim.E010",
                    )
                )
            else:
                writers[attrs] = path
        missing = missing_source(model, attrs) if isinstance(model, type) and issubclass(model, models.Model) else None
        if missing is not None:
            owner, part = missing
            errors.append(
                Error(
                    f"{name}: the source {'.'.join(attrs)!r} of the attribute {path!r} names {part!r}: "
                    f"{owner.__name__} has no field or attribute of that name.",
                    hint=(
                        f"Name a field or property of {owner.__name__} in source=, or leave source= out to keep "
                        "the attribute in the resource's JSON document."
                    ),
                    obj=label,
                    id="drf_scim.E011",
                )
            )
    return errors


def missing_source(model: type[models.Model], attrs: tuple[str, ...]) -> tuple[type, str] | None:
    """The model and the part of the source path ``attrs`` it lacks, or None where all of it resolves.

    Relations are followed to their model; past a column (a JSON document) or a property, nothing is known.
    """
    current = model
    for part in attrs:
        try:
            field = current._meta.get_field(part)
        except FieldDoesNotExist:
            return None if hasattr(current, part) else (current, part)
        if not field.is_relation or field.related_model is None:
            return None
        current = field.related_model
    return None
