"""The floor: identity-provider requests answered by plain Django views, to show what Django itself costs.

The lookup and the GET of a user are one indexed query and json.dumps, answering the user drf_scim answers:
the query reads the user's groups as one JSON array (drf_scim's ``JSONArraySubquery``) and the manager's id,
and the user is rendered with its groups, manager and location. Its SQL is compiled once and run with each
request's value through drf_scim's own prepared lookups (``drf_scim.plans.prepared``), as drf_scim runs its
reads: Django compiles a query with that subquery in about 1.5 ms, which would make the floor a ceiling.
POST and PATCH of ``active`` write the rows drf_scim's write, in one transaction, through the ORM's plainest
calls: a POST inserts the user, its SCIM row and its indexed email; a PATCH locks the SCIM row as drf_scim
does (reading it as the GET does), updates the user's ``is_active``, then the SCIM row's document, version
(the ETag) and modification time. Both then write the change's audit row and outbox event with drf_scim's
own one-statement INSERT (the least they cost), holding what drf_scim's hold (the attributes changed, old
and new, and the event's resource or PatchOp; no actor, since the floor authenticates no one). No
authentication, no content negotiation, no schema, no validation and no error handling (it answers what the
benchmark sends): the least drf_scim's way of storing and answering a user costs in Django. The rows,
statements and documents are drf_scim's (tests/test_benchmarks.py compares them).
"""

from __future__ import annotations

import datetime
import functools
import json
import re
import uuid
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import router, transaction
from django.db.models import F, OuterRef
from django.db.models.functions import JSONObject
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from drf_scim.adoption import scim_writes
from drf_scim.constants import ENTERPRISE_USER_SCHEMA as ENTERPRISE
from drf_scim.constants import USER_SCHEMA
from drf_scim.expressions import JSONArraySubquery
from drf_scim.models import SCIMChange, SCIMEvent, SCIMUser, SCIMValue
from drf_scim.plans.inserts import record_change
from drf_scim.plans.prepared import PreparedLookup, PreparedQuerySet
from drf_scim.reverse import scim_root_url
from drf_scim.serializers.enterprise import EnterpriseUserExtension

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
ENTERPRISE_KEY = EnterpriseUserExtension.Meta.storage_key
USER_NAME_EQ = re.compile(r'^userName eq "(.*)"$')


def read(rows: Any, *fields: str) -> Any:
    """``rows`` as the dicts ``render`` takes: the user's columns, its groups in one JSON array (drf_scim's
    subquery: the user's groups of its tenant in key order) and its manager's id (a LEFT JOIN)."""
    memberships = get_user_model().groups.through.objects.filter(user_id=OuterRef("user_id"), group__scim__tenant="")
    memberships = memberships.order_by("group_id").values(
        j=JSONObject(value="group__scim__scim_id", display="group__name"), o=F("group_id")
    )
    return rows.values(*fields, *FIELDS, "manager__scim_id", groups=JSONArraySubquery(memberships))


@functools.cache
def by_id(locked: bool = False) -> PreparedLookup:
    """The user with an id, compiled once (``locked``: its SCIM row locked, as drf_scim's writes lock it)."""
    users = SCIMUser.objects.filter(tenant="", deleted__isnull=True)  # as drf_scim's reads
    users = users.select_for_update(of=("self",)) if locked else users
    return PreparedLookup(read(users, "pk", "user_id"), "scim_id")


@functools.cache
def by_user_name() -> PreparedQuerySet:
    """The users with a ``userName`` (its case-folded key), compiled once."""
    marker = uuid.uuid4().hex  # a value no request sends
    return PreparedQuerySet(read(SCIMUser.objects.filter(tenant="", user_name_key=marker)), [marker])


def user(scim_id: str, *, locked: bool = False) -> dict | None:
    try:
        return by_id(locked).get(scim_id)
    except (SCIMUser.DoesNotExist, ValidationError):
        return None


def render(row: dict, base: str) -> dict:
    """The user as drf_scim renders it under the SCIM root ``base`` (null and empty attributes left out,
    times in UTC with a Z)."""
    scim_id = str(row["scim_id"])
    groups = []
    for group in row["groups"]:
        value = str(uuid.UUID(group["value"]))  # SQLite's JSON holds the hex digits alone
        groups.append({"value": value, "display": group["display"], "type": "direct", "$ref": f"{base}/Groups/{value}"})
    data = dict(row["data"])
    enterprise = data.pop(ENTERPRISE_KEY, None) or {}  # the extension's attributes, stored under their key
    document = {
        "schemas": [USER_SCHEMA],
        **data,  # the document first: the columns below hold the values (active's is is_active)
        "id": scim_id,
        "externalId": row["external_id"],
        "userName": row["user__username"],
        "name": {"givenName": row["user__first_name"], "familyName": row["user__last_name"]},
        "active": row["user__is_active"],
        "groups": groups,  # rendered when empty too, as drf_scim does
        "meta": {
            "resourceType": "User",
            "created": utc(row["created"]),
            "lastModified": utc(row["last_modified"]),
            "location": f"{base}/Users/{scim_id}",
            "version": f'W/"{row["version"]}"',
        },
    }
    if row["manager__scim_id"] is not None:
        manager = str(row["manager__scim_id"])
        enterprise = {**enterprise, "manager": {"value": manager, "$ref": f"{base}/Users/{manager}"}}
    if enterprise:
        document[ENTERPRISE] = enterprise
        document["schemas"] = [USER_SCHEMA, ENTERPRISE]
    return {name: value for name, value in document.items() if value is not None}


def utc(moment: datetime.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def respond(document: dict, status: int = 200) -> HttpResponse:
    return HttpResponse(
        json.dumps(document, ensure_ascii=False, separators=(",", ":")),
        content_type="application/scim+json",
        status=status,
    )


def lookup(request: HttpRequest) -> HttpResponse:
    match = USER_NAME_EQ.match(request.GET.get("filter", ""))
    rows = by_user_name().rows([match[1].casefold()]) if match else []
    resources = [render(row, scim_root_url(request)) for row in rows]
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
    row = user(scim_id)
    if row is None:
        return HttpResponse(status=404)
    return respond(render(row, scim_root_url(request)))


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
        row.update(groups=[], manager__scim_id=None)  # a new user is in no group and has no manager
        created = render(row, scim_root_url(request))
        changes = {
            "userName": {"old": None, "new": user.username},
            **{f"name.{key}": {"old": None, "new": value} for key, value in body["name"].items()},
            "emails": {"added": emails, "removed": []},
            "active": {"old": None, "new": user.is_active},
        }
        operation = SCIMChange.Operation.CREATED
        document = {name: value for name, value in created.items() if name != "groups"}  # drf_scim's: no relations
        audit(resource.scim_id, resource.external_id, resource.version, operation, changes, ["prov:create"], document)
    return respond(created, status=201)


def patch_active(request: HttpRequest, scim_id: str) -> HttpResponse:
    body = json.loads(request.body)
    active = body["Operations"][0]["value"]
    with transaction.atomic():
        row = user(scim_id, locked=True)
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
    return respond(render(row, scim_root_url(request)))


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
