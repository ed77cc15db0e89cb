"""drf-spectacular extensions: an OpenAPI 3 document that describes SCIM exactly.

Imported by ``DrfScimConfig.ready()`` when drf-spectacular is installed; the extensions
register themselves. Resource schemas come from the same attribute characteristics as
/Schemas (so a customer's extension or resource type appears with no extra code), and
every operation documents its SCIM Error responses, its query parameters and the OAuth2
scopes it needs. Add ``preprocess_scim_paths`` to ``SPECTACULAR_SETTINGS["PREPROCESSING_HOOKS"]``
for paths without the trailing slash the router tolerates.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerExtension,
    OpenApiViewExtension,
)
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication

from ..constants import (
    BULK_REQUEST_SCHEMA,
    BULK_RESPONSE_SCHEMA,
    ERROR_SCHEMA,
    LIST_RESPONSE_SCHEMA,
    PATCH_OP_SCHEMA,
    SEARCH_REQUEST_SCHEMA,
)
from ..schema.attributes import (
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
from ..settings import scim_settings

# -- message schemas (RFC 7644 §3) -------------------------------------------


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


class SCIMOAuth2Scheme(OpenApiAuthenticationExtension):
    """OAuth2 bearer tokens (client credentials) with the scope each operation needs."""

    target_class = "drf_scim.authentication.SCIMOAuth2Authentication"
    match_subclasses = True
    # OAuth2 documents the scopes; "bearerAuth" lets Swagger UI take a token printed by scim_token.
    name = ["oauth2", "bearerAuth"]

    def get_security_requirement(self, auto_schema: Any) -> list[dict[str, list[str]]]:
        from ..permissions import SCIMScopePermission

        view = auto_schema.view
        scopes: list[str] = []
        for permission in view.get_permissions():
            if isinstance(permission, SCIMScopePermission):
                scopes = permission.get_scopes(view.request, view)
                break
        return [{"oauth2": scopes}, {"bearerAuth": []}]

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, Any]]:
        from drf_spectacular.settings import spectacular_settings

        scopes = {
            scim_settings.READ_SCOPE: "Read SCIM resources",
            scim_settings.WRITE_SCOPE: "Create, replace, patch and delete SCIM resources",
        }
        for name, kinds in (scim_settings.RESOURCE_TYPE_SCOPES or {}).items():
            for kind, scope in kinds.items():
                scopes[scope] = f"{kind.capitalize()} {name} resources"
        token_url = spectacular_settings.OAUTH2_TOKEN_URL or "/o/token/"
        return [
            {"type": "oauth2", "flows": {"clientCredentials": {"tokenUrl": token_url, "scopes": scopes}}},
            {"type": "http", "scheme": "bearer", "description": "An access token, as printed by scim_token."},
        ]


# -- views ----------------------------------------------------------------------


class SCIMViewSetExtension(OpenApiViewExtension):
    """Resource endpoints: bodies, SCIM Errors, projection parameters, PatchOp and .search."""

    target_class = "drf_scim.viewsets.SCIMModelViewSet"
    match_subclasses = True

    def view_replacement(self) -> type:
        view = self.target
        resource = view.get_scim_serializer_class()
        name = resource.Meta.resource_type
        list_response = inline_serializer(
            name=f"{name}ListResponse",
            fields={
                "schemas": serializers.ListField(
                    child=serializers.CharField(), help_text=f"[{LIST_RESPONSE_SCHEMA!r}]"
                ),
                "totalResults": serializers.IntegerField(min_value=0),
                "itemsPerPage": serializers.IntegerField(min_value=0),
                "startIndex": serializers.IntegerField(min_value=1),
                "Resources": resource(many=True),
            },
        )
        tag = [view.get_resource_type_name() + "s"]
        return extend_schema_view(
            list=extend_schema(tags=tag, parameters=PROJECTION, responses={200: resource(many=True), **ERRORS}),
            retrieve=extend_schema(
                tags=tag,
                parameters=[*PROJECTION, IF_NONE_MATCH],
                responses={200: resource, **NOT_MODIFIED, **ERRORS, **NOT_FOUND},
            ),
            create=extend_schema(
                tags=tag, parameters=PROJECTION, responses={201: resource, **ERRORS, **CONFLICT, **TOO_LARGE}
            ),
            update=extend_schema(
                tags=tag,
                parameters=[*PROJECTION, IF_MATCH],
                responses={200: resource, **ERRORS, **NOT_FOUND, **CONFLICT, **PRECONDITION, **TOO_LARGE},
            ),
            partial_update=extend_schema(
                tags=tag,
                parameters=[*PROJECTION, IF_MATCH],
                request=PatchOpSerializer,
                responses={
                    200: resource,
                    204: OpenApiResponse(description="Applied (groups, unless attributes are asked for)."),
                    **ERRORS,
                    **NOT_FOUND,
                    **CONFLICT,
                    **PRECONDITION,
                    **TOO_LARGE,
                },
            ),
            destroy=extend_schema(
                tags=tag, parameters=[IF_MATCH], responses={204: None, **ERRORS, **NOT_FOUND, **PRECONDITION}
            ),
            search=extend_schema(
                tags=tag,
                operation_id=f"{tag[0]}_search",
                request=SearchRequestSerializer,
                responses={200: list_response, **ERRORS},
            ),
        )(view)


class DiscoveryExtension(OpenApiViewExtension):
    target_class = "drf_scim.discovery.DiscoveryViewSet"
    match_subclasses = True

    def view_replacement(self) -> type:
        endpoint = self.target.__name__.removesuffix("ViewSet")
        kwargs = {
            "list": extend_schema(
                tags=["Discovery"], operation_id=f"{endpoint}_list", responses={200: OpenApiTypes.OBJECT, **ERRORS}
            )
        }
        if hasattr(self.target, "retrieve"):
            kwargs["retrieve"] = extend_schema(
                tags=["Discovery"],
                operation_id=f"{endpoint}_retrieve",
                responses={200: OpenApiTypes.OBJECT, **ERRORS, **NOT_FOUND},
            )
        return extend_schema_view(**kwargs)(self.target)


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


class BulkExtension(OpenApiViewExtension):
    target_class = "drf_scim.bulk.BulkView"

    def view_replacement(self) -> type:
        return extend_schema_view(
            post=extend_schema(
                tags=["Bulk"],
                operation_id="bulk",
                request=BulkRequestSerializer,
                responses={200: BulkResponseSerializer, **ERRORS, **TOO_LARGE},
                description="Run many operations over any resource type (RFC 7644 §3.7).",
            )
        )(self.target)


class RootSearchExtension(OpenApiViewExtension):
    target_class = "drf_scim.search.RootSearchView"

    def view_replacement(self) -> type:
        return extend_schema_view(
            post=extend_schema(
                tags=["Search"],
                operation_id="search",
                request=SearchRequestSerializer,
                responses={200: OpenApiTypes.OBJECT, **ERRORS},
                description="Search every resource type at once (RFC 7644 §3.4.3).",
            )
        )(self.target)


class MeExtension(OpenApiViewExtension):
    target_class = "drf_scim.me.MeView"

    def view_replacement(self) -> type:
        user = scim_settings.USER_SERIALIZER
        not_implemented = {501: OpenApiResponse(ErrorSerializer, description="The token was issued to a client.")}
        common = {**ERRORS, **NOT_FOUND, **not_implemented}
        return extend_schema_view(
            get=extend_schema(tags=["Me"], request=None, responses={200: user, **common}),
            put=extend_schema(tags=["Me"], request=user, responses={200: user, **common}),
            patch=extend_schema(tags=["Me"], request=PatchOpSerializer, responses={200: user, **common}),
            delete=extend_schema(tags=["Me"], request=None, responses={204: None, **common}),
        )(self.target)


class NotFoundExtension(OpenApiViewExtension):
    target_class = "drf_scim.views.NotFoundView"

    def view_replacement(self) -> type:
        return extend_schema(exclude=True)(self.target)


def preprocess_scim_paths(endpoints: list[tuple], **kwargs: Any) -> list[tuple]:
    """drf-spectacular preprocessing hook: SCIM paths without the trailing slash the router tolerates."""
    result = []
    for path, path_regex, method, callback in endpoints:
        if getattr(callback, "cls", None) is not None and path.endswith("/") and path.count("/") > 1:
            scim_view = any(base.__module__.startswith("drf_scim.") for base in getattr(callback.cls, "__mro__", ()))
            if scim_view:
                path = path.rstrip("/")
        result.append((path, path_regex, method, callback))
    return result


__all__ = ["preprocess_scim_paths"]


class DocumentationViewMixin:
    """drf-spectacular's views behind ``OPENAPI_REQUIRES_AUTHENTICATION``: SCIM's own authentication (a bearer
    token) or a staff session, checked by ``DocumentationPermission``."""

    @property
    def authentication_classes(self) -> list:
        from ..settings import scim_settings

        if not scim_settings.OPENAPI_REQUIRES_AUTHENTICATION:
            return []
        return [*scim_settings.AUTHENTICATION_CLASSES, SessionAuthentication]

    @property
    def permission_classes(self) -> list:
        from ..permissions import DocumentationPermission

        return [DocumentationPermission]


class SchemaView(DocumentationViewMixin, SpectacularAPIView):
    """The OpenAPI document (``SpectacularAPIView``), behind ``OPENAPI_REQUIRES_AUTHENTICATION``."""


class SwaggerView(DocumentationViewMixin, SpectacularSwaggerView):
    """Swagger UI (``SpectacularSwaggerView``), behind ``OPENAPI_REQUIRES_AUTHENTICATION``."""


class RedocView(DocumentationViewMixin, SpectacularRedocView):
    """Redoc (``SpectacularRedocView``), behind ``OPENAPI_REQUIRES_AUTHENTICATION``."""
