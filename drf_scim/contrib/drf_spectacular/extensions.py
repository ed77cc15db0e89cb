"""The view extensions: what each SCIM endpoint answers, its parameters, its errors and its scopes."""

from __future__ import annotations

from drf_spectacular.extensions import (
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
from rest_framework import serializers

from ...constants import (
    LIST_RESPONSE_SCHEMA,
)
from ...settings import scim_settings
from .components import (
    CONFLICT,
    ERRORS,
    IF_MATCH,
    IF_NONE_MATCH,
    NOT_FOUND,
    NOT_MODIFIED,
    PRECONDITION,
    PROJECTION,
    RESOURCE_ID,
    TOO_LARGE,
    BulkRequestSerializer,
    BulkResponseSerializer,
    ErrorSerializer,
    PatchOpSerializer,
    PollRequestSerializer,
    PollResponseSerializer,
    SearchRequestSerializer,
)
from .security import scopes_sentence


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
        from ...viewsets import UserViewSet

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


class PollExtension(OpenApiViewExtension):
    target_class = "drf_scim.events.views.PollView"

    def view_replacement(self) -> type:
        not_configured = {501: OpenApiResponse(ErrorSerializer, description="SCIM events cannot be signed here.")}
        return extend_schema_view(
            post=extend_schema(
                tags=["Events"],
                operation_id="events_poll",
                request=PollRequestSerializer,
                responses={200: PollResponseSerializer, **ERRORS, **not_configured},
                description="Acknowledge the SCIM events received, report those refused, and get the next ones as "
                "signed Security Event Tokens (RFC 8936 polling, RFC 9967 events). The token's OAuth2 client is "
                "a poll receiver's." + scopes_sentence(self.target, "POST"),
            )
        )(self.target)


class JWKSExtension(OpenApiViewExtension):
    target_class = "drf_scim.events.views.JWKSView"

    def view_replacement(self) -> type:
        not_configured = {501: OpenApiResponse(ErrorSerializer, description="SCIM events cannot be signed here.")}
        return extend_schema_view(
            get=extend_schema(
                tags=["Events"],
                operation_id="events_jwks",
                responses={200: OpenApiTypes.OBJECT, **not_configured},
                description="The JWK Set of the public keys that verify the SCIM events' signatures; public.",
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
