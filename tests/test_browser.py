"""Swagger UI in a real browser (Debian's chromium, driven by Playwright): authorize with a token, list users."""

from __future__ import annotations

import os
import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOT = Path(__file__).resolve().parent.parent / "build" / "screenshots" / "swagger-ui.png"
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


@pytest.mark.django_db(transaction=True)
def test_swagger_ui_authorizes_and_lists_users(live_server, settings):
    settings.ROOT_URLCONF = "sample_site.urls"  # the sample site, as a person would open it
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("CI must install chromium (apt-get install chromium); .ci/run does")
        pytest.skip("chromium is not installed: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    call_command("scim_seed", users=3, groups=1, stdout=StringIO())
    out = StringIO()
    call_command("scim_token", "--client", "swagger", stdout=out)
    token = out.getvalue().strip().splitlines()[-1]

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page()
            page.goto(f"{live_server.url}/api/docs/", wait_until="networkidle")
            page.click("button.authorize")
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
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)
        finally:
            browser.close()

    assert status_text.startswith("200")
    assert "user1@example.com" in body
    assert '"totalResults": 3' in body
