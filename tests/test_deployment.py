"""The deployment defaults (DEBUG, check --deploy, no-store, the OpenAPI document behind
authentication, the gunicorn configuration docs/howto/deploying.rst deploys with)."""

from __future__ import annotations

import os
import runpy
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from tests.conftest import SCIMClient
from tests.helpers import BASE, user_body

ROOT = Path(__file__).resolve().parent.parent


def run_python(code: str, **env: str) -> str:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, check=True, capture_output=True, text=True
    ).stdout.strip()


def test_debug_is_off_unless_make_run_turns_it_on():
    code = "import sample_site.settings as s; print(s.DEBUG)"
    assert run_python(code) == "False"
    assert run_python(code, DJANGO_DEBUG="1") == "True"
    run_target = (ROOT / "Makefile").read_text().split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert "DJANGO_DEBUG=1 $(MANAGE) runserver" in run_target


def test_production_settings_pass_check_deploy(tmp_path):
    result = subprocess.run(
        [sys.executable, "sample_site/manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={
            **{key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")},
            "DJANGO_SETTINGS_MODULE": "sample_site.production",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(60),
            "DJANGO_ALLOWED_HOSTS": "scim.example.com",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        },
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_need_a_secret_key():
    with pytest.raises(subprocess.CalledProcessError) as failure:
        run_python("import sample_site.production", DJANGO_SECRET_KEY="short")
    assert "DJANGO_SECRET_KEY" in failure.value.stderr


@pytest.mark.django_db
def test_scim_responses_are_not_stored_by_caches(api, anon, create_user):
    user = create_user()
    etag = api.get(f"{BASE}/Users/{user['id']}")["ETag"]
    responses = [
        api.get(f"{BASE}/Users"),
        api.get(f"{BASE}/Users/{user['id']}"),
        api.get(f"{BASE}/Users/{user['id']}", HTTP_IF_NONE_MATCH=etag),
        api.get(f"{BASE}/Users/nope"),
        api.post(f"{BASE}/Users", user_body("other@example.com")),
        api.get(f"{BASE}/ServiceProviderConfig"),
        api.get(f"{BASE}/Nowhere"),
        anon.get(f"{BASE}/Users"),
    ]
    assert [r.status_code for r in responses] == [200, 200, 304, 404, 201, 200, 404, 401]
    assert all(r["Cache-Control"] == "no-store" for r in responses)


@pytest.mark.django_db
class TestOpenAPIBehindAuthentication:
    PAGES = ["/api/schema/", "/api/docs/", "/api/redoc/"]

    def test_open_by_default(self, client):
        assert [client.get(page).status_code for page in self.PAGES] == [200, 200, 200]

    def test_the_setting_requires_a_token_or_a_staff_session(self, settings, client, make_token):
        settings.DRF_SCIM = {"OPENAPI_REQUIRES_AUTHENTICATION": True}
        assert [client.get(page).status_code for page in self.PAGES] == [401, 401, 401]
        for scopes, status in [("scim:read", 200), ("scim:write", 200), ("other", 403)]:
            token = SCIMClient()
            token.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(scopes)}")
            assert [token.get(page).status_code for page in self.PAGES] == [status] * 3, scopes
        client.force_login(get_user_model().objects.create_user("viewer"))
        assert [client.get(page).status_code for page in self.PAGES] == [403, 403, 403]
        client.force_login(get_user_model().objects.create_user("operator", is_staff=True))
        assert [client.get(page).status_code for page in self.PAGES] == [200, 200, 200]


def test_the_gunicorn_configuration_bounds_workers_and_the_deploying_guide_uses_it():
    config = runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))
    assert config["timeout"] == 30 and config["worker_class"] == "sync"
    assert config["limit_request_line"] == 8190 and config["limit_request_fields"] == 100
    assert config["workers"] >= 1 and config["max_requests"] > 0
    assert "%(q)s" not in config["access_log_format"] and "%(r)s" not in config["access_log_format"]
    deploy = (ROOT / "docs" / "howto" / "deploying.rst").read_text()
    assert "gunicorn sample_site.wsgi -c deploy/gunicorn.conf.py" in deploy
    assert "DJANGO_SETTINGS_MODULE=sample_site.production" in deploy
    assert "POST .search" in deploy or "POST /Users/.search" in deploy
