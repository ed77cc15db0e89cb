"""The load driver: replays identity-provider requests against a SCIM server on the loopback and measures them.

It only speaks HTTP, so it drives drf_scim, django-scim2 and the floor alike. Each workload runs for a fixed
time with a few concurrent clients (threads, one connection per request as a sync gunicorn worker wants);
every response must have the expected status, and its ``X-Queries`` header (see querycount.py) is collected.

The driver shares the machine with the servers it measures, so it speaks HTTP/1.1 over plain sockets: what
it spends per request is taken from every site alike, and the less it is, the less it blurs their differences
(``http.client``'s own CPU per request is a sizeable share of what the fastest site spends on one).
"""

from __future__ import annotations

import json
import socket
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from itertools import count
from typing import Any
from urllib.parse import quote, urlsplit

SCIM_JSON = "application/scim+json"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: dict | None = None
    expect: tuple[int, ...] = (200,)


@dataclass
class Measurement:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    queries: int | None
    errors: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list, repr=False)  # seconds, sorted
    query_counts: list[int] = field(default_factory=list, repr=False)

    @classmethod
    def of(cls, latencies: list[float], seconds: float, query_counts: list[int], errors: list[str]) -> Measurement:
        latencies = sorted(latencies)
        if not latencies:  # a stream that had run out: no request, no latency
            return cls(0, round(seconds, 3), 0.0, 0.0, 0.0, None, errors)
        return cls(
            requests=len(latencies),
            seconds=round(seconds, 3),
            rps=round(len(latencies) / seconds, 2),
            p50_ms=round(statistics.median(latencies) * 1000, 2),
            p99_ms=round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 2),
            queries=round(statistics.median(query_counts)) if query_counts else None,
            errors=errors,
            latencies=latencies,
            query_counts=query_counts,
        )

    @classmethod
    def combine(cls, parts: list[Measurement]) -> Measurement:
        """One measurement of several slices of the same workload (``measure_interleaved``)."""
        return cls.of(
            [latency for part in parts for latency in part.latencies],
            sum(part.seconds for part in parts),
            [count for part in parts for count in part.query_counts],
            [error for part in parts for error in part.errors][:5],
        )

    def as_dict(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if key not in ("latencies", "query_counts")}


class Server:
    """A SCIM endpoint on the loopback: base URL (with its path prefix) and a bearer token."""

    def __init__(self, base_url: str, token: str | None = None) -> None:
        parts = urlsplit(base_url)
        if parts.hostname not in {"127.0.0.1", "localhost", "::1"}:
            raise ValueError("The driver only talks to the loopback.")
        self.host, self.port, self.prefix = parts.hostname, parts.port or 80, parts.path.rstrip("/")
        headers = {"Host": f"{self.host}:{self.port}", "Accept": SCIM_JSON, "Connection": "close"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.header_block = "".join(f"{name}: {value}\r\n" for name, value in headers.items())

    def send(self, request: Request) -> tuple[int, bytes, dict[str, str]]:
        """Send ``request`` on a new connection; its status, body and headers."""
        head = f"{request.method} {self.prefix}{request.path} HTTP/1.1\r\n{self.header_block}"
        payload = b""
        if request.body is not None:
            payload = json.dumps(request.body).encode()
            head += f"Content-Type: {SCIM_JSON}\r\nContent-Length: {len(payload)}\r\n"
        with socket.create_connection((self.host, self.port), timeout=120) as connection:
            connection.sendall(head.encode() + b"\r\n" + payload)
            return read_response(connection)

    def call(self, request: Request) -> dict[str, Any]:
        """Send one request that must succeed and return its JSON body ({} for an empty one)."""
        status, body, _ = self.send(request)
        if status not in request.expect:
            raise RuntimeError(f"{request.method} {request.path} answered {status}: {body[:300]!r}")
        return json.loads(body) if body else {}

    def find_ids(self, endpoint: str, attribute: str, values: list[str], chunk: int = 10) -> list[str]:
        """The ids of the resources whose ``attribute`` equals each value, in the order of the values."""
        ids: dict[str, str] = {}
        for start in range(0, len(values), chunk):
            query = " or ".join(f'{attribute} eq "{value}"' for value in values[start : start + chunk])
            path = f"/{endpoint}?filter={quote(query)}&count={chunk}&excludedAttributes=members"
            for resource in self.call(Request("GET", path))["Resources"]:
                ids[resource[attribute].casefold()] = str(resource["id"])
        missing = [value for value in values if value.casefold() not in ids]
        if missing:
            raise RuntimeError(f"{endpoint}: no resource with {attribute} {missing[:3]}")
        return [ids[value.casefold()] for value in values]


def read_response(connection: socket.socket) -> tuple[int, bytes, dict[str, str]]:
    """Status, body and headers of the HTTP/1.1 response on ``connection`` (which the server closes after it)."""
    received = bytearray()
    while (end := received.find(b"\r\n\r\n")) < 0:
        chunk = connection.recv(65536)
        if not chunk:
            raise ConnectionError("The server closed the connection before the response's headers.")
        received += chunk
    status_line, *lines = received[:end].decode("latin-1").split("\r\n")
    status = int(status_line.split(" ", 2)[1])
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip()] = value.strip()
    lowered = {name.lower(): value for name, value in headers.items()}
    body = received[end + 4 :]
    length = lowered.get("content-length")
    if status in (204, 304) or (100 <= status < 200):
        return status, b"", headers
    while length is None or len(body) < int(length):
        chunk = connection.recv(65536)
        if not chunk:
            break  # no Content-Length: the body ends with the connection
        body += chunk
    if lowered.get("transfer-encoding", "").lower() == "chunked":
        body = dechunk(body)
    return status, bytes(body if length is None else body[: int(length)]), headers


def dechunk(body: bytes | bytearray) -> bytearray:
    """The data of a body sent with ``Transfer-Encoding: chunked``."""
    data, position = bytearray(), 0
    while True:
        line_end = body.index(b"\r\n", position)
        size = int(bytes(body[position:line_end]).split(b";")[0], 16)
        if size == 0:
            return data
        data += body[line_end + 2 : line_end + 2 + size]
        position = line_end + 2 + size + 2


def measure(
    server: Server, requests: Iterator[Request], seconds: float, concurrency: int, at_least: int = 1
) -> Measurement:
    """Send requests from ``concurrency`` threads for ``seconds``, each thread at least ``at_least`` of them.

    The stream may end sooner: a workload that runs out of requests stops its threads.
    """
    lock = threading.Lock()
    latencies: list[float] = []
    queries: list[int] = []
    errors: list[str] = []
    deadline = time.perf_counter() + seconds

    def next_request() -> Request | None:
        with lock:
            return next(requests, None)

    def client() -> None:
        sent = 0
        while sent < at_least or time.perf_counter() < deadline:
            sent += 1
            request = next_request()
            if request is None:
                return
            started = time.perf_counter()
            try:
                status, body, headers = server.send(request)
            except OSError as error:
                status, body, headers = 0, str(error).encode(), {}
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                if "X-Queries" in headers:
                    queries.append(int(headers["X-Queries"]))
                if status not in request.expect and len(errors) < 5:
                    errors.append(f"{request.method} {request.path} -> {status}: {body[:200]!r}")

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Measurement.of(latencies, time.perf_counter() - started, queries, errors)


def measure_turns(
    streams: dict[str, tuple[Server, Iterator[Request]]],
    rounds: list[list[str]],
    seconds: float,
    concurrency: int,
    at_least: int = 1,
) -> dict[str, list[Measurement]]:
    """Measure the named servers for ``seconds`` each, in the order of each round; every server's turns.

    Each stream goes on from one turn to the next, so a workload never repeats what it wrote.
    """
    parts: dict[str, list[Measurement]] = {name: [] for name in streams}
    for order in rounds:
        for name in order:
            server, requests = streams[name]
            measured = measure(server, requests, seconds, concurrency, at_least)
            if not measured.requests:
                raise RuntimeError(f"{name}: the workload ran out of requests before its turn")
            parts[name].append(measured)
    return parts


def measure_interleaved(
    streams: dict[str, tuple[Server, Iterator[Request]]],
    seconds: float,
    concurrency: int,
    rounds: int,
    at_least: int = 1,
) -> dict[str, Measurement]:
    """Measure several servers on the same workload in turns of ``seconds / rounds`` each, ``rounds`` times.

    A machine whose speed drifts (a shared or throttled host) then slows every server alike, where
    measuring one after the other would credit one with the fast minutes and another with the slow ones.
    """
    parts = measure_turns(streams, [list(streams)] * rounds, seconds / rounds, concurrency, at_least)
    return {name: Measurement.combine(measured) for name, measured in parts.items()}


def cycle(items: list[Any]) -> Iterator[Any]:
    for index in count():
        yield items[index % len(items)]


@dataclass
class Dataset:
    """What the workloads need to know about the seeded data, found through the server's own API."""

    users: int
    groups: int
    user_ids: list[str]
    big_group_id: str
    outsider_ids: deque[str]  # users not in the big group yet, each added once

    @classmethod
    def discover(cls, server: Server, users: int, groups: int, big: int, samples: int, adds: int) -> Dataset:
        def names(numbers: range) -> list[str]:
            return [f"user{n}@example.com" for n in numbers]

        step = max(1, users // samples)
        return cls(
            users=users,
            groups=groups,
            user_ids=server.find_ids("Users", "userName", names(range(1, users + 1, step))[:samples]),
            big_group_id=server.find_ids("Groups", "displayName", ["big"])[0],
            outsider_ids=deque(server.find_ids("Users", "userName", names(range(big + 1, min(users, big + adds) + 1)))),
        )


Workload = Callable[[Dataset, str], Iterator[Request]]


def lookup(data: Dataset, run: str) -> Iterator[Request]:
    for n in count(1):
        name = f"user{(n * 7919) % data.users + 1}@example.com"
        yield Request("GET", "/Users?filter=" + quote(f'userName eq "{name}"'))


def get_user(data: Dataset, run: str) -> Iterator[Request]:
    for scim_id in cycle(data.user_ids):
        yield Request("GET", f"/Users/{scim_id}")


def deep_page(data: Dataset, run: str) -> Iterator[Request]:
    start = max(1, data.users - data.users // 10)  # 90% of the way in
    while True:
        yield Request("GET", f"/Users?startIndex={start}&count=100")


def post_user(data: Dataset, run: str) -> Iterator[Request]:
    for n in count(1):
        name = f"new-{run}-{n}@example.com"
        body = {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": name,
            "name": {"givenName": "New", "familyName": f"User {n}"},
            "emails": [{"value": name, "type": "work", "primary": True}],
            "active": True,
        }
        yield Request("POST", "/Users", body, expect=(201,))


def patch_active(data: Dataset, run: str) -> Iterator[Request]:
    for n, scim_id in enumerate(cycle(data.user_ids)):
        operation = {"op": "replace", "path": "active", "value": n // len(data.user_ids) % 2 == 1}
        yield Request("PATCH", f"/Users/{scim_id}", {"schemas": [PATCH_OP], "Operations": [operation]})


def add_member(data: Dataset, run: str) -> Iterator[Request]:
    while data.outsider_ids:  # each user once, warm-up included: every request is a real change
        scim_id = data.outsider_ids.popleft()
        operation = {"op": "add", "path": "members", "value": [{"value": scim_id}]}
        body = {"schemas": [PATCH_OP], "Operations": [operation]}
        yield Request("PATCH", f"/Groups/{data.big_group_id}", body, expect=(200, 204))


def group_lookup(data: Dataset, run: str) -> Iterator[Request]:
    for n in count(1):
        query = quote(f'displayName eq "group{(n * 7) % data.groups + 1}"')
        yield Request("GET", f"/Groups?filter={query}&excludedAttributes=members")


def get_big_group(data: Dataset, run: str) -> Iterator[Request]:
    while True:
        yield Request("GET", f"/Groups/{data.big_group_id}?excludedAttributes=members")


WORKLOADS: dict[str, tuple[str, Workload]] = {
    "lookup": ("Lookup by userName eq", lookup),
    "get": ("GET user by id", get_user),
    "deep_page": ("Page of 100 users at 90%", deep_page),
    "post": ("POST user", post_user),
    "patch_active": ("PATCH active", patch_active),
    "add_member": ("PATCH add 1 member to big group", add_member),
    "group_lookup": ("Group by displayName, no members", group_lookup),
    "big_group": ("GET big group, no members", get_big_group),
}


def query_counts(server: Server, data: Dataset) -> dict[str, dict[str, int | None]]:
    """The SQL queries of the same request at two sizes: a page of 1 and a deep page of 100, adding a member
    to a group of 10 and to the big group."""

    def queries(request: Request) -> int | None:
        """The fewest queries of three sends (a worker looks its token up again now and then)."""
        counts = []
        for _ in range(3):
            status, body, headers = server.send(request)
            if status not in request.expect:
                raise RuntimeError(f"{request.method} {request.path} answered {status}: {body[:300]!r}")
            counts.append(int(headers["X-Queries"]) if "X-Queries" in headers else None)
        return None if None in counts else min(counts)

    def add(group_id: str) -> Request:  # the same member three times: the first adds it, then it is there
        operation = {"op": "add", "path": "members", "value": [{"value": data.outsider_ids.popleft()}]}
        return Request("PATCH", f"/Groups/{group_id}", {"schemas": [PATCH_OP], "Operations": [operation]}, (200, 204))

    deep = max(1, data.users - data.users // 10)
    small_group = server.find_ids("Groups", "displayName", ["group1"])[0]
    return {
        "A page of users": {
            "1 user at the start": queries(Request("GET", "/Users?startIndex=1&count=1")),
            "100 users at 90%": queries(Request("GET", f"/Users?startIndex={deep}&count=100")),
        },
        "Adding a member": {
            "to a group of 10": queries(add(small_group)),
            "to the big group": queries(add(data.big_group_id)),
        },
    }
