"""The message schemas of RFC 7644 (Error, PatchOp, SearchRequest, Bulk), the responses and parameters every
operation shares, and the resource schemas built from the attribute characteristics /Schemas serves."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import (
    OpenApiSerializerExtension,
)
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
)
from rest_framework import serializers

from ...constants import (
    BULK_REQUEST_SCHEMA,
    BULK_RESPONSE_SCHEMA,
    ERROR_SCHEMA,
    PATCH_OP_SCHEMA,
    SEARCH_REQUEST_SCHEMA,
)
from ...schema.attributes import (
    BINARY,
    BOOLEAN,
    COMPLEX,
    DATETIME,
    DECIMAL,
    INTEGER,
    READ_ONLY,
    WRITE_ONLY,
    Attribute,
    attribute_of,
)


class ErrorSerializer(serializers.Serializer):
    """A SCIM Error (RFC 7644 §3.12)."""

    schemas = serializers.ListField(child=serializers.CharField(), help_text=f"[{ERROR_SCHEMA!r}]")
    status = serializers.CharField(help_text="The HTTP status code, as a string.")
    scimType = serializers.CharField(required=False, help_text="The SCIM detail error keyword.")
    detail = serializers.CharField(help_text="A human-readable explanation.")


class PatchOperationSerializer(serializers.Serializer):
    op = serializers.ChoiceField(choices=["add", "remove", "replace"], help_text="Any case is accepted.")
    path = serializers.CharField(required=False, help_text='An attribute path, e.g. emails[type eq "work"].value.')
    value = serializers.JSONField(required=False)


class PatchOpSerializer(serializers.Serializer):
    """A PatchOp request (RFC 7644 §3.5.2)."""

    schemas = serializers.ListField(child=serializers.CharField(), required=False, help_text=f"[{PATCH_OP_SCHEMA!r}]")
    Operations = PatchOperationSerializer(many=True)


class SearchRequestSerializer(serializers.Serializer):
    """A SearchRequest (RFC 7644 §3.4.3)."""

    schemas = serializers.ListField(
        child=serializers.CharField(), required=False, help_text=f"[{SEARCH_REQUEST_SCHEMA!r}]"
    )
    attributes = serializers.ListField(child=serializers.CharField(), required=False)
    excludedAttributes = serializers.ListField(child=serializers.CharField(), required=False)
    filter = serializers.CharField(required=False)
    sortBy = serializers.CharField(required=False)
    sortOrder = serializers.ChoiceField(choices=["ascending", "descending"], required=False)
    startIndex = serializers.IntegerField(required=False, min_value=1)
    count = serializers.IntegerField(required=False, min_value=0)


ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid request (scimType says why)."),
    401: OpenApiResponse(ErrorSerializer, description="Missing, unknown or expired token."),
    403: OpenApiResponse(ErrorSerializer, description="The token lacks the scope."),
}
NOT_FOUND = {404: OpenApiResponse(ErrorSerializer, description="No such resource.")}
CONFLICT = {409: OpenApiResponse(ErrorSerializer, description="A unique attribute is already in use.")}
TOO_LARGE = {413: OpenApiResponse(ErrorSerializer, description="The body exceeds maxPayloadSize.")}
PRECONDITION = {412: OpenApiResponse(ErrorSerializer, description="If-Match names another version.")}
IF_MATCH = OpenApiParameter(
    "If-Match", str, location=OpenApiParameter.HEADER, description="Apply only to this version (meta.version)."
)
IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match", str, location=OpenApiParameter.HEADER, description="304 when the resource is at this version."
)
RESOURCE_ID = OpenApiParameter(
    "id", str, location=OpenApiParameter.PATH, description="The resource's id, as the service assigned it."
)
NOT_MODIFIED = {304: OpenApiResponse(description="Not modified since the version in If-None-Match.")}

PROJECTION = [
    OpenApiParameter("attributes", str, description="Comma-separated attributes to return (RFC 7644 §3.4.2.5)."),
    OpenApiParameter("excludedAttributes", str, description="Comma-separated attributes to leave out."),
]


# -- resource schemas from attribute characteristics ---------------------------

TYPE_SCHEMAS = {
    BOOLEAN: {"type": "boolean"},
    INTEGER: {"type": "integer"},
    DECIMAL: {"type": "number"},
    DATETIME: {"type": "string", "format": "date-time"},
    BINARY: {"type": "string", "format": "byte"},
}

META_SCHEMA = {
    "type": "object",
    "readOnly": True,
    "properties": {
        "resourceType": {"type": "string"},
        "created": {"type": "string", "format": "date-time"},
        "lastModified": {"type": "string", "format": "date-time"},
        "location": {"type": "string", "format": "uri"},
        "version": {"type": "string"},
    },
}


def attribute_schema(attribute: Attribute, direction: str) -> dict[str, Any] | None:
    """The JSON schema of one attribute for a request or a response (None: not part of it)."""
    if direction == "request" and attribute.mutability == READ_ONLY:
        return None
    if direction == "response" and attribute.mutability == WRITE_ONLY:
        return None
    if attribute.type == COMPLEX:
        properties = {}
        for sub in attribute.sub_attributes:
            sub_schema = attribute_schema(sub, direction)
            if sub_schema is not None:
                properties[sub.name] = sub_schema
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        required = [sub.name for sub in attribute.sub_attributes if sub.required and sub.name in properties]
        if required and direction == "request":
            schema["required"] = required
    else:
        schema = dict(TYPE_SCHEMAS.get(attribute.type, {"type": "string"}))
    if attribute.multi_valued:
        schema = {"type": "array", "items": schema}
    if attribute.description:
        schema["description"] = attribute.description
    if attribute.mutability == READ_ONLY:
        schema["readOnly"] = True
    if attribute.mutability == WRITE_ONLY:
        schema["writeOnly"] = True
    return schema


def resource_schema(serializer: Any, direction: str) -> dict[str, Any]:
    """The schema of a resource: schemas, id, externalId, core attributes, extensions, meta."""
    urns = {extension.get_schema_urn() for extension, _ in serializer.get_extensions()}
    properties: dict[str, Any] = {
        "schemas": {"type": "array", "items": {"type": "string"}, "description": "Schema URNs of the resource."}
    }
    required = []
    for name, field in serializer.fields.items():
        if name == "meta":
            if direction == "response":
                properties["meta"] = META_SCHEMA
            continue
        attribute = attribute_of(name, field)
        schema = attribute_schema(attribute, direction)
        if schema is None:
            continue
        if name in urns:
            schema["description"] = getattr(type(field).Meta, "description", "") or name
        properties[name] = schema
        if attribute.required and direction == "request":
            required.append(name)
    schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    if serializer.__doc__:
        schema["description"] = serializer.__doc__.strip().splitlines()[0]
    return schema


class SCIMSerializerExtension(OpenApiSerializerExtension):
    """Every SCIM resource serializer, described from its attribute characteristics."""

    target_class = "drf_scim.serializers.base.SCIMSerializer"
    match_subclasses = True

    def get_name(self, auto_schema: Any, direction: str) -> str:
        return self.target.Meta.resource_type

    def map_serializer(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        serializer = self.target if isinstance(self.target, serializers.BaseSerializer) else self.target_class()
        return resource_schema(serializer, direction)


# -- authentication and scopes ------------------------------------------------


class BulkOperationSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=["POST", "PUT", "PATCH", "DELETE"])
    path = serializers.CharField(help_text="e.g. /Users, /Groups/bulkId:qwerty")
    bulkId = serializers.CharField(required=False, help_text="Required for POST; referenced as bulkId:<bulkId>.")
    version = serializers.CharField(required=False, help_text="Sent as If-Match.")
    data = serializers.JSONField(required=False)


class BulkRequestSerializer(serializers.Serializer):
    """A BulkRequest (RFC 7644 §3.7)."""

    schemas = serializers.ListField(
        child=serializers.CharField(), required=False, help_text=f"[{BULK_REQUEST_SCHEMA!r}]"
    )
    failOnErrors = serializers.IntegerField(required=False, min_value=1)
    Operations = BulkOperationSerializer(many=True)


class BulkResultSerializer(serializers.Serializer):
    method = serializers.CharField()
    bulkId = serializers.CharField(required=False)
    version = serializers.CharField(required=False)
    location = serializers.CharField(required=False)
    status = serializers.CharField()
    response = serializers.JSONField(required=False)


class BulkResponseSerializer(serializers.Serializer):
    """A BulkResponse (RFC 7644 §3.7)."""

    schemas = serializers.ListField(child=serializers.CharField(), help_text=f"[{BULK_RESPONSE_SCHEMA!r}]")
    Operations = BulkResultSerializer(many=True)


class PollSETErrorSerializer(serializers.Serializer):
    err = serializers.CharField(help_text="An RFC 8935 error code, e.g. invalid_key.")
    description = serializers.CharField(required=False)


class PollRequestSerializer(serializers.Serializer):
    """RFC 8936 §2.2: every member optional."""

    maxEvents = serializers.IntegerField(
        required=False, min_value=0, help_text="At most this many SETs (0: acknowledge only)."
    )
    returnImmediately = serializers.BooleanField(required=False, help_text="Answer at once rather than wait.")
    ack = serializers.ListField(child=serializers.UUIDField(), required=False, help_text="The jti of SETs received.")
    setErrs = serializers.DictField(
        child=PollSETErrorSerializer(), required=False, help_text="jti -> the error of a SET refused."
    )


class PollResponseSerializer(serializers.Serializer):
    sets = serializers.DictField(child=serializers.CharField(), help_text="jti -> the SET, a signed JWT.")
    moreAvailable = serializers.BooleanField()
