"""Management commands: scim_token, scim_adopt's options, the demo app's scim_seed, the sample site's demo_admin."""

from __future__ import annotations

import re
from io import StringIO
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command, find_commands, get_commands, load_command_class
from django.test import Client
from oauth2_provider.models import get_access_token_model, get_application_model

from drf_scim.models import SCIMClient as TenantOfClient
from tests.conftest import SCIMClient
from tests.helpers import BASE, user_body


def run(*args: str) -> list[str]:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip().splitlines()


@pytest.mark.django_db
class TestScimToken:
    def test_prints_a_working_token_as_the_last_line(self):
        lines = run("scim_token", "--client", "Okta")
        token = lines[-1]
        assert "Created OAuth2 application 'Okta'" in lines[0]
        client = SCIMClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        assert client.get(f"{BASE}/Users").status_code == 200
        assert client.post(f"{BASE}/Users", user_body()).status_code == 201

    def test_reuses_the_application_of_a_client(self):
        first = run("scim_token", "--client", "Entra")[-1]
        lines = run("scim_token", "--client", "Entra", "--scopes", "scim:read", "--expires-days", "7")
        assert "Reused" in lines[0]
        assert lines[-1] != first
        assert get_application_model().objects.filter(name="Entra").count() == 1
        token = get_access_token_model().objects.get(scope="scim:read")
        client = SCIMClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {lines[-1]}")
        assert client.get(f"{BASE}/Users").status_code == 200
        assert client.post(f"{BASE}/Users", user_body()).status_code == 403
        assert (token.expires - token.created).days in (6, 7)

    @pytest.mark.parametrize("args", [["--client", " "], ["--client", "x", "--expires-days", "0"]])
    def test_rejects_bad_arguments(self, args):
        with pytest.raises(CommandError):
            call_command("scim_token", *args, stdout=StringIO())

    @pytest.mark.parametrize("scopes", ["scim:read,scim:write", "scim:read, scim:write", " scim:read  scim:write "])
    def test_scopes_separated_by_commas_or_spaces(self, scopes):
        lines = run("scim_token", "--client", "Okta", "--scopes", scopes)
        assert lines[1].startswith("Scopes: scim:read scim:write;")
        client = token_client(lines[-1])
        assert client.get(f"{BASE}/Users").status_code == 200
        assert client.post(f"{BASE}/Users", user_body()).status_code == 201

    @pytest.mark.parametrize(
        ("scopes", "named"), [("scim:admin", " 'scim:admin'"), ("scim:read,admin write", "s 'admin', 'write'")]
    )
    def test_unknown_scopes_are_refused_with_the_valid_ones(self, scopes, named):
        with pytest.raises(CommandError) as error:
            run("scim_token", "--client", "Okta", "--scopes", scopes)
        assert str(error.value) == (
            f"Unknown scope{named}: the valid ones (OAUTH2_PROVIDER['SCOPES']) are scim:read, scim:write, "
            "scim:users:read, scim:users:write, scim:groups:read, scim:groups:write, scim:events."
        )
        assert not get_application_model().objects.exists()
        assert not get_access_token_model().objects.exists()

    def test_default_scopes_the_project_does_not_configure_are_refused(self, settings):
        settings.OAUTH2_PROVIDER = {"SCOPES": {"read": "Reading scope", "write": "Writing scope"}}
        with pytest.raises(CommandError) as error:
            run("scim_token", "--client", "Okta")
        assert str(error.value) == (
            "The default scopes (DRF_SCIM's READ_SCOPE and WRITE_SCOPE) are not all OAuth2 scopes of this project, "
            "'scim:read', 'scim:write': the valid ones (OAUTH2_PROVIDER['SCOPES']) are read, write. "
            "Add them to OAUTH2_PROVIDER['SCOPES'], or name the scopes of the token."
        )
        settings.DRF_SCIM = {"READ_SCOPE": "read", "WRITE_SCOPE": "write"}
        assert run("scim_token", "--client", "Okta")[1].startswith("Scopes: read write;")

    def test_no_scope_is_refused(self):
        with pytest.raises(CommandError, match="names no scope"):
            run("scim_token", "--client", "Okta", "--scopes", " , ")

    def test_tenant_is_refused_without_a_tenant_resolver(self):
        with pytest.raises(CommandError) as error:
            run("scim_token", "--client", "Okta", "--tenant", "acme")
        assert "set DRF_SCIM['TENANT_RESOLVER']" in str(error.value)
        assert not get_application_model().objects.exists()
        assert not TenantOfClient.objects.exists()


def token_client(token: str) -> SCIMClient:
    client = SCIMClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def total(client: SCIMClient) -> int:
    response = client.get(f"{BASE}/Users")
    assert response.status_code == 200, response.body
    return response.body["totalResults"]


@pytest.mark.django_db
class TestScimTokenTenants:
    @pytest.fixture(autouse=True)
    def multi_tenant(self, settings):
        settings.DRF_SCIM = {"TENANT_RESOLVER": "drf_scim.tenancy.application_tenant"}

    def test_a_client_keeps_its_tenant_unless_moved(self):
        acme = token_client(run("scim_token", "--client", "Acme", "--tenant", "acme")[-1])
        assert acme.post(f"{BASE}/Users", user_body()).status_code == 201
        with pytest.raises(CommandError) as error:
            run("scim_token", "--client", "Acme", "--tenant", "globex")
        assert str(error.value) == (
            "Client 'Acme' provisions the tenant 'acme': add --move-tenant to move it, with its tokens, "
            "to the tenant 'globex'."
        )
        assert total(acme) == 1
        assert get_access_token_model().objects.count() == 1
        lines = run("scim_token", "--client", "Acme")  # no --tenant: a new token in the same tenant
        assert lines[0].endswith(", tenant 'acme').")
        assert total(token_client(lines[-1])) == 1

    def test_moved_with_move_tenant_and_back_to_the_default_tenant(self):
        acme = token_client(run("scim_token", "--client", "Acme", "--tenant", "acme")[-1])
        assert acme.post(f"{BASE}/Users", user_body()).status_code == 201
        lines = run("scim_token", "--client", "Acme", "--tenant", "globex", "--move-tenant")
        assert lines[0] == "Moved 'Acme' from the tenant 'acme' to the tenant 'globex'."
        assert total(acme) == 0  # its tokens moved with it
        with pytest.raises(CommandError, match="provisions the tenant 'globex': add --move-tenant"):
            run("scim_token", "--client", "Acme", "--tenant", "")
        lines = run("scim_token", "--client", "Acme", "--tenant", "", "--move-tenant")
        assert lines[0] == "Moved 'Acme' from the tenant 'globex' to the default tenant."
        assert list(TenantOfClient.objects.values_list("tenant", flat=True)) == [""]
        assert "tenant=-" in run("scim_token", "--list")[0]
        back = run("scim_token", "--client", "Acme", "--tenant", "acme", "--move-tenant")
        assert total(token_client(back[-1])) == 1

    def test_the_same_tenant_again_needs_no_flag(self):
        run("scim_token", "--client", "Acme", "--tenant", "acme")
        assert run("scim_token", "--client", "Acme", "--tenant", " acme ")[0].startswith("Reused")
        assert ", tenant" not in run("scim_token", "--client", "Default", "--tenant", "")[0]
        assert dict(TenantOfClient.objects.values_list("tenant", "client_id")).keys() == {"acme", ""}

    def test_move_tenant_needs_tenant(self):
        with pytest.raises(CommandError, match="--move-tenant needs --tenant"):
            run("scim_token", "--client", "Acme", "--move-tenant")


@pytest.mark.parametrize("name", ["scim_token", "scim_adopt", "scim_seed", "demo_admin"])
def test_every_option_has_help(name):
    parser = load_command_class(get_commands()[name], name).create_parser("manage.py", name)
    missing = [action.option_strings for action in parser._actions if not action.help]
    assert missing == []


def test_scim_seed_comes_from_the_demo_app_only():
    """drf_scim itself ships no demo data command: a host opts in with drf_scim.contrib.demo."""
    assert get_commands()["scim_seed"] == "drf_scim.contrib.demo"
    assert "scim_seed" not in find_commands(str(Path(apps.get_app_config("drf_scim").path) / "management"))


@pytest.mark.django_db
def test_scim_seed_creates_users_and_groups(api):
    assert (
        run("scim_seed", "--users", "25", "--groups", "3", "--big-group", "20")[-1] == "Seeded 25 users and 4 groups."
    )
    users = api.get(f"{BASE}/Users?count=1").body
    assert users["totalResults"] == 25
    assert users["Resources"][0]["userName"] == "user1@example.com"
    assert users["Resources"][0]["emails"] == [{"value": "user1@example.com", "type": "work", "primary": True}]
    groups = api.get(f"{BASE}/Groups").body["Resources"]
    assert [len(g["members"]) for g in groups] == [10, 10, 10, 20]
    assert groups[-1]["displayName"] == "big"
    assert "Already seeded" in run("scim_seed")[-1]
    assert get_user_model().objects.count() == 25


@pytest.mark.django_db
class TestDemoAdmin:
    """The sample site's demo_admin: the login `make run` prints opens the Django admin."""

    def login(self, username: str, password: str) -> Client:
        browser = Client()
        response = browser.post("/admin/login/?next=/admin/", {"username": username, "password": password})
        assert response.status_code == 302, response.content
        assert response["Location"] == "/admin/"
        return browser

    def test_the_printed_login_opens_the_admin_and_is_created_once(self, settings, api):
        settings.DEBUG = True
        lines = run("demo_admin")
        assert lines == ["Created the demo superuser 'admin'.", "user admin, password admin"]
        assert self.login("admin", "admin").get("/admin/").status_code == 200
        assert run("demo_admin") == ["user admin, password admin"]
        assert get_user_model().objects.filter(username="admin", is_superuser=True).count() == 1
        assert api.get(f'{BASE}/Users?filter=userName eq "admin"').body["totalResults"] == 0  # staff: not adopted

    def test_a_changed_password_is_kept_and_not_printed(self, settings):
        settings.DEBUG = True
        run("demo_admin", "--password", "first-one")
        assert run("demo_admin") == ["user admin, password unchanged (manage.py changepassword admin resets it)"]
        self.login("admin", "first-one")

    def test_refused_without_debug(self, settings):
        settings.DEBUG = False
        with pytest.raises(CommandError, match="DJANGO_DEBUG=1"):
            run("demo_admin")
        assert not get_user_model().objects.exists()


@pytest.mark.django_db
def test_the_urls_make_run_prints_answer(anon):
    """Every http://$(HOST):$(PORT)/... URL of `make run` is served by the sample site."""
    makefile = (Path(__file__).resolve().parents[1] / "Makefile").read_text()
    paths = set(re.findall(r"http://\$\(HOST\):\$\(PORT\)(/[^\s'\"]*)", makefile))
    assert {"/scim/v2", "/scim/v2/Users", "/api/docs/", "/admin/"} <= paths
    answers = {path: anon.get(path) for path in paths}
    assert answers["/api/docs/"].status_code == 200
    assert b"swagger-ui" in answers["/api/docs/"].content
    assert answers["/admin/"].status_code == 302
    assert answers["/scim/v2/Users"].status_code == 401
