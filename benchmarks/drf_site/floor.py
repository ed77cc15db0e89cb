"""The floor: the lookup and the GET of a user answered by plain Django, one indexed query and json.dumps.

No authentication, no content negotiation, no schema: what any Django view pays at least. It reads the
same rows as drf_scim (the SCIM row joined with its auth user) and renders the same core attributes.
"""

from __future__ import annotations

import json
import re

from django.http import HttpRequest, HttpResponse

from drf_scim.models import SCIMUser

FIELDS = (
    "scim_id",
    "external_id",
    "data",
    "created",
    "last_modified",
    "version",
    "user__username",
    "user__first_name",
    "user__last_name",
    "user__is_active",
)
USER_NAME_EQ = re.compile(r'^userName eq "(.*)"$')


def render(row: dict) -> dict:
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": str(row["scim_id"]),
        "externalId": row["external_id"],
        "userName": row["user__username"],
        "name": {"givenName": row["user__first_name"], "familyName": row["user__last_name"]},
        "active": row["user__is_active"],
        **row["data"],
        "meta": {
            "resourceType": "User",
            "created": row["created"].isoformat(),
            "lastModified": row["last_modified"].isoformat(),
            "version": f'W/"{row["version"]}"',
        },
    }


def respond(document: dict) -> HttpResponse:
    return HttpResponse(json.dumps(document), content_type="application/scim+json")


def lookup(request: HttpRequest) -> HttpResponse:
    match = USER_NAME_EQ.match(request.GET.get("filter", ""))
    rows = SCIMUser.objects.filter(tenant="", user_name_key=match[1].casefold()).values(*FIELDS) if match else []
    resources = [render(row) for row in rows]
    return respond(
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": len(resources),
            "startIndex": 1,
            "itemsPerPage": len(resources),
            "Resources": resources,
        }
    )


def detail(request: HttpRequest, scim_id: str) -> HttpResponse:
    row = SCIMUser.objects.filter(scim_id=scim_id).values(*FIELDS).first()
    if row is None:
        return HttpResponse(status=404)
    return respond(render(row))
