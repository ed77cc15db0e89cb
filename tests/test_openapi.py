"""The OpenAPI document: generated without warnings, valid, checked in, and derived from the serializers."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.test import override_settings
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.settings import patched_settings
from drf_spectacular.validation import validate_schema

from drf_scim.permissions import SCIMScopePermission

ROOT = Path(__file__).resolve().parent.parent
CHECKED_IN = ROOT / "openapi" / "openapi.yaml"
ACME = "urn:acme:params:scim:schemas:extension:2.0:User"
SPECTACULAR = {
    "PREPROCESSING_HOOKS": ["drf_scim.contrib.drf_spectacular.preprocess_scim_paths"],
    "SORT_OPERATIONS": "drf_scim.contrib.drf_spectacular.scim_operation_order",
    "COMPONENT_SPLIT_REQUEST": True,
}
METHODS = ("get", "put", "post", "patch", "delete")


def test_checked_in_document_is_current_and_generates_without_warnings():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "sample_site.settings"}
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "sample_site/manage.py", "spectacular", "--validate", "--fail-on-warn"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr and "Error" not in result.stderr, result.stderr
    assert result.stdout == CHECKED_IN.read_text(), "openapi/openapi.yaml is out of date: run `make openapi`"


def test_checked_in_document_is_valid_openapi():
    validate_schema(yaml.safe_load(CHECKED_IN.read_text()))


@pytest.fixture
def document():
    def generate(spectacular=None, **scim):
        # drf-spectacular reads SPECTACULAR_SETTINGS once; patched_settings is its way to change them.
        with (
            override_settings(
                REST_FRAMEWORK={"DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema"}, DRF_SCIM=scim
            ),
            patched_settings({**SPECTACULAR, **(spectacular or {})}),
        ):
            schema = SchemaGenerator().get_schema(request=None, public=True)
        validate_schema(schema)
        return schema

    return generate


def test_resources_messages_and_errors_are_described(document):
    schema = document()
    components = schema["components"]["schemas"]
    user = components["User"]["properties"]
    assert user["userName"]["type"] == "string"
    assert user["emails"]["type"] == "array"
    assert set(user["emails"]["items"]["properties"]) == {"value", "display", "type", "primary"}
    assert user["meta"]["readOnly"] is True
    assert "password" not in user
    assert components["UserRequest"]["required"] == ["userName"]
    assert "password" in components["UserRequest"]["properties"]
    assert "id" not in components["UserRequest"]["properties"]
    assert "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User" in user
    users = schema["paths"]["/scim/v2/Users"]
    assert {p["name"] for p in users["get"]["parameters"]} >= {
        "filter",
        "sortBy",
        "sortOrder",
        "startIndex",
        "count",
        "attributes",
        "excludedAttributes",
    }
    listed_ref = users["get"]["responses"]["200"]["content"]["application/scim+json"]["schema"]["$ref"]
    listed = components[listed_ref.rsplit("/", 1)[-1]]
    assert listed["properties"]["Resources"]["items"]["$ref"].endswith("/User")
    assert set(listed["properties"]) == {
        "schemas",
        "totalResults",
        "itemsPerPage",
        "startIndex",
        "nextCursor",
        "previousCursor",
        "Resources",
    }
    assert "cursor" in {p["name"] for p in users["get"]["parameters"]}
    assert users["post"]["responses"]["409"]["content"]["application/scim+json"]["schema"]["$ref"].endswith("/Error")
    assert users["get"]["security"] == [{"bearerAuth": []}, {"oauth2": ["scim:read"]}]  # the sample site's token URL
    patch = schema["paths"]["/scim/v2/Users/{id}"]["patch"]
    assert patch["requestBody"]["content"]["application/scim+json"]["schema"]["$ref"].endswith("PatchOpRequest")


def test_only_the_bearer_scheme_without_a_token_url(document):
    """A host that configures no OAuth2 token URL gets no oauth2 flow pointing at a URL it does not serve, nor
    the schemes of the documentation views' own authentication."""
    schema = document({"OAUTH2_TOKEN_URL": None}, OPENAPI_REQUIRES_AUTHENTICATION=True)
    assert schema["components"]["securitySchemes"] == {
        "bearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "description": "An access token, as printed by scim_token; each operation names the scope it needs.",
        }
    }
    assert not [path for path in schema["paths"] if path.startswith("/api/")]
    users = schema["paths"]["/scim/v2/Users"]
    assert users["get"]["security"] == [{"bearerAuth": []}]
    assert users["get"]["description"].endswith("Needs a token with the scope scim:read.")
    assert users["post"]["description"].endswith("Needs a token with the scope scim:write.")
    assert schema["paths"]["/scim/v2/Users/.search"]["post"]["description"].endswith("scope scim:read.")
    assert schema["paths"]["/scim/v2/Bulk"]["post"]["description"].endswith("scope scim:write.")


def test_the_oauth2_flow_documents_scopes_when_the_host_names_its_token_url(document):
    scopes = {"User": {"read": "scim:users:read", "write": "scim:users:write"}}
    schema = document({"OAUTH2_TOKEN_URL": "/auth/token/"}, RESOURCE_TYPE_SCOPES=scopes)
    flow = schema["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == "/auth/token/"
    assert set(flow["scopes"]) == {"scim:read", "scim:write", "scim:users:read", "scim:users:write"}
    users = schema["paths"]["/scim/v2/Users"]
    assert users["get"]["security"] == [{"bearerAuth": []}, {"oauth2": ["scim:read"]}, {"oauth2": ["scim:users:read"]}]
    assert users["post"]["security"] == [
        {"bearerAuth": []},
        {"oauth2": ["scim:write"]},
        {"oauth2": ["scim:users:write"]},
    ]
    assert users["get"]["description"].endswith("Needs a token with the scope scim:read or scim:users:read.")
    search = schema["paths"]["/scim/v2/Users/.search"]["post"]["security"]
    assert search == [{"bearerAuth": []}, {"oauth2": ["scim:read"]}, {"oauth2": ["scim:users:read"]}]
    groups = schema["paths"]["/scim/v2/Groups"]["get"]["security"]
    assert groups == [{"bearerAuth": []}, {"oauth2": ["scim:read"]}]


class ScopesFromTheToken(SCIMScopePermission):
    """A host's permission that needs a real request to tell its scopes."""

    def get_scope_alternatives(self, request, view):
        return [[request.auth.application.name]]


def test_a_permission_that_cannot_tell_its_scopes_is_warned_about_not_fatal(document, capsys):
    schema = document(PERMISSION_CLASSES=["tests.test_openapi.ScopesFromTheToken"])
    users = schema["paths"]["/scim/v2/Users"]["get"]
    assert users["security"] == [{"bearerAuth": []}]
    assert "Needs a token" not in users["description"]
    assert "could not tell the scopes UserViewSet needs for GET" in capsys.readouterr().err


def test_operations_have_plain_descriptions_users_first_and_an_id_parameter(document):
    schema = document(SOFT_DELETE_USERS=True)
    scim_paths = [path for path in schema["paths"] if path.startswith("/scim/v2/")]
    assert scim_paths[:6] == [
        "/scim/v2/Users",
        "/scim/v2/Users/{id}",
        "/scim/v2/Users/.search",
        "/scim/v2/Groups",
        "/scim/v2/Groups/{id}",
        "/scim/v2/Groups/.search",
    ]
    assert scim_paths[-4:] == ["/scim/v2/Bulk", "/scim/v2/.search", "/scim/v2/Events", "/scim/v2/Events/jwks"]
    descriptions = {}
    for path, item in schema["paths"].items():
        for method in set(item) & set(METHODS):
            descriptions[method.upper(), path] = item[method].get("description", "")
    for operation, text in descriptions.items():
        assert text, f"{operation} has no description"
        assert not re.search(r"``|:\w+:`|/\{?\w*\}?;", text), f"{operation}: {text}"
    assert len(set(descriptions.values())) > 20
    destroy = schema["paths"]["/scim/v2/Users/{id}"]["delete"]["description"]
    assert destroy.startswith("Deactivate a User and keep it for audit")
    assert schema["paths"]["/scim/v2/Groups/{id}"]["delete"]["description"].startswith("Delete a Group;")
    parameter = next(p for p in schema["paths"]["/scim/v2/Users/{id}"]["get"]["parameters"] if p["in"] == "path")
    assert parameter["name"] == "id" and parameter["required"] is True


def test_custom_extension_and_resource_type_need_no_extra_code(document):
    schema = document(USER_SERIALIZER="tests.testapp.serializers.AcmeUserSerializer")
    acme = schema["components"]["schemas"]["User"]["properties"][ACME]
    assert acme["properties"]["favouriteColour"]["type"] == "string"
    assert acme["properties"]["badges"]["items"]["properties"]["number"]["type"] == "string"
    device = schema["components"]["schemas"]["Device"]["properties"]
    assert device["managed"]["type"] == "boolean"
    assert "/scim/v2/Devices" in schema["paths"]


def linked_assets(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]*)"', html)


@pytest.mark.django_db
def test_swagger_ui_and_redoc_are_served_with_local_assets(client):
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assets = linked_assets(docs.content.decode())
    assert any("drf_spectacular_sidecar/swagger-ui-dist" in url for url in assets)
    assert all(url.startswith("/") and not url.startswith("//") for url in assets), assets
    redoc = client.get("/api/redoc/")
    assert redoc.status_code == 200
    assets = linked_assets(redoc.content.decode())
    assert any("drf_spectacular_sidecar/redoc" in url for url in assets)
    assert all(url.startswith("/") and not url.startswith("//") for url in assets), assets
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/scim/v2/Users" in schema.content
