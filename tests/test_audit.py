"""The audit trail: one row per committed change, in the change's transaction, and none for a rolled-back one."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from drf_scim.audit import diff, prune
from drf_scim.constants import BULK_REQUEST_SCHEMA, ENTERPRISE_USER_SCHEMA
from drf_scim.models import SCIMChange
from tests.helpers import BASE, group_body, patch_body, user_body

pytestmark = pytest.mark.django_db
Op = SCIMChange.Operation


def changes() -> list[SCIMChange]:
    return list(SCIMChange.objects.order_by("pk"))


def only_change(**expected) -> SCIMChange:
    [change] = changes()
    for name, value in expected.items():
        assert getattr(change, name) == value, (name, getattr(change, name))
    return change


def inserts(queries) -> list[str]:
    """The tables the captured statements insert into, one per INSERT (a PostgreSQL WITH holds two)."""
    return [table for q in queries for table in re.findall(r'INSERT INTO "(\w+)"', q["sql"])]


# -- diff ------------------------------------------------------------------------------------------------------


def test_diff_gives_old_and_new_of_single_values_and_added_and_removed_of_multiple_ones():
    old = {
        "schemas": ["x"],
        "userName": "a",
        "name": {"givenName": "Ann", "familyName": "Lee"},
        "emails": [{"value": "a@x", "type": "work"}, {"value": "b@x"}],
        ENTERPRISE_USER_SCHEMA: {"department": "Sales"},
        "meta": {"version": 'W/"1"'},
    }
    new = {
        "schemas": ["y"],
        "userName": "b",
        "name": {"givenName": "Ann"},
        "emails": [{"type": "work", "value": "a@x"}, {"value": "c@x"}],
        ENTERPRISE_USER_SCHEMA: {"department": "Retail"},
        "active": False,
        "password": "hunter2",
        "meta": {"version": 'W/"2"'},
    }
    assert diff(old, new, secrets=["password"]) == {
        "userName": {"old": "a", "new": "b"},
        "name.familyName": {"old": "Lee", "new": None},
        "emails": {"added": [{"value": "c@x"}], "removed": [{"value": "b@x"}]},
        f"{ENTERPRISE_USER_SCHEMA}:department": {"old": "Sales", "new": "Retail"},
        "active": {"old": None, "new": False},
        "password": "set",
    }
    assert diff(new, new) == {}
    assert diff({"x": 1}, {"x": True}) == {"x": {"old": 1, "new": True}}


# -- one row per committed change ------------------------------------------------------------------------------


def test_create_records_the_attributes_and_that_a_password_was_set(api):
    response = api.post(f"{BASE}/Users", user_body("ann@example.com", password="Sup3r-secret"))
    assert response.status_code == 201
    change = only_change(operation=Op.CREATED, resource_type="User", source="scim", tenant="", actor="tests")
    assert str(change.resource_id) == response.body["id"]
    assert change.connection_id  # the token's application's client_id
    assert change.changes["userName"] == {"old": None, "new": "ann@example.com"}
    assert change.changes["name.givenName"] == {"old": None, "new": "Barbara"}
    assert change.changes["password"] == "set"
    assert "Sup3r-secret" not in str(change.changes)
    assert len(change.request_id) == 32


def test_replace_records_old_and_new(api, create_user):
    user = create_user()
    SCIMChange.objects.all().delete()
    body = user_body(title="Guide", name={"givenName": "Babs", "familyName": "Jensen"}, password="n3w-Secret")
    assert api.put(f"{BASE}/Users/{user['id']}", body).status_code == 200
    change = only_change(operation=Op.REPLACED)
    assert change.changes == {
        "name.givenName": {"old": "Barbara", "new": "Babs"},
        "title": {"old": None, "new": "Guide"},
        "password": "set",
    }


def test_a_put_that_deactivates_records_deactivated(api, create_user):
    user = create_user()
    SCIMChange.objects.all().delete()
    assert api.put(f"{BASE}/Users/{user['id']}", user_body(active=False)).status_code == 200
    assert only_change(operation=Op.DEACTIVATED).changes == {"active": {"old": True, "new": False}}


def test_patch_records_what_the_operations_changed(api, create_user):
    user = create_user()
    SCIMChange.objects.all().delete()
    operations = [
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "new@example.com"},
        {"op": "Add", "path": f"{ENTERPRISE_USER_SCHEMA}:department", "value": "Retail"},
    ]
    assert api.patch(f"{BASE}/Users/{user['id']}", patch_body(*operations)).status_code == 200
    change = only_change(operation=Op.PATCHED, resource_id=uuid.UUID(user["id"]))
    assert change.changes == {
        "emails": {
            "added": [{"value": "new@example.com", "type": "work", "primary": True}],
            "removed": [{"value": "bjensen@example.com", "type": "work", "primary": True}],
        },
        f"{ENTERPRISE_USER_SCHEMA}:department": {"old": None, "new": "Retail"},
    }


def test_deactivation_and_activation_by_patch(api, create_user):
    user = create_user()
    SCIMChange.objects.all().delete()
    deactivate = {"op": "Replace", "path": "active", "value": "False"}  # Entra, without the flag
    assert api.patch(f"{BASE}/Users/{user['id']}", patch_body(deactivate)).status_code == 200
    activate = {"op": "replace", "value": {"active": True}}  # Okta
    assert api.patch(f"{BASE}/Users/{user['id']}", patch_body(activate)).status_code == 200
    assert [(c.operation, c.changes) for c in changes()] == [
        (Op.DEACTIVATED, {"active": {"old": True, "new": False}}),
        (Op.ACTIVATED, {"active": {"old": False, "new": True}}),
    ]


def test_a_password_patch_records_only_that_it_was_set(api, create_user):
    user = create_user()
    SCIMChange.objects.all().delete()
    body = patch_body({"op": "replace", "path": "password", "value": "An0ther-secret"})
    assert api.patch(f"{BASE}/Users/{user['id']}", body).status_code == 200
    assert only_change(operation=Op.PATCHED).changes == {"password": "set"}


def test_delete_records_deleted(api, create_user):
    user = create_user()
    SCIMChange.objects.all().delete()
    assert api.delete(f"{BASE}/Users/{user['id']}").status_code == 204
    only_change(operation=Op.DELETED, resource_type="User", changes={})


@override_settings(DRF_SCIM={"SOFT_DELETE_USERS": True})
def test_soft_delete_records_deleted(api, create_user):
    user = create_user()
    SCIMChange.objects.all().delete()
    assert api.delete(f"{BASE}/Users/{user['id']}").status_code == 204
    only_change(operation=Op.DELETED)


def test_membership_changes_record_the_ids_added_and_removed(api, create_user, create_group):
    ann, bob = create_user("ann@example.com")["id"], create_user("bob@example.com")["id"]
    group = create_group("Guides", [ann])
    created = changes()[-1]
    assert (created.operation, created.changes["members"]) == (Op.CREATED, {"added": [ann], "removed": []})
    SCIMChange.objects.all().delete()
    url = f"{BASE}/Groups/{group['id']}"
    assert api.patch(url, patch_body({"op": "Add", "path": "members", "value": [{"value": bob}]})).status_code == 204
    assert api.patch(url, patch_body({"op": "remove", "path": f'members[value eq "{ann}"]'})).status_code == 204
    remove_add = [
        {"op": "Remove", "path": "members", "value": [{"value": bob}]},
        {"op": "add", "path": "members", "value": [{"value": ann}]},
    ]
    assert api.patch(url, patch_body(*remove_add)).status_code == 204
    assert api.patch(url, patch_body({"op": "replace", "path": "members", "value": []})).status_code == 204
    assert [(c.operation, c.changes) for c in changes()] == [
        (Op.MEMBERS_ADDED, {"members": {"added": [bob], "removed": []}}),
        (Op.MEMBERS_REMOVED, {"members": {"added": [], "removed": [ann]}}),
        (Op.PATCHED, {"members": {"added": [ann], "removed": [bob]}}),
        (Op.MEMBERS_REMOVED, {"members": {"added": [], "removed": [], "cleared": True}}),
    ]


def test_a_put_of_a_group_records_its_member_delta(api, create_user, create_group):
    ann, bob = create_user("ann@example.com")["id"], create_user("bob@example.com")["id"]
    group = create_group("Guides", [ann])
    SCIMChange.objects.all().delete()
    assert api.put(f"{BASE}/Groups/{group['id']}", group_body("Guides", [bob])).status_code == 200
    assert only_change(operation=Op.REPLACED).changes == {"members": {"added": [bob], "removed": [ann]}}


# -- nothing for a rolled-back request -----------------------------------------------------------------------


def test_nothing_is_recorded_for_a_request_that_fails(api, create_user):
    user = create_user()
    SCIMChange.objects.all().delete()
    assert api.post(f"{BASE}/Users", user_body()).status_code == 409  # userName taken
    failing = patch_body(
        {"op": "replace", "path": "title", "value": "Guide"},
        {"op": "replace", "path": 'emails[type eq "work"].primary', "value": "not a boolean"},
    )
    assert api.patch(f"{BASE}/Users/{user['id']}", failing).status_code == 400
    missing = patch_body({"op": "add", "path": "manager", "value": "00000000-0000-0000-0000-000000000000"})
    assert api.patch(f"{BASE}/Users/{user['id']}", missing).status_code == 400
    assert changes() == []
    assert api.get(f"{BASE}/Users/{user['id']}").body.get("title") is None


def test_a_member_change_that_fails_after_the_save_leaves_nothing(api, create_user, create_group):
    group = create_group("Guides")
    SCIMChange.objects.all().delete()
    body = patch_body(
        {"op": "replace", "path": "displayName", "value": "Renamed"},
        {"op": "add", "path": "members", "value": [{"value": "00000000-0000-0000-0000-000000000000"}]},
    )
    assert api.patch(f"{BASE}/Groups/{group['id']}", body).status_code == 400
    assert changes() == []
    assert Group.objects.filter(name="Guides").exists()


# -- Bulk ------------------------------------------------------------------------------------------------------


def test_bulk_records_each_operation_and_nothing_for_a_failed_one(api):
    operations = [
        {"method": "POST", "path": "/Users", "bulkId": "a", "data": user_body("a@example.com")},
        {"method": "POST", "path": "/Users", "bulkId": "dup", "data": user_body("a@example.com")},
        {"method": "POST", "path": "/Groups", "bulkId": "g", "data": group_body("G", ["bulkId:a"])},
    ]
    response = api.post(
        f"{BASE}/Bulk", {"schemas": [BULK_REQUEST_SCHEMA], "Operations": operations}, HTTP_X_REQUEST_ID="idp-42"
    )
    assert [op["status"] for op in response.body["Operations"]] == ["201", "409", "201"]
    recorded = changes()
    assert [(c.resource_type, c.operation) for c in recorded] == [("User", Op.CREATED), ("Group", Op.CREATED)]
    assert {c.request_id for c in recorded} == {"idp-42"}


def test_a_bulk_without_a_request_id_gives_its_operations_one(api):
    operations = [
        {"method": "POST", "path": "/Users", "bulkId": f"u{n}", "data": user_body(f"u{n}@example.com")}
        for n in range(2)
    ]
    api.post(f"{BASE}/Bulk", {"schemas": [BULK_REQUEST_SCHEMA], "Operations": operations})
    ids = {c.request_id for c in changes()}
    assert len(ids) == 1 and len(ids.pop()) == 32


# -- outside SCIM ----------------------------------------------------------------------------------------------


def test_changes_made_outside_scim_are_recorded_as_such(api):
    user = User.objects.create_user("local@example.com", email="local@example.com")
    created = only_change(operation=Op.CREATED, source="outside", connection_id=None, actor="", request_id="")
    assert str(created.resource_id) == str(user.scim.scim_id)
    user.email = "moved@example.com"
    user.save()
    group = Group.objects.create(name="Locals")
    group.user_set.add(user)
    user.groups.remove(group)
    user.delete()
    recorded = [(c.resource_type, c.operation, c.source) for c in changes()[1:]]
    assert recorded == [
        ("User", Op.PATCHED, "outside"),
        ("Group", Op.CREATED, "outside"),
        ("Group", Op.MEMBERS_ADDED, "outside"),
        ("Group", Op.MEMBERS_REMOVED, "outside"),
        ("User", Op.DELETED, "outside"),
    ]
    patched = changes()[1]
    assert patched.changes["emails"]["added"] == [{"value": "moved@example.com", "type": "work", "primary": True}]
    assert changes()[3].changes == {"members": {"added": [str(user.scim.scim_id)], "removed": []}}


def test_scim_writes_are_not_recorded_again_as_outside_changes(api, create_user, create_group):
    user = create_user()
    create_group("G", [user["id"]])
    api.patch(f"{BASE}/Users/{user['id']}", patch_body({"op": "replace", "path": "active", "value": False}))
    api.delete(f"{BASE}/Users/{user['id']}")
    assert {c.source for c in changes()} == {"scim"}
    assert len(changes()) == 4


# -- cost ------------------------------------------------------------------------------------------------------


def test_each_write_inserts_one_audit_row_and_one_outbox_event(api, create_user, create_group):
    user = create_user()
    group = create_group("G")
    add_member = patch_body({"op": "add", "path": "members", "value": [{"value": user["id"]}]})
    for method, url, body in [
        ("post", f"{BASE}/Users", user_body("new@example.com")),
        ("put", f"{BASE}/Users/{user['id']}", user_body(title="x")),
        ("patch", f"{BASE}/Users/{user['id']}", patch_body({"op": "replace", "path": "title", "value": "y"})),
        ("patch", f"{BASE}/Groups/{group['id']}", add_member),
        ("delete", f"{BASE}/Groups/{group['id']}", None),
    ]:
        with CaptureQueriesContext(connection) as queries:
            assert getattr(api, method)(url, body).status_code < 300
        assert inserts(queries).count("drf_scim_scimchange") == 1, (method, url)
        assert inserts(queries).count("drf_scim_scimevent") == 1, (method, url)


# -- retention -------------------------------------------------------------------------------------------------


def test_prune_deletes_the_changes_older_than_the_retention_in_batches(api, create_user):
    for n in range(5):
        create_user(f"u{n}@example.com")
    old = timezone.now() - timedelta(days=400)
    SCIMChange.objects.filter(pk__in=[c.pk for c in changes()[:3]]).update(timestamp=old)
    out = StringIO()
    call_command("scim_audit", "prune", "--dry-run", stdout=out)
    assert out.getvalue().strip() == "Would delete 3 change(s) older than 365 days."
    assert SCIMChange.objects.count() == 5
    call_command("scim_audit", "prune", "--batch-size", "2", stdout=out)
    assert "Deleted 3 change(s) older than 365 days." in out.getvalue()
    assert SCIMChange.objects.count() == 2
    assert prune(days=1) == 0
    SCIMChange.objects.update(timestamp=timezone.now() - timedelta(days=3))
    call_command("scim_audit", "prune", "--days", "2", stdout=out)
    assert SCIMChange.objects.count() == 0


@override_settings(DRF_SCIM={"AUDIT_RETENTION_DAYS": None})
def test_no_retention_keeps_everything(api, create_user):
    create_user()
    SCIMChange.objects.update(timestamp=timezone.now() - timedelta(days=4000))
    out = StringIO()
    call_command("scim_audit", "prune", stdout=out)
    assert "nothing pruned" in out.getvalue()
    assert SCIMChange.objects.count() == 1


@pytest.mark.parametrize("value", [0, -1, "365", True, 1.5])
def test_a_retention_that_is_no_number_of_days_is_refused_by_the_checks(value):
    from drf_scim.checks import check_settings

    with override_settings(DRF_SCIM={"AUDIT_RETENTION_DAYS": value}):
        assert "drf_scim.E004" in {error.id for error in check_settings()}
    with override_settings(DRF_SCIM={"AUDIT_RETENTION_DAYS": None}):
        assert not check_settings()


# -- admin -----------------------------------------------------------------------------------------------------


@pytest.fixture
def staff(db) -> Client:
    User.objects.create_superuser("admin", "admin@example.com", "pw")
    client = Client()
    client.login(username="admin", password="pw")
    return client


def test_the_admin_lists_the_trail_read_only_with_filters_in_fixed_queries(api, create_user, staff):
    create_user("one@example.com")
    url = "/admin/drf_scim/scimchange/"
    with CaptureQueriesContext(connection) as few:
        response = staff.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert "one@example.com" in page and "Add SCIM change" not in page
    for name in ("connection", "tenant", "resource_type", "operation__exact", "source__exact"):
        assert f"?{name}=" in page, name
    for n in range(10):
        create_user(f"many{n}@example.com")
    with CaptureQueriesContext(connection) as many:
        assert staff.get(url).status_code == 200
    assert len(many) == len(few)
    filtered = staff.get(url, {"operation__exact": "created", "resource_type": "User", "tenant": "''"})
    assert filtered.status_code == 200 and "many9@example.com" in filtered.content.decode()
    change = SCIMChange.objects.first()
    detail = staff.get(f"{url}{change.pk}/change/")
    assert detail.status_code == 200 and 'name="_save"' not in detail.content.decode()
    assert staff.post(f"{url}{change.pk}/delete/").status_code == 403


def test_the_user_and_group_pages_show_their_history_in_fixed_queries(api, create_user, create_group, staff):
    from drf_scim.models import SCIMGroup, SCIMUser

    user = create_user()
    group = create_group("Guides", [user["id"]])
    resource = SCIMUser.objects.get(scim_id=user["id"])
    with CaptureQueriesContext(connection) as few:
        page = staff.get(f"/admin/drf_scim/scimuser/{resource.pk}/change/")
    assert page.status_code == 200
    assert (
        "history (audit trail)" in page.content.decode().lower()
        and f"resource_id={user['id']}" in page.content.decode()
    )
    for n in range(30):
        api.patch(f"{BASE}/Users/{user['id']}", patch_body({"op": "replace", "path": "title", "value": f"t{n}"}))
    with CaptureQueriesContext(connection) as many:
        page = staff.get(f"/admin/drf_scim/scimuser/{resource.pk}/change/")
    assert len(many) == len(few)
    assert "t29" in page.content.decode() and "all changes" in page.content.decode()
    group_page = staff.get(f"/admin/drf_scim/scimgroup/{SCIMGroup.objects.get(scim_id=group['id']).pk}/change/")
    assert "created" in group_page.content.decode()


# -- one rendering for the audit row and the response ------------------------------------------------------------

COUNTED = {"USER_SERIALIZER": "tests.testapp.serializers.CountedUserSerializer"}


def counted_write(api, write: str, query: str = ""):
    """A write of a user whose renderingCount attribute says which rendering shows it."""
    if write == "post":
        return api.post(f"{BASE}/Users{query}", user_body())
    user = api.post(f"{BASE}/Users", user_body())
    if write == "put":
        return api.put(f"{BASE}/Users/{user.body['id']}{query}", user_body(title="Guide"))
    return api.patch(f"{BASE}/Users/{user.body['id']}{query}", patch_body({"op": "add", "path": "title", "value": "G"}))


@override_settings(DRF_SCIM=COUNTED)
@pytest.mark.parametrize("write", ["post", "put", "patch"])
def test_a_writes_response_is_the_rendering_its_audit_row_records(api, write):
    response = counted_write(api, write)
    assert response.status_code in (200, 201)
    recorded = SCIMChange.objects.latest("pk").changes["renderingCount"]["new"]
    assert response.body["renderingCount"] == recorded
    assert response.body["groups"] == []  # the relations are rendered for the response itself
    assert set(response.body) == set(api.get(f"{BASE}/Users/{response.body['id']}").body)


@override_settings(DRF_SCIM=COUNTED)
@pytest.mark.parametrize("write", ["post", "put", "patch"])
@pytest.mark.parametrize("query", ["?attributes=userName,renderingCount", "?excludedAttributes=emails,name"])
def test_a_write_asking_for_attributes_has_its_response_rendered_anew(api, write, query):
    response = counted_write(api, write, query)
    assert response.status_code in (200, 201)
    recorded = SCIMChange.objects.latest("pk").changes["renderingCount"]["new"]
    assert int(response.body["renderingCount"]) > int(recorded)
    if "excludedAttributes" in query:
        assert "emails" not in response.body and "name" not in response.body and "userName" in response.body
    else:
        assert set(response.body) == {"schemas", "id", "userName", "renderingCount"}
