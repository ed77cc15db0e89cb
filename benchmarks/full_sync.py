"""``make bench-sync``: an Entra-shaped full sync replayed against drf_scim and django-scim2, timed end to end.

Each site gets an empty database (migrated; only what its token needs), is served under gunicorn as by run.py,
then receives, one site after the other, the initial cycle of entra.py (every user looked up, created and given
its externalId; every group looked up and created empty, then filled by member PATCHes of up to 100) and an
incremental cycle (lookups, renames, deactivations, member removals). A few concurrent clients each run one
resource's requests in order. Every status is checked; a run with errors writes no results and exits non-zero.
Writes results/full_sync.md and results/full_sync.json for a run of the default sizes on both sites.
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import entra
from compare import free_ports
from driver import Request, Server
from run import RESULTS, ROOT, SITES, create_database, gunicorn, log, machine, token

# What django-scim2 cannot take as Entra sends it, and what it is sent instead (each shown in the report).
ADAPTATIONS: dict[str, dict[str, str]] = {
    "django-scim2": {
        "boolean_active": "deactivation sent with a boolean false (Entra's aadOptscim062020 shape): django-scim2 "
        'answers 400 to Entra\'s default "False", a string',
    },
}
# How a site is configured for the sync, beyond run.py's own site (the requests stay Entra's).
CONFIGURED: dict[str, str] = {
    "django-scim2": "externalId mapped to its scim_external_id column (benchmarks/reference_site/scimref/filters.py): "
    "without it django-scim2 answers Entra's PATCH of externalId with 501",
}
DEFAULT_USERS, DEFAULT_GROUPS = 10_000, 100


def sync_site(name: str, port: int) -> dict[str, Any]:
    """run.py's site ``name`` with a database of its own (``…_sync``) and ``port``."""
    return {**SITES[name], "database": f"{SITES[name]['database']}_sync", "port": port}


@dataclass
class Outcome:
    """The requests of one cycle against one site: time, counts, errors, latency by kind of request."""

    seconds: float = 0.0
    requests: int = 0
    errors: int = 0
    messages: list[str] = field(default_factory=list)  # the first few errors
    latencies: dict[str, list[float]] = field(default_factory=dict)  # seconds, by Step.kind

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds, 2),
            "requests": self.requests,
            "rps": round(self.rps, 1),
            "errors": self.errors,
            "messages": self.messages,
            "by_kind": {
                kind: {"requests": len(values), "p50_ms": round(statistics.median(values) * 1000, 1)}
                for kind, values in self.latencies.items()
            },
        }


Send = Callable[[Request], tuple[int, bytes, dict[str, str]]]


def run_step(send: Send, step: entra.Step, ids: dict[str, str]) -> tuple[float, str | None]:
    """Send one step (its ids resolved); its latency and the error, if it was one. A POST records its new id."""
    try:
        path = step.path.format(id=ids[step.target.key]) if step.target else step.path
        body = entra.resolve(step.body, ids)
    except KeyError as missing:
        return 0.0, f"{step.kind}: no id for {missing} (its POST failed)"
    started = time.perf_counter()
    try:
        status, content, _ = send(Request(step.method, path, body, step.expect))
    except OSError as error:
        return time.perf_counter() - started, f"{step.method} {path}: {error}"
    elapsed = time.perf_counter() - started
    if status not in step.expect:
        return elapsed, f"{step.method} {path} -> {status}: {content[:200]!r}"
    if step.found is not None or step.creates:
        answer = json.loads(content)
        if step.found is not None and answer.get("totalResults") != step.found:
            return elapsed, f"{step.method} {path}: totalResults {answer.get('totalResults')}, not {step.found}"
        if step.creates:
            ids[step.creates.key] = str(answer["id"])
    return elapsed, None


def replay(send: Send, cycle: entra.Cycle, ids: dict[str, str], concurrency: int) -> Outcome:
    """Run ``cycle``: each phase's chains shared out to ``concurrency`` threads, a chain's steps in order on
    one thread, the next phase once the last is done. ``ids`` gains the ids of what the cycle creates."""
    outcome = Outcome()
    started = time.perf_counter()
    for phase in cycle.phases:
        run_phase(send, phase, ids, concurrency, outcome)
    outcome.seconds = time.perf_counter() - started
    return outcome


def run_phase(send: Send, phase: entra.Phase, ids: dict[str, str], concurrency: int, outcome: Outcome) -> None:
    """The chains of ``phase`` on ``concurrency`` threads, each chain on one; what they do counted in ``outcome``."""
    lock = threading.Lock()
    chains = iter(phase)

    def client() -> None:
        while True:
            with lock:
                chain = next(chains, None)
            if chain is None:
                return
            for step in chain:
                elapsed, error = run_step(send, step, ids)
                with lock:
                    outcome.requests += 1
                    outcome.latencies.setdefault(step.kind, []).append(elapsed)
                    if error:
                        outcome.errors += 1
                        if len(outcome.messages) < 5:
                            outcome.messages.append(error)

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def cycles(name: str, users: int, groups: int, adapt: bool = True) -> list[entra.Cycle]:
    """The initial and the incremental cycle as ``name`` is sent them (with its ADAPTATIONS unless not ``adapt``)."""
    adapted = ADAPTATIONS.get(name, {}) if adapt else {}
    return [
        entra.initial_cycle(users, groups),
        entra.incremental_cycle(users, groups, boolean_active="boolean_active" in adapted),
    ]


def verify(server: Server, ids: dict[str, str], users: int, groups: int) -> list[str]:
    """What the site holds after both cycles, read back through its API (untimed): each group's members, the
    renamed and deactivated users, and the externalId of the first users; what differs from the plan."""
    problems = []
    members = entra.memberships(users, groups)
    for g, removed in entra.removals(users, groups).items():
        members[g] = [n for n in members[g] if n != removed]
    for g, expected in members.items():
        found = server.call(Request("GET", f"/Groups/{ids[f'g{g}']}")).get("members") or []
        if sorted(str(member["value"]) for member in found) != sorted(ids[f"u{n}"] for n in expected):
            problems.append(f"group {g}: {len(found)} members, not the {len(expected)} expected")
    _, renamed, deactivated = entra.sampled_users(users, groups)
    for n in sorted({*renamed, *deactivated, *range(1, min(users, 20) + 1)}):
        user = server.call(Request("GET", f"/Users/{ids[f'u{n}']}"))
        expected = {
            "externalId": entra.object_id("user", n),
            "active": n not in deactivated,
            "givenName": f"Renamed{n}" if n in renamed else f"Given{n}",
        }
        got = {
            "externalId": user.get("externalId"),
            "active": user.get("active"),
            "givenName": user["name"]["givenName"],
        }
        if got != expected:
            problems.append(f"user {n}: {got}, not {expected}")
    return problems


def sync(options: argparse.Namespace) -> dict[str, Any]:
    """Every chosen site, from an empty database, through both cycles; the figures of each."""
    results: dict[str, dict[str, Any]] = {}
    checked: dict[str, list[str]] = {}  # per site, what it holds that the plan does not say (read back)
    for name, port in zip(options.sites, free_ports(len(options.sites)), strict=True):
        site = sync_site(name, port)
        create_database(site)
        bearer = token(name, site)
        with gunicorn(site, options.workers):
            server = Server(f"http://127.0.0.1:{port}{site['prefix']}", bearer)
            ids: dict[str, str] = {}
            results[name] = {}
            for cycle in cycles(name, options.users, options.groups, adapt=not options.unadapted):
                log(f"{name}: {cycle.name} cycle, {sum(1 for _ in cycle.steps()):,} requests")
                outcome = replay(server.send, cycle, ids, options.concurrency)
                results[name][cycle.name] = outcome.as_dict()
                log(
                    f"{name}: {cycle.name} cycle in {outcome.seconds:.1f} s, {outcome.requests:,} requests, "
                    f"{outcome.rps:.1f} req/s, {outcome.errors} errors {outcome.messages[:2]}"
                )
            if not any(figures["errors"] for figures in results[name].values()):
                checked[name] = verify(server, ids, options.users, options.groups)
                log(f"{name}: read back, {len(checked[name])} differences from the plan {checked[name][:3]}")
    return {
        "date": datetime.date.today().isoformat(),
        "machine": machine(),
        "config": {
            "users": options.users,
            "groups": options.groups,
            "memberships": sum(len(members) for members in entra.memberships(options.users, options.groups).values()),
            "concurrency": options.concurrency,
            "gunicorn_workers": options.workers,
            "sample": entra.Sample.of(options.users, options.groups).__dict__,
        },
        "adaptations": {name: list(ADAPTATIONS.get(name, {}).values()) for name in results if not options.unadapted},
        "sites": results,
        "read_back": checked,
        "configured": {name: CONFIGURED[name] for name in results if name in CONFIGURED},
    }


def ratio(report: dict[str, Any], cycle: str) -> float | None:
    """drf_scim's requests per second over django-scim2's on ``cycle`` (above 1: drf_scim is faster)."""
    sites = report["sites"]
    if "drf_scim" not in sites or "django-scim2" not in sites or not sites["django-scim2"][cycle]["rps"]:
        return None
    return sites["drf_scim"][cycle]["rps"] / sites["django-scim2"][cycle]["rps"]


def markdown(report: dict[str, Any]) -> str:
    """The figures as markdown: per site and cycle, then the median latency of each kind of request."""
    config, machine_ = report["config"], report["machine"]
    lines = [
        "# An Entra-shaped full sync",
        "",
        f"{report['date']}, {machine_['cpu']} ({machine_['cores']} cores, {machine_['memory_gib']} GiB), "
        f"PostgreSQL {machine_['postgresql']}, Python {machine_['python']}, Django {machine_['django']}; "
        f"{config['users']:,} users, {config['groups']:,} groups, {config['memberships']:,} memberships; "
        f"{config['concurrency']} concurrent clients, gunicorn with {config['gunicorn_workers']} sync workers.",
        "",
        "| Site | Cycle | Seconds | Requests | Requests/s | Errors | Adapted |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for name, cycles_ in report["sites"].items():
        adapted = "; ".join(report["adaptations"].get(name, [])) or "no"
        for cycle, figures in cycles_.items():
            shown = adapted if cycle == "incremental" else "no"
            lines.append(
                f"| {name} | {cycle} | {figures['seconds']:,.1f} | {figures['requests']:,} | {figures['rps']:,.1f} "
                f"| {figures['errors']} | {shown} |"
            )
    lines.append("")
    for name, note in report.get("configured", {}).items():
        lines.append(f"Configured: {name}: {note}.")
    for name, problems in report["read_back"].items():
        verdict = "as planned" if not problems else f"{len(problems)} differences from the plan: {problems[:3]}"
        lines.append(f"Read back from {name} after both cycles (groups' members, changed users): {verdict}.")
    for cycle in ("initial", "incremental"):
        value = ratio(report, cycle)
        if value is not None:
            lines.append(f"\n{cycle.capitalize()} cycle, drf_scim / django-scim2 requests per second: {value:.2f}x")
    kinds = {kind: None for cycles_ in report["sites"].values() for f in cycles_.values() for kind in f["by_kind"]}
    names = list(report["sites"])
    lines += ["", "Median latency by kind of request (ms):", ""]
    lines += ["| Cycle | Request | " + " | ".join(names) + " |", "|---|---|" + "---:|" * len(names)]
    for cycle in ("initial", "incremental"):
        for kind in kinds:
            cells = [report["sites"][name].get(cycle, {}).get("by_kind", {}).get(kind) for name in names]
            if any(cells):
                shown = [f"{cell['p50_ms']:,.1f} ({cell['requests']:,})" if cell else "" for cell in cells]
                lines.append(f"| {cycle} | {kind} | " + " | ".join(shown) + " |")
    return "\n".join(lines) + "\n"


def rst_tables(report: dict[str, Any]) -> str:
    """The figures as docs/benchmarks.rst shows them: per site and cycle, then the median latency by request."""
    sites = report["sites"]
    lines = [".. list-table::", "   :header-rows: 1", ""]
    rows = [["Site", "Cycle", "Seconds", "Requests", "Requests/s", "Errors"]]
    rows += [
        [name, cycle, f"{f['seconds']:,.1f}", f"{f['requests']:,}", f"{f['rps']:,.1f}", str(f["errors"])]
        for name, cycles_ in sites.items()
        for cycle, f in cycles_.items()
    ]
    for cycle in ("initial", "incremental"):
        value = ratio(report, cycle)
        if value is not None:
            rows.append(["drf_scim / django-scim2", cycle, "", "", f"{value:.2f}x", ""])
    for row in rows:
        lines.append(f"   * - {row[0]}")
        lines += [f"     - {cell}" for cell in row[1:]]
    names = list(sites)
    lines += ["", ".. list-table:: Median latency in ms (requests)", "   :header-rows: 1", ""]
    lines += ["   * - Cycle", "     - Request"] + [f"     - {name}" for name in names]
    for cycle in ("initial", "incremental"):
        kinds = {kind: None for name in names for kind in sites[name].get(cycle, {}).get("by_kind", {})}
        for kind in kinds:
            cells = [sites[name].get(cycle, {}).get("by_kind", {}).get(kind) for name in names]
            lines += [f"   * - {cycle}", f"     - {kind}"]
            lines += [f"     - {cell['p50_ms']:,.1f} ({cell['requests']:,})" if cell else "     -" for cell in cells]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=DEFAULT_USERS)
    parser.add_argument("--groups", type=int, default=DEFAULT_GROUPS)
    parser.add_argument("--concurrency", type=int, default=4, help="concurrent clients, each one resource at a time")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers of each site")
    parser.add_argument(
        "--sites", type=lambda text: text.split(","), default=list(SITES),
        help=f"comma-separated, of {','.join(SITES)}",
    )  # fmt: skip
    parser.add_argument(
        "--output", type=Path,
        help=f"where full_sync.md and .json go (default: {RESULTS.relative_to(ROOT)} for a run of the default sizes)",
    )  # fmt: skip
    parser.add_argument(
        "--unadapted", action="store_true",
        help="send every site Entra's shapes as they are, none of the ADAPTATIONS (shows what a site refuses)",
    )  # fmt: skip
    options = parser.parse_args()
    if set(options.sites) - set(SITES):
        parser.error(f"unknown sites: {', '.join(sorted(set(options.sites) - set(SITES)))}")
    if options.users < 1 or options.groups < 1 or options.concurrency < 1:
        parser.error("--users, --groups and --concurrency must be positive")
    whole = (options.users, options.groups, set(options.sites), options.unadapted) == (
        DEFAULT_USERS, DEFAULT_GROUPS, set(SITES), False
    )  # fmt: skip
    report = sync(options)
    text = markdown(report)
    print(text, end="")
    failed = {
        name: [message for figures in cycles_.values() for message in figures["messages"]] or report["read_back"][name]
        for name, cycles_ in report["sites"].items()
        if any(figures["errors"] for figures in cycles_.values()) or report["read_back"].get(name, [])
    }
    if failed:
        raise SystemExit(f"errors on {', '.join(failed)} (no results written): {failed}")
    output = options.output or (RESULTS if whole else None)
    if output is None:
        return  # a smaller run is a measurement for its console, not the results of record
    output.mkdir(parents=True, exist_ok=True)
    (output / "full_sync.json").write_text(json.dumps(report, indent=2) + "\n")
    (output / "full_sync.md").write_text(text)
    log(f"Wrote {output}/full_sync.md and full_sync.json")


if __name__ == "__main__":
    main()
