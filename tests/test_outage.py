"""While PostgreSQL is unreachable every SCIM request answers a SCIM 503 with Retry-After,
and the site answers again once the database is back, with no restart.

The test runs its own PostgreSQL cluster (initdb under /tmp, on a port of its own), which it stops and starts
under the sample site served by gunicorn with deploy/gunicorn.conf.py; the shared cluster is never touched.
It runs with the PostgreSQL suite (``make test-postgres``), where CI has PostgreSQL's binaries.
"""

from __future__ import annotations

import contextlib
import glob
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from drf_scim.constants import BULK_REQUEST_SCHEMA, PATCH_OP_SCHEMA, SEARCH_REQUEST_SCHEMA
from tests.helpers import user_body
from tests.test_gunicorn import free_port

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


class Cluster:
    """A throwaway PostgreSQL cluster, run as the postgres user when the tests run as root (it refuses root)."""

    def __init__(self) -> None:
        candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not candidates:
            pytest.skip("PostgreSQL's server binaries are not installed")
        self.bin = Path(candidates[-1]).parent
        self.root = Path(tempfile.mkdtemp(prefix="drf_scim_outage_"))
        self.data = self.root / "data"
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.root, "postgres")
        self.url = f"postgres://scim@127.0.0.1:{self.port}/scim"

    def run(self, *command: str) -> None:
        argv = ["runuser", "-u", "postgres", "--", *command] if self.as_postgres else list(command)
        subprocess.run(argv, check=True, cwd=self.root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def init(self) -> None:
        self.run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "scim", "-A", "trust", "--no-sync")
        self.start()
        self.run(str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "scim", "scim")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w", "start"
        )

    def stop(self) -> None:
        self.run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def site_env(cluster: Cluster) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": cluster.url,
        "DJANGO_SETTINGS_MODULE": "sample_site.settings",
        "DJANGO_DEBUG": "0",
        "GUNICORN_ACCESS_LOG": "/dev/null",
        "GUNICORN_LOG_LEVEL": "warning",
        "GUNICORN_WORKERS": "2",
    }


def manage(cluster: Cluster, *args: str) -> str:
    command = [sys.executable, "sample_site/manage.py", *args]
    return subprocess.run(command, cwd=ROOT, env=site_env(cluster), check=True, capture_output=True, text=True).stdout


def call(base: str, method: str, path: str, token: str | None, body: object = None) -> tuple[int, dict, dict]:
    request = urllib.request.Request(
        f"{base}{path}", method=method, data=None if body is None else json.dumps(body).encode()
    )
    request.add_header("Content-Type", "application/scim+json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, headers, content = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, headers, content = error.code, dict(error.headers), error.read()
    assert "json" in headers.get("Content-Type", ""), (status, headers, content[:300])
    return status, headers, json.loads(content) if content else {}


@pytest.fixture
def outage_site():
    if connection.vendor != "postgresql":
        pytest.skip("runs with the PostgreSQL suite, which has PostgreSQL's binaries")
    cluster = Cluster()
    process = None
    try:
        cluster.init()
        manage(cluster, "migrate", "--noinput", "-v0")
        tokens = [manage(cluster, "scim_token", "--client", f"outage-{n}").strip().splitlines()[-1] for n in range(2)]
        port = free_port()
        env = {**site_env(cluster), "GUNICORN_BIND": f"127.0.0.1:{port}"}
        process = subprocess.Popen(
            [str(BIN / "gunicorn"), "sample_site.wsgi", "-c", "deploy/gunicorn.conf.py"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}/scim/v2"
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/ServiceProviderConfig", timeout=2)
            except urllib.error.HTTPError:
                break  # 401: it answers
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        yield cluster, base, tokens
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
        cluster.destroy()


def requests_of(user_id: str) -> list[tuple[str, str, object]]:
    patch = {"schemas": [PATCH_OP_SCHEMA], "Operations": [{"op": "replace", "path": "active", "value": False}]}
    bulk = {
        "schemas": [BULK_REQUEST_SCHEMA],
        "Operations": [{"method": "POST", "path": "/Users", "bulkId": "b", "data": user_body("bulk@example.com")}],
    }
    return [
        ("GET", "/Users", None),
        ("GET", "/Users?filter=userName%20eq%20%22a%22", None),
        ("GET", f"/Users/{user_id}", None),
        ("GET", "/Groups", None),
        ("POST", "/Users", user_body("new@example.com")),
        ("PUT", f"/Users/{user_id}", user_body("kept@example.com")),
        ("PATCH", f"/Users/{user_id}", patch),
        ("DELETE", f"/Users/{user_id}", None),
        ("POST", "/Bulk", bulk),
        ("POST", "/Users/.search", {"schemas": [SEARCH_REQUEST_SCHEMA], "filter": "userName pr"}),
        ("POST", "/.search", {"schemas": [SEARCH_REQUEST_SCHEMA]}),
        ("GET", "/ServiceProviderConfig", None),
        ("GET", "/Schemas", None),
        ("GET", "/Me", None),
    ]


def raw_request(base: str, method: str, path: str, headers: dict[str, str], body: bytes, chunked: bool = False):
    """A request sent by http.client, which can send a chunked body (urllib cannot).

    A server may answer before it has read the body (a 401 or 413 is decided on the headers) and
    close the connection while the body is still being sent. Like urllib3, the client then reads
    the answer the server sent instead of failing on the broken pipe.
    """
    host, port = base.split("//", 1)[1].split("/", 1)[0].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # an early answer, read below
            connection.request(
                method,
                base.split(f":{port}", 1)[1] + path,
                body=iter([body]) if chunked else body,
                headers=headers,
                encode_chunked=chunked,
            )
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_bodies_through_gunicorn(outage_site):
    """As gunicorn passes requests on: a chunked body is a 411 that says why, a body over
    the limits a 401 without a valid token and a 413 with one, each a SCIM Error."""
    _, base, (token, _) = outage_site
    body = json.dumps(user_body("chunked@example.com")).encode()
    scim = {"Content-Type": "application/scim+json"}
    status, headers, content = raw_request(
        base, "POST", "/Users", {**scim, "Authorization": f"Bearer {token}"}, body, chunked=True
    )
    assert status == 411 and "Content-Length" in json.loads(content)["detail"], content
    big = b'{"userName": "' + b"x" * 3_000_000 + b'"}'
    for authorization, expected in [(None, 401), ("Bearer unknown", 401), (f"Bearer {token}", 413)]:
        headers = {**scim, **({"Authorization": authorization} if authorization else {})}
        status, _, content = raw_request(base, "POST", "/Users", headers, big)
        assert status == expected, content[:300]
        assert json.loads(content)["schemas"] == [ERROR_SCHEMA]
        assert token.encode() not in content


def test_an_outage_is_a_503_and_the_site_comes_back(outage_site):
    cluster, base, (cached, uncached) = outage_site
    status, _, user = call(base, "POST", "/Users", cached, user_body("kept@example.com"))
    assert status == 201, user
    assert call(base, "GET", "/Users", cached)[0] == 200  # the token is now in a worker's cache

    cluster.stop()
    for token in (cached, uncached, "not-a-token"):
        for method, path, body in requests_of(user["id"]):
            status, headers, error = call(base, method, path, token, body)
            assert "Cache-Control" in headers
            if token == cached and (status, path) in ((200, "/ServiceProviderConfig"), (200, "/Schemas"), (501, "/Me")):
                continue  # a worker that has the token cached needs no database to answer these
            assert status == 503, (token, method, path, status, error)
            assert error["schemas"] == [ERROR_SCHEMA] and error["status"] == "503"
            assert int(headers["Retry-After"]) > 0
    status, _, error = call(base, "GET", "/Users", None)
    assert status == 401 and error["schemas"] == [ERROR_SCHEMA]  # no token: nothing to look up

    cluster.start()
    deadline = time.monotonic() + 30
    while call(base, "GET", "/Users", uncached)[0] == 503:
        assert time.monotonic() < deadline, "the site did not come back"
        time.sleep(0.5)
    for token in (cached, uncached):
        status, _, body = call(base, "GET", f"/Users/{user['id']}", token)
        assert status == 200, body
        assert body["userName"] == "kept@example.com" and body["active"] is True  # nothing half applied
    assert call(base, "GET", "/Users?filter=userName%20eq%20%22new@example.com%22", cached)[2]["totalResults"] == 0
    assert call(base, "GET", "/Users", "not-a-token")[0] == 401
    assert call(base, "POST", "/Users", uncached, user_body("after@example.com"))[0] == 201
