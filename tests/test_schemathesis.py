"""Schemathesis against the checked-in OpenAPI document and the running sample site.

A bounded, seeded run: no 5xx, and no status code, content type or body that contradicts the document.
The token belongs to a provisioned user, so /Me is exercised too (a client token gets the RFC's 501).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_application_model

from drf_scim.models import SCIMEventReceiver
from tests.conftest import SCIMClient
from tests.helpers import user_body

ROOT = Path(__file__).resolve().parent.parent
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def schemathesis(live_server: Any, token: str, *options: str) -> subprocess.CompletedProcess:
    executable = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or "schemathesis"
    command = [
        executable,
        "run",
        str(ROOT / "openapi" / "openapi.yaml"),
        "--url",
        live_server.url,
        "-H",
        f"Authorization: Bearer {token}",
        "--max-examples",
        "10",
        "--seed",
        "20261128",
        "--checks",
        CHECKS,
        "--phases",
        "examples,fuzzing",
        "--request-timeout",
        "30",
        *options,
    ]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)


@pytest.mark.django_db(transaction=True)
def test_schemathesis_finds_no_server_error_and_no_contradiction(live_server, settings, events_on):
    settings.ROOT_URLCONF = "sample_site.urls"
    call_command("scim_seed", users=5, groups=2, stdout=StringIO())
    out = StringIO()
    call_command("scim_token", "--client", "schemathesis", "--scopes", "scim:read scim:write scim:events", stdout=out)
    client_token = out.getvalue().strip().splitlines()[-1]
    # The client is a poll receiver too, so that POST /Events is fuzzed past its permission check.
    SCIMEventReceiver.objects.create(
        name="schemathesis",
        delivery=SCIMEventReceiver.Delivery.POLL,
        audience="https://schemathesis.example.com",
        client_id=get_application_model().objects.get(name="schemathesis").client_id,
    )

    # Every operation but /Me, with a client token (which has no user: /Me would answer 501).
    result = schemathesis(live_server, client_token, "--exclude-path-regex", "/Me$")
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "Tested: 23" in result.stdout

    # /Me with a token issued to a provisioned user (not DELETE: the token would go with its user).
    scim = SCIMClient()
    scim.credentials(HTTP_AUTHORIZATION=f"Bearer {client_token}")
    assert scim.post("/scim/v2/Users", user_body("me@example.com")).status_code == 201
    application = get_application_model().objects.create(
        name="portal", client_type="public", authorization_grant_type="authorization-code"
    )
    token = get_access_token_model().objects.create(
        application=application,
        user=get_user_model().objects.get(username="me@example.com"),
        token="schemathesis-user-token",
        scope="scim:read scim:write",
        expires=timezone.now() + timedelta(hours=1),
    )
    result = schemathesis(live_server, token.token, "--include-path-regex", "/Me$", "--exclude-method", "DELETE")
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "Tested: 3" in result.stdout
