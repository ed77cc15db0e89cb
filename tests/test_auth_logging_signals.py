"""Scopes and RFC 6750 challenges, any DRF authentication class, /Me, request logging and signals."""

from __future__ import annotations

import logging

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings
from oauth2_provider.models import get_access_token_model, get_application_model
from rest_framework.authtoken.models import Token

from drf_scim import signals
from drf_scim.constants import PATCH_OP_SCHEMA
from tests.conftest import SCIMClient
from tests.helpers import BASE, group_body, user_body

pytestmark = pytest.mark.django_db


def client_with(make_token, scopes):
    client = SCIMClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(scopes)}")
    return client


class TestChallenges:
    def test_missing_scope_is_403_with_insufficient_scope(self, make_token):
        client = client_with(make_token, "scim:read")
        response = client.post(f"{BASE}/Users", user_body())
        assert response.status_code == 403
        assert response.body["status"] == "403"
        assert "scim:write" in response.body["detail"]
        assert response["WWW-Authenticate"] == 'Bearer realm="scim", error="insufficient_scope", scope="scim:write"'

    def test_bad_token_is_401_with_invalid_token(self, anon):
        anon.credentials(HTTP_AUTHORIZATION="Bearer nope")
        response = anon.get(f"{BASE}/Users")
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith('Bearer realm="scim"')
        assert 'error="invalid_token"' in response["WWW-Authenticate"]

    @pytest.mark.parametrize(
        ("method", "path", "scope_kind"),
        [
            ("get", "/Users", "read"),
            ("post", "/Users/.search", "read"),
            ("post", "/.search", "read"),
            ("post", "/Users", "write"),
            ("put", "/Users/{id}", "write"),
            ("patch", "/Users/{id}", "write"),
            ("delete", "/Users/{id}", "write"),
        ],
    )
    def test_scope_per_method(self, make_token, create_user, method, path, scope_kind):
        user = create_user()
        bodies = {
            "post": {} if "search" in path else user_body("other@example.com"),
            "put": user_body(),
            "patch": {"schemas": [PATCH_OP_SCHEMA], "Operations": [{"op": "remove", "path": "title"}]},
        }
        for scopes, allowed in (("scim:read", scope_kind == "read"), ("scim:write", scope_kind == "write")):
            client = client_with(make_token, scopes)
            response = getattr(client, method)(f"{BASE}{path.format(id=user['id'])}", bodies.get(method))
            assert (response.status_code != 403) is allowed, (scopes, response.status_code)


class TestResourceTypeScopes:
    @pytest.fixture(autouse=True)
    def per_type_scopes(self, settings):
        settings.DRF_SCIM = {
            "RESOURCE_TYPE_SCOPES": {
                "User": {"read": "scim:users:read", "write": "scim:users:write"},
                "Group": {"read": "scim:groups:read", "write": "scim:groups:write"},
            }
        }

    def test_a_users_scope_reaches_users_only(self, make_token, create_group):
        client = client_with(make_token, "scim:users:read")
        assert client.get(f"{BASE}/Users").status_code == 200
        response = client.get(f"{BASE}/Groups")
        assert response.status_code == 403
        assert response["WWW-Authenticate"].endswith('scope="scim:read"')
        assert "scim:read or scim:groups:read" in response.body["detail"]
        assert client.post(f"{BASE}/Users", user_body()).status_code == 403
        assert client.get(f"{BASE}/ServiceProviderConfig").status_code == 200

    def test_a_groups_write_scope_can_patch_groups(self, make_token, create_group):
        group = create_group("G")
        client = client_with(make_token, "scim:groups:write")
        body = {"schemas": [PATCH_OP_SCHEMA], "Operations": [{"op": "replace", "path": "displayName", "value": "H"}]}
        assert client.patch(f"{BASE}/Groups/{group['id']}", body).status_code == 204

    def test_global_scopes_still_reach_everything(self, api):
        assert api.get(f"{BASE}/Groups").status_code == 200


class TestOtherAuthentication:
    @override_settings(DRF_SCIM={"AUTHENTICATION_CLASSES": ["rest_framework.authentication.TokenAuthentication"]})
    def test_drf_token_authentication(self, create_user):
        anonymous = SCIMClient()
        response = anonymous.get(f"{BASE}/Users")
        assert response.status_code == 401
        assert response.body == {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "status": "401",
            "detail": "Authentication credentials were not provided.",
        }
        assert response["WWW-Authenticate"] == "Token"
        user = get_user_model().objects.create(username="entra-connector")
        client = SCIMClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
        assert client.get(f"{BASE}/Users").status_code == 200
        assert client.post(f"{BASE}/Users", user_body()).status_code == 201


class TestMe:
    def user_token(self, username):
        application = get_application_model().objects.create(
            name="portal", client_type="public", authorization_grant_type="authorization-code"
        )
        from datetime import timedelta

        from django.utils import timezone

        raw = f"user-token-{username}"
        get_access_token_model().objects.create(
            application=application,
            user=get_user_model().objects.get(username=username),
            token=raw,
            scope="scim:read scim:write",
            expires=timezone.now() + timedelta(hours=1),
        )
        client = SCIMClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return client

    def test_me_is_the_users_own_resource(self, create_user):
        user = create_user()
        me = self.user_token("bjensen@example.com")
        response = me.get(f"{BASE}/Me")
        assert response.status_code == 200
        assert response.body["id"] == user["id"]
        patch = {"schemas": [PATCH_OP_SCHEMA], "Operations": [{"op": "replace", "path": "nickName", "value": "B"}]}
        assert me.patch(f"{BASE}/Me", patch).body["nickName"] == "B"

    def test_client_tokens_get_501(self, api):
        response = api.get(f"{BASE}/Me")
        assert response.status_code == 501
        assert response.body["status"] == "501"

    @override_settings(DRF_SCIM={"ADOPTION_TENANT": "drf_scim.adoption.no_tenant"})
    def test_a_user_that_is_not_a_scim_resource_gets_404(self):
        get_user_model().objects.create(username="local")
        response = self.user_token("local").get(f"{BASE}/Me")
        assert response.status_code == 404


class TestRequestLogging:
    def test_one_line_per_request_without_secrets(self, api, caplog, make_token):
        token = api._credentials["HTTP_AUTHORIZATION"].split()[1]
        with caplog.at_level(logging.INFO, logger="drf_scim.requests"):
            api.post(f"{BASE}/Users?attributes=userName", user_body(password="Sup3r-secret"))
        records = [r for r in caplog.records if r.name == "drf_scim.requests"]
        assert len(records) == 1
        fields = records[0].scim
        assert (fields["method"], fields["path"], fields["status"], fields["client"], fields["tenant"]) == (
            "POST",
            "/scim/v2/Users",
            201,
            "tests",
            "-",
        )
        assert fields["duration_ms"] >= 0
        assert "Sup3r-secret" not in caplog.text
        assert token not in caplog.text

    @override_settings(DRF_SCIM={"LOG_REQUEST_BODIES": True})
    def test_bodies_are_redacted(self, api, caplog):
        with caplog.at_level(logging.INFO, logger="drf_scim.requests"):
            api.post(f"{BASE}/Users", user_body(password="Sup3r-secret"))
        record = next(r for r in caplog.records if r.name == "drf_scim.requests")
        assert record.scim["body"]["password"] == "***"
        assert record.scim["body"]["userName"] == "bjensen@example.com"
        assert "Sup3r-secret" not in caplog.text


class TestSignals:
    @pytest.fixture
    def received(self):
        events = []

        def receiver(signal_name):
            def handle(sender, instance, tenant, request, **kwargs):
                events.append((signal_name, getattr(instance, "pk", None) is not None, kwargs.get("deleted")))

            return handle

        handlers = {name: receiver(name) for name in ("provisioned", "updated", "deprovisioned", "membership")}
        signals.user_provisioned.connect(handlers["provisioned"])
        signals.user_updated.connect(handlers["updated"])
        signals.user_deprovisioned.connect(handlers["deprovisioned"])
        signals.group_membership_changed.connect(handlers["membership"])
        yield events
        signals.user_provisioned.disconnect(handlers["provisioned"])
        signals.user_updated.disconnect(handlers["updated"])
        signals.user_deprovisioned.disconnect(handlers["deprovisioned"])
        signals.group_membership_changed.disconnect(handlers["membership"])

    def test_sent_after_commit(self, api, received, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            user = api.post(f"{BASE}/Users", user_body()).body
        assert received == [("provisioned", True, None)]
        with django_capture_on_commit_callbacks(execute=True):
            patch = {
                "schemas": [PATCH_OP_SCHEMA],
                "Operations": [{"op": "replace", "path": "active", "value": "False"}],
            }
            api.patch(f"{BASE}/Users/{user['id']}", patch)
        assert received[1:] == [("updated", True, None), ("deprovisioned", True, False)]
        with django_capture_on_commit_callbacks(execute=True):
            api.post(f"{BASE}/Groups", group_body("G", [user["id"]]))
        with django_capture_on_commit_callbacks(execute=True):
            api.delete(f"{BASE}/Users/{user['id']}")
        assert received[3:] == [("membership", True, None), ("deprovisioned", False, True)]

    @pytest.mark.django_db(transaction=True)  # the signals are sent once the write commits
    @pytest.mark.parametrize("method", ["put", "patch"])
    def test_a_receiver_that_saves_the_user_again_has_the_response_show_what_it_saved(self, api, method):
        """A write's response takes the attributes from what its audit trail rendered, unless the resource
        moved on since: then it is rendered anew, with the version and ETag of what the receiver saved."""
        user = api.post(f"{BASE}/Users", user_body()).body

        def rename(sender, instance, **kwargs):
            instance.first_name = "Renamed"
            instance.save()

        signals.user_updated.connect(rename)
        try:
            if method == "put":
                response = api.put(f"{BASE}/Users/{user['id']}", user_body(title="Guide"))
            else:
                patch = {"schemas": [PATCH_OP_SCHEMA], "Operations": [{"op": "add", "path": "title", "value": "Guide"}]}
                response = api.patch(f"{BASE}/Users/{user['id']}", patch)
        finally:
            signals.user_updated.disconnect(rename)
        assert response.status_code == 200
        assert response.body["name"]["givenName"] == "Renamed"
        assert response.body["title"] == "Guide"
        assert response.body == api.get(f"{BASE}/Users/{user['id']}").body
        assert response["ETag"] == response.body["meta"]["version"] == 'W/"3"'

    def test_nothing_is_sent_for_a_rejected_request(self, api, received, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            api.post(f"{BASE}/Users", user_body(active="maybe"))
        assert received == []
