"""Swagger UI in a real browser (Debian's chromium, driven by Playwright): authorize with a token, list users."""

from __future__ import annotations

import os
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.docs import DOCS, HostProject, blocks, scim

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parent.parent
SCREENSHOT = ROOT / "build" / "screenshots" / "swagger-ui.png"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> None:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("CI must install chromium (apt-get install chromium); .ci/run does")
        pytest.skip("chromium is not installed: apt-get install chromium")


def authorize_and_list_users(docs_url: str, token: str, screenshot: Path | None = None) -> tuple[str, str, int]:
    """In Swagger UI at ``docs_url``: Authorize with the bearer token, then Try it out on GET /Users.

    Returns the status cell, the response body and how many schemes the Authorize dialog offered."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page()
            page.goto(docs_url, wait_until="networkidle")
            page.click("button.authorize")
            page.locator(".auth-container").first.wait_for()
            schemes = page.locator(".auth-container").count()
            page.fill('input[aria-label="auth-bearer-value"]', token)
            page.click('.auth-container:has(input[aria-label="auth-bearer-value"]) button.authorize')
            page.click("button.btn-done")

            operation = page.locator('[id$="Users_list"]').first
            operation.locator(".opblock-summary").click()
            operation.locator("button.try-out__btn").click()
            operation.locator("button.execute").click()
            status = operation.locator(".live-responses-table .response .response-col_status").first
            status.wait_for(timeout=15_000)
            status_text = status.inner_text().strip()
            body = operation.locator(".live-responses-table .response .microlight").first.inner_text()
            if screenshot is not None:
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    return status_text, body, schemes


@pytest.mark.django_db(transaction=True)
def test_swagger_ui_authorizes_and_lists_users(live_server, settings):
    settings.ROOT_URLCONF = "sample_site.urls"  # the sample site, as a person would open it
    require_chromium()

    call_command("scim_seed", users=3, groups=1, stdout=StringIO())
    out = StringIO()
    call_command("scim_token", "--client", "swagger", stdout=out)
    token = out.getvalue().strip().splitlines()[-1]

    status_text, body, _ = authorize_and_list_users(f"{live_server.url}/api/docs/", token, screenshot=SCREENSHOT)
    assert status_text.startswith("200")
    assert "user1@example.com" in body
    assert '"totalResults": 3' in body


# -- a host project built from the docs alone ------------------------------------------------------------------


@pytest.fixture
def host_project(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A project from ``django-admin startproject`` with the tutorial's settings and URLs and those of
    docs/howto/openapi.rst, as written, served by ``runserver`` on 127.0.0.1; yields its URL and a token."""
    require_chromium()
    project = HostProject(tmp_path)
    project.start()
    tutorial = {block.caption: block.text for block in blocks(DOCS / "tutorial.rst")}
    openapi = [block for block in blocks(DOCS / "howto" / "openapi.rst") if block.language == "python"]
    assert [block.caption for block in openapi] == ["mysite/settings.py", "mysite/urls.py"]
    for module in ("mysite/settings.py", "mysite/urls.py"):
        project.append(module, tutorial[module], *(block.text for block in openapi if block.caption == module))
    project.manage("migrate", "-v0")
    token = project.token("swagger")
    with project.serve("/api/docs/") as url:
        yield url, token


def test_swagger_ui_in_a_host_project_built_from_the_docs(host_project):
    url, token = host_project
    user = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "host@example.com"}
    assert scim(f"{url}/scim/v2/Users", token, user)[0] == 201
    _, document = scim(f"{url}/api/schema/?format=json", token)
    assert set(document["components"]["securitySchemes"]) == {"bearerAuth"}
    assert list(document["paths"])[:2] == ["/scim/v2/Users", "/scim/v2/Users/{id}"]
    with urllib.request.urlopen(f"{url}/api/redoc/", timeout=30) as redoc:
        assert redoc.status == 200

    status_text, body, schemes = authorize_and_list_users(f"{url}/api/docs/", token)
    assert schemes == 1  # bearerAuth alone: no oauth2 flow to a URL the project does not serve, no cookieAuth
    assert status_text.startswith("200")
    assert "host@example.com" in body
    assert '"totalResults": 1' in body


# -- the connections page of the Django admin --------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_admin_makes_a_connection_whose_token_provisions_and_whose_activity_it_shows(live_server, settings):
    settings.ROOT_URLCONF = "sample_site.urls"
    settings.DRF_SCIM = {"TENANT_RESOLVER": "drf_scim.tenancy.application_tenant"}
    require_chromium()
    from django.contrib.auth.models import User
    from playwright.sync_api import sync_playwright

    from drf_scim import activity

    activity.recorder.forget()
    User.objects.create_superuser("admin", "admin@example.com", "admin")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page()
            page.goto(f"{live_server.url}/admin/drf_scim/scimclient/add/")
            page.fill("#id_username", "admin")
            page.fill("#id_password", "admin")
            page.click('input[type="submit"]')
            page.fill("#id_name", "Microsoft Entra ID")
            page.fill("#id_tenant", "acme")
            page.click('input[name="_save"]')
            token = page.input_value("#scim-token")
            base_url = page.input_value("#scim-base-url")
            assert base_url == f"{live_server.url}/scim/v2"

            body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bjensen@example.com"}
            assert scim(f"{base_url}/Users", token, body)[0] == 201
            assert scim(f"{base_url}/Users?filter=userName%20eq%20%22bjensen%40example.com%22", token)[0] == 200

            page.goto(f"{live_server.url}/admin/drf_scim/scimclient/")
            row = page.locator("#result_list tbody tr", has_text="Microsoft Entra ID")
            assert row.locator("td.field-tenant_name").inner_text() == "acme"
            assert row.locator("td.field-token_scopes").inner_text() == "scim:read scim:write"
            assert row.locator("td.field-requests_today").inner_text() == "2"
            assert row.locator("td.field-last_request").inner_text() != "never"
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT.with_name("admin-connections.png")), full_page=True)
            row.locator("th a").click()
            page.screenshot(path=str(SCREENSHOT.with_name("admin-connection.png")), full_page=True)
            assert token not in page.content()
            page.click("text=Rotate token")
            page.click('input[value="Rotate token"]')
            rotated = page.input_value("#scim-token")
            assert rotated != token
            page.screenshot(path=str(SCREENSHOT.with_name("admin-token.png")), full_page=True)
        finally:
            browser.close()
    with pytest.raises(urllib.error.HTTPError) as refused:
        scim(f"{live_server.url}/scim/v2/Users", token)
    assert refused.value.code == 401
    assert scim(f"{live_server.url}/scim/v2/Users", rotated)[0] == 200
