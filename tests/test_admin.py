"""The Django admin: provisioning connections with their tokens and activity, and SCIM users and groups read-only."""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_application_model

from drf_scim import activity, connections
from drf_scim.models import SCIMActivity, SCIMClient, SCIMGroup, SCIMUser
from tests.conftest import SCIMClient as APIClient
from tests.helpers import BASE, group_body, user_body

CONNECTIONS = "/admin/drf_scim/scimclient/"
MULTI_TENANT = {"TENANT_RESOLVER": "drf_scim.tenancy.application_tenant"}


@pytest.fixture(autouse=True)
def fresh_tally():
    activity.recorder.forget()
    yield
    activity.recorder.forget()


def scim_token(*args: str) -> str:
    out = StringIO()
    call_command("scim_token", *args, stdout=out)
    return out.getvalue().strip().splitlines()[-1]


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def shown_token(response) -> str:
    match = re.search(r'id="scim-token"', response.content.decode())
    assert match, response.content.decode()
    return re.search(r'value="([^"]+)" id="scim-token"', response.content.decode()).group(1)


def send_action(client, url: str, data: dict | None = None):
    """Open a token form (issue, rotate) and send it, as a person does: its one-time value goes along."""
    page = client.get(url).content.decode()
    once = re.search(r'name="once" value="([^"]+)"', page).group(1)
    return client.post(url, {"once": once, **(data or {})})


def connection_of(name: str) -> SCIMClient:
    return SCIMClient.objects.get(client_id=get_application_model().objects.get(name=name).client_id)


def row_of(response, name: str) -> str:
    """The changelist row of the connection ``name``, its cells' text separated by |."""
    html = response.content.decode()
    for row in re.findall(r"<tr>(.*?)</tr>", html, re.S):
        if f">{name}<" in row:
            cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)
            return "|".join(re.sub(r"<[^>]+>", "", cell).strip() for cell in cells)
    raise AssertionError(f"no row for {name!r} in the connections list")


@pytest.mark.django_db
class TestConnectionsList:
    def test_shows_tenant_scopes_token_expiry_last_request_and_counts(self, admin_client, settings):
        settings.DRF_SCIM = MULTI_TENANT
        entra = bearer(scim_token("--client", "Entra", "--tenant", "acme"))
        scim_token("--client", "Okta", "--scopes", "scim:read", "--expires-days", "30")
        assert entra.post(f"{BASE}/Users", user_body()).status_code == 201
        assert entra.get(f"{BASE}/Users").status_code == 200
        assert entra.get(f"{BASE}/Users/not-there").status_code == 404

        response = admin_client.get(CONNECTIONS)
        assert response.status_code == 200
        entra_row = row_of(response, "Entra").split("|")
        assert entra_row[2:5] == ["acme", "scim:read scim:write", entra_row[4]]
        assert entra_row[4].startswith(
            f"{get_access_token_model().objects.get(scope='scim:read scim:write').expires:%Y-}"
        )
        assert entra_row[5] != "never"
        assert entra_row[6:] == ["3", "3", "1"]  # requests today, over 7 days, errors over 7 days
        okta_row = row_of(response, "Okta").split("|")
        assert okta_row[2:4] == ["(default)", "scim:read"]
        assert okta_row[5:] == ["never", "0", "0", "0"]

    def test_costs_the_same_queries_for_one_connection_as_for_many(self, admin_client):
        scim_token("--client", "First")
        admin_client.get(CONNECTIONS)  # the session and content types, once
        with CaptureQueriesContext(connection) as one:
            assert admin_client.get(CONNECTIONS).status_code == 200
        for name in ("Second", "Third", "Fourth"):
            bearer(scim_token("--client", name)).get(f"{BASE}/Users")
        with CaptureQueriesContext(connection) as four:
            response = admin_client.get(CONNECTIONS)
        assert "Fourth" in response.content.decode()
        assert len(four) == len(one)

    def test_shows_stored_activity_added_to_what_this_process_has_not_written(self, admin_client):
        client = bearer(scim_token("--client", "Entra"))
        client.get(f"{BASE}/Users")
        activity.recorder.flush()
        client.post(f"{BASE}/Users", user_body())
        assert SCIMActivity.objects.get().requests == 1
        assert row_of(admin_client.get(CONNECTIONS), "Entra").split("|")[-3:] == ["2", "2", "0"]

    def test_searches_by_name(self, admin_client):
        scim_token("--client", "Microsoft Entra ID")
        scim_token("--client", "Okta")
        html = admin_client.get(f"{CONNECTIONS}?q=entra").content.decode()
        assert ">Microsoft Entra ID<" in html
        assert ">Okta<" not in html

    def test_works_in_a_project_without_time_zones(self, admin_client, settings):
        settings.USE_TZ = False
        client = bearer(scim_token("--client", "Entra"))
        assert client.get(f"{BASE}/Users").status_code == 200
        cells = row_of(admin_client.get(CONNECTIONS), "Entra").split("|")
        assert cells[4] != "never"
        assert cells[-3:] == ["1", "1", "0"]
        record = connection_of("Entra")
        page = admin_client.get(f"{CONNECTIONS}{record.pk}/change/").content.decode()
        assert "<td>scim:read scim:write</td><td>live</td>" in page

    def test_hides_the_tenant_column_without_a_tenant_resolver(self, admin_client):
        scim_token("--client", "Entra")
        assert "column-tenant_name" not in admin_client.get(CONNECTIONS).content.decode()

    def test_connections_without_a_live_token_say_so(self, admin_client):
        scim_token("--client", "Entra")
        call_command("scim_token", "--client", "Entra", "--revoke", stdout=StringIO())
        assert "no live token" in row_of(admin_client.get(CONNECTIONS), "Entra")


@pytest.mark.django_db
class TestMakingAConnection:
    def test_shows_a_working_token_once(self, admin_client, settings):
        settings.DRF_SCIM = MULTI_TENANT
        assert 'name="tenant"' in admin_client.get(f"{CONNECTIONS}add/").content.decode()
        response = admin_client.post(
            f"{CONNECTIONS}add/",
            {"name": "Microsoft Entra ID", "tenant": "acme", "scopes": ["scim:read", "scim:write"], "expires_days": 90},
        )
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"]
        assert "shown once" in response.content.decode()
        assert "<h1>The token of Microsoft Entra ID</h1>" in response.content.decode()
        assert 'value="http://testserver/scim/v2" id="scim-base-url"' in response.content.decode()
        token = shown_token(response)
        assert get_access_token_model().objects.get().token == ""  # only its checksum is kept (RFC 9700)
        client = bearer(token)
        assert client.post(f"{BASE}/Users", user_body()).status_code == 201
        assert SCIMUser.objects.get().tenant == "acme"
        record = connection_of("Microsoft Entra ID")
        assert record.tenant == "acme"
        change = admin_client.get(f"{CONNECTIONS}{record.pk}/change/").content.decode()
        assert token not in change
        assert "scim:read scim:write" in change
        assert token not in admin_client.get(CONNECTIONS).content.decode()

    def test_offers_the_configured_scopes_and_checks_the_default_ones(self, admin_client):
        form = admin_client.get(f"{CONNECTIONS}add/").content.decode()
        offered = re.findall(r'name="scopes" value="([^"]+)"', form)
        assert offered == [
            "scim:read",
            "scim:write",
            "scim:users:read",
            "scim:users:write",
            "scim:groups:read",
            "scim:groups:write",
            "scim:events",
        ]
        checked = re.findall(r'name="scopes" value="([^"]+)"[^>]*checked', form)
        assert checked == ["scim:read", "scim:write"]
        assert 'name="tenant"' not in form  # no tenant resolver

    @pytest.mark.parametrize(
        ("data", "error"),
        [
            ({"scopes": ["scim:admin"]}, "Select a valid choice. scim:admin is not one of the available choices."),
            ({"scopes": []}, "This field is required."),
            ({"expires_days": 0}, "Ensure this value is greater than or equal to 1."),
            ({"name": " "}, "This field is required."),
        ],
    )
    def test_refuses_mistakes(self, admin_client, data, error):
        response = admin_client.post(
            f"{CONNECTIONS}add/", {"name": "Okta", "scopes": ["scim:read", "scim:write"], "expires_days": 365, **data}
        )
        assert response.status_code == 200
        assert error in response.content.decode()
        assert not get_application_model().objects.exists()

    def test_refuses_a_tenant_name_that_is_not_one(self, admin_client, settings):
        settings.DRF_SCIM = MULTI_TENANT
        response = admin_client.post(
            f"{CONNECTIONS}add/", {"name": "Okta", "tenant": "a b", "scopes": ["scim:read"], "expires_days": 365}
        )
        assert "A tenant takes letters, digits" in response.content.decode()
        assert not SCIMClient.objects.exists()

    def test_refuses_the_name_of_an_existing_connection(self, admin_client):
        scim_token("--client", "Okta")
        response = admin_client.post(
            f"{CONNECTIONS}add/", {"name": "Okta", "scopes": ["scim:read"], "expires_days": 365}
        )
        assert "There is a connection named &#x27;Okta&#x27;" in response.content.decode()
        assert get_application_model().objects.count() == 1

    def test_never_takes_over_an_application_that_serves_people(self, admin_client):
        Application = get_application_model()
        app = Application.objects.create(
            name="Mobile app",
            client_type=Application.CLIENT_PUBLIC,
            authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
            redirect_uris="https://app.example.com/callback",
        )
        response = admin_client.post(
            f"{CONNECTIONS}add/", {"name": "Mobile app", "scopes": ["scim:read"], "expires_days": 365}
        )
        assert "is not a confidential client-credentials application" in response.content.decode()
        assert not get_access_token_model().objects.exists()
        assert not SCIMClient.objects.exists()
        with pytest.raises(CommandError, match="is not a confidential client-credentials application"):
            scim_token("--client", "Mobile app")
        assert Application.objects.get() == app

    def test_needs_the_add_permission(self, client):
        staff = User.objects.create_user("viewer", password="pw", is_staff=True)
        staff.user_permissions.add(Permission.objects.get(codename="view_scimclient"))
        client.force_login(staff)
        assert client.get(CONNECTIONS).status_code == 200
        response = client.post(f"{CONNECTIONS}add/", {"name": "Okta", "scopes": ["scim:read"], "expires_days": 1})
        assert response.status_code == 403
        assert not get_application_model().objects.exists()


@pytest.mark.django_db
class TestTokensOfAConnection:
    @pytest.fixture
    def entra(self):
        token = scim_token("--client", "Entra", "--scopes", "scim:read scim:write")
        return connection_of("Entra"), token

    def test_the_change_page_offers_issue_rotate_and_revoke(self, admin_client, entra):
        record, _ = entra
        page = admin_client.get(f"{CONNECTIONS}{record.pk}/change/").content.decode()
        for action in ("issue", "rotate", "revoke"):
            assert f'href="{CONNECTIONS}{record.pk}/token/{action}/"' in page

    def test_issue_adds_a_token_and_keeps_the_others(self, admin_client, entra):
        record, old = entra
        page = admin_client.get(f"{CONNECTIONS}{record.pk}/token/issue/")
        assert page.status_code == 200
        assert get_access_token_model().objects.count() == 1  # a GET changes nothing
        response = send_action(
            admin_client, f"{CONNECTIONS}{record.pk}/token/issue/", {"scopes": ["scim:read"], "expires_days": 7}
        )
        assert "no-store" in response["Cache-Control"]
        new = bearer(shown_token(response))
        assert new.get(f"{BASE}/Users").status_code == 200
        assert new.post(f"{BASE}/Users", user_body()).status_code == 403  # read only, as asked
        assert bearer(old).get(f"{BASE}/Users").status_code == 200

    def test_rotate_keeps_the_scopes_and_lifetime_of_the_token_issued_last(self, admin_client, entra):
        record, _ = entra
        scim_token("--client", "Entra", "--scopes", "scim:read", "--expires-days", "30")
        page = admin_client.get(f"{CONNECTIONS}{record.pk}/token/rotate/").content.decode()
        assert 'name="expires_days" value="30"' in page
        response = send_action(admin_client, f"{CONNECTIONS}{record.pk}/token/rotate/", {"expires_days": 30})
        assert "2 earlier tokens revoked" in response.content.decode()
        token = get_access_token_model().objects.get()  # revoking deletes
        assert token.scope == "scim:read"
        assert connections.lifetime_days(token) == 30

    def test_the_list_shows_the_scopes_issued_last_and_the_last_expiry(self, admin_client, entra):
        scim_token("--client", "Entra", "--scopes", "scim:read", "--expires-days", "1")
        cells = row_of(admin_client.get(CONNECTIONS), "Entra").split("|")
        longest = get_access_token_model().objects.get(scope="scim:read scim:write").expires
        assert cells[2] == "scim:read"
        assert cells[3] == f"{timezone.localtime(longest):%Y-%m-%d %H:%M} (+1 other)"

    def test_rotate_revokes_every_token_and_keeps_the_scopes(self, admin_client, entra):
        record, old = entra
        assert admin_client.get(f"{CONNECTIONS}{record.pk}/token/rotate/").status_code == 200
        assert bearer(old).get(f"{BASE}/Users").status_code == 200  # a GET changes nothing
        response = send_action(admin_client, f"{CONNECTIONS}{record.pk}/token/rotate/", {"expires_days": 365})
        assert "1 earlier token revoked" in response.content.decode()
        gone = bearer(old).get(f"{BASE}/Users")
        assert gone.status_code == 401
        assert gone.body["detail"].startswith("Invalid or expired token")
        new = bearer(shown_token(response))
        assert new.post(f"{BASE}/Users", user_body()).status_code == 201

    @pytest.mark.parametrize("action", ["issue", "rotate"])
    def test_a_form_sent_again_makes_no_second_token(self, admin_client, entra, action):
        record, _ = entra
        url = f"{CONNECTIONS}{record.pk}/token/{action}/"
        once = re.search(r'name="once" value="([^"]+)"', admin_client.get(url).content.decode()).group(1)
        data = {"once": once, "scopes": ["scim:read", "scim:write"], "expires_days": 30}
        shown = shown_token(admin_client.post(url, data))
        tokens = get_access_token_model().objects.count()
        again = admin_client.post(url, data)  # the browser's reload of that POST
        assert again.status_code == 409
        assert "This form was sent already" in again.content.decode()
        assert get_access_token_model().objects.count() == tokens
        assert bearer(shown).get(f"{BASE}/Users").status_code == 200  # a rotation's token is not rotated away
        assert admin_client.post(url, {"scopes": ["scim:read"], "expires_days": 30}).status_code == 409

    def test_revoke_stops_every_token(self, admin_client, entra):
        record, old = entra
        other = scim_token("--client", "Entra")
        response = admin_client.post(f"{CONNECTIONS}{record.pk}/token/revoke/", follow=True)
        assert "Revoked 2 token(s) of Entra." in response.content.decode()
        assert bearer(old).get(f"{BASE}/Users").status_code == 401
        assert bearer(other).get(f"{BASE}/Users").status_code == 401

    def test_token_actions_need_the_change_permission(self, client, entra):
        record, old = entra
        staff = User.objects.create_user("viewer", password="pw", is_staff=True)
        staff.user_permissions.add(Permission.objects.get(codename="view_scimclient"))
        client.force_login(staff)
        assert client.get(f"{CONNECTIONS}{record.pk}/change/").status_code == 200
        for action in ("issue", "rotate", "revoke"):
            assert client.post(f"{CONNECTIONS}{record.pk}/token/{action}/").status_code == 403
        assert bearer(old).get(f"{BASE}/Users").status_code == 200

    def test_token_actions_need_a_login(self, entra):
        record, _ = entra
        response = Client().post(f"{CONNECTIONS}{record.pk}/token/issue/")
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")


@pytest.mark.django_db
class TestChangingAConnection:
    def form(self, record, **data):
        return {"name": get_application_model().objects.get(client_id=record.client_id).name, "tenant": "", **data}

    def test_a_tenant_changes_only_with_the_move_box(self, admin_client, settings):
        settings.DRF_SCIM = MULTI_TENANT
        client = bearer(scim_token("--client", "Acme", "--tenant", "acme"))
        assert client.post(f"{BASE}/Users", user_body()).status_code == 201
        record = connection_of("Acme")
        url = f"{CONNECTIONS}{record.pk}/change/"
        response = admin_client.post(url, self.form(record, tenant="globex"))
        assert "check this box to move it" in response.content.decode()
        assert connection_of("Acme").tenant == "acme"
        assert admin_client.post(url, self.form(record, tenant="globex", move_tenant="on")).status_code == 302
        assert connection_of("Acme").tenant == "globex"
        assert client.get(f"{BASE}/Users").body["totalResults"] == 0

    def test_renames_the_application(self, admin_client):
        scim_token("--client", "Okta")
        record = connection_of("Okta")
        response = admin_client.post(f"{CONNECTIONS}{record.pk}/change/", {"name": "Okta (production)"})
        assert response.status_code == 302
        assert get_application_model().objects.get().name == "Okta (production)"

    def test_refuses_a_name_another_application_has(self, admin_client):
        scim_token("--client", "Okta")
        scim_token("--client", "Entra")
        record = connection_of("Okta")
        response = admin_client.post(f"{CONNECTIONS}{record.pk}/change/", {"name": "Entra"})
        assert "Another OAuth2 application is named" in response.content.decode()

    def test_deleting_a_connection_deletes_its_application_tokens_and_activity(self, admin_client):
        token = scim_token("--client", "Okta")
        bearer(token).get(f"{BASE}/Users")
        activity.recorder.flush()
        bearer(token).get(f"{BASE}/Users")  # counted, not written yet
        record = connection_of("Okta")
        response = admin_client.post(f"{CONNECTIONS}{record.pk}/delete/", {"post": "yes"})
        assert response.status_code == 302
        assert not get_application_model().objects.exists()
        assert not get_access_token_model().objects.exists()
        assert not SCIMActivity.objects.exists()
        assert not SCIMClient.objects.exists()
        assert bearer(token).get(f"{BASE}/Users").status_code == 401
        activity.recorder.flush()
        assert not SCIMActivity.objects.exists()  # what this process had not written went too


@pytest.mark.django_db
class TestSCIMResourcesReadOnly:
    def test_a_user_shows_its_tenant_keys_document_and_indexed_values(self, admin_client, api):
        created = api.post(
            f"{BASE}/Users",
            user_body(externalId="ext-1", nickName="Babs", emails=[{"value": "b@example.com", "type": "work"}]),
        ).body
        row = SCIMUser.objects.get(scim_id=created["id"])
        page = admin_client.get(f"/admin/drf_scim/scimuser/{row.pk}/change/")
        assert page.status_code == 200
        html = page.content.decode()
        for shown in (created["id"], "ext-1", "bjensen@example.com", "&quot;nickName&quot;: &quot;Babs&quot;"):
            assert shown in html
        assert "b@example.com" in html  # an indexed value
        assert 'name="_save"' not in html
        assert admin_client.post(f"/admin/drf_scim/scimuser/{row.pk}/change/", {}).status_code == 403
        assert admin_client.get("/admin/drf_scim/scimuser/add/").status_code == 403
        assert admin_client.post(f"/admin/drf_scim/scimuser/{row.pk}/delete/", {"post": "yes"}).status_code == 403

    def test_deleting_an_account_in_the_admin_deletes_its_scim_row(self, admin_client, api, create_group):
        user = api.post(f"{BASE}/Users", user_body()).body
        group = create_group()
        html = admin_client.get("/admin/drf_scim/scimuser/").content.decode()
        assert 'value="delete_selected"' not in html
        account = User.objects.get(username="bjensen@example.com")
        assert admin_client.post(f"/admin/auth/user/{account.pk}/delete/", {"post": "yes"}).status_code == 302
        assert api.get(f"{BASE}/Users/{user['id']}").status_code == 404
        pk = SCIMGroup.objects.get().group_id
        assert admin_client.post(f"/admin/auth/group/{pk}/delete/", {"post": "yes"}).status_code == 302
        assert api.get(f"{BASE}/Groups/{group['id']}").status_code == 404

    def test_the_lists_filter_by_tenant(self, admin_client, settings):
        settings.DRF_SCIM = MULTI_TENANT
        acme = bearer(scim_token("--client", "Acme", "--tenant", "acme"))
        default = bearer(scim_token("--client", "Default"))
        acme_user = acme.post(f"{BASE}/Users", user_body("a@example.com")).body["id"]
        default_user = default.post(f"{BASE}/Users", user_body("d@example.com")).body["id"]
        acme_group = acme.post(f"{BASE}/Groups", group_body("Acme staff")).body["id"]
        html = admin_client.get("/admin/drf_scim/scimuser/?tenant=acme").content.decode()
        assert acme_user in html
        assert default_user not in html
        html = admin_client.get("/admin/drf_scim/scimgroup/?tenant=acme").content.decode()
        assert acme_group in html
        assert acme_group not in admin_client.get("/admin/drf_scim/scimgroup/?tenant=").content.decode()


@pytest.mark.django_db
class TestActivity:
    def test_counting_a_request_costs_no_query(self, make_token, django_assert_num_queries, settings):
        client = bearer(make_token())
        settings.DRF_SCIM = {"ACTIVITY_FLUSH_SECONDS": None}
        with CaptureQueriesContext(connection) as uncounted:
            client.get(f"{BASE}/Users")
        settings.DRF_SCIM = {"ACTIVITY_FLUSH_SECONDS": 0}
        with django_assert_num_queries(len(uncounted)):
            client.get(f"{BASE}/Users")
        application = get_application_model().objects.get()
        assert activity.recorder.pending(application.client_id)  # counted, not written inside the test's transaction

    def test_a_bulk_request_counts_once(self, api):
        body = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
            "Operations": [
                {"method": "POST", "path": "/Users", "bulkId": f"u{n}", "data": user_body(f"u{n}@example.com")}
                for n in range(3)
            ],
        }
        assert api.post(f"{BASE}/Bulk", body).status_code == 200
        (counts,) = activity.recorder.pending(get_application_model().objects.get().client_id).values()
        assert (counts.requests, counts.writes, counts.errors) == (1, 1, 0)

    def test_requests_without_a_connection_are_not_counted(self, anon):
        assert anon.get(f"{BASE}/Users").status_code == 401
        assert activity.recorder._tally == {}

    def test_a_failed_write_keeps_the_counts_for_the_next(self, make_token, monkeypatch):
        bearer(make_token()).get(f"{BASE}/Users")

        def fail(*args, **kwargs):
            raise DatabaseError("the database is down")

        monkeypatch.setattr(activity, "write_counts", fail)
        assert activity.recorder.flush() == 0
        monkeypatch.undo()
        assert activity.recorder.flush() == 1
        assert SCIMActivity.objects.get().requests == 1

    def test_scim_token_list_shows_the_last_request_and_requests(self):
        bearer(scim_token("--client", "Entra")).get(f"{BASE}/Users")
        out = StringIO()
        call_command("scim_token", "--list", stdout=out)
        line = out.getvalue().strip()
        assert line.startswith("Entra\tclient_id=")
        assert "\tlive tokens=1\tlast request=20" in line
        assert line.endswith("requests (7 days)=1")


@pytest.mark.django_db(transaction=True)
class TestActivityWritten:
    def test_written_after_the_response_once_due(self, make_token, settings):
        settings.DRF_SCIM = {"ACTIVITY_FLUSH_SECONDS": 0}
        client = bearer(make_token())
        client.get(f"{BASE}/Users")
        client.post(f"{BASE}/Users", user_body())
        client.post(f"{BASE}/Users", user_body())  # 409
        row = SCIMActivity.objects.get()
        assert (row.requests, row.writes, row.errors) == (3, 2, 1)
        assert row.client_id == get_application_model().objects.get().client_id
        assert activity.recorder._tally == {}

    def test_not_written_before_it_is_due(self, make_token, settings):
        settings.DRF_SCIM = {"ACTIVITY_FLUSH_SECONDS": 3600}
        activity.recorder.flush()
        bearer(make_token()).get(f"{BASE}/Users")
        assert not SCIMActivity.objects.exists()
        assert activity.recorder.flush() == 1
        assert SCIMActivity.objects.get().requests == 1


@pytest.mark.django_db
def test_upgrading_makes_connections_of_the_applications_whose_tokens_carry_a_scim_scope(make_token, settings):
    import importlib
    from types import SimpleNamespace

    from django.apps import apps

    migration = importlib.import_module("drf_scim.migrations.0004_connections")
    settings.DRF_SCIM = {"RESOURCE_TYPE_SCOPES": {"User": {"read": "scim:users:read", "write": "scim:users:write"}}}
    make_token("scim:read", client="Okta")
    make_token("scim:users:write", client="Users only")
    make_token("scim:write", client="Entra")
    make_token("openid profile", client="Host's own API")
    Application = get_application_model()
    mobile = Application.objects.create(
        name="Mobile app", client_type=Application.CLIENT_PUBLIC, authorization_grant_type="authorization-code"
    )
    get_access_token_model().objects.create(
        application=mobile, token="mobile-1", scope="scim:read", expires=timezone.now() + timedelta(days=1)
    )
    SCIMClient.objects.create(client_id=get_application_model().objects.get(name="Entra").client_id, tenant="acme")
    migration.record_connections(apps, SimpleNamespace(connection=connection))
    names = dict(get_application_model().objects.values_list("client_id", "name"))
    assert {names[row.client_id]: row.tenant for row in SCIMClient.objects.all()} == {
        "Okta": "",
        "Users only": "",
        "Entra": "acme",
    }
