"""Accounts made outside SCIM (before drf_scim, in the admin, by fixtures, by imports) are SCIM resources."""

from __future__ import annotations

import io
import json
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client, override_settings

from drf_scim.constants import ENTERPRISE_USER_SCHEMA, PATCH_OP_SCHEMA, USER_SCHEMA
from drf_scim.models import SCIMGroup, SCIMUser
from tests.helpers import BASE, user_body

pytestmark = pytest.mark.django_db
User = get_user_model()
MULTI_TENANT = {"TENANT_RESOLVER": "drf_scim.tenancy.application_tenant"}


def patch_op(*operations):
    return {"schemas": [PATCH_OP_SCHEMA], "Operations": list(operations)}


def quoted(value: str) -> str:
    return json.dumps(value)


def migrate() -> str:
    out = io.StringIO()
    call_command("migrate", verbosity=1, stdout=out)
    return out.getvalue()


def adopt(*args: str) -> str:
    out = io.StringIO()
    call_command("scim_adopt", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def existing_project():
    """A project that had 1,000 users and 20 groups before drf_scim: rows written without signals.

    Every 7th user is inactive, every 5th has no email, and "Casey.Jones" differs from an older
    "casey.jones" only in case.
    """
    users = [
        User(
            username=f"employee{n}@corp.example",
            first_name=f"First{n}",
            last_name=f"Last{n}",
            email="" if n % 5 == 0 else f"employee{n}@corp.example",
            is_active=n % 7 != 0,
        )
        for n in range(998)
    ]
    users += [User(username="casey.jones", email="casey@corp.example"), User(username="Casey.Jones")]
    users = User.objects.bulk_create(users)
    groups = Group.objects.bulk_create(Group(name=f"Department {n}") for n in range(20))
    Membership = User.groups.through
    Membership.objects.bulk_create(
        Membership(user_id=user.pk, group_id=groups[n % 20].pk) for n, user in enumerate(users[:600])
    )
    return {"users": users, "groups": groups}


# -- existing rows are resources -----------------------------------------------


def test_migrate_adopts_every_account_made_before_drf_scim(api, existing_project):
    assert api.get(f"{BASE}/Users?count=1").body["totalResults"] == 0  # no signal told drf_scim of them
    output = migrate()
    assert "drf_scim adopted 999 User resource(s); 1 left out" in output
    assert "drf_scim adopted 20 Group resource(s)" in output
    assert api.get(f"{BASE}/Users?count=1").body["totalResults"] == 999
    assert api.get(f"{BASE}/Groups?count=1").body["totalResults"] == 20
    assert "drf_scim adopted 0 User resource(s); 1 left out" in migrate()  # the conflict stays reported
    assert SCIMUser.objects.count() == 999


def test_an_adopted_account_reads_as_the_host_holds_it(api, existing_project):
    migrate()
    inactive = api.get(f"{BASE}/Users", {"filter": 'userName eq "employee7@corp.example"'}).body["Resources"][0]
    assert inactive["active"] is False
    assert inactive["name"] == {"givenName": "First7", "familyName": "Last7"}
    assert inactive["emails"] == [{"value": "employee7@corp.example", "type": "work", "primary": True}]
    assert [group["display"] for group in inactive["groups"]] == ["Department 7"]
    no_email = api.get(f"{BASE}/Users", {"filter": 'userName eq "employee10@corp.example"'}).body["Resources"][0]
    assert no_email["active"] is True
    assert "emails" not in no_email
    group = api.get(f"{BASE}/Groups", {"filter": 'displayName eq "Department 7"'}).body["Resources"][0]
    assert len(group["members"]) == 30
    assert inactive["id"] in {member["value"] for member in group["members"]}


def test_an_adopted_id_never_changes(api, existing_project):
    migrate()
    user = existing_project["users"][3]
    first = api.get(f"{BASE}/Users", {"filter": f"userName eq {quoted(user.username)}"}).body["Resources"][0]["id"]
    user.refresh_from_db()
    user.first_name = "Renamed"
    user.save()
    adopt()
    assert api.get(f"{BASE}/Users/{first}").body["name"]["givenName"] == "Renamed"
    assert str(SCIMUser.objects.get(user=user).scim_id) == first


def test_accounts_the_host_creates_later_are_resources_at_once(api):
    User.objects.create_user("signup@example.com", email="signup@example.com")
    found = api.get(f"{BASE}/Users", {"filter": 'emails[type eq "work"].value eq "SIGNUP@example.com"'}).body
    assert found["totalResults"] == 1
    assert found["Resources"][0]["userName"] == "signup@example.com"
    group = Group.objects.create(name="Admins")
    assert api.get(f"{BASE}/Groups", {"filter": 'displayName eq "admins"'}).body["totalResults"] == 1
    assert SCIMGroup.objects.get(group=group).version == 1


def test_staff_and_superusers_are_left_out_unless_every_account_is_adopted(api):
    call_command("createsuperuser", username="admin", email="admin@example.com", interactive=False, verbosity=0)
    User.objects.create(username="support", is_staff=True)
    assert api.get(f"{BASE}/Users").body["totalResults"] == 0  # a provisioning token cannot reach them
    response = api.post(f"{BASE}/Users", user_body("admin"))
    assert response.status_code == 409
    assert "not a resource of this client's tenant" in response.body["detail"]

    with override_settings(DRF_SCIM={"ADOPTION_TENANT": "drf_scim.adoption.every_account"}):
        assert "User: adopted 2," in adopt()
        body = api.get(f"{BASE}/Users", {"filter": 'userName eq "admin"'}).body
    assert body["totalResults"] == 1
    assert body["Resources"][0]["active"] is True


def test_a_fixture_is_adopted_when_it_is_loaded(api, tmp_path, django_capture_on_commit_callbacks):
    fixture = tmp_path / "people.json"
    people = [
        {"model": "auth.user", "pk": 9000 + n, "fields": {"username": f"fixture{n}", "password": "!"}} for n in range(3)
    ]
    fixture.write_text(json.dumps(people))
    with django_capture_on_commit_callbacks(execute=True):
        call_command("loaddata", str(fixture), verbosity=0)
    assert api.get(f"{BASE}/Users", {"filter": 'userName sw "fixture"'}).body["totalResults"] == 3


def test_a_fixture_with_its_scim_rows_keeps_them(api, tmp_path, django_capture_on_commit_callbacks):
    scim_id = uuid.uuid4()
    fixture = tmp_path / "people.json"
    fixture.write_text(
        json.dumps(
            [
                {"model": "auth.user", "pk": 9100, "fields": {"username": "kept", "password": "!"}},
                {
                    "model": "drf_scim.scimuser",
                    "pk": 9100,
                    "fields": {
                        "user": 9100,
                        "scim_id": str(scim_id),
                        "user_name_key": "kept",
                        "data": {},
                        "created": "2026-01-01T00:00:00Z",
                        "last_modified": "2026-01-01T00:00:00Z",
                    },
                },
            ]
        )
    )
    with django_capture_on_commit_callbacks(execute=True):
        call_command("loaddata", str(fixture), verbosity=0)
    assert api.get(f"{BASE}/Users", {"filter": 'userName eq "kept"'}).body["Resources"][0]["id"] == str(scim_id)


def test_adopted_accounts_are_replaced_patched_and_deleted_like_any_other(api, existing_project):
    migrate()
    user = existing_project["users"][1]
    found = api.get(f"{BASE}/Users", {"filter": f"userName eq {quoted(user.username)}"}).body["Resources"][0]
    replaced = api.put(f"{BASE}/Users/{found['id']}", user_body(user.username, displayName="Replaced", id=found["id"]))
    assert replaced.status_code == 200, replaced.body
    assert replaced.body["displayName"] == "Replaced"
    patched = api.patch(f"{BASE}/Users/{found['id']}", patch_op({"op": "replace", "path": "active", "value": False}))
    assert patched.status_code == 200 and patched.body["active"] is False
    assert api.delete(f"{BASE}/Users/{found['id']}").status_code == 204
    assert not User.objects.filter(pk=user.pk).exists()


def test_lists_and_reads_of_adopted_accounts_cost_what_they_cost_for_scim_made_ones(
    api, existing_project, create_user, django_assert_num_queries
):
    migrate()
    made = create_user("made-by-scim@example.com")
    adopted = api.get(f"{BASE}/Users", {"filter": 'userName eq "employee1@corp.example"'}).body["Resources"][0]
    for resource in (made, adopted):
        with django_assert_num_queries(2):  # token, row (with its groups)
            assert api.get(f"{BASE}/Users/{resource['id']}").status_code == 200
        with django_assert_num_queries(2):  # token, page (its size counts the results)
            lookup = {"filter": f"userName eq {quoted(resource['userName'])}"}
            assert api.get(f"{BASE}/Users", lookup).status_code == 200
    with django_assert_num_queries(3):
        assert len(api.get(f"{BASE}/Users?startIndex=500&count=100").body["Resources"]) == 100
    with django_assert_num_queries(3):
        page = api.get(f"{BASE}/Users?cursor&count=100&sortBy=userName").body
        assert len(page["Resources"]) == 100


# -- which tenant --------------------------------------------------------------


@override_settings(DRF_SCIM=MULTI_TENANT)
def test_a_multi_tenant_project_adopts_nothing_unless_told(api):
    User.objects.create(username="local")
    assert api.get(f"{BASE}/Users").body["totalResults"] == 0
    assert not SCIMUser.objects.exists()


def acme_for_corp_accounts(account):
    name = getattr(account, "username", None) or getattr(account, "name", "")
    return "acme" if "corp.example" in name or name.startswith("Department") else None


@override_settings(DRF_SCIM={**MULTI_TENANT, "ADOPTION_TENANT": "tests.test_adoption.acme_for_corp_accounts"})
def test_the_adoption_hook_decides_each_accounts_tenant(make_token, existing_project):
    from drf_scim.models import SCIMClient
    from tests.conftest import SCIMClient as Client_

    migrate()
    acme = Client_()
    acme.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(client='acme')}")
    SCIMClient.objects.create(
        client_id=acme_client_id("acme"),
        tenant="acme",
    )
    default = Client_()
    default.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(client='default')}")
    assert acme.get(f"{BASE}/Users?count=1").body["totalResults"] == 998
    assert acme.get(f"{BASE}/Groups?count=1").body["totalResults"] == 20
    assert default.get(f"{BASE}/Users?count=1").body["totalResults"] == 0  # casey.jones: adopted by none
    # An adopted account keeps its own username when the identity provider writes it back unchanged.
    found = acme.get(f"{BASE}/Users", {"filter": 'userName eq "employee1@corp.example"'}).body["Resources"][0]
    assert acme.put(f"{BASE}/Users/{found['id']}", user_body("employee1@corp.example")).status_code == 200
    assert User.objects.filter(username="employee1@corp.example").exists()


def acme_client_id(name):
    from oauth2_provider.models import get_application_model

    return get_application_model().objects.get(name=name).client_id


@override_settings(DRF_SCIM=MULTI_TENANT)
def test_a_name_held_outside_the_tenant_is_a_409_that_says_so_and_no_more(api):
    User.objects.create(username="admin", email="root@secret.example")
    response = api.post(f"{BASE}/Users", user_body("admin"))
    assert response.status_code == 409
    assert response.body["scimType"] == "uniqueness"
    assert response.body["detail"] == (
        "The userName 'admin' is taken by an account that is not a resource of this client's tenant; choose another."
    )
    assert "secret" not in json.dumps(response.body)


def test_a_name_held_in_the_tenant_is_the_usual_409(api, create_user):
    create_user("bjensen@example.com")
    response = api.post(f"{BASE}/Users", user_body("bjensen@example.com"))
    assert response.status_code == 409
    assert response.body["detail"] == "A User with userName 'bjensen@example.com' already exists."


# -- conflicts in real data ----------------------------------------------------


def test_of_two_names_equal_but_for_case_the_oldest_is_adopted_and_the_other_reported(api, existing_project):
    report = adopt("--dry-run")
    assert "User: would adopt 999, would refresh 0, left out (no tenant) 0, withdrawn 0, conflicts 1." in report
    casey, other = existing_project["users"][-2:]
    assert (
        f"conflict: user #{other.pk} (Casey.Jones): userName 'casey.jones' is held by user #{casey.pk} (casey.jones) "
        "in the default tenant. Rename one of them, then run manage.py scim_adopt again."
    ) in report
    assert not SCIMUser.objects.exists()  # a dry run writes nothing

    adopt()
    found = api.get(f"{BASE}/Users", {"filter": 'userName eq "CASEY.JONES"'}).body
    assert [resource["userName"] for resource in found["Resources"]] == ["casey.jones"]
    report = adopt()
    assert "conflicts 1." in report and f"is held by the SCIM resource {found['Resources'][0]['id']}" in report

    User.objects.filter(pk=other.pk).update(username="casey.jones.2")
    assert "User: adopted 1," in adopt()
    assert api.get(f"{BASE}/Users", {"filter": 'userName eq "casey.jones.2"'}).body["totalResults"] == 1


def test_a_rename_outside_scim_onto_a_taken_name_keeps_the_host_save_and_reports_it(api, create_user, caplog):
    create_user("alice@example.com")
    bob = User.objects.create(username="bob@example.com")
    bob.username = "ALICE@example.com"
    bob.save()  # the host's save succeeds; the name stays with the resource that holds it
    assert "userName 'alice@example.com' is held by the SCIM resource" in caplog.text
    assert api.get(f"{BASE}/Users", {"filter": 'userName eq "alice@example.com"'}).body["totalResults"] == 1
    assert "conflicts 1." in adopt("--dry-run")


def test_scim_adopt_catches_up_with_changes_that_sent_no_signal(api, existing_project):
    migrate()
    user = existing_project["users"][1]
    before = api.get(f"{BASE}/Users", {"filter": f"userName eq {quoted(user.username)}"}).body["Resources"][0]
    User.objects.filter(pk=user.pk).update(is_active=False, username="renamed@corp.example", email="new@corp.example")
    assert "User: adopted 0, refreshed 1," in adopt()
    after = api.get(f"{BASE}/Users/{before['id']}").body
    assert after["active"] is False
    assert after["meta"]["version"] != before["meta"]["version"]
    assert after["emails"] == [{"value": "new@corp.example", "type": "work", "primary": True}]
    lookup = api.get(f"{BASE}/Users", {"filter": 'userName eq "RENAMED@corp.example"'}).body
    assert [resource["id"] for resource in lookup["Resources"]] == [before["id"]]
    assert api.get(f"{BASE}/Users", {"filter": 'emails.value eq "new@corp.example"'}).body["totalResults"] == 1
    assert "refreshed 0," in adopt()


def test_adopting_nothing_leaves_every_account_out(api, existing_project):
    with override_settings(DRF_SCIM={"ADOPTION_TENANT": "drf_scim.adoption.no_tenant"}):
        assert "User: adopted 0, refreshed 0, left out (no tenant) 1000, withdrawn 0, conflicts 0." in adopt()
    assert api.get(f"{BASE}/Users").body["totalResults"] == 0


# -- changes made outside SCIM show through SCIM ----------------------------------


@pytest.fixture
def admin_client():
    staff = User.objects.create_superuser("operator", "operator@example.com", "pw")
    client = Client()
    client.force_login(staff)
    return client


def admin_form(user, **changes):
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on" if user.is_active else "",
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        "groups": [str(pk) for pk in user.groups.values_list("pk", flat=True)],
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value != ""}


def test_a_rename_or_deactivation_in_the_admin_moves_the_version_on(api, create_user, admin_client):
    created = create_user("bjensen@example.com")
    user = User.objects.get(username="bjensen@example.com")
    renaming = admin_form(user, username="barbara@example.com")
    response = admin_client.post(f"/admin/auth/user/{user.pk}/change/", renaming)
    assert response.status_code == 302, response.content[:2000]
    renamed = api.get(f"{BASE}/Users/{created['id']}").body
    assert renamed["userName"] == "barbara@example.com"
    assert renamed["meta"]["version"] != created["meta"]["version"]
    assert renamed["meta"]["lastModified"] > created["meta"]["lastModified"]
    assert api.get(f"{BASE}/Users", {"filter": 'userName eq "Barbara@example.com"'}).body["totalResults"] == 1
    stale = api.patch(
        f"{BASE}/Users/{created['id']}",
        patch_op({"op": "replace", "path": "title", "value": "x"}),
        HTTP_IF_MATCH=created["meta"]["version"],
    )
    assert stale.status_code == 412

    user.refresh_from_db()
    admin_client.post(f"/admin/auth/user/{user.pk}/change/", admin_form(user, is_active=""))
    deactivated = api.get(f"{BASE}/Users/{created['id']}").body
    assert deactivated["active"] is False
    assert deactivated["meta"]["version"] != renamed["meta"]["version"]


def test_a_save_that_changes_nothing_and_a_sign_in_keep_the_version(api, create_user, client):
    created = create_user("bjensen@example.com", password="Secret-123")
    user = User.objects.get(username="bjensen@example.com")
    user.save()
    assert client.login(username="bjensen@example.com", password="Secret-123")  # moves last_login
    assert api.get(f"{BASE}/Users/{created['id']}").body["meta"]["version"] == created["meta"]["version"]


def test_a_deletion_in_the_admin_is_a_404(api, create_user, admin_client):
    created = create_user()
    user = User.objects.get(username="bjensen@example.com")
    response = admin_client.post(f"/admin/auth/user/{user.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert api.get(f"{BASE}/Users/{created['id']}").status_code == 404


def test_members_changed_in_the_admin_move_the_groups_version_on(api, create_user, create_group, admin_client):
    member = create_user("member@example.com")
    group = create_group("Tour Guides")
    other = create_group("Staff")
    user = User.objects.get(username="member@example.com")
    staff = Group.objects.get(name="Staff")
    admin_client.post(f"/admin/auth/user/{user.pk}/change/", admin_form(user, groups=[str(staff.pk)]))
    joined = api.get(f"{BASE}/Groups/{other['id']}").body
    assert [m["value"] for m in joined["members"]] == [member["id"]]
    assert joined["meta"]["version"] != other["meta"]["version"]
    assert api.get(f"{BASE}/Groups/{group['id']}").body["meta"]["version"] == group["meta"]["version"]

    staff.user_set.remove(user)
    left = api.get(f"{BASE}/Groups/{other['id']}").body
    assert left["members"] == [] and left["meta"]["version"] != joined["meta"]["version"]
    user.groups.add(staff)
    user.groups.clear()
    assert api.get(f"{BASE}/Groups/{other['id']}").body["meta"]["version"] not in (
        left["meta"]["version"],
        joined["meta"]["version"],
    )


# -- the identity providers' first sync -----------------------------------------


def test_entra_first_cycle_matches_every_existing_account(api, existing_project, django_assert_num_queries):
    migrate()
    users = existing_project["users"][:998]
    ids = {}
    for n, user in enumerate(users):
        with django_assert_num_queries(2):
            found = api.get(f"{BASE}/Users", {"filter": f"userName eq {quoted(user.username)}"}).body
        assert found["totalResults"] == 1, user.username
        resource = found["Resources"][0]
        assert resource["active"] is (n % 7 != 0)
        ids[user.pk] = resource["id"]
        if n % 50 == 0:  # Entra also matches by externalId and by the work email
            assert api.get(f"{BASE}/Users", {"filter": f'externalId eq "aad-{n}"'}).body["totalResults"] == 0
            if user.email:
                by_email = {"filter": f'emails[type eq "work"].value eq {quoted(user.email)}'}
                assert api.get(f"{BASE}/Users", by_email).body["Resources"][0]["id"] == resource["id"]
        operations = [
            {"op": "Add", "path": "externalId", "value": f"aad-{n}"},
            {"op": "Replace", "path": "name.familyName", "value": f"Family{n}"},
            {"op": "Add", "path": f"{ENTERPRISE_USER_SCHEMA}:department", "value": "Retail"},
        ]
        response = api.patch(f"{BASE}/Users/{resource['id']}", patch_op(*operations))
        assert response.status_code == 200, response.body
    assert api.get(f"{BASE}/Users", {"filter": 'externalId eq "aad-7"'}).body["Resources"][0]["active"] is False
    assert User.objects.count() == 1000  # nobody was created twice

    for n, group in enumerate(existing_project["groups"]):
        query = {"filter": f"displayName eq {quoted(group.name)}", "excludedAttributes": "members"}
        found = api.get(f"{BASE}/Groups", query).body
        assert found["totalResults"] == 1 and "members" not in found["Resources"][0]
        new_members = [{"value": ids[user.pk]} for user in users[600 + n * 10 : 610 + n * 10]]
        response = api.patch(
            f"{BASE}/Groups/{found['Resources'][0]['id']}",
            patch_op({"op": "Add", "path": "members", "value": new_members}),
        )
        assert response.status_code == 204
        assert group.user_set.count() == 40
    assert Group.objects.count() == 20


def test_okta_first_cycle_matches_replaces_and_deactivates_existing_accounts(api, existing_project):
    migrate()
    for user in existing_project["users"][:100]:
        found = api.get(f"{BASE}/Users", {"filter": f"userName eq {quoted(user.username)}", "count": 100}).body
        assert found["totalResults"] == 1
        resource = found["Resources"][0]
        body = {
            **resource,
            "schemas": [USER_SCHEMA],
            "name": {"givenName": "Okta", "familyName": user.last_name},
            "emails": [{"value": f"okta.{user.username}", "type": "work", "primary": True}],
            "groups": [],
            "password": "Pa55-word!",
        }
        replaced = api.put(f"{BASE}/Users/{resource['id']}", body)
        assert replaced.status_code == 200, replaced.body
        assert replaced.body["name"]["givenName"] == "Okta"
        deactivate = patch_op({"op": "replace", "value": {"active": False}})
        assert api.patch(f"{BASE}/Users/{resource['id']}", deactivate).body["active"] is False
    assert not User.objects.filter(username__startswith="employee1@", is_active=True).exists()
    assert User.objects.count() == 1000
    assert User.objects.get(username="employee3@corp.example").email == "okta.employee3@corp.example"


def test_a_group_renamed_in_the_admin_is_found_by_its_new_name(api, create_group, admin_client):
    created = create_group("Tour Guides")
    group = Group.objects.get(name="Tour Guides")
    assert admin_client.post(f"/admin/auth/group/{group.pk}/change/", {"name": "Guides"}).status_code == 302
    found = api.get(f"{BASE}/Groups", {"filter": 'displayName eq "GUIDES"'}).body["Resources"]
    assert [resource["id"] for resource in found] == [created["id"]]
    assert found[0]["meta"]["version"] != created["meta"]["version"]
    assert api.get(f"{BASE}/Groups", {"filter": 'displayName eq "Tour Guides"'}).body["totalResults"] == 0


def test_an_adopted_account_made_staff_stops_being_a_resource(api):
    user = User.objects.create_user("newhire@example.com")  # the admin's "Add user" saves it first...
    found = api.get(f"{BASE}/Users", {"filter": 'userName eq "newhire@example.com"'}).body["Resources"][0]
    user.is_staff = True  # ...and its second page makes it staff
    user.save()
    assert api.get(f"{BASE}/Users/{found['id']}").status_code == 404
    reset = patch_op({"op": "replace", "path": "password", "value": "Taken-0ver!"})
    assert api.patch(f"{BASE}/Users/{found['id']}", reset).status_code == 404
    assert not SCIMUser.objects.filter(user=user).exists()
    user.is_staff = False
    user.save()
    assert api.get(f"{BASE}/Users", {"filter": 'userName eq "newhire@example.com"'}).body["totalResults"] == 1


def test_a_user_an_identity_provider_made_stays_its_resource_when_made_staff(api, create_user):
    created = create_user("provisioned@example.com")
    user = User.objects.get(username="provisioned@example.com")
    user.is_staff = True
    user.save()
    assert api.get(f"{BASE}/Users/{created['id']}").status_code == 200  # so that it can still deprovision it


def test_groups_that_carry_permissions_are_left_out_by_default(api):
    from django.contrib.auth.models import Permission

    admins = Group.objects.create(name="Admins")
    admins.permissions.add(Permission.objects.get(codename="change_user"))
    admins.save()
    Group.objects.create(name="Readers")
    names = [group["displayName"] for group in api.get(f"{BASE}/Groups").body["Resources"]]
    assert names == ["Readers"]


def test_a_row_from_before_host_state_is_recorded_without_a_new_version(api, create_user):
    created = create_user("before@example.com")
    SCIMUser.objects.filter(scim_id=created["id"]).update(host_state="")  # as migrated from an older drf_scim
    user = User.objects.get(username="before@example.com")
    user.save()
    assert api.get(f"{BASE}/Users/{created['id']}").body["meta"]["version"] == created["meta"]["version"]
    assert "refreshed 0," in adopt()
    user.first_name = "Changed"
    user.save()
    assert api.get(f"{BASE}/Users/{created['id']}").body["meta"]["version"] != created["meta"]["version"]


def test_a_primary_email_too_long_for_the_column_survives_a_host_save(api):
    long_email = "x" * 250 + "@example.com"
    created = api.post(f"{BASE}/Users", user_body("long@example.com", emails=[{"value": long_email, "primary": True}]))
    assert created.status_code == 201
    user = User.objects.get(username="long@example.com")
    assert user.email == ""
    user.first_name = "Renamed"
    user.save()
    assert api.get(f"{BASE}/Users/{created.body['id']}").body["emails"][0]["value"] == long_email


def test_a_host_save_locks_the_scim_row_as_scim_writes_do(api, create_user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    create_user("locked@example.com")
    user = User.objects.get(username="locked@example.com")
    user.first_name = "Changed"
    with CaptureQueriesContext(connection) as queries:
        user.save()
    reads = [q["sql"] for q in queries if q["sql"].startswith("SELECT") and "drf_scim_scimuser" in q["sql"]]
    if connection.features.has_select_for_update:
        assert reads and all("FOR UPDATE" in sql for sql in reads)
