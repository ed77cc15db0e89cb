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

from driver import WORKLOADS, Dataset, Measurement, Request, Server, measure, measure_interleaved, query_counts
from report import target_lines, update_page, write_chart, write_table

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
PYTHON = sys.executable
BIN = Path(PYTHON).parent

SITES = {
    "drf_scim": {
        "database": "scim_bench_drf",
        "manage": [PYTHON, str(ROOT / "sample_site" / "manage.py")],
        "settings": "drf_site.settings",
        "wsgi": "drf_site.wsgi",
        "chdir": HERE,
        "port": 8201,
        "prefix": "/scim/v2",
    },
    "django-scim2": {
        "database": "scim_bench_ref",
        "manage": [PYTHON, str(HERE / "reference_site" / "manage.py")],
        "settings": "reference_site.settings",
        "wsgi": "reference_site.wsgi",
        "chdir": HERE / "reference_site",
        "port": 8202,
        "prefix": "/scim/v2",
    },
}
FLOOR_WORKLOADS = ("lookup", "get", "post", "patch_active")  # what the floor answers (drf_site/floor.py)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def site_env(site: dict[str, Any]) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": f"postgres:///{site['database']}",
        "DJANGO_SETTINGS_MODULE": site["settings"],
        "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT), str(HERE / "reference_site")]),
    }


def manage(site: dict[str, Any], *args: str) -> str:
    result = subprocess.run([*site["manage"], *args], env=site_env(site), capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def prepare(name: str, site: dict[str, Any], options: argparse.Namespace) -> str:
    """A fresh, migrated and seeded database (or, with --reuse, the last run's); returns a bearer token."""
    if options.reuse:
        return token(name, site)
    subprocess.run(["dropdb", "--if-exists", site["database"]], check=True)
    subprocess.run(["createdb", site["database"]], check=True)
    manage(site, "migrate", "--noinput", "-v0")
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
def gunicorn(site: dict[str, Any], workers: int) -> Iterator[None]:
    command = [
        str(BIN / "gunicorn"), site["wsgi"], "--config", str(HERE / "gunicorn.conf.py"),
        "--chdir", str(site["chdir"]), "--bind", f"127.0.0.1:{site['port']}",
    ]  # fmt: skip
    process = subprocess.Popen(command, env={**site_env(site), "BENCH_WORKERS": str(workers)})
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


def run(options: argparse.Namespace) -> dict[str, Any]:
    tokens = {name: prepare(name, site, options) for name, site in SITES.items()}
    results: dict[str, dict[str, Measurement]] = {}  # per workload, per site
    with ExitStack() as stack:
        servers: dict[str, Server] = {}
        for name, site in SITES.items():
            stack.enter_context(gunicorn(site, options.workers))
            servers[name] = Server(f"http://127.0.0.1:{site['port']}{site['prefix']}", tokens[name])
        servers["floor"] = Server(f"http://127.0.0.1:{SITES['drf_scim']['port']}/floor")
        data = {}
        for name in SITES:
            started = time.perf_counter()
            data[name] = Dataset.discover(
                servers[name], options.users, options.groups, options.big_group, samples=200, adds=options.adds
            )
            log(f"{name}: ids discovered in {time.perf_counter() - started:.1f} s")
        data["floor"] = data["drf_scim"]
        run_id = time.strftime("%H%M%S")
        for workload, (label, requests) in chosen(options).items():
            names = [*SITES, *(["floor"] if workload in FLOOR_WORKLOADS else [])]
            # the floor writes to drf_scim's database: its new users need names of their own
            runs = {name: f"{run_id}{'f' if name == 'floor' else ''}" for name in names}
            for name in names:
                measure(servers[name], requests(data[name], f"{runs[name]}w"), options.warmup, options.concurrency)
            streams = {name: (servers[name], requests(data[name], runs[name])) for name in names}
            results[workload] = measure_interleaved(streams, options.seconds, options.concurrency, options.rounds)
            for name, result in results[workload].items():
                log(
                    f"{label:<34} {name:<13} {result.rps:>9.1f} req/s  p50 {result.p50_ms:>8.1f} ms  "
                    f"p99 {result.p99_ms:>8.1f} ms  {result.queries} queries  {result.requests} requests"
                )
                if result.errors:
                    raise SystemExit(f"{name} failed {label}: {result.errors}")
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
            }
            for workload, (label, _) in chosen(options).items()
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=1_000)
    parser.add_argument("--big-group", type=int, default=50_000)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers of each site")
    parser.add_argument("--concurrency", type=int, default=4, help="concurrent clients of the driver")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per workload and site")
    parser.add_argument(
        "--rounds", type=int, default=5,
        help="the sites of a workload take turns this many times (each for seconds/rounds), so drift hits all alike",
    )  # fmt: skip
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each measurement")
    parser.add_argument("--adds", type=int, default=5000, help="users available to add to the big group")
    parser.add_argument(
        "--output", type=Path,
        help=f"where results.json, .md and chart.png go (default: {RESULTS.relative_to(ROOT)} for a whole run)",
    )  # fmt: skip
    parser.add_argument(
        "--workloads", type=lambda text: text.split(","), default=list(WORKLOADS),
        help=f"comma-separated, of {','.join(WORKLOADS)} (a subset is reported, never written to the docs)",
    )  # fmt: skip
    parser.add_argument("--reuse", action="store_true", help="measure the last run's databases as they are (no seed)")
    options = parser.parse_args()
    unknown = set(options.workloads) - set(WORKLOADS)
    if unknown:
        parser.error(f"unknown workloads: {', '.join(sorted(unknown))}")
    whole = options.workloads == list(WORKLOADS) and not options.reuse
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
