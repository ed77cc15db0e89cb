"""The floor: identity-provider requests answered by plain Django views, to show what Django itself costs.

The lookup and the GET of a user are one indexed query and json.dumps. POST and PATCH of ``active`` write
the rows drf_scim's write, in one transaction, through the ORM's plainest calls: a POST inserts the user,
its SCIM row and its indexed email; a PATCH locks the SCIM row as drf_scim does, updates the user's
``is_active``, then the SCIM row's document, version (the ETag) and modification time. Both then write the
change's audit row and outbox event with drf_scim's own one-statement INSERT (the least they cost), holding
what drf_scim's hold (the attributes changed, old and new, and the event's resource or PatchOp; no actor, since
the floor authenticates no one). No authentication, no content negotiation, no schema, no validation, no
reading back and no error handling (it answers what the benchmark sends): the least drf_scim's way of storing
a user costs through Django's ORM. The rows and attributes are the ones drf_scim reads and renders
(tests/test_benchmarks.py compares the statements and the changes recorded).
"""

from __future__ import annotations

import datetime
import json
import re
import uuid
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.contenttypes.models import ContentType
from django.db import router, transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from drf_scim.adoption import scim_writes
from drf_scim.models import SCIMChange, SCIMEvent, SCIMUser, SCIMValue
from drf_scim.plans.inserts import record_change

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
    """The user as drf_scim renders its core attributes (null ones left out, times in UTC with a Z)."""
    document = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        **row["data"],  # the document first: the columns below hold the values (active's is is_active)
        "id": str(row["scim_id"]),
        "externalId": row["external_id"],
        "userName": row["user__username"],
        "name": {"givenName": row["user__first_name"], "familyName": row["user__last_name"]},
        "active": row["user__is_active"],
        "meta": {
            "resourceType": "User",
            "created": utc(row["created"]),
            "lastModified": utc(row["last_modified"]),
            "version": f'W/"{row["version"]}"',
        },
    }
    return {name: value for name, value in document.items() if value is not None}


def utc(moment: datetime.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def respond(document: dict, status: int = 200) -> HttpResponse:
    return HttpResponse(json.dumps(document), content_type="application/scim+json", status=status)


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


@csrf_exempt
def users(request: HttpRequest) -> HttpResponse:
    """GET: a lookup by ``userName eq``; POST: a new user, as the benchmark sends it."""
    return create(request) if request.method == "POST" else lookup(request)


@csrf_exempt
def detail(request: HttpRequest, scim_id: str) -> HttpResponse:
    """GET: a user; PATCH: a user's ``active``, as the benchmark sends it."""
    if request.method == "PATCH":
        return patch_active(request, scim_id)
    row = SCIMUser.objects.filter(scim_id=scim_id).values(*FIELDS).first()
    if row is None:
        return HttpResponse(status=404)
    return respond(render(row))


def create(request: HttpRequest) -> HttpResponse:
    body = json.loads(request.body)
    emails = body.get("emails", [])
    with transaction.atomic(), scim_writes():
        user = get_user_model().objects.create(
            username=body["userName"],
            first_name=body["name"]["givenName"],
            last_name=body["name"]["familyName"],
            email=emails[0]["value"] if emails else "",
            is_active=body.get("active", True),
            password=make_password(None),
        )
        document = {"active": user.is_active, "emails": emails}  # drf_scim keeps that active was assigned
        resource = SCIMUser.objects.create(user=user, user_name_key=user.username.casefold(), data=document)
        SCIMValue.objects.bulk_create(
            SCIMValue(
                resource_type=ContentType.objects.get_for_model(SCIMUser),
                resource_id=resource.pk,
                attribute="emails",
                value_key=SCIMValue.key_of(item),
                item=item,
            )
            for item in emails
        )
        row = {
            name: getattr(user, name.removeprefix("user__")) if name.startswith("user__") else getattr(resource, name)
            for name in FIELDS
        }
        created = render(row)
        changes = {
            "userName": {"old": None, "new": user.username},
            **{f"name.{key}": {"old": None, "new": value} for key, value in body["name"].items()},
            "emails": {"added": emails, "removed": []},
            "active": {"old": None, "new": user.is_active},
        }
        operation = SCIMChange.Operation.CREATED
        audit(resource.scim_id, resource.external_id, resource.version, operation, changes, ["prov:create"], created)
    return respond(created, status=201)


def patch_active(request: HttpRequest, scim_id: str) -> HttpResponse:
    body = json.loads(request.body)
    active = body["Operations"][0]["value"]
    with transaction.atomic():
        locked = SCIMUser.objects.select_for_update(of=("self",)).filter(scim_id=scim_id)
        row = next(iter(locked.values("pk", "user_id", *FIELDS)[:1]), None)
        if row is None:
            return HttpResponse(status=404)
        now, document, was = timezone.now(), {**row["data"], "active": active}, row["user__is_active"]
        get_user_model().objects.filter(pk=row["user_id"]).update(is_active=active)
        SCIMUser.objects.filter(pk=row["pk"]).update(data=document, version=F("version") + 1, last_modified=now)
        row.update(data=document, user__is_active=active, version=row["version"] + 1, last_modified=now)
        if was == active:
            operation, events, changes = SCIMChange.Operation.PATCHED, ["prov:patch"], {}
        else:
            operation = SCIMChange.Operation.ACTIVATED if active else SCIMChange.Operation.DEACTIVATED
            events = ["prov:patch", "prov:activate" if active else "prov:deactivate"]
            changes = {"active": {"old": was, "new": active}}
        audit(row["scim_id"], row["external_id"], row["version"], operation, changes, events, body)
    return respond(render(row))


def audit(
    scim_id: Any, external_id: str | None, version: int, operation: str, changes: dict, events: list, data: dict
) -> None:
    """The audit row of a change to the user ``scim_id`` and its outbox event, as drf_scim writes them (but for
    the actor and the OAuth application, which the floor, without authentication, leaves empty)."""
    change = SCIMChange(
        resource_type="User", resource_id=scim_id, operation=operation, request_id=uuid.uuid4().hex, changes=changes
    )
    event = SCIMEvent(
        created=change.timestamp,
        resource_type="User",
        resource_id=scim_id,
        uri=f"/Users/{scim_id}",
        external_id=external_id or "",
        events=events,
        attributes=list(changes),
        data=data,
        version=f'W/"{version}"',
    )
    record_change(change, event, router.db_for_write(SCIMChange))
