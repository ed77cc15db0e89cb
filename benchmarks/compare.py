"""``make bench-compare``: drf_scim at two revisions, on the same machine, measured in interleaved rounds.

Each revision is checked out into a temporary git worktree (the working tree itself serves as AFTER unless a
revision is named) and served by the same benchmark site (benchmarks/drf_site, from this tree), venv and
gunicorn settings, with its own database seeded by its own code: only drf_scim differs. The workloads of
run.py then run against both in mirrored rounds (before, after; after, before; ...), so that a machine whose
speed drifts slows both alike. Writes results/compare.md and results/compare.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from driver import WORKLOADS, Dataset, Measurement, Server
from run import (
    HERE,
    PYTHON,
    ROOT,
    SITES,
    add_arguments,
    check_arguments,
    discover,
    gunicorn,
    log,
    machine,
    prepare,
    run_workload,
    site_env,
)

RESULTS = HERE / "results"
SIDES = ("before", "after")


def round_order(rounds: int, sides: tuple[str, str] = SIDES) -> list[list[str]]:
    """Mirrored rounds, A B, B A, A B...: each side is measured first as often as second (give or take one),
    and a linear drift of the machine over two rounds costs both the same."""
    first, second = sides
    return [[first, second] if index % 2 == 0 else [second, first] for index in range(rounds)]


def compare_turns(label: str, before: list[Measurement], after: list[Measurement]) -> dict[str, Any]:
    """The figures of one workload from each side's turns (paired by round): rates over all turns, the ratio
    after / before of the rates (above 1: after is faster) and its spread over the rounds."""
    if len(before) != len(after) or not before:
        raise ValueError("each round measures both sides once")
    sides = {}
    for side, turns in zip(SIDES, (before, after), strict=True):
        combined = Measurement.combine(turns)
        sides[side] = {
            "rps": combined.rps,
            "p50_ms": combined.p50_ms,
            "p99_ms": combined.p99_ms,
            "queries": combined.queries,
            "requests": combined.requests,
            "rounds_rps": [turn.rps for turn in turns],
        }
    round_ratios = [b.rps and a.rps / b.rps for b, a in zip(before, after, strict=True)]
    ratio = sides["after"]["rps"] / sides["before"]["rps"]
    return {
        "label": label,
        **sides,
        "ratio": round(ratio, 4),
        "round_ratios": [round(value, 4) for value in round_ratios],
        "spread": spread(round_ratios),
    }


def spread(values: list[float]) -> dict[str, float]:
    """The lowest, the median and the highest of the rounds' ratios."""
    return {
        "min": round(min(values), 4),
        "median": round(statistics.median(values), 4),
        "max": round(max(values), 4),
    }


def failures(workloads: dict[str, dict[str, Any]], fail_under: float | None) -> list[str]:
    """The workloads whose ratio is below ``fail_under`` (none without one)."""
    if fail_under is None:
        return []
    return [name for name, figures in workloads.items() if figures["ratio"] < fail_under]


def rate(value: float) -> str:
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def markdown(report: dict[str, Any]) -> str:
    """The comparison as a markdown table, one row per workload, and the verdict of --fail-under."""
    before, after, config = report["before"], report["after"], report["config"]
    lines = [
        f"# drf_scim: {after['name']} against {before['name']}",
        "",
        f"- before: {before['name']} ({before['commit'][:12]})",
        f"- after: {after['name']} ({after['commit'][:12]}{', with uncommitted changes' if after['dirty'] else ''})",
        f"- {report['date']}, {report['machine']['cpu']} ({report['machine']['cores']} cores), "
        f"{config['users']:,} users, {config['rounds']} rounds of {config['seconds_per_turn']:g} s a side, "
        f"{config['concurrency']} concurrent clients, {config['gunicorn_workers']} gunicorn workers a side",
        "",
        "Ratio: after / before of the requests per second (above 1.00: after is faster); rounds: the lowest,"
        " median and highest ratio of a single round's two turns.",
        "",
        "| Workload | before req/s | after req/s | after / before | rounds: min / median / max "
        "| p50 ms, before / after | SQL queries, before / after |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, figures in report["workloads"].items():
        old, new, spread = figures["before"], figures["after"], figures["spread"]
        flag = " (below)" if name in report["failures"] else ""
        lines.append(
            f"| {figures['label']} | {rate(old['rps'])} | {rate(new['rps'])} | {figures['ratio']:.3f}{flag} "
            f"| {spread['min']:.3f} / {spread['median']:.3f} / {spread['max']:.3f} "
            f"| {old['p50_ms']:.1f} / {new['p50_ms']:.1f} | {old['queries']} / {new['queries']} |"
        )
    if report["fail_under"] is not None:
        failed = report["failures"]
        verdict = f"below it: {', '.join(failed)}" if failed else "every workload at or above it"
        lines += ["", f"--fail-under {report['fail_under']:g}: {verdict}."]
    return "\n".join(lines) + "\n"


def git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], check=True, capture_output=True, text=True).stdout.strip()


@contextmanager
def checkout(revision: str, directory: Path) -> Iterator[Path]:
    """``revision`` in a temporary worktree at ``directory``, removed afterwards, whatever happens."""
    commit = git("rev-parse", "--verify", f"{revision}^{{commit}}")
    try:
        git("worktree", "add", "--detach", str(directory), commit)
        yield directory
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(directory)], check=False)
        subprocess.run(["git", "-C", str(ROOT), "worktree", "prune"], check=False)


def free_ports(count: int) -> list[int]:
    """Ports nobody listens on now (make bench's own, 8201 and 8202, may be in use by another run)."""
    with ExitStack() as stack:
        probes = [stack.enter_context(socket.socket()) for _ in range(count)]
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in probes]


def site_of(side: str, tree: Path, port: int) -> dict[str, Any]:
    """run.py's drf_scim site with ``tree``'s drf_scim first on the import path, a database and a port of its own.

    manage commands run with the tree as their working directory (``python -m django`` puts it first), gunicorn
    from benchmarks/ (which has no drf_scim) with the tree next on PYTHONPATH.
    """
    return {
        **SITES["drf_scim"],
        "database": f"scim_compare_{side}_{os.getpid()}",
        "manage": [PYTHON, "-m", "django"],
        "cwd": tree,
        "pythonpath": [tree, HERE],
        "port": port,
    }


def imported_from(site: dict[str, Any], cwd: Path) -> Path:
    """Where drf_scim is imported from by a process started as the site's are, in ``cwd``: after the WSGI
    module gunicorn loads (which sets the import path up), as a worker imports it."""
    command = [PYTHON, "-c", f"import {site['wsgi']}, drf_scim; print(drf_scim.__file__)"]
    found = subprocess.run(command, env=site_env(site), cwd=cwd, capture_output=True, text=True, check=True)
    return Path(found.stdout.strip()).resolve()


def check_import_path(side: str, site: dict[str, Any], tree: Path) -> None:
    expected = (tree / "drf_scim" / "__init__.py").resolve()
    for cwd in (site["cwd"], site["chdir"]):  # as manage commands run, and as gunicorn does
        found = imported_from(site, cwd)
        if found != expected:
            raise SystemExit(f"{side}: drf_scim is imported from {found}, not from {expected}")
    log(f"{side}: drf_scim from {expected.parent}")


def describe_side(revision: str | None, tree: Path) -> dict[str, Any]:
    commit = subprocess.run(["git", "-C", str(tree), "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    status = subprocess.run(["git", "-C", str(tree), "status", "--porcelain"], capture_output=True, text=True)
    return {
        "name": revision or "the working tree",
        "commit": commit.stdout.strip(),
        "dirty": revision is None and bool(status.stdout.strip()),
        "path": str(tree),
    }


def compare(options: argparse.Namespace) -> dict[str, Any]:
    temporary = Path(tempfile.mkdtemp(prefix="drf_scim-compare-"))
    sites: dict[str, dict[str, Any]] = {}
    try:
        with ExitStack() as stack:
            trees = {}
            for side, revision in zip(SIDES, (options.before, options.after), strict=True):
                trees[side] = ROOT if revision is None else stack.enter_context(checkout(revision, temporary / side))
            described = {side: describe_side(revision, trees[side]) for side, revision in
                         zip(SIDES, (options.before, options.after), strict=True)}  # fmt: skip
            for side, port in zip(SIDES, free_ports(len(SIDES)), strict=True):
                sites[side] = site_of(side, trees[side], port)
                check_import_path(side, sites[side], trees[side])
            tokens = {side: prepare("drf_scim", sites[side], options) for side in SIDES}
            servers: dict[str, Server] = {}
            for side in SIDES:
                site = sites[side]
                stack.enter_context(gunicorn(site, options.workers, pgbouncer=options.pgbouncer))
                servers[side] = Server(f"http://127.0.0.1:{site['port']}{site['prefix']}", tokens[side])
            data: dict[str, Dataset] = {side: discover(side, servers[side], options) for side in SIDES}
            run_id = time.strftime("%H%M%S")
            rounds = round_order(options.rounds)
            workloads = {}
            for workload in options.workloads:
                label = WORKLOADS[workload][0]
                targets = {side: (servers[side], data[side], run_id) for side in SIDES}
                turns = run_workload(workload, targets, rounds, options.seconds, options)
                workloads[workload] = figures = compare_turns(label, turns["before"], turns["after"])
                log(
                    f"{label:<34} before {figures['before']['rps']:>8.1f}  after {figures['after']['rps']:>8.1f} "
                    f"req/s  ratio {figures['ratio']:.3f} (rounds {figures['spread']['min']:.3f}"
                    f"-{figures['spread']['max']:.3f})"
                )
    finally:
        for site in sites.values():
            subprocess.run(["dropdb", "--if-exists", site["database"]], check=False)
        shutil.rmtree(temporary, ignore_errors=True)
    return {
        "date": datetime.date.today().isoformat(),
        "machine": machine(),
        "before": described["before"],
        "after": described["after"],
        "config": {
            "users": options.users,
            "groups": options.groups,
            "big_group": options.big_group,
            "gunicorn_workers": options.workers,
            "concurrency": options.concurrency,
            "rounds": options.rounds,
            "seconds_per_turn": options.seconds,
            "order": [" ".join(order) for order in rounds],
        },
        "fail_under": options.fail_under,
        "failures": failures(workloads, options.fail_under),
        "workloads": workloads,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--before", required=True, help="the git revision to compare against")
    parser.add_argument("--after", help="the git revision to compare (default: the working tree, as it is)")
    add_arguments(parser, adds=8_000)  # add_member: about 250 a second for 25 s a side
    parser.add_argument("--rounds", type=int, default=6, help="rounds of one turn a side, in mirrored order")
    parser.add_argument("--seconds", type=float, default=4.0, help="measured seconds of one turn")
    parser.add_argument(
        "--fail-under", type=float, metavar="RATIO",
        help="exit 1 when a workload's after / before ratio of requests per second is below RATIO (e.g. 0.95)",
    )  # fmt: skip
    parser.add_argument("--output", type=Path, default=RESULTS, help="where compare.md and compare.json go")
    options = parser.parse_args()
    check_arguments(parser, options)
    if options.rounds < 1 or options.seconds <= 0:
        parser.error("--rounds and --seconds must be positive")
    options.reuse = False  # run.prepare: every comparison seeds its own databases
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up (worktrees, servers) as on Ctrl-C
    report = compare(options)
    text = markdown(report)
    print(text, end="")
    options.output.mkdir(parents=True, exist_ok=True)
    (options.output / "compare.json").write_text(json.dumps(report, indent=2) + "\n")
    (options.output / "compare.md").write_text(text)
    log(f"Wrote {options.output}/compare.md and compare.json")
    if report["failures"]:
        raise SystemExit(f"below --fail-under {options.fail_under:g}: {', '.join(report['failures'])}")


if __name__ == "__main__":
    main()
