"""drf-spectacular extensions: an OpenAPI 3 document that describes SCIM exactly.

Imported by ``DrfScimConfig.ready()`` when drf-spectacular is installed; the extensions
register themselves. Resource schemas come from the same attribute characteristics as
/Schemas (so a customer's extension or resource type appears with no extra code), and
every operation documents its SCIM Error responses, its query parameters and the scope it
needs. Add ``preprocess_scim_paths`` to ``SPECTACULAR_SETTINGS["PREPROCESSING_HOOKS"]`` for paths
without the trailing slash the router tolerates, and ``scim_operation_order`` as ``SORT_OPERATIONS``
for RFC 7644's order of endpoints.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from drf_spectacular.drainage import warn
from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerExtension,
    OpenApiViewExtension,
)
from drf_spectacular.plumbing import alpha_operation_sorter
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


def scope_alternatives(view: Any, request: Any) -> list[list[str]]:
    """The scope sets, any one of which lets ``request`` through ``view`` (empty: no scope check, or a
    permission that cannot tell without a real request, which is warned about)."""
    from ..permissions import SCIMScopePermission

    try:
        for permission in view.get_permissions():
            if isinstance(permission, SCIMScopePermission):
                return permission.get_scope_alternatives(request, view)
    except Exception as exc:  # a host's permission may need more than a method: document no scope
        warn(f"could not tell the scopes {type(view).__name__} needs for {request.method}: {exc!r}")
    return []


def scopes_sentence(view_class: type, method: str, action: str | None = None) -> str:
    """The end of an operation's description: the scope its token needs ("" when none is checked)."""
    view = view_class()
    view.action = action
    alternatives = scope_alternatives(view, SimpleNamespace(method=method))
    if not alternatives:
        return ""
    return " Needs a token with the scope " + " or ".join(" ".join(scopes) for scopes in alternatives) + "."


class SCIMOAuth2Scheme(OpenApiAuthenticationExtension):
    """Bearer tokens from ``scim_token``; with ``SPECTACULAR_SETTINGS["OAUTH2_TOKEN_URL"]`` also the OAuth2
    client credentials flow of that URL, with the scopes each operation needs."""

    target_class = "drf_scim.authentication.SCIMOAuth2Authentication"
    match_subclasses = True

    @staticmethod
    def token_url() -> str | None:
        from drf_spectacular.settings import spectacular_settings

        return spectacular_settings.OAUTH2_TOKEN_URL or None

    @property
    def name(self) -> list[str]:  # type: ignore[override]
        return ["bearerAuth", "oauth2"] if self.token_url() else ["bearerAuth"]

    def get_security_requirement(self, auto_schema: Any) -> list[dict[str, list[str]]]:
        requirements: list[dict[str, list[str]]] = [{"bearerAuth": []}]
        if self.token_url():
            view = auto_schema.view
            requirements += [{"oauth2": scopes} for scopes in scope_alternatives(view, view.request)]
        return requirements

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, Any]]:
        bearer = {
            "type": "http",
            "scheme": "bearer",
            "description": "An access token, as printed by scim_token; each operation names the scope it needs.",
        }
        token_url = self.token_url()
        if not token_url:
            return [bearer]
        scopes = {
            scim_settings.READ_SCOPE: "Read SCIM resources",
            scim_settings.WRITE_SCOPE: "Create, replace, patch and delete SCIM resources",
        }
        for name, kinds in (scim_settings.RESOURCE_TYPE_SCOPES or {}).items():
            for kind, scope in kinds.items():
                scopes[scope] = f"{kind.capitalize()} {name} resources"
        return [bearer, {"type": "oauth2", "flows": {"clientCredentials": {"tokenUrl": token_url, "scopes": scopes}}}]


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
        describe = self.describe
        return extend_schema_view(
            list=extend_schema(
                tags=tag,
                description=describe("list"),
                parameters=PROJECTION,
                responses={200: resource(many=True), **ERRORS},
            ),
            retrieve=extend_schema(
                tags=tag,
                description=describe("retrieve"),
                parameters=[RESOURCE_ID, *PROJECTION, IF_NONE_MATCH],
                responses={200: resource, **NOT_MODIFIED, **ERRORS, **NOT_FOUND},
            ),
            create=extend_schema(
                tags=tag,
                description=describe("create"),
                parameters=PROJECTION,
                responses={201: resource, **ERRORS, **CONFLICT, **TOO_LARGE},
            ),
            update=extend_schema(
                tags=tag,
                description=describe("update"),
                parameters=[RESOURCE_ID, *PROJECTION, IF_MATCH],
                responses={200: resource, **ERRORS, **NOT_FOUND, **CONFLICT, **PRECONDITION, **TOO_LARGE},
            ),
            partial_update=extend_schema(
                tags=tag,
                description=describe("partial_update"),
                parameters=[RESOURCE_ID, *PROJECTION, IF_MATCH],
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
                tags=tag,
                description=describe("destroy"),
                parameters=[RESOURCE_ID, IF_MATCH],
                responses={204: None, **ERRORS, **NOT_FOUND, **PRECONDITION},
            ),
            search=extend_schema(
                tags=tag,
                operation_id=f"{tag[0]}_search",
                description=describe("search"),
                request=SearchRequestSerializer,
                responses={200: list_response, **ERRORS},
            ),
        )(view)

    descriptions = {
        "list": (
            "GET",
            "List {plural} as a ListResponse: filter narrows them, sortBy and sortOrder order them, startIndex "
            "and count (or cursor) page them (RFC 7644 §3.4.2).",
        ),
        "retrieve": ("GET", "Get one {name} by its id; 304 when If-None-Match names its current version."),
        "create": ("POST", "Create a {name} (RFC 7644 §3.3); 409 when a unique attribute is taken."),
        "update": ("PUT", "Replace a {name} with the one in the body (RFC 7644 §3.5.1)."),
        "partial_update": (
            "PATCH",
            "Change a {name} with a PatchOp: add, remove and replace operations, applied all or none "
            "(RFC 7644 §3.5.2).",
        ),
        "destroy": ("DELETE", "Delete a {name}; its id answers 404 from then on (RFC 7644 §3.6)."),
        "search": (
            "POST",
            "List {plural} with the query in a SearchRequest body rather than the URL (RFC 7644 §3.4.3).",
        ),
    }

    def describe(self, action: str) -> str:
        """The description of one operation, with the scope it needs."""
        from ..viewsets import UserViewSet

        method, text = self.descriptions[action]
        if action == "destroy" and issubclass(self.target, UserViewSet) and scim_settings.SOFT_DELETE_USERS:
            text = (
                "Deactivate a {name} and keep it for audit (SOFT_DELETE_USERS): its userName is freed and its "
                "id answers 404 from then on (RFC 7644 §3.6)."
            )
        name = self.target.get_resource_type_name()
        text = text.format(name=name, plural=name + "s")
        return text + scopes_sentence(self.target, method, action)


class DiscoveryExtension(OpenApiViewExtension):
    """/ServiceProviderConfig, /ResourceTypes and /Schemas (RFC 7644 §4)."""

    target_class = "drf_scim.discovery.DiscoveryViewSet"
    match_subclasses = True
    descriptions = {
        "ServiceProviderConfig": {
            "list": "What this service supports: PATCH, Bulk, filter, sort, ETags, its limits and its "
            "authentication schemes.",
        },
        "ResourceType": {
            "list": "The resource types this service serves, each with its endpoint and schemas.",
            "retrieve": "One resource type, by its name (User, Group...).",
        },
        "Schema": {
            "list": "The schemas of the resources, with every attribute and its characteristics.",
            "retrieve": "One schema, by its URN.",
        },
    }

    def view_replacement(self) -> type:
        endpoint = self.target.__name__.removesuffix("ViewSet")
        texts = self.descriptions.get(endpoint, {})
        scopes = scopes_sentence(self.target, "GET", "list")
        kwargs = {
            "list": extend_schema(
                tags=["Discovery"],
                operation_id=f"{endpoint}_list",
                description=texts.get("list", "The discovery documents.") + scopes,
                responses={200: OpenApiTypes.OBJECT, **ERRORS},
            )
        }
        if hasattr(self.target, "retrieve"):
            kwargs["retrieve"] = extend_schema(
                tags=["Discovery"],
                operation_id=f"{endpoint}_retrieve",
                description=texts.get("retrieve", "One discovery document, by its id.") + scopes,
                parameters=[OpenApiParameter("id", str, OpenApiParameter.PATH, description="Its id (any case).")],
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
                description="Run many operations over any resource type, in order, bulkId references resolved "
                "(RFC 7644 §3.7)." + scopes_sentence(self.target, "POST"),
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
                description="Search every resource type at once, with the query in a SearchRequest body "
                "(RFC 7644 §3.4.3)." + scopes_sentence(self.target, "POST"),
            )
        )(self.target)


class MeExtension(OpenApiViewExtension):
    target_class = "drf_scim.me.MeView"

    def view_replacement(self) -> type:
        user = scim_settings.USER_SERIALIZER
        not_implemented = {501: OpenApiResponse(ErrorSerializer, description="The token was issued to a client.")}
        common = {**ERRORS, **NOT_FOUND, **not_implemented}
        texts = {
            "get": "Get the User of the token's user",
            "put": "Replace the User of the token's user",
            "patch": "Change the User of the token's user with a PatchOp",
            "delete": "Delete the User of the token's user",
        }
        kwargs = {
            method: extend_schema(
                tags=["Me"],
                description=texts[method] + ", as on /Users/{id} (RFC 7644 §3.11); 501 for a token issued to a "
                "client." + scopes_sentence(self.target, method.upper()),
                request=request,
                responses={204 if method == "delete" else 200: None if method == "delete" else user, **common},
            )
            for method, request in (("get", None), ("put", user), ("patch", PatchOpSerializer), ("delete", None))
        }
        return extend_schema_view(**kwargs)(self.target)


class NotFoundExtension(OpenApiViewExtension):
    target_class = "drf_scim.views.NotFoundView"

    def view_replacement(self) -> type:
        return extend_schema(exclude=True)(self.target)


class DocumentationExtension(OpenApiViewExtension):
    """The document, Swagger UI and Redoc are no SCIM operations: left out of the document (their session
    authentication would otherwise add a cookie scheme to Swagger UI's Authorize dialog)."""

    target_class = "drf_scim.contrib.drf_spectacular.DocumentationViewMixin"
    match_subclasses = True

    def view_replacement(self) -> type:
        return extend_schema(exclude=True)(self.target)


def scim_operation_order(endpoint: tuple) -> tuple:
    """``SPECTACULAR_SETTINGS["SORT_OPERATIONS"]``: SCIM endpoints in RFC 7644 §3.2's order (Users, Groups,
    other resource types, Me, discovery, Bulk, .search), then every other endpoint; within each,
    drf-spectacular's order (path, then method)."""
    from ..bulk import BulkView
    from ..discovery import ResourceTypeViewSet, SchemaViewSet, ServiceProviderConfigViewSet
    from ..me import MeView
    from ..search import RootSearchView
    from ..viewsets import GroupViewSet, SCIMModelViewSet, UserViewSet

    order = [
        UserViewSet,
        GroupViewSet,
        SCIMModelViewSet,
        MeView,
        ServiceProviderConfigViewSet,
        ResourceTypeViewSet,
        SchemaViewSet,
        BulkView,
        RootSearchView,
    ]
    view = getattr(endpoint[3], "cls", None)
    rank = next((i for i, kind in enumerate(order) if isinstance(view, type) and issubclass(view, kind)), len(order))
    return (rank, *alpha_operation_sorter(endpoint))


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


__all__ = ["preprocess_scim_paths", "scim_operation_order"]


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
