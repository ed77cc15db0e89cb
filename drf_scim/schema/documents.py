"""Discovery documents (RFC 7644 §4, RFC 7643 §5-7), generated from the registered viewsets and serializers."""

from __future__ import annotations

from typing import Any

from ..constants import RESOURCE_TYPE_SCHEMA, SCHEMA_SCHEMA, SERVICE_PROVIDER_CONFIG_SCHEMA
from ..reverse import scim_root_url
from ..settings import scim_settings
from .attributes import Attribute, attribute_of

# Attributes common to every resource (RFC 7643 §3.1): not part of any schema document.
COMMON_ATTRIBUTES = {"id", "externalId", "meta"}


def schema_documents(serializer_class: type, request: Any) -> list[dict[str, Any]]:
    """The /Schemas documents of one resource type: its core schema, then each extension."""
    serializer = serializer_class(context={"request": request})
    extensions = {extension.get_schema_urn(): extension for extension, _ in serializer_class.get_extensions()}
    core = [
        attribute_of(name, field)
        for name, field in serializer.fields.items()
        if name not in COMMON_ATTRIBUTES and name not in extensions
    ]
    meta = serializer_class.Meta
    documents = [
        schema_document(
            meta.schema,
            getattr(meta, "schema_name", meta.resource_type),
            getattr(meta, "description", ""),
            core,
            request,
        )
    ]
    for urn, extension in extensions.items():
        attributes = [attribute_of(name, field) for name, field in serializer.fields[urn].fields.items()]
        name = getattr(extension.Meta, "name", "") or urn.rsplit(":", 1)[-1]
        documents.append(schema_document(urn, name, getattr(extension.Meta, "description", ""), attributes, request))
    return documents


def schema_document(urn: str, name: str, description: str, attributes: list[Attribute], request: Any) -> dict[str, Any]:
    return {
        "schemas": [SCHEMA_SCHEMA],
        "id": urn,
        "name": name,
        "description": description,
        "attributes": [attribute.to_representation() for attribute in attributes],
        "meta": {"resourceType": "Schema", "location": f"{scim_root_url(request)}/Schemas/{urn}"},
    }


def resource_type_document(endpoint: str, serializer_class: type, request: Any) -> dict[str, Any]:
    meta = serializer_class.Meta
    name = meta.resource_type
    document = {
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": name,
        "name": name,
        "endpoint": f"/{endpoint.strip('/')}",
        "description": getattr(meta, "description", "") or name,
        "schema": meta.schema,
        "schemaExtensions": [
            {"schema": extension.get_schema_urn(), "required": required}
            for extension, required in serializer_class.get_extensions()
        ],
        "meta": {"resourceType": "ResourceType", "location": f"{scim_root_url(request)}/ResourceTypes/{name}"},
    }
    if not document["schemaExtensions"]:
        del document["schemaExtensions"]
    return document


def service_provider_config(viewsets: list[type], request: Any) -> dict[str, Any]:
    """What the server supports, read off the viewsets the router serves."""

    def all_support(feature: str) -> bool:
        return bool(viewsets) and all(viewset.supports(feature) for viewset in viewsets)

    document: dict[str, Any] = {"schemas": [SERVICE_PROVIDER_CONFIG_SCHEMA]}
    if scim_settings.DOCUMENTATION_URI:
        document["documentationUri"] = scim_settings.DOCUMENTATION_URI
    document.update(
        {
            "patch": {"supported": all_support("patch")},
            "bulk": {
                "supported": True,
                "maxOperations": scim_settings.BULK_MAX_OPERATIONS,
                "maxPayloadSize": scim_settings.MAX_PAYLOAD_SIZE,
            },
            "filter": {"supported": all_support("filter"), "maxResults": scim_settings.MAX_PAGE_SIZE},
            "changePassword": {"supported": any(viewset.supports("changePassword") for viewset in viewsets)},
            "sort": {"supported": all_support("sort")},
            "etag": {"supported": all_support("etag")},
            "pagination": {
                "cursor": True,
                "index": True,
                "defaultPaginationMethod": "index",
                "defaultPageSize": scim_settings.DEFAULT_PAGE_SIZE,
                "maxPageSize": scim_settings.MAX_PAGE_SIZE,
                "cursorTimeout": scim_settings.CURSOR_TIMEOUT,
            },
            "authenticationSchemes": list(scim_settings.AUTHENTICATION_SCHEMES),
        }
    )
    if scim_settings.EVENTS_OUTBOX and scim_settings.EVENTS_ADVERTISE:
        document["securityEvents"] = security_events()
    document["meta"] = {
        "resourceType": "ServiceProviderConfig",
        "location": f"{scim_root_url(request)}/ServiceProviderConfig",
    }
    return document


def security_events() -> dict[str, Any]:
    """RFC 9967 §4's ``securityEvents``: the event URIs this service emits (pushed and polled as SETs); no
    asynchronous requests (``Prefer: respond-async`` is not supported)."""
    from ..events.names import advertised_uris

    return {"asyncRequest": "none", "eventUris": advertised_uris()}
