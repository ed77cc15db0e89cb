"""Attribute characteristics (RFC 7643 §2.2 and §7), read off serializer fields.

Every SCIM attribute is a DRF field. Its characteristics are inferred from the
field (``read_only`` -> readOnly, ``write_only`` -> writeOnly and returned never,
``required``, ``choices`` -> canonicalValues, nested serializer -> complex with
subAttributes, ``many=True`` -> multiValued) and can be set explicitly with the
keyword arguments of :mod:`drf_scim.fields` (``mutability="immutable"``,
``case_exact=True``, ``uniqueness="server"``...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rest_framework import serializers

STRING = "string"
BOOLEAN = "boolean"
DECIMAL = "decimal"
INTEGER = "integer"
DATETIME = "dateTime"
BINARY = "binary"
REFERENCE = "reference"
COMPLEX = "complex"

READ_ONLY = "readOnly"
READ_WRITE = "readWrite"
IMMUTABLE = "immutable"
WRITE_ONLY = "writeOnly"

ALWAYS = "always"
NEVER = "never"
DEFAULT = "default"
REQUEST = "request"

# Keyword arguments that drf_scim's fields accept on top of DRF's.
SCIM_OPTIONS = (
    "scim_type",
    "multi_valued",
    "mutability",
    "returned",
    "uniqueness",
    "case_exact",
    "canonical_values",
    "reference_types",
    "description",
)

# DRF field class -> SCIM type; the first class in a field's MRO found here wins.
FIELD_TYPES: dict[type, str] = {
    serializers.BooleanField: BOOLEAN,
    serializers.IntegerField: INTEGER,
    serializers.FloatField: DECIMAL,
    serializers.DecimalField: DECIMAL,
    serializers.DateTimeField: DATETIME,
    serializers.URLField: REFERENCE,
    serializers.BaseSerializer: COMPLEX,
    serializers.DictField: COMPLEX,
    serializers.JSONField: COMPLEX,
    serializers.Field: STRING,
}


@dataclass(frozen=True)
class Attribute:
    """The characteristics of one SCIM attribute."""

    name: str
    type: str = STRING
    multi_valued: bool = False
    required: bool = False
    mutability: str = READ_WRITE
    returned: str = DEFAULT
    uniqueness: str = "none"
    case_exact: bool = False
    canonical_values: tuple[str, ...] = ()
    reference_types: tuple[str, ...] = ()
    description: str = ""
    sub_attributes: tuple[Attribute, ...] = field(default=())

    def sub_attribute(self, name: str) -> Attribute | None:
        """The sub-attribute called ``name``, ignoring case (RFC 7643 §2.1)."""
        lowered = name.lower()
        return next((sub for sub in self.sub_attributes if sub.name.lower() == lowered), None)

    def to_representation(self) -> dict[str, Any]:
        """The attribute as it appears in a /Schemas document (RFC 7643 §7)."""
        data: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "multiValued": self.multi_valued,
            "description": self.description,
            "required": self.required,
        }
        if self.type in (STRING, REFERENCE, BINARY):
            data["caseExact"] = self.case_exact
        if self.canonical_values:
            data["canonicalValues"] = list(self.canonical_values)
        if self.reference_types:
            data["referenceTypes"] = list(self.reference_types)
        data["mutability"] = self.mutability
        data["returned"] = self.returned
        data["uniqueness"] = self.uniqueness
        if self.sub_attributes:
            data["subAttributes"] = [sub.to_representation() for sub in self.sub_attributes]
        return data


def scim_options(field: serializers.Field) -> dict[str, Any]:
    """The explicit SCIM options of a field (of its child, for ``many=True``)."""
    options = dict(getattr(getattr(field, "child", None), "scim_options", {}) or {})
    options.update(getattr(field, "scim_options", {}) or {})
    return options


def mutability_of(field: serializers.Field) -> str:
    """The mutability of the attribute a field declares (explicit, else from read_only/write_only)."""
    explicit = scim_options(field).get("mutability")
    if explicit:
        return explicit
    if field.read_only:
        return READ_ONLY
    return WRITE_ONLY if field.write_only else READ_WRITE


def returned_of(field: serializers.Field) -> str:
    """When the attribute a field declares is returned (explicit, else never for writeOnly).

    Asked for every field of every response: the answer is kept on the field (and on the copies of
    a cached field, see ``SCIMSerializerMixin.fields``).
    """
    returned = field.__dict__.get("_scim_returned")
    if returned is None:
        explicit = scim_options(field).get("returned")
        returned = explicit or (NEVER if mutability_of(field) == WRITE_ONLY else DEFAULT)
        field.__dict__["_scim_returned"] = returned
    return returned


def infer_type(field: serializers.Field) -> str:
    for klass in type(field).__mro__:
        if klass in FIELD_TYPES:
            return FIELD_TYPES[klass]
    return STRING


def attribute_of(name: str, field: serializers.Field, parent_mutability: str | None = None) -> Attribute:
    """Build the characteristics of the attribute that ``field`` declares.

    Sub-attributes of a readOnly attribute are readOnly too.
    """
    options = scim_options(field)
    multi_valued = options.get("multi_valued", isinstance(field, (serializers.ListSerializer, serializers.ListField)))
    inner = getattr(field, "child", field) if multi_valued else field

    mutability = READ_ONLY if parent_mutability == READ_ONLY else mutability_of(field)

    canonical = options.get("canonical_values")
    if canonical is None and isinstance(inner, serializers.ChoiceField):
        canonical = [str(choice) for choice in inner.choices]

    sub_attributes: tuple[Attribute, ...] = ()
    if isinstance(inner, serializers.Serializer):
        sub_attributes = tuple(attribute_of(sub_name, sub, mutability) for sub_name, sub in inner.fields.items())

    return Attribute(
        name=name,
        type=options.get("scim_type") or infer_type(inner),
        multi_valued=bool(multi_valued),
        required=bool(field.required),
        mutability=mutability,
        returned=returned_of(field),
        uniqueness=options.get("uniqueness", "none"),
        case_exact=bool(options.get("case_exact", False)),
        canonical_values=tuple(canonical or ()),
        reference_types=tuple(options.get("reference_types") or ()),
        description=str(options.get("description") or field.help_text or ""),
        sub_attributes=sub_attributes,
    )
