"""docs/tutorial.rst, followed exactly as written: a new project, drf_scim's settings and URLs, migrate, a
token, runserver, Entra ID's provisioning sequence (entra.py prints what the tutorial says), and the connection
with its requests in the Django admin and in ``scim_token --list``."""

from __future__ import annotations

import http.cookiejar
import os
import re
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.docs import DOCS, Block, HostProject, blocks, commands

TUTORIAL = DOCS / "tutorial.rst"

# Once per `make test`: the tutorial's project has its own SQLite database, whatever DATABASE_URL says.
pytestmark = pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="runs in the SQLite suite only")


def tutorial_steps() -> list[Block]:
    return blocks(TUTORIAL)


def captioned(steps: list[Block], caption: str) -> Block:
    [block] = [block for block in steps if block.caption == caption]
    return block


def admin_page(url: str, path: str, username: str, password: str) -> tuple[int, str]:
    """Sign in to the Django admin as a person does (its login form, with the CSRF token), then open ``path``."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    login = f"{url}/admin/login/?next={urllib.parse.quote(path)}"
    form = opener.open(login, timeout=30).read().decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)[1]
    data = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": csrf, "username": username, "password": password, "next": path}
    ).encode()
    with opener.open(urllib.request.Request(login, data=data, headers={"Referer": login}), timeout=30) as page:
        return page.status, page.read().decode()


def test_the_tutorial_takes_an_empty_directory_to_entra_provisioning_seen_in_the_admin(tmp_path: Path):
    steps = tutorial_steps()
    project = HostProject(tmp_path, package="mysite")
    shell = [words for block in steps if block.language == "shell" for words in commands(block)]
    typed = [words for words in shell if words[0] in ("django-admin", "python")]

    # Steps 2 to 6, as typed; the blocks with a caption go where their caption says.
    script = captioned(steps, "entra.py").text
    printed = captioned(steps, "output of entra.py").text
    token = None
    served = False
    for words in typed:
        if words[:2] == ["django-admin", "startproject"]:
            project.run(words)
            project.append("mysite/settings.py", captioned(steps, "mysite/settings.py").text)
            project.append("mysite/urls.py", captioned(steps, "mysite/urls.py").text)
        elif words[2:3] == ["scim_token"] and "--client" in words:
            token = project.run(words).stdout.strip().splitlines()[-1]
        elif words[2:3] == ["runserver"]:
            served = True
            break
        else:
            project.run(words)
    assert token and served, typed

    with project.serve() as url:
        # Step 8: entra.py, saved and run as the tutorial says, prints exactly what the tutorial shows.
        (tmp_path / "entra.py").write_text(script)
        assert ["python", "entra.py"] in typed
        output = project.run(["python", "entra.py"], SCIM=f"{url}/scim/v2", TOKEN=token).stdout
        assert output.strip() == printed.strip()

        # Step 9: a superuser (createsuperuser, without its prompts), and the connection in the admin.
        assert ["python", "manage.py", "createsuperuser"] in typed
        project.manage(
            "createsuperuser", "--noinput", DJANGO_SUPERUSER_USERNAME="admin", DJANGO_SUPERUSER_PASSWORD="admin",
            DJANGO_SUPERUSER_EMAIL="admin@example.com",
        )  # fmt: skip
        status, page = admin_page(url, "/admin/drf_scim/scimclient/", "admin", "admin")
        assert status == 200
        requests = script.count('scim("')  # the calls of entra.py (one is inside the delete's print)
        row = re.search(r"<tr>(?:(?!</tr>).)*>Microsoft Entra ID<.*?</tr>", page, re.S)
        assert row, page
        cell = dict(re.findall(r'<td class="field-(\w+)[^"]*">(.*?)</td>', row[0], re.S))
        assert cell["token_scopes"] == "scim:read scim:write"
        assert cell["last_request"] != "never"
        # runserver's one process served them: its tally is on the page before it is written.
        assert int(cell["requests_today"]) == requests
        assert cell["errors_7_days"] == "1"  # the read after the user's deletion: a 404, as the tutorial says

        # Its requests reach the database within ACTIVITY_FLUSH_SECONDS (10 s): scim_token --list shows them.
        assert ["python", "manage.py", "scim_token", "--list"] in typed
        deadline = time.monotonic() + 30
        while True:
            listed = project.manage("scim_token", "--list")
            counted = re.search(r"^Microsoft Entra ID\t.*\brequests \(7 days\)=(\d+)$", listed, re.M)
            if counted and int(counted[1]) >= requests:
                break
            assert time.monotonic() < deadline, listed
            urllib.request.urlopen(f"{url}/admin/login/", timeout=30).close()
            project.run(["python", "-c", POKE], SCIM=f"{url}/scim/v2", TOKEN=token)
            time.sleep(1)
        assert "live tokens=1" in listed
        assert "last request=-" not in listed


# One more request of the connection, so that its process writes its counts once they are due.
POKE = """
import os, urllib.request
request = urllib.request.Request(os.environ["SCIM"] + "/ServiceProviderConfig")
request.add_header("Authorization", "Bearer " + os.environ["TOKEN"])
urllib.request.urlopen(request).close()
"""
