"""``make bench``: drf_scim against django-scim2 and the floor, on PostgreSQL, under gunicorn, in one run.

Steps: fresh databases for both sites, migrate, seed the same data shape, start both sites under gunicorn with
the same settings (gunicorn.conf.py), discover ids through each site's own API, run every workload against
each site in turn, then write results/results.json, results/results.md and results/chart.png.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from driver import (
    WORKLOADS,
    Dataset,
    Measurement,
    Request,
    Server,
    Workload,
    measure,
    measure_turns,
    query_counts,
)
from report import target_lines, update_page, write_chart, write_table

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
PYTHON = sys.executable
BIN = Path(PYTHON).parent
PGBOUNCER_PORT = os.environ.get("PGBOUNCER_PORT", "6433")  # .ci/pgbouncer's (make test-pgbouncer's) port

SITES = {
    "drf_scim": {
        "database": "scim_bench_drf",
        "manage": [PYTHON, str(ROOT / "sample_site" / "manage.py")],
        "settings": "drf_site.settings",
        "wsgi": "drf_site.wsgi",
        "chdir": HERE,
        "pythonpath": [HERE, ROOT],
        "port": 8201,
        "prefix": "/scim/v2",
    },
    "django-scim2": {
        "database": "scim_bench_ref",
        "manage": [PYTHON, str(HERE / "reference_site" / "manage.py")],
        "settings": "reference_site.settings",
        "wsgi": "reference_site.wsgi",
        "chdir": HERE / "reference_site",
        "pythonpath": [HERE, ROOT, HERE / "reference_site"],
        "port": 8202,
        "prefix": "/scim/v2",
    },
}
FLOOR_WORKLOADS = ("lookup", "get", "post", "patch_active")  # what the floor answers (drf_site/floor.py)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def site_env(site: dict[str, Any], *, pgbouncer: bool = False) -> dict[str, str]:
    """The environment of a site's commands and server: its database through the socket, or through PgBouncer
    in transaction mode (``pgbouncer``: site_settings.py then sets what transaction pooling needs)."""
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres:///{site['database']}",
        "DJANGO_SETTINGS_MODULE": site["settings"],
        "PYTHONPATH": os.pathsep.join(str(path) for path in site["pythonpath"]),
    }
    if pgbouncer:
        env["DATABASE_URL"] = f"postgres://bench@127.0.0.1:{PGBOUNCER_PORT}/{site['database']}"
        env["DATABASE_TRANSACTION_POOLING"] = "1"
    return env


@contextmanager
def pgbouncer_running() -> Iterator[None]:
    """Debian's PgBouncer in transaction mode in front of the local PostgreSQL on 127.0.0.1:``PGBOUNCER_PORT``
    (``.ci/pgbouncer``, which installs it with apt-get when missing), stopped afterwards if this started it."""
    probe = ["psql", f"postgresql://bench@127.0.0.1:{PGBOUNCER_PORT}/postgres", "-tAc", "SELECT 1"]
    running = subprocess.run(probe, capture_output=True).returncode == 0
    environment = {**os.environ, "PGBOUNCER_PORT": PGBOUNCER_PORT}
    subprocess.run([str(ROOT / ".ci" / "pgbouncer")], check=True, env=environment)
    try:
        yield
    finally:
        if not running:
            subprocess.run([str(ROOT / ".ci" / "pgbouncer"), "stop"], check=False, env=environment)


def manage(site: dict[str, Any], *args: str) -> str:
    command = [*site["manage"], *args]
    result = subprocess.run(command, env=site_env(site), cwd=site.get("cwd"), capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def create_database(site: dict[str, Any]) -> None:
    """The site's database, dropped if it was there, created again and migrated: every table empty."""
    subprocess.run(["dropdb", "--if-exists", site["database"]], check=True)
    subprocess.run(["createdb", site["database"]], check=True)
    manage(site, "migrate", "--noinput", "-v0")


def prepare(name: str, site: dict[str, Any], options: argparse.Namespace) -> str:
    """A fresh, migrated and seeded database (or, with --reuse, the last run's); returns a bearer token."""
    if options.reuse:
        return token(name, site)
    create_database(site)
    started = time.perf_counter()
    seed = "scim_seed" if name == "drf_scim" else "ref_seed"
    sizes = ["--users", str(options.users), "--groups", str(options.groups), "--big-group", str(options.big_group)]
    manage(site, seed, *sizes)
    log(f"{name}: seeded in {time.perf_counter() - started:.1f} s")
    manage(site, "shell", "-c", "from django.db import connection; connection.cursor().execute('VACUUM ANALYZE')")
    return token(name, site)


def token(name: str, site: dict[str, Any]) -> str:
    if name == "drf_scim":
        return manage(site, "scim_token", "--client", "benchmark", "--expires-days", "1").strip().splitlines()[-1]
    return manage(site, "ref_token").strip().splitlines()[-1]


@contextmanager
def gunicorn(site: dict[str, Any], workers: int, *, pgbouncer: bool = False) -> Iterator[None]:
    """The site served by gunicorn (gunicorn.conf.py), connected to its database directly or, with
    ``pgbouncer``, through PgBouncer in transaction mode (started if it is not running)."""
    command = [
        str(BIN / "gunicorn"), site["wsgi"], "--config", str(HERE / "gunicorn.conf.py"),
        "--chdir", str(site["chdir"]), "--bind", f"127.0.0.1:{site['port']}",
    ]  # fmt: skip
    # Started in its --chdir: gunicorn puts the directory it starts in on sys.path, ahead of PYTHONPATH.
    env = {**site_env(site, pgbouncer=pgbouncer), "BENCH_WORKERS": str(workers)}
    with ExitStack() as stack:
        if pgbouncer:
            stack.enter_context(pgbouncer_running())
        process = subprocess.Popen(command, env=env, cwd=site["chdir"])
        try:
            server = Server(f"http://127.0.0.1:{site['port']}/")
            for _ in range(100):
                try:
                    server.send(Request("GET", "/"))
                    break
                except OSError:
                    time.sleep(0.2)
            else:
                raise SystemExit(f"gunicorn for {site['wsgi']} did not start")
            yield
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


def machine() -> dict[str, Any]:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )  # fmt: skip
    postgres = subprocess.run(["psql", "-d", "postgres", "-tAc", "SHOW server_version"], capture_output=True, text=True)
    import django

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30),
        "os": platform.platform(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "postgresql": postgres.stdout.strip().split()[0] if postgres.stdout else "unknown",
    }


def chosen(options: argparse.Namespace) -> dict[str, tuple[str, Any]]:
    return {name: workload for name, workload in WORKLOADS.items() if name in options.workloads}


def discover(name: str, server: Server, options: argparse.Namespace) -> Dataset:
    """The ids the workloads need, found through the site's own API."""
    started = time.perf_counter()
    data = Dataset.discover(server, options.users, options.groups, options.big_group, samples=200, adds=options.adds)
    log(f"{name}: ids discovered in {time.perf_counter() - started:.1f} s")
    return data


def run_workload(
    workload: str,
    targets: dict[str, tuple[Server, Dataset, str]],
    rounds: list[list[str]],
    seconds: float,
    options: argparse.Namespace,
    workloads: dict[str, tuple[str, Workload]] = WORKLOADS,
) -> dict[str, list[Measurement]]:
    """One workload of ``workloads`` against served sites (server, data, a tag for the names it creates): each
    site warmed up, then measured for ``seconds`` a turn in the order of ``rounds``; every site's turns, none
    with errors."""
    label, requests = workloads[workload]
    for server, data, tag in targets.values():
        measure(server, requests(data, f"{tag}w"), options.warmup, options.concurrency)
    streams = {name: (server, requests(data, tag)) for name, (server, data, tag) in targets.items()}
    try:
        turns = measure_turns(streams, rounds, seconds, options.concurrency)
    except RuntimeError as error:  # add_member adds each outsider once
        raise SystemExit(f"{label}: {error}; give it more users to add (--adds, --users)") from None
    for name, measured in turns.items():
        errors = [error for turn in measured for error in turn.errors]
        if errors:
            raise SystemExit(f"{name} failed {label}: {errors[:5]}")
    return turns


def run(options: argparse.Namespace) -> dict[str, Any]:
    tokens = {name: prepare(name, site, options) for name, site in SITES.items()}
    results: dict[str, dict[str, Measurement]] = {}  # per workload, per site: all runs together
    runs: dict[str, list[dict[str, Measurement]]] = {}  # per workload, each run's, per site
    with ExitStack() as stack:
        servers: dict[str, Server] = {}
        for name, site in SITES.items():
            stack.enter_context(gunicorn(site, options.workers, pgbouncer=options.pgbouncer))
            servers[name] = Server(f"http://127.0.0.1:{site['port']}{site['prefix']}", tokens[name])
        servers["floor"] = Server(f"http://127.0.0.1:{SITES['drf_scim']['port']}/floor")
        data = {name: discover(name, servers[name], options) for name in SITES}
        data["floor"] = data["drf_scim"]
        for run in range(options.runs):
            if options.runs > 1:
                log(f"run {run + 1} of {options.runs}")
            run_id = time.strftime("%H%M%S")
            for workload, (label, _) in chosen(options).items():
                names = [*SITES, *(["floor"] if workload in FLOOR_WORKLOADS else [])]
                # the floor writes to drf_scim's database: its new users need names of their own
                targets = {
                    name: (servers[name], data[name], f"{run_id}{'f' if name == 'floor' else ''}") for name in names
                }
                rounds = [names] * options.rounds
                turns = run_workload(workload, targets, rounds, options.seconds / options.rounds, options)
                measured = {name: Measurement.combine(parts) for name, parts in turns.items()}
                runs.setdefault(workload, []).append(measured)
                for name, result in measured.items():
                    log(
                        f"{label:<34} {name:<13} {result.rps:>9.1f} req/s  p50 {result.p50_ms:>8.1f} ms  "
                        f"p99 {result.p99_ms:>8.1f} ms  {result.queries} queries  {result.requests} requests"
                    )
        for workload, measured in runs.items():
            results[workload] = {name: Measurement.combine([run[name] for run in measured]) for name in measured[0]}
        independence = {name: query_counts(servers[name], data[name]) for name in SITES}
        log(f"queries by size: {independence}")
    return {
        "date": datetime.date.today().isoformat(),
        "machine": machine(),
        "config": {
            "users": options.users,
            "groups": options.groups,
            "big_group": options.big_group,
            "gunicorn_workers": options.workers,
            "concurrency": options.concurrency,
            "seconds_per_workload": options.seconds,
            "rounds": options.rounds,
            "runs": options.runs,
            "pgbouncer": options.pgbouncer,
        },
        "query_independence": independence["drf_scim"],
        "peer_query_independence": independence["django-scim2"],
        "workloads": [
            {
                "name": workload,
                "label": label,
                "results": {name: result.as_dict() for name, result in results[workload].items()},
                "speedup": round(results[workload]["drf_scim"].rps / results[workload]["django-scim2"].rps, 3),
                "share_of_floor": (
                    round(results[workload]["drf_scim"].rps / results[workload]["floor"].rps, 3)
                    if "floor" in results[workload]
                    else None
                ),
                "runs": [
                    {
                        "rps": {name: result.rps for name, result in measured.items()},
                        "speedup": round(measured["drf_scim"].rps / measured["django-scim2"].rps, 3),
                        "share_of_floor": (
                            round(measured["drf_scim"].rps / measured["floor"].rps, 3) if "floor" in measured else None
                        ),
                    }
                    for measured in runs[workload]
                ],
            }
            for workload, (label, _) in chosen(options).items()
        ],
    }


def add_arguments(
    parser: argparse.ArgumentParser,
    adds: int = 5000,
    workloads: dict[str, tuple[str, Workload]] = WORKLOADS,
    users: bool = True,
) -> None:
    """The data set, the servers and the driver: the knobs run.py, compare.py and curve.py share (curve.py
    has workloads of its own, and sizes instead of ``--users``)."""
    if users:
        parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=1_000)
    parser.add_argument("--big-group", type=int, help="members of the group 'big' (default: half the users)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers of each site")
    parser.add_argument("--concurrency", type=int, default=4, help="concurrent clients of the driver")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each measurement")
    parser.add_argument("--adds", type=int, default=adds, help="users available to add to the big group")
    parser.add_argument(
        "--pgbouncer", action="store_true",
        help="serve through PgBouncer in transaction mode (.ci/pgbouncer starts it, installing it when missing)",
    )  # fmt: skip
    parser.add_argument(
        "--workloads", type=lambda text: text.split(","), default=list(workloads),
        help=f"comma-separated, of {','.join(workloads)}",
    )  # fmt: skip


def check_arguments(
    parser: argparse.ArgumentParser,
    options: argparse.Namespace,
    workloads: dict[str, tuple[str, Workload]] = WORKLOADS,
) -> None:
    """Refuse workloads that do not exist and sizes the workloads cannot run on; size the big group."""
    unknown = set(options.workloads) - set(workloads)
    if unknown:
        parser.error(f"unknown workloads: {', '.join(sorted(unknown))}")
    if options.big_group is None:
        options.big_group = options.users // 2
    if not 0 < options.big_group < options.users:
        parser.error(
            f"--big-group {options.big_group} does not fit --users {options.users}: the big group needs members,"
            " and the add_member workload adds users outside it (the default is half the users)"
        )
    if options.groups and options.users < 10:
        parser.error("--groups of 10 members need 10 --users at least")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_arguments(parser)
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per workload and site")
    parser.add_argument(
        "--runs", type=int, default=2,
        help="measure every workload this many times over: the results combine them, with the spread between runs",
    )  # fmt: skip
    parser.add_argument(
        "--rounds", type=int, default=5,
        help="the sites of a workload take turns this many times (each for seconds/rounds), so drift hits all alike",
    )  # fmt: skip
    parser.add_argument(
        "--output", type=Path,
        help=f"where results.json, .md and chart.png go (default: {RESULTS.relative_to(ROOT)} for a whole run)",
    )  # fmt: skip
    parser.add_argument("--reuse", action="store_true", help="measure the last run's databases as they are (no seed)")
    options = parser.parse_args()
    # the results of record: every workload on fresh data of the default sizes, for the default time
    knobs = ("users", "groups", "big_group", "seconds", "rounds", "runs", "workloads")
    whole = not options.reuse and all(getattr(options, knob) == parser.get_default(knob) for knob in knobs)
    check_arguments(parser, options)
    if options.runs < 1:
        parser.error("--runs must be 1 or more")
    options.adds *= options.runs  # the add-member workload adds each outsider once, in every run
    output = options.output or (RESULTS if whole else None)
    report = run(options)
    for line in target_lines(report):
        log(line)
    if output is None:
        return  # a partial run is a measurement for its console, not the results of record
    output.mkdir(parents=True, exist_ok=True)
    (output / "results.json").write_text(json.dumps(report, indent=2) + "\n")
    write_table(report, output / "results.md")
    write_chart(report, output / "chart.png")
    log(f"Wrote {output}/results.json, results.md and chart.png")
    if whole and output.resolve() == RESULTS:
        update_page(report, ROOT / "docs" / "benchmarks.rst", "../benchmarks/results/chart.png")
        log("Updated the results in docs/benchmarks.rst")


if __name__ == "__main__":
    main()
