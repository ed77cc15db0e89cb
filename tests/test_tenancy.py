"""Multi-tenancy: each OAuth2 client provisions its own tenant, and tenants never see each other."""

from __future__ import annotations

import uuid
from io import StringIO
from urllib.parse import quote

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import override_settings

from drf_scim.constants import ENTERPRISE_USER_SCHEMA, PATCH_OP_SCHEMA
from tests.conftest import SCIMClient
from tests.helpers import BASE, group_body, user_body

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def multi_tenant():
    with override_settings(DRF_SCIM={"TENANT_RESOLVER": "drf_scim.tenancy.application_tenant"}):
        yield


def client_for(name: str, tenant: str) -> SCIMClient:
    out = StringIO()
    call_command("scim_token", "--client", name, "--tenant", tenant, stdout=out)
    client = SCIMClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {out.getvalue().strip().splitlines()[-1]}")
    return client


@pytest.fixture
def acme():
    return client_for("Acme Entra", "acme")


@pytest.fixture
def globex():
    return client_for("Globex Okta", "globex")


@pytest.fixture
def world(acme, globex):
    """The same userName and group name in both tenants, plus one user of Globex only."""
    a = acme.post(f"{BASE}/Users", user_body("shared@example.com", displayName="Acme's")).body
    g = globex.post(f"{BASE}/Users", user_body("shared@example.com", displayName="Globex's")).body
    secret = globex.post(f"{BASE}/Users", user_body("secret@globex.com", title="CFO")).body
    a_group = acme.post(f"{BASE}/Groups", group_body("Staff", [a["id"]])).body
    g_group = globex.post(f"{BASE}/Groups", group_body("Staff", [g["id"], secret["id"]])).body
    for body in (a, g, secret, a_group, g_group):
        assert "id" in body, body
    return {"acme_user": a, "globex_user": g, "secret": secret, "acme_group": a_group, "globex_group": g_group}


def names(client, query="", endpoint="Users"):
    response = client.get(f"{BASE}/{endpoint}{query}")
    assert response.status_code == 200, response.body
    return [r.get("userName") or r.get("displayName") for r in response.body["Resources"]]


def test_user_names_and_group_names_are_unique_per_tenant(acme, world):
    assert world["acme_user"]["userName"] == world["globex_user"]["userName"] == "shared@example.com"
    assert acme.post(f"{BASE}/Users", user_body("SHARED@example.com")).status_code == 409
    assert acme.post(f"{BASE}/Groups", group_body("staff")).status_code == 409
    stored = set(get_user_model().objects.values_list("username", flat=True))
    assert stored == {"acme\x1fshared@example.com", "globex\x1fshared@example.com", "globex\x1fsecret@globex.com"}
    assert set(Group.objects.values_list("name", flat=True)) == {"acme\x1fStaff", "globex\x1fStaff"}


def test_lists_and_reads_are_scoped(acme, globex, world):
    assert names(acme) == ["shared@example.com"]
    assert names(globex) == ["shared@example.com", "secret@globex.com"]
    assert acme.get(f"{BASE}/Users/{world['acme_user']['id']}").body["displayName"] == "Acme's"
    assert acme.get(f"{BASE}/Users/{world['acme_user']['id']}").body["groups"][0]["display"] == "Staff"
    assert names(acme, endpoint="Groups") == ["Staff"]


@pytest.mark.parametrize(
    "text",
    [
        'userName eq "secret@globex.com"',
        'userName eq "secret@globex.com" or userName pr',
        'not (userName eq "shared@example.com")',
        'title eq "CFO" or displayName eq "Acme\'s"',
        'userName sw "s"',
    ],
)
def test_filters_never_find_another_tenants_users(acme, world, text):
    assert "secret@globex.com" not in names(acme, "?filter=" + quote(text))
    assert "secret@globex.com" not in [
        r.get("userName") for r in acme.post(f"{BASE}/.search", {"filter": text}).body["Resources"]
    ]
    assert "secret@globex.com" not in [
        r.get("userName") for r in acme.post(f"{BASE}/Users/.search", {"filter": text}).body["Resources"]
    ]


def test_ids_of_another_tenant_answer_404(acme, world):
    secret = world["secret"]["id"]
    group = world["globex_group"]["id"]
    assert acme.get(f"{BASE}/Users/{secret}").status_code == 404
    assert acme.put(f"{BASE}/Users/{secret}", user_body("x")).status_code == 404
    patch = {"schemas": [PATCH_OP_SCHEMA], "Operations": [{"op": "replace", "path": "title", "value": "x"}]}
    assert acme.patch(f"{BASE}/Users/{secret}", patch).status_code == 404
    assert acme.delete(f"{BASE}/Users/{secret}").status_code == 404
    assert acme.get(f"{BASE}/Groups/{group}").status_code == 404
    assert acme.put(f"{BASE}/Groups/{group}", group_body("Taken over")).status_code == 404
    rename = {"schemas": [PATCH_OP_SCHEMA], "Operations": [{"op": "replace", "path": "displayName", "value": "X"}]}
    assert acme.patch(f"{BASE}/Groups/{group}", rename).status_code == 404
    assert acme.delete(f"{BASE}/Groups/{group}").status_code == 404
    assert names(acme, "?filter=" + quote(f'id eq "{secret}"')) == []
    assert get_user_model().objects.filter(username="globex\x1fsecret@globex.com").exists()


def test_another_tenants_user_cannot_be_added_or_referenced(acme, world):
    secret = world["secret"]["id"]
    unknown = str(uuid.uuid4())
    group = world["acme_group"]["id"]
    details = []
    for member in (secret, unknown):
        op = {"op": "add", "path": "members", "value": [{"value": member}]}
        response = acme.patch(f"{BASE}/Groups/{group}", {"schemas": [PATCH_OP_SCHEMA], "Operations": [op]})
        assert response.status_code == 400
        details.append(response.body["detail"].replace(member, "<id>"))
        assert acme.post(f"{BASE}/Groups", group_body("New", [member])).status_code == 400
        manager = {ENTERPRISE_USER_SCHEMA: {"manager": member}}
        assert acme.post(f"{BASE}/Users", user_body("new@example.com", **manager)).status_code == 400
    assert details[0] == details[1]  # indistinguishable from an id that does not exist
    assert [m["value"] for m in acme.get(f"{BASE}/Groups/{group}").body["members"]] == [world["acme_user"]["id"]]


def test_group_filters_and_members_stay_in_the_tenant(acme, globex, world):
    secret = world["secret"]["id"]
    assert names(acme, "?filter=" + quote(f'members[value eq "{secret}"]'), "Groups") == []
    assert names(globex, "?filter=" + quote(f'members[value eq "{secret}"]'), "Groups") == ["Staff"]
    assert names(acme, "?filter=" + quote('displayName eq "staff"'), "Groups") == ["Staff"]


def test_single_tenant_clients_see_only_the_default_tenant(world, api):
    assert names(api) == []


def test_tenant_lookup_costs_one_query(acme, world, django_assert_num_queries):
    with django_assert_num_queries(4):  # token, tenant, COUNT, page (with the groups)
        acme.get(f"{BASE}/Users")


def test_command_lists_and_revokes(acme, world):
    out = StringIO()
    call_command("scim_token", "--list", stdout=out)
    listing = out.getvalue()
    assert "Acme Entra" in listing
    assert "tenant=acme" in listing
    assert "Globex Okta" in listing
    token = acme._credentials["HTTP_AUTHORIZATION"].split()[1]
    assert token not in listing
    out = StringIO()
    call_command("scim_token", "--client", "Acme Entra", "--revoke", stdout=out)
    assert "Revoked 1 token" in out.getvalue()
    assert acme.get(f"{BASE}/Users").status_code == 401


def test_the_default_tenant_cannot_probe_or_squat_other_tenants_names(api, globex, world):
    for body, endpoint in (
        (user_body("globex\x1fsecret@globex.com"), "Users"),
        (user_body("globex:secret@globex.com"), "Users"),
        (group_body("globex\x1fStaff"), "Groups"),
    ):
        response = api.post(f"{BASE}/{endpoint}", body)
        assert response.status_code in (201, 400), response.body
        assert response.status_code != 409
    assert globex.post(f"{BASE}/Users", user_body("newhire@globex.com")).status_code == 201


def test_put_with_a_projection_keeps_rows_the_tenant_does_not_see(acme, world):
    group = world["acme_group"]["id"]
    staff = Group.objects.get(name="acme\x1fStaff")
    staff.user_set.add(get_user_model().objects.get(username="globex\x1fsecret@globex.com"))
    local = get_user_model().objects.create(username="local")
    staff.user_set.add(local)
    response = acme.put(
        f"{BASE}/Groups/{group}?excludedAttributes=members", group_body("Staff", [world["acme_user"]["id"]])
    )
    assert response.status_code == 200
    assert set(staff.user_set.values_list("username", flat=True)) == {
        "acme\x1fshared@example.com",
        "globex\x1fsecret@globex.com",
        "local",
    }


def test_a_manager_in_another_tenant_is_never_shown(acme, world):
    from drf_scim.models import SCIMUser

    a_user, secret = world["acme_user"]["id"], world["secret"]["id"]
    SCIMUser.objects.filter(scim_id=a_user).update(manager=SCIMUser.objects.get(scim_id=secret))
    body = acme.get(f"{BASE}/Users/{a_user}").body
    assert ENTERPRISE_USER_SCHEMA not in body
    assert names(acme, "?filter=" + quote(f'{ENTERPRISE_USER_SCHEMA}:manager.value eq "{secret}"')) == []
    patch = {"schemas": [PATCH_OP_SCHEMA], "Operations": [{"op": "replace", "path": "title", "value": "x"}]}
    assert acme.patch(f"{BASE}/Users/{a_user}", patch).status_code == 200


def test_manager_display_name_never_shows_the_stored_prefix(acme):
    boss = acme.post(f"{BASE}/Users", user_body("boss@acme.com")).body
    report = acme.post(
        f"{BASE}/Users", user_body("report@acme.com", **{ENTERPRISE_USER_SCHEMA: {"manager": boss["id"]}})
    ).body
    path = f"{ENTERPRISE_USER_SCHEMA}:manager.displayName"
    body = acme.get(f"{BASE}/Users/{report['id']}?attributes={path}").body
    assert body[ENTERPRISE_USER_SCHEMA]["manager"]["displayName"] == "boss@acme.com"


@pytest.mark.parametrize("tenant", ["acme:eu", "a b", "x\x1fy", "x" * 101])
def test_tenant_names_are_checked(tenant):
    from django.core.management import CommandError

    with pytest.raises(CommandError):
        call_command("scim_token", "--client", "bad", "--tenant", tenant, stdout=StringIO())


def test_custom_resource_types_are_unique_per_tenant(acme, globex):
    for client in (acme, globex):
        assert client.post(f"{BASE}/Devices", {"serialNumber": "X1"}).status_code == 201
    assert acme.post(f"{BASE}/Devices", {"serialNumber": "X1"}).status_code == 409
