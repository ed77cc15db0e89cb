"""SCIM events' outbox and SETs: one event per committed change, none for a rolled-back one, and the claims
(RFC 9967) each receiver gets of it. Push delivery is in tests/test_events_push.py."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext

from drf_scim.constants import BULK_REQUEST_SCHEMA, PATCH_OP_SCHEMA, USER_SCHEMA
from drf_scim.events import outbox, tokens
from drf_scim.models import SCIMChange, SCIMEvent, SCIMEventDelivery, SCIMEventReceiver, SCIMUser
from tests.helpers import BASE, audit_statements, group_body, patch_body, user_body

pytestmark = pytest.mark.django_db
EVENT = "urn:ietf:params:scim:event:"
ISSUER = "https://scim.example.com/scim/v2"


def recorded() -> list[tuple[str, str, list[str]]]:
    """(resource type, audited operation, event names) of each change, checking one event per change."""
    changes = list(SCIMChange.objects.order_by("pk"))
    events = list(SCIMEvent.objects.order_by("pk"))
    assert [event.change_id for event in events] == [change.pk for change in changes]
    return [(c.resource_type, c.operation, e.events) for c, e in zip(changes, events, strict=True)]


def forget() -> None:
    SCIMEvent.objects.all().delete()
    SCIMChange.objects.all().delete()


def receiver(name: str = "siem", **fields) -> SCIMEventReceiver:
    fields.setdefault("endpoint", f"https://{name}.example.com/events")
    fields.setdefault("audience", f"https://{name}.example.com")
    return SCIMEventReceiver.objects.create(name=name, **fields)


def sets_of(target: SCIMEventReceiver) -> list[dict]:
    """The claims of every SET ``target`` has, oldest first (after a fan-out)."""
    outbox.fan_out()
    deliveries = SCIMEventDelivery.objects.filter(receiver=target).select_related("event", "receiver")
    return [tokens.claims(d.event, d.receiver, d.jti) for d in deliveries]


# -- one event per committed change ------------------------------------------------------------------------


def test_each_committed_write_records_one_change_and_one_event(api, create_user, create_group):
    user = create_user()
    uid = user["id"]
    api.put(f"{BASE}/Users/{uid}", user_body(title="Guide"))
    api.patch(f"{BASE}/Users/{uid}", patch_body({"op": "replace", "path": "title", "value": "Host"}))
    api.patch(f"{BASE}/Users/{uid}", patch_body({"op": "replace", "path": "active", "value": False}))
    assert api.put(f"{BASE}/Users/{uid}", user_body(active=True)).status_code == 200
    assert api.put(f"{BASE}/Users/{uid}", user_body(active=False)).status_code == 200
    group = create_group("Guides")
    add = patch_body({"op": "add", "path": "members", "value": [{"value": uid}]})
    assert api.patch(f"{BASE}/Groups/{group['id']}", add).status_code in (200, 204)
    remove = patch_body({"op": "remove", "path": f'members[value eq "{uid}"]'})
    assert api.patch(f"{BASE}/Groups/{group['id']}", remove).status_code in (200, 204)
    assert api.delete(f"{BASE}/Users/{uid}").status_code == 204
    assert recorded() == [
        ("User", "created", ["prov:create"]),
        ("User", "replaced", ["prov:put"]),
        ("User", "patched", ["prov:patch"]),
        ("User", "deactivated", ["prov:patch", "prov:deactivate"]),
        ("User", "activated", ["prov:put", "prov:activate"]),
        ("User", "deactivated", ["prov:put", "prov:deactivate"]),
        ("Group", "created", ["prov:create"]),
        ("Group", "members_added", ["prov:patch"]),
        ("Group", "members_removed", ["prov:patch"]),
        ("User", "deleted", ["prov:delete"]),
    ]


def test_a_rolled_back_write_records_neither_change_nor_event(api, create_user):
    user = create_user()
    forget()
    assert api.post(f"{BASE}/Users", user_body()).status_code == 409
    failing = patch_body(
        {"op": "replace", "path": "title", "value": "Guide"},
        {"op": "replace", "path": 'emails[type eq "work"].primary', "value": "not a boolean"},
    )
    assert api.patch(f"{BASE}/Users/{user['id']}", failing).status_code == 400
    stale = patch_body({"op": "replace", "path": "title", "value": "Guide"})
    assert api.patch(f"{BASE}/Users/{user['id']}", stale, HTTP_IF_MATCH='W/"stale"').status_code == 412
    assert recorded() == []
    assert SCIMEvent.objects.count() == 0


def test_bulk_records_one_event_per_operation_that_succeeded(api):
    operations = [
        {"method": "POST", "path": "/Users", "bulkId": "a", "data": user_body("a@example.com")},
        {"method": "POST", "path": "/Users", "bulkId": "dup", "data": user_body("a@example.com")},
        {"method": "POST", "path": "/Groups", "bulkId": "g", "data": group_body("G", ["bulkId:a"])},
    ]
    response = api.post(f"{BASE}/Bulk", {"schemas": [BULK_REQUEST_SCHEMA], "Operations": operations})
    assert [op["status"] for op in response.body["Operations"]] == ["201", "409", "201"]
    assert recorded() == [("User", "created", ["prov:create"]), ("Group", "created", ["prov:create"])]
    assert len({event.txn for event in SCIMEvent.objects.all()}) == 2  # one state change each


def test_changes_made_outside_scim_record_one_event_each(api):
    user = User.objects.create_user("local@example.com", email="local@example.com")
    user.email = "moved@example.com"
    user.save()
    user.delete()
    assert recorded() == [
        ("User", "created", ["prov:create"]),
        ("User", "patched", ["prov:patch"]),
        ("User", "deleted", ["prov:delete"]),
    ]
    created, patched, deleted = SCIMEvent.objects.order_by("pk")
    assert created.uri == patched.uri == deleted.uri == f"/Users/{user.scim.scim_id}"
    assert "emails" in patched.attributes
    assert patched.data is None  # nothing for a full form: receivers get the notice form
    assert deleted.version == ""


def test_no_event_is_recorded_when_the_outbox_is_off(api, settings, create_user):
    settings.DRF_SCIM = {**settings.DRF_SCIM, "EVENTS_OUTBOX": False}
    create_user()
    assert SCIMChange.objects.count() == 1
    assert SCIMEvent.objects.count() == 0


# -- the SETs ----------------------------------------------------------------------------------------------


def test_create_full_carries_the_created_resource(api, events_on):
    full = receiver("full", full=True)
    notice = receiver("notice")
    response = api.post(f"{BASE}/Users", user_body(externalId="bjensen", password="Sup3r-secret"))
    uid = response.body["id"]
    [sent] = sets_of(full)
    data = sent["events"][f"{EVENT}prov:create:full"]["data"]
    assert set(sent) == {"iss", "iat", "jti", "aud", "sub_id", "txn", "events"}
    assert sent["iss"] == ISSUER
    assert sent["aud"] == "https://full.example.com"
    assert sent["sub_id"] == {"format": "scim", "uri": f"/Users/{uid}", "externalId": "bjensen"}
    assert list(sent["events"]) == [f"{EVENT}prov:create:full"]
    assert data["id"] == uid and data["userName"] == "bjensen@example.com" and data["schemas"][0] == USER_SCHEMA
    assert "password" not in data and "Sup3r-secret" not in str(sent)
    assert sent["events"][f"{EVENT}prov:create:full"]["version"] == response["ETag"]
    [told] = sets_of(notice)
    attributes = told["events"][f"{EVENT}prov:create:notice"]["attributes"]
    assert {"userName", "name.givenName", "emails", "externalId", "password"} <= set(attributes)
    assert told["txn"] == sent["txn"] and told["jti"] != sent["jti"]
    assert told["iat"] == sent["iat"]


def test_patch_full_carries_the_patch_op_without_the_password(api, events_on, create_user):
    user = create_user()
    full, notice = receiver("full", full=True), receiver("notice")
    outbox.fan_out()
    SCIMEventDelivery.objects.all().delete()
    body = patch_body(
        {"op": "replace", "path": "title", "value": "Guide"},
        {"op": "replace", "value": {"nickName": "Babs", "password": "n3w-Secret"}},
        {"op": "replace", "path": "password", "value": "0ther-Secret"},
    )
    response = api.patch(f"{BASE}/Users/{user['id']}", body)
    assert response.status_code == 200, response.body
    [sent] = sets_of(full)
    assert sent["events"] == {
        f"{EVENT}prov:patch:full": {
            "data": {
                "schemas": [PATCH_OP_SCHEMA],
                "Operations": [
                    {"op": "replace", "path": "title", "value": "Guide"},
                    {"op": "replace", "value": {"nickName": "Babs"}},
                ],
            },
            "version": response["ETag"],
        }
    }
    assert "Secret" not in str(sent)
    [told] = sets_of(notice)
    assert told["events"] == {
        f"{EVENT}prov:patch:notice": {"attributes": ["nickName", "title", "password"], "version": response["ETag"]}
    }


def test_put_full_delete_and_deactivate(api, events_on, create_user):
    user = create_user(externalId="bj")
    uid = user["id"]
    full = receiver("full", full=True)
    put = api.put(f"{BASE}/Users/{uid}", user_body(externalId="bj", title="Guide"))
    deactivate = api.patch(f"{BASE}/Users/{uid}", patch_body({"op": "replace", "path": "active", "value": False}))
    assert api.delete(f"{BASE}/Users/{uid}").status_code == 204
    replaced, deactivated, deleted = sets_of(full)
    data = replaced["events"][f"{EVENT}prov:put:full"]["data"]
    assert data["title"] == "Guide" and data["id"] == uid
    assert replaced["events"][f"{EVENT}prov:put:full"]["version"] == put["ETag"]
    assert deactivated["events"] == {
        f"{EVENT}prov:patch:full": {
            "data": {"schemas": [PATCH_OP_SCHEMA], "Operations": [{"op": "replace", "path": "active", "value": False}]},
            "version": deactivate["ETag"],
        },
        f"{EVENT}prov:deactivate": {},
    }
    assert deleted["events"] == {f"{EVENT}prov:delete": {}}
    assert deleted["sub_id"] == {"format": "scim", "uri": f"/Users/{uid}", "externalId": "bj"}
    assert len({replaced["txn"], deactivated["txn"], deleted["txn"]}) == 3


def test_a_receiver_hears_only_the_events_it_asked_for(api, events_on, create_user):
    deactivations = receiver("hr", events=["prov:deactivate"])
    user = create_user()
    api.patch(f"{BASE}/Users/{user['id']}", patch_body({"op": "replace", "path": "title", "value": "x"}))
    api.patch(f"{BASE}/Users/{user['id']}", patch_body({"op": "replace", "path": "active", "value": False}))
    [sent] = sets_of(deactivations)
    assert sent["events"] == {f"{EVENT}prov:deactivate": {}}


def test_a_receiver_hears_only_its_tenant_and_only_what_came_after_it(api, events_on, create_user):
    other_tenant = receiver("acme", tenant="acme")
    create_user("early@example.com")
    late = receiver("late")
    create_user("later@example.com")
    assert sets_of(other_tenant) == []
    [sent] = sets_of(late)
    assert sent["events"][f"{EVENT}prov:create:notice"]["attributes"]
    assert SCIMEventDelivery.objects.count() == 1
    assert outbox.fan_out() == 0  # every event fanned out once


def test_the_issuer_is_base_url_without_events_issuer(api, events_on, settings, create_user):
    settings.DRF_SCIM = {**settings.DRF_SCIM, "EVENTS_ISSUER": None, "BASE_URL": "https://api.example.com/scim/v2"}
    target = receiver()
    create_user()
    assert sets_of(target)[0]["iss"] == "https://api.example.com/scim/v2"


# -- cost --------------------------------------------------------------------------------------------------


def test_a_write_costs_the_same_whatever_the_number_of_receivers(api):
    ContentType.objects.get_for_model(SCIMUser)  # cached for the process: an earlier test may have looked it up
    counts = []
    for n, receivers in enumerate([0, 3]):
        for m in range(receivers):
            receiver(f"r{m}")
        with CaptureQueriesContext(connection) as queries:
            assert api.post(f"{BASE}/Users", user_body(f"u{n}@example.com")).status_code == 201
        counts.append(len(queries))
    # The token, the savepoint and its release, the user, its SCIM row and email, the audit row and event.
    assert counts == [6 + audit_statements()] * 2
    assert SCIMEvent.objects.count() == 2
    assert SCIMEventDelivery.objects.count() == 0  # the workers fan them out, after the commit
