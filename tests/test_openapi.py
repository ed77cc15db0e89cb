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
from drf_spectacular.validation import validate_schema

ROOT = Path(__file__).resolve().parent.parent
CHECKED_IN = ROOT / "openapi" / "openapi.yaml"
ACME = "urn:acme:params:scim:schemas:extension:2.0:User"
SPECTACULAR = {
    "PREPROCESSING_HOOKS": ["drf_scim.contrib.drf_spectacular.preprocess_scim_paths"],
    "COMPONENT_SPLIT_REQUEST": True,
}


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
    def generate(**scim):
        with override_settings(
            REST_FRAMEWORK={"DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema"},
            SPECTACULAR_SETTINGS=SPECTACULAR,
            DRF_SCIM=scim,
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
    assert users["get"]["security"] == [{"oauth2": ["scim:read"]}, {"bearerAuth": []}]
    assert users["post"]["security"] == [{"oauth2": ["scim:write"]}, {"bearerAuth": []}]
    patch = schema["paths"]["/scim/v2/Users/{scim_id}"]["patch"]
    assert patch["requestBody"]["content"]["application/scim+json"]["schema"]["$ref"].endswith("PatchOpRequest")
    assert schema["paths"]["/scim/v2/Users/.search"]["post"]["security"][0] == {"oauth2": ["scim:read"]}
    flows = schema["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"]
    assert set(flows["scopes"]) == {"scim:read", "scim:write"}


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
