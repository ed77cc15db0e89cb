"""``make bench-profile``: where a request's time goes, drf_scim against the floor, in one process.

A database seeded as run.py seeds it (``--users``, 10,000 by default; ``--reuse`` keeps the last one), then the
benchmark site's WSGI application called directly — no server, no sockets, no client — for each workload:
``--warmup`` requests, ``--requests`` timed ones in ``--rounds`` turns taken with the floor's in alternation
(this machine's speed drifts by a third from one minute to the next: only turns side by side compare), then
as many again under cProfile. The timed ones give the wall and CPU time per request (medians of the turns)
of drf_scim and of the floor (drf_site/floor.py) and their ratio, the in-process counterpart of make bench's
share of the floor. The profile splits drf_scim's time by layer (drf_scim's own
modules, DRF, the ORM, psycopg, waiting on PostgreSQL, ...) and by phase (the functions of drf_scim and DRF
with the most time inside them). cProfile slows Python code down, so its times are shares, not speeds.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import io
import json
import os
import pstats
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes

from driver import SCIM_JSON, WORKLOADS, Dataset, Request, Server
from report import measured_on
from run import FLOOR_WORKLOADS, HERE, ROOT, SITES, log, machine, prepare

DATABASE = "scim_bench_profile"

# Where a function's own time is counted: the first fragment found in "<file name>:<function name>".
LAYERS = [
    # Where a connection blocks for PostgreSQL's answer: psycopg_binary's wait is compiled, invisible to cProfile,
    # so its time is Connection.wait's own; pure-Python psycopg waits in waiting.py, on select or poll.
    ("psycopg/connection.py:wait", "waiting on PostgreSQL"),
    ("psycopg/waiting.py", "waiting on PostgreSQL"),
    ("<method 'poll' of", "waiting on PostgreSQL"),
    ("<built-in method select", "waiting on PostgreSQL"),
    ("psycopg/", "psycopg"),
    ("psycopg_binary", "psycopg"),
    ("django/db/", "Django's ORM"),
    ("rest_framework/", "DRF"),
    ("oauth2_provider/", "django-oauth-toolkit"),
    ("oauthlib/", "django-oauth-toolkit"),
    ("django/", "Django (request, middleware, utils)"),
    ("json/", "json"),
    ("benchmarks/", "the benchmark (WSGI call, query counter)"),
]


class InProcess(Server):
    """The drf_scim site's WSGI application behind the driver's ``Server`` interface, called in this process
    (``Server.__init__`` is not called: there is no address to connect to)."""

    def __init__(self, application: Any, prefix: str, token: str | None = None) -> None:
        self.application, self.prefix = application, prefix
        self.headers = {"HTTP_HOST": "127.0.0.1", "HTTP_ACCEPT": SCIM_JSON}
        if token:
            self.headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"

    def send(self, request: Request) -> tuple[int, bytes, dict[str, str]]:
        path, _, query = f"{self.prefix}{request.path}".partition("?")
        payload = b"" if request.body is None else json.dumps(request.body).encode()
        environ = {
            **self.headers,
            "REQUEST_METHOD": request.method,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),  # PEP 3333
            "QUERY_STRING": query,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(payload),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        if payload:
            environ.update(CONTENT_TYPE=SCIM_JSON, CONTENT_LENGTH=str(len(payload)))
        answer: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            answer.update(status=int(status.split()[0]), headers=dict(headers))

        response = self.application(environ, start_response)
        try:
            body = b"".join(response)
        finally:
            getattr(response, "close", lambda: None)()
        return answer["status"], body, answer["headers"]


def layer_of(filename: str, function: str = "") -> str:
    """The layer a function's own time counts in: ``drf_scim.<module>`` for ours, else by ``LAYERS``."""
    if "drf_scim/" in filename:
        return "drf_scim." + filename.rsplit("drf_scim/", 1)[1].split("/")[0].removesuffix(".py")
    where = f"{filename}:{function}"
    return next((layer for fragment, layer in LAYERS if fragment in where), "Python (stdlib, other)")


def by_layer(stats: pstats.Stats, requests: int) -> dict[str, float]:
    """Each layer's own time per request, µs."""
    layers: dict[str, float] = defaultdict(float)
    for (filename, _, name), (_, _, own, _, _) in stats.stats.items():
        layers[layer_of(filename, name)] += own  # builtins have "~" for a file name
    return {layer: seconds / requests * 1e6 for layer, seconds in sorted(layers.items(), key=lambda item: -item[1])}


def phases(stats: pstats.Stats, requests: int, top: int) -> list[tuple[str, float]]:
    """drf_scim's and DRF's functions with the most time inside them (callees included), µs per request."""
    rows = [
        (f"{filename.rsplit('site-packages/', 1)[-1].rsplit(str(ROOT) + '/', 1)[-1]}:{line} {name}", inside)
        for (filename, line, name), (_, _, _, inside, _) in stats.stats.items()
        if "drf_scim/" in filename or "rest_framework/" in filename
    ]
    return [(label, seconds / requests * 1e6) for label, seconds in sorted(rows, key=lambda row: -row[1])[:top]]


def timed(server: InProcess, requests: Any, count: int) -> tuple[float, float]:
    """Wall and CPU µs per request over ``count`` requests."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        request = next(requests, None)
        if request is None:  # add_member adds each outsider once
            raise SystemExit("the workload ran out of users to add: give it more (--adds, --users)")
        status, body, _ = server.send(request)
        if status not in request.expect:
            raise SystemExit(f"{request.method} {request.path} answered {status}: {body[:300]!r}")
    return (time.perf_counter() - wall) / count * 1e6, (time.process_time() - cpu) / count * 1e6


def profile(server: InProcess, requests: Any, count: int) -> pstats.Stats:
    profiler = cProfile.Profile()
    profiler.enable()
    timed(server, requests, count)
    profiler.disable()
    return pstats.Stats(profiler)


def profile_workload(
    servers: dict[str, InProcess], data: Dataset, workload: str, requests: int, warmup: int, top: int, rounds: int = 5
) -> dict[str, Any]:
    """One workload timed on drf_scim and (where it answers it, and ``servers`` has it) the floor, in
    ``rounds`` turns taken in alternation (the machine's speed drifts: only turns side by side compare), then
    profiled on drf_scim."""
    label, make_requests = WORKLOADS[workload]
    sites = ["drf_scim", *(["floor"] if workload in FLOOR_WORKLOADS and "floor" in servers else [])]
    streams = {name: make_requests(data, f"p{time.time_ns()}{name[0]}") for name in sites}
    for name in sites:
        timed(servers[name], streams[name], warmup)
    turns: dict[str, list[tuple[float, float]]] = {name: [] for name in sites}
    for _ in range(rounds):
        for name in sites:
            turns[name].append(timed(servers[name], streams[name], max(1, requests // rounds)))
    measured: dict[str, Any] = {"label": label}
    for name in sites:
        walls, cpus = [wall for wall, _ in turns[name]], [cpu for _, cpu in turns[name]]
        measured[name] = {"wall_us": round(statistics.median(walls)), "cpu_us": round(statistics.median(cpus))}
    if "floor" in measured:
        shares = sorted(floor[0] / ours[0] for ours, floor in zip(turns["drf_scim"], turns["floor"], strict=True))
        measured["share_of_floor"] = round(statistics.median(shares), 3)
        measured["share_range"] = (round(shares[0], 3), round(shares[-1], 3))
    stats = profile(servers["drf_scim"], streams["drf_scim"], requests)
    measured["layers_us"] = {layer: round(us) for layer, us in by_layer(stats, requests).items()}
    measured["phases_us"] = [(function, round(us)) for function, us in phases(stats, requests, top)]
    return measured


def run(options: argparse.Namespace) -> dict[str, Any]:
    site = {**SITES["drf_scim"], "database": DATABASE}
    token = prepare("drf_scim", site, options)
    os.environ.update(DATABASE_URL=f"postgres:///{DATABASE}", DJANGO_SETTINGS_MODULE=site["settings"])
    sys.path[:0] = [str(HERE), str(ROOT)]
    from django.core.wsgi import get_wsgi_application

    application = get_wsgi_application()
    servers = {"drf_scim": InProcess(application, "/scim/v2", token), "floor": InProcess(application, "/floor")}
    data = Dataset.discover(servers["drf_scim"], options.users, options.groups, options.big_group, 200, options.adds)
    report: dict[str, Any] = {
        "date": datetime.date.today().isoformat(),
        "machine": machine(),
        "users": options.users,
        "requests": options.requests,
        "workloads": {},
    }
    for workload in options.workloads:
        measured = profile_workload(
            servers, data, workload, options.requests, options.warmup, options.top, options.rounds
        )
        report["workloads"][workload] = measured
        floor = f", floor {measured['floor']}" if "floor" in measured else ""
        log(f"{measured['label']}: drf_scim {measured['drf_scim']}{floor}")
    return report


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Where a request's time goes",
        "",
        f"{measured_on(report)}; {report['users']:,} users; drf_scim's benchmark site called in process"
        f" (no server, no client), {report['requests']:,} timed requests per workload and site, then as many"
        " profiled on drf_scim.",
        "",
        "| Workload | drf_scim wall / CPU µs | floor wall / CPU µs | floor / drf_scim (rounds: lowest, highest) |",
        "|---|---:|---:|---:|",
    ]
    for result in report["workloads"].values():
        ours, floor = result["drf_scim"], result.get("floor")
        floor_cell = f"{floor['wall_us']:,} / {floor['cpu_us']:,}" if floor else ""
        low, high = result.get("share_range", (0, 0))
        share = f"{result['share_of_floor']:.0%} ({low:.0%}, {high:.0%})" if floor else ""
        lines.append(f"| {result['label']} | {ours['wall_us']:,} / {ours['cpu_us']:,} | {floor_cell} | {share} |")
    for result in report["workloads"].values():
        lines += ["", f"## {result['label']}: drf_scim's profiled time by layer (own time, µs per request)", ""]
        total = sum(result["layers_us"].values())
        lines += [f"- {layer}: {us:,} ({us / total:.0%})" for layer, us in result["layers_us"].items() if us]
        lines += ["", "Inside (callees included), µs per request:", ""]
        lines += [f"- {us:,} `{label}`" for label, us in result["phases_us"]]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--adds", type=int, default=3_000, help="users available to add to the big group")
    parser.add_argument("--requests", type=int, default=500, help="timed requests per workload and site")
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5, help="turns of drf_scim and the floor, in alternation")
    parser.add_argument("--top", type=int, default=25, help="functions listed per workload")
    parser.add_argument("--reuse", action="store_true", help="keep the last run's database")
    parser.add_argument("--workloads", type=lambda text: text.split(","), default=list(WORKLOADS))
    parser.add_argument("--output", type=Path, help="write the report here (.md; .json beside it)")
    options = parser.parse_args()
    unknown = set(options.workloads) - set(WORKLOADS)
    if unknown:
        parser.error(f"unknown workloads: {', '.join(sorted(unknown))}")
    options.big_group = options.users // 2
    options.requests = -(-options.requests // options.rounds) * options.rounds  # whole turns
    report = run(options)
    text = markdown(report)
    print(text)
    if options.output:
        options.output.write_text(text)
        options.output.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
