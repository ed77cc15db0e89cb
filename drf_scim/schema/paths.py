"""Attribute paths resolved against the schemas of one resource type (RFC 7643 §2.1, RFC 7644 §3.10).

Filters, ``sortBy``, PATCH paths and ``attributes``/``excludedAttributes`` name attributes the same way:
``[schema ":"] attribute ["." subAttribute]``, names and URNs matched ignoring case, the core schema's URN
optional, an extension's attributes behind its URN. A :class:`PathResolver` answers which declared
attribute (a serializer field) such a path names, or raises :class:`UnknownSchema`,
:class:`UnknownAttribute` or :class:`UnknownSubAttribute`; each caller turns those into its own SCIM error
(invalidFilter, invalidPath, or nothing at all for a projection). Resolving names involves no database:
what an attribute becomes in a query is :mod:`drf_scim.filters`' business.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rest_framework import serializers

from .attributes import Attribute, attribute_of

if TYPE_CHECKING:
    from ..filters.nodes import AttributePath

__all__ = [
    "PathResolver",
    "ResolvedPath",
    "UnknownAttribute",
    "UnknownSchema",
    "UnknownSubAttribute",
    "UnresolvedPath",
    "find_attribute",
    "sub_fields",
]

Fields = Mapping[str, serializers.Field]


class UnresolvedPath(LookupError):
    """A path that names nothing in the resource type's schemas."""


class UnknownSchema(UnresolvedPath):
    """The path's URN is neither the core schema nor one of the resource type's extensions."""

    def __init__(self, schema: str) -> None:
        super().__init__(schema)
        self.schema = schema


class UnknownAttribute(UnresolvedPath):
    """The schema has no attribute of that name."""

    def __init__(self, schema: str, name: str) -> None:
        super().__init__(schema, name)
        self.schema = schema
        self.name = name


class UnknownSubAttribute(UnresolvedPath):
    """The attribute (``attribute``, as declared) has no sub-attribute of that name."""

    def __init__(self, attribute: str, name: str) -> None:
        super().__init__(attribute, name)
        self.attribute = attribute
        self.name = name


def find_attribute(fields: Fields, name: str, *, readable_only: bool = False) -> tuple[str, serializers.Field] | None:
    """The declared name and field of the attribute ``name`` among ``fields``, ignoring case (RFC 7643 §2.1).

    ``readable_only`` leaves writeOnly attributes out (a filter or a sort cannot read them).
    """
    lowered = name.lower()
    for key, field in fields.items():
        if key.lower() == lowered and not (readable_only and field.write_only):
            return key, field
    return None


def sub_fields(field: serializers.Field) -> Fields:
    """The sub-attributes of a complex attribute (of each value, for a multi-valued one); empty otherwise."""
    inner = field.child if isinstance(field, serializers.ListSerializer) else field
    return inner.fields if isinstance(inner, serializers.Serializer) else {}


@dataclass(frozen=True)
class ResolvedPath:
    """The attribute a path names: its schema's URN, its declared name and field, and the sub-attribute's."""

    schema: str
    attribute: str
    field: serializers.Field
    extension: bool = False
    sub_attribute: str | None = None
    sub_field: serializers.Field | None = None

    @property
    def definition(self) -> Attribute:
        """The characteristics of the attribute (RFC 7643 §2.2), as /Schemas shows them."""
        return attribute_of(self.attribute, self.field)

    @property
    def sub_definition(self) -> Attribute | None:
        """The characteristics of the sub-attribute, when the path names one."""
        if self.sub_attribute is None or self.sub_field is None:
            return None
        return attribute_of(self.sub_attribute, self.sub_field, self.definition.mutability)


class PathResolver:
    """Resolves attribute paths against a core schema and its extensions.

    ``fields(urn)`` gives the attributes of the schema ``urn`` (called with the core URN, or an
    extension's, as declared); the core schema's exclude the extensions, which a resource serializer
    declares as fields named by their URN. With ``unqualified_extensions``, an attribute the core schema
    lacks is also looked for, without a URN, in the extensions (Entra ID's PATCH sends ``manager``).
    """

    def __init__(
        self,
        core_schema: str,
        extensions: Iterable[str] = (),
        fields: Callable[[str], Fields] | None = None,
        *,
        readable_only: bool = False,
        unqualified_extensions: bool = False,
        bind: Callable[[str, str], serializers.Field] | None = None,
    ) -> None:
        self.core_schema = core_schema
        self.extensions = {urn.lower(): urn for urn in extensions if urn.lower() != core_schema.lower()}
        self.fields = fields
        self.bind = bind  # the field to use of the one ``fields`` declares (schema URN, name); None: as found
        self.readable_only = readable_only
        self.unqualified_extensions = unqualified_extensions
        # Longest first, so that a URN that extends another is matched whole.
        self._prefixes = sorted([core_schema, *self.extensions.values()], key=len, reverse=True)

    @classmethod
    def for_serializer(cls, serializer: serializers.Serializer, **options: Any) -> PathResolver:
        """The resolver of a resource serializer (``SCIMSerializer``): names are looked up among the fields
        as declared, and only the core attribute a path names is bound (``bound_field``), not all of them."""
        urns = serializer.get_schema_urns()

        def fields(urn: str) -> Fields:
            if urn == urns[0]:
                return serializer.field_declarations()
            return serializer.bound_field(urn).fields

        def bind(urn: str, name: str) -> serializers.Field:
            return serializer.bound_field(name) if urn == urns[0] else serializer.bound_field(urn).fields[name]

        return cls(urns[0], urns[1:], fields, bind=bind, **options)

    # -- schemas -------------------------------------------------------------

    def schema(self, name: str | None) -> str:
        """The URN, as declared, of the schema ``name`` names (None: the core schema); else UnknownSchema."""
        if name is None or name.lower() == self.core_schema.lower():
            return self.core_schema
        urn = self.extensions.get(name.lower())
        if urn is None:
            raise UnknownSchema(name)
        return urn

    def extension(self, text: str) -> str | None:
        """The URN, as declared, of the extension ``text`` names whole (``urn:...:enterprise:2.0:User``)."""
        return self.extensions.get(text.lower())

    def names(self, text: str) -> list[str]:
        """``text`` as lower-cased names, without parsing it as a filter path: ``[urn, attribute, ...]`` for an
        extension's attribute (``[urn]`` for the extension whole), ``[attribute, sub, ...]`` for the core
        schema's, with or without its URN. A URN that names no schema is kept as a name (it matches nothing).
        """
        lowered = text.lower()
        for schema in self._prefixes:
            urn = schema.lower()
            if lowered == urn:
                return [urn]
            if lowered.startswith(urn + ":"):
                rest = lowered[len(urn) + 1 :].split(".")
                return rest if schema == self.core_schema else [urn, *rest]
        return lowered.split(".")

    # -- attributes ----------------------------------------------------------

    def attributes(self, urn: str) -> Fields:
        """The attributes of the schema ``urn`` (as declared): the core schema's leave the extensions out."""
        if self.fields is None:
            return {}
        fields = self.fields(urn)
        if urn != self.core_schema:
            return fields
        return {name: field for name, field in fields.items() if name.lower() not in self.extensions}

    def attribute(self, schema: str | None, name: str) -> ResolvedPath:
        """The attribute ``name`` of the schema ``schema`` names (None: the core schema).

        Raises UnknownSchema or UnknownAttribute.
        """
        urn = self.schema(schema)
        found = find_attribute(self.attributes(urn), name, readable_only=self.readable_only)
        if found is None and schema is None and self.unqualified_extensions:
            for extension in self.extensions.values():
                found = find_attribute(self.attributes(extension), name, readable_only=self.readable_only)
                if found is not None:
                    urn = extension
                    break
        if found is None:
            raise UnknownAttribute(urn, name)
        declared, field = found
        if self.bind is not None:
            field = self.bind(urn, declared)
        return ResolvedPath(urn, declared, field, extension=urn != self.core_schema)

    def sub_attribute(self, resolved: ResolvedPath, name: str) -> ResolvedPath:
        """``resolved`` narrowed to its sub-attribute ``name``; else UnknownSubAttribute."""
        found = find_attribute(sub_fields(resolved.field), name, readable_only=self.readable_only)
        if found is None:
            raise UnknownSubAttribute(resolved.attribute, name)
        return ResolvedPath(resolved.schema, resolved.attribute, resolved.field, resolved.extension, found[0], found[1])

    def resolve(self, path: AttributePath) -> ResolvedPath:
        """The attribute, and sub-attribute, ``path`` names.

        Raises UnknownSchema, UnknownAttribute or UnknownSubAttribute.
        """
        resolved = self.attribute(path.schema, path.attribute)
        return self.sub_attribute(resolved, path.sub_attribute) if path.sub_attribute else resolved
