"""Discovery endpoints (RFC 7644 §4) generated from the serializers."""

from __future__ import annotations

import pytest
from django.test import override_settings

from drf_scim.constants import (
    ENTERPRISE_USER_SCHEMA,
    GROUP_SCHEMA,
    LIST_RESPONSE_SCHEMA,
    RESOURCE_TYPE_SCHEMA,
    SCHEMA_SCHEMA,
    SERVICE_PROVIDER_CONFIG_SCHEMA,
    USER_SCHEMA,
)
from drf_scim.events.names import advertised_uris
from tests.helpers import BASE
from tests.testapp.views import DEVICE_SCHEMA

ACME = "urn:acme:params:scim:schemas:extension:2.0:User"

pytestmark = pytest.mark.django_db


def attribute(document: dict, name: str) -> dict:
    return next(item for item in document["attributes"] if item["name"] == name)


def sub(attr: dict, name: str) -> dict:
    return next(item for item in attr["subAttributes"] if item["name"] == name)


class TestServiceProviderConfig:
    def test_states_what_is_supported(self, api):
        response = api.get(f"{BASE}/ServiceProviderConfig")
        assert response.status_code == 200
        body = response.body
        assert body["schemas"] == [SERVICE_PROVIDER_CONFIG_SCHEMA]
        assert body["patch"] == {"supported": True}
        assert body["bulk"] == {"supported": True, "maxOperations": 1000, "maxPayloadSize": 1048576}
        assert body["filter"] == {"supported": True, "maxResults": 1000}
        assert body["changePassword"] == {"supported": True}
        assert body["sort"] == {"supported": True}
        assert body["etag"] == {"supported": True}
        assert [scheme["type"] for scheme in body["authenticationSchemes"]] == ["oauthbearertoken"]
        assert body["meta"] == {
            "resourceType": "ServiceProviderConfig",
            "location": f"http://testserver{BASE}/ServiceProviderConfig",
        }

    def test_limits_and_schemes_come_from_settings(self, api):
        scheme = {"type": "httpbasic", "name": "Basic", "description": "HTTP Basic"}
        with override_settings(
            DRF_SCIM={"MAX_PAGE_SIZE": 50, "AUTHENTICATION_SCHEMES": [scheme], "DOCUMENTATION_URI": "https://d.example"}
        ):
            body = api.get(f"{BASE}/ServiceProviderConfig").body
        assert body["filter"]["maxResults"] == 50
        assert body["authenticationSchemes"] == [scheme]
        assert body["documentationUri"] == "https://d.example"

    def test_advertises_the_security_events_it_emits(self, api):
        body = api.get(f"{BASE}/ServiceProviderConfig").body
        assert body["securityEvents"] == {"asyncRequest": "none", "eventUris": advertised_uris()}
        assert "urn:ietf:params:scim:event:prov:create:full" in body["securityEvents"]["eventUris"]
        assert "urn:ietf:params:scim:event:prov:deactivate" in body["securityEvents"]["eventUris"]

    @pytest.mark.parametrize("off", ["EVENTS_OUTBOX", "EVENTS_ADVERTISE"])
    def test_advertises_no_security_events_without_the_outbox_or_when_told_not_to(self, api, off):
        with override_settings(DRF_SCIM={off: False}):
            body = api.get(f"{BASE}/ServiceProviderConfig").body
        assert "securityEvents" not in body


class TestResourceTypes:
    def test_list(self, api):
        body = api.get(f"{BASE}/ResourceTypes").body
        assert body["schemas"] == [LIST_RESPONSE_SCHEMA]
        assert body["totalResults"] == len(body["Resources"]) == 3
        by_name = {item["name"]: item for item in body["Resources"]}
        assert by_name["User"] == {
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "User Account",
            "schema": USER_SCHEMA,
            "schemaExtensions": [{"schema": ENTERPRISE_USER_SCHEMA, "required": False}],
            "meta": {"resourceType": "ResourceType", "location": f"http://testserver{BASE}/ResourceTypes/User"},
        }
        assert by_name["Group"]["schema"] == GROUP_SCHEMA
        assert "schemaExtensions" not in by_name["Group"]
        assert by_name["Device"]["endpoint"] == "/Devices"
        assert by_name["Device"]["schema"] == DEVICE_SCHEMA

    def test_one_by_name(self, api):
        assert api.get(f"{BASE}/ResourceTypes/Group").body["endpoint"] == "/Groups"
        assert api.get(f"{BASE}/ResourceTypes/user").body["id"] == "User"

    def test_extensions_of_the_configured_serializer_appear(self, api):
        with override_settings(DRF_SCIM={"USER_SERIALIZER": "tests.testapp.serializers.AcmeUserSerializer"}):
            body = api.get(f"{BASE}/ResourceTypes/User").body
        assert body["schemaExtensions"] == [
            {"schema": ENTERPRISE_USER_SCHEMA, "required": False},
            {"schema": ACME, "required": False},
        ]


class TestSchemas:
    def test_list_has_every_schema_once(self, api):
        body = api.get(f"{BASE}/Schemas").body
        assert body["schemas"] == [LIST_RESPONSE_SCHEMA]
        ids = [item["id"] for item in body["Resources"]]
        assert ids == [USER_SCHEMA, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, DEVICE_SCHEMA]
        assert body["totalResults"] == 4

    def test_user_schema(self, api):
        body = api.get(f"{BASE}/Schemas/{USER_SCHEMA}").body
        assert body["schemas"] == [SCHEMA_SCHEMA]
        assert body["name"] == "User"
        assert body["meta"] == {"resourceType": "Schema", "location": f"http://testserver{BASE}/Schemas/{USER_SCHEMA}"}
        names = [item["name"] for item in body["attributes"]]
        assert names == [
            "userName",
            "name",
            "displayName",
            "nickName",
            "profileUrl",
            "title",
            "userType",
            "preferredLanguage",
            "locale",
            "timezone",
            "active",
            "password",
            "emails",
            "phoneNumbers",
            "ims",
            "photos",
            "addresses",
            "groups",
            "entitlements",
            "roles",
            "x509Certificates",
        ]
        assert attribute(body, "userName") == {
            "name": "userName",
            "type": "string",
            "multiValued": False,
            "description": "Unique identifier of the user, used to sign in.",
            "required": True,
            "caseExact": False,
            "mutability": "readWrite",
            "returned": "default",
            "uniqueness": "server",
        }
        password = attribute(body, "password")
        assert (password["mutability"], password["returned"]) == ("writeOnly", "never")
        assert attribute(body, "active")["type"] == "boolean"
        assert attribute(body, "profileUrl")["type"] == "reference"
        assert attribute(body, "profileUrl")["referenceTypes"] == ["external"]
        emails = attribute(body, "emails")
        assert (emails["type"], emails["multiValued"]) == ("complex", True)
        assert [s["name"] for s in emails["subAttributes"]] == ["value", "display", "type", "primary"]
        assert sub(emails, "type")["canonicalValues"] == ["work", "home", "other"]
        assert sub(emails, "primary")["type"] == "boolean"
        groups = attribute(body, "groups")
        assert groups["mutability"] == "readOnly"
        assert {s["mutability"] for s in groups["subAttributes"]} == {"readOnly"}
        assert [s["name"] for s in groups["subAttributes"]] == ["value", "$ref", "display", "type"]
        assert sub(attribute(body, "x509Certificates"), "value")["type"] == "binary"
        assert "id" not in names and "meta" not in names and "externalId" not in names

    def test_group_schema(self, api):
        body = api.get(f"{BASE}/Schemas/{GROUP_SCHEMA}").body
        members = attribute(body, "members")
        assert members["multiValued"] is True
        assert {s["name"]: s["mutability"] for s in members["subAttributes"]} == {
            "value": "immutable",
            "$ref": "immutable",
            "type": "immutable",
        }
        assert sub(members, "$ref")["type"] == "reference"
        assert sub(members, "$ref")["referenceTypes"] == ["User", "Group"]
        assert attribute(body, "displayName")["required"] is True

    def test_enterprise_schema_and_manager(self, api):
        body = api.get(f"{BASE}/Schemas/{ENTERPRISE_USER_SCHEMA}").body
        assert body["name"] == "EnterpriseUser"
        assert [a["name"] for a in body["attributes"]] == [
            "employeeNumber",
            "costCenter",
            "organization",
            "division",
            "department",
            "manager",
        ]
        manager = attribute(body, "manager")
        assert [s["name"] for s in manager["subAttributes"]] == ["value", "$ref", "displayName"]
        assert sub(manager, "displayName")["mutability"] == "readOnly"
        assert sub(manager, "displayName")["returned"] == "request"

    def test_custom_extension_schema_needs_no_schema_json(self, api):
        with override_settings(DRF_SCIM={"USER_SERIALIZER": "tests.testapp.serializers.AcmeUserSerializer"}):
            body = api.get(f"{BASE}/Schemas/{ACME}").body
        assert body["name"] == "AcmeUser"
        badges = attribute(body, "badges")
        assert (badges["type"], badges["multiValued"]) == ("complex", True)
        assert [s["name"] for s in badges["subAttributes"]] == ["number", "site"]
        assert attribute(body, "favouriteColour")["type"] == "string"

    def test_custom_resource_type_schema(self, api):
        body = api.get(f"{BASE}/Schemas/{DEVICE_SCHEMA}").body
        assert [a["name"] for a in body["attributes"]] == ["serialNumber", "displayName", "managed"]
        assert attribute(body, "managed")["type"] == "boolean"

    def test_unknown_schema_is_404(self, api):
        response = api.get(f"{BASE}/Schemas/urn:nope")
        assert response.status_code == 404
        assert response.body["status"] == "404"


class TestAccess:
    @pytest.mark.parametrize("path", ["/ServiceProviderConfig", "/ResourceTypes", "/Schemas", "/ResourceTypes/User"])
    def test_needs_a_token_by_default(self, anon, path):
        response = anon.get(f"{BASE}{path}")
        assert response.status_code == 401
        assert response.body["status"] == "401"

    @pytest.mark.parametrize("scope", ["scim:read", "scim:write"])
    def test_any_scim_scope_can_read(self, anon, make_token, scope):
        anon.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(scope)}")
        assert anon.get(f"{BASE}/ServiceProviderConfig").status_code == 200

    def test_other_scopes_cannot(self, anon, make_token):
        anon.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token('openid')}")
        assert anon.get(f"{BASE}/Schemas").status_code == 403

    def test_open_when_configured(self, anon):
        with override_settings(DRF_SCIM={"DISCOVERY_REQUIRES_AUTHENTICATION": False}):
            assert anon.get(f"{BASE}/ServiceProviderConfig").status_code == 200

    @pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
    @pytest.mark.parametrize(
        "path", ["/ServiceProviderConfig", "/ResourceTypes", "/Schemas", "/Schemas/" + USER_SCHEMA]
    )
    def test_writes_are_405(self, api, method, path):
        response = getattr(api, method)(f"{BASE}{path}", {})
        assert response.status_code == 405
        assert response.body["status"] == "405"

    def test_unknown_resource_type_is_404(self, api):
        response = api.get(f"{BASE}/ResourceTypes/Nope")
        assert response.status_code == 404
        assert "Nope" in response.body["detail"]
