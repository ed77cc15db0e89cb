"""The sample site under gunicorn with several workers keeps every guarantee (no per-process state).

PostgreSQL only: the workers share the test database, and the checks race real processes.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from drf_scim.constants import PATCH_OP_SCHEMA
from tests.helpers import group_body, user_body

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def gunicorn(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("several worker processes share a PostgreSQL database")
    settings = connection.settings_dict
    url = f"postgres://{settings['USER'] or ''}@{settings['HOST']}:{settings['PORT'] or 5432}/{settings['NAME']}"
    if not settings["HOST"]:
        url = f"postgres:///{settings['NAME']}"
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "sample_site.settings", "DJANGO_DEBUG": "0"}
    executable = str(Path(sys.executable).parent / "gunicorn")
    process = subprocess.Popen(
        [executable, "sample_site.wsgi", "--workers", "3", "--bind", f"127.0.0.1:{port}", "--log-level", "warning"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}/scim/v2"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{base}/ServiceProviderConfig", timeout=1)
        except urllib.error.HTTPError:
            break  # 401: the server answers
        except OSError:
            time.sleep(0.2)
    try:
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def call(base: str, token: str, method: str, path: str, body: object = None, **headers: str) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{base}{path}", data=data, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    request.add_header("Content-Type", "application/scim+json")
    for name, value in headers.items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            content = response.read()
            return response.status, json.loads(content) if content else {}
    except urllib.error.HTTPError as error:
        content = error.read()
        return error.code, json.loads(content) if content else {}


def race(count: int, work) -> list:
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(n: int) -> None:
        barrier.wait()
        results[n] = work(n)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_guarantees_hold_across_worker_processes(gunicorn, make_token):
    base, token = gunicorn, make_token()

    statuses = race(8, lambda n: call(base, token, "POST", "/Users", user_body("Same@Example.com"))[0])
    assert sorted(statuses) == [201] + [409] * 7

    users = [call(base, token, "POST", "/Users", user_body(f"w{n}@example.com"))[1]["id"] for n in range(20)]
    _, group = call(base, token, "POST", "/Groups", group_body("Workers"))

    def add(n: int) -> int:
        op = {
            "schemas": [PATCH_OP_SCHEMA],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": users[n]}]}],
        }
        return call(base, token, "PATCH", f"/Groups/{group['id']}", op)[0]

    assert race(20, add) == [204] * 20
    _, body = call(base, token, "GET", f"/Groups/{group['id']}")
    assert sorted(m["value"] for m in body["members"]) == sorted(users)
    assert body["meta"]["version"] == 'W/"21"'

    target = users[0]
    replaced = race(
        6,
        lambda n: call(
            base,
            token,
            "PUT",
            f"/Users/{target}",
            user_body("w0@example.com", nickName=str(n)),
            **{"If-Match": 'W/"1"'},
        )[0],
    )
    assert sorted(replaced) == [200] + [412] * 5
