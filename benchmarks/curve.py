"""``make bench-curve``: how drf_scim's cost per request grows with the data, from 10,000 to 1,000,000 users.

For each size of ``--sizes``: a fresh database seeded as by run.py (``run.prepare``: migrated, ``scim_seed``,
VACUUM ANALYZE), drf_scim's benchmark site served under gunicorn as by run.py (same settings, a port and a
database of its own), the ids found through the API, then each workload warmed up and measured in
``--rounds`` turns, and the plans PostgreSQL chooses for the ``sw``/``co``/``ew`` filters. Only drf_scim: the
peer and the floor are not measured. A run of the default sizes writes results/curve.json, curve.md and
curve.png; any run writes them where ``--output`` says.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import driver
from compare import free_ports
from driver import Dataset, Measurement, Request, Server, Workload, cycle
from report import measured_on
from run import (
    RESULTS,
    ROOT,
    SITES,
    add_arguments,
    check_arguments,
    discover,
    gunicorn,
    log,
    machine,
    manage,
    prepare,
    run_workload,
)

DEFAULT_SIZES = [10_000, 100_000, 1_000_000]
GROWTH = 1.15  # a per-request cost that grows more than this from the smallest size to the largest is flagged
CURSOR_HOP = 1000  # the page of ids the cursor walk asks for (drf_scim lowers it to MAX_PAGE_SIZE)
DATABASE = "scim_bench_curve"


@dataclass
class CurveData(Dataset):
    """run.py's data, and cursors (RFC 9865) to pages about 90% of the way into the list of users."""

    cursors: list[str] = field(default_factory=list)


def deep_cursors(server: Server, users: int, samples: int = 20) -> list[str]:
    """``samples`` successive nextCursor values from 90% of the unfiltered list of users on: cursors are
    opaque, so the list is walked there in pages of ids only, as large as the server allows."""
    start, position, cursor = users - users // 10, 0, ""
    while position < start:
        path = f"/Users?attributes=id&count={min(CURSOR_HOP, start - position)}&cursor={cursor}"
        body = server.call(Request("GET", path))
        if not body["Resources"] or "nextCursor" not in body:
            break
        position, cursor = position + len(body["Resources"]), body["nextCursor"]
    cursors = [cursor]
    while len(cursors) < samples:
        body = server.call(Request("GET", f"/Users?attributes=id&count=100&cursor={cursors[-1]}"))
        if "nextCursor" not in body:
            break
        cursors.append(body["nextCursor"])
    return cursors


def cursor_page(data: CurveData, run: str) -> Iterator[Request]:
    for cursor in cycle(data.cursors):
        yield Request("GET", f"/Users?count=100&cursor={cursor}")


def tail(users: int) -> str:
    """The last digits of the user numbers (userN@example.com) that 10 to 99 of ``users`` users share."""
    return "987654321"[-max(1, len(str(users)) - 2) :]


# The filters measured with count=10: each a function of the size, so that co and ew match a few rows at
# every size (sw "user123" matches 11 rows at 10,000 users, 1,111 at 1,000,000: the request).
FILTERS: dict[str, Callable[[int], str]] = {
    "filter_sw": lambda users: 'userName sw "user123"',
    "filter_co": lambda users: f'userName co "{tail(users)}@ex"',
    "filter_ew": lambda users: f'userName ew "{tail(users)}@example.com"',
}


def filtered(name: str) -> Workload:
    def requests(data: Dataset, run: str) -> Iterator[Request]:
        path = "/Users?count=10&filter=" + quote(FILTERS[name](data.users))
        while True:
            yield Request("GET", path)

    return requests


# run.py's workloads that the curve measures, and its own (which make bench does not run).
CURVE: dict[str, tuple[str, Workload]] = {
    "lookup": driver.WORKLOADS["lookup"],
    "get": driver.WORKLOADS["get"],
    "deep_page": driver.WORKLOADS["deep_page"],
    "cursor_page": ("Cursor page of 100 users at 90%", cursor_page),
    "filter_sw": ('userName sw "user123", count=10', filtered("filter_sw")),
    "filter_co": ('userName co "<digits>@ex", count=10', filtered("filter_co")),
    "filter_ew": ('userName ew "<digits>@example.com", count=10', filtered("filter_ew")),
    "post": driver.WORKLOADS["post"],
    "patch_active": driver.WORKLOADS["patch_active"],
    "add_member": driver.WORKLOADS["add_member"],
    "group_lookup": driver.WORKLOADS["group_lookup"],
}
EXPLAINED = ("filter_sw", "filter_co", "filter_ew")


def sized(parser: argparse.ArgumentParser, options: argparse.Namespace, users: int) -> argparse.Namespace:
    """The options of one size, as run.py would take them (``--users``; the big group half of it by default)."""
    one = argparse.Namespace(**{**vars(options), "users": users, "reuse": False})
    check_arguments(parser, one, CURVE)
    return one


def explained(paths: dict[str, str], token: str) -> dict[str, list[dict[str, Any]]]:
    """Run inside the site (``manage.py shell``): each GET of ``paths`` through Django's test client, and for
    each of its SQL queries with a LIKE the plan PostgreSQL chooses knowing the values (as for the first
    executions of a statement) and its generic plan (what a prepared statement may switch to after five)."""
    from django.db import connection
    from django.test import Client

    client = Client(headers={"authorization": f"Bearer {token}", "host": "127.0.0.1"})
    captured: list[tuple[str, Any]] = []

    def keep(execute, sql, params, many, context):
        captured.append((sql, params))
        return execute(sql, params, many, context)

    found = {}
    for name, path in paths.items():
        captured.clear()
        with connection.execute_wrapper(keep):
            response = client.get(SITES["drf_scim"]["prefix"] + path)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered {response.status_code}: {response.content[:300]!r}")
        found[name] = [plans_of(connection, sql, params) for sql, params in captured if " LIKE " in sql]
    return found


def plans_of(connection: Any, sql: str, params: Any) -> dict[str, Any]:
    """The custom and the generic plan of one query, and which of them a prepared statement would settle on."""
    numbered, counter = re.sub(r"%([s%])", lambda m: "%" if m[1] == "%" else "$?", sql), iter(range(1, 1000))
    numbered = re.sub(r"\$\?", lambda _: f"${next(counter)}", numbered)
    executed = connection.ops.compose_sql(f"EXECUTE curve_plan({', '.join(['%s'] * len(params))})", params)
    with connection.cursor() as cursor:
        custom = explained_plan(cursor, sql, params)
        cursor.execute("SET plan_cache_mode = force_generic_plan")
        cursor.execute("PREPARE curve_plan AS " + numbered)
        try:
            generic = explained_plan(cursor, executed, None)
        finally:
            cursor.execute("DEALLOCATE curve_plan")
            cursor.execute("RESET plan_cache_mode")
    # PostgreSQL's plan cache keeps the generic plan after five custom ones when it costs less than their
    # average, each charged 1000 * cpu_operator_cost per relation (+1) for its planning (plancache.c)
    charge = 2.5 * (len(custom.pop("relations")) + 1)
    generic.pop("relations")
    return {
        "query": "count" if "COUNT(" in sql.upper() else "page",
        "custom": custom,
        "generic": generic,
        "prepared_runs": "generic" if generic["cost"] < custom["cost"] + charge else "custom",
    }


def explained_plan(cursor: Any, sql: str, params: Any) -> dict[str, Any]:
    """EXPLAIN of ``sql``: its text, its estimated cost and how it reaches the rows of drf_scim_scimuser."""
    cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
    tree = cursor.fetchone()[0]
    tree = json.loads(tree) if isinstance(tree, str) else tree
    cursor.execute("EXPLAIN " + sql, params)
    nodes = list(walk(tree[0]["Plan"]))
    return {
        "cost": tree[0]["Plan"]["Total Cost"],
        "access": list(dict.fromkeys(access(node) for node in nodes if access(node))),
        "relations": [node["Relation Name"] for node in nodes if "Relation Name" in node],
        "plan": [row[0] for row in cursor.fetchall()],
    }


def walk(node: dict[str, Any], alias: str | None = None) -> Iterator[dict[str, Any]]:
    """The nodes of a JSON plan; a bitmap index scan tagged with the table alias of its bitmap heap scan."""
    alias = node.get("Alias", alias)
    yield {**node, "Alias": alias} if node["Node Type"] == "Bitmap Index Scan" else node
    for child in node.get("Plans", []):
        yield from walk(child, alias)


def access(node: dict[str, Any]) -> str | None:
    """How a plan node reads the filtered users' SCIM rows (not their managers'): the index it scans, or a
    sequential scan."""
    if node.get("Alias") != "drf_scim_scimuser":
        return None
    if node["Node Type"] == "Seq Scan":
        return "sequential scan"
    if "Index Name" in node:
        return node["Index Name"]
    return None


def explain(site: dict[str, Any], token: str, users: int) -> dict[str, list[dict[str, Any]]]:
    paths = {name: "/Users?count=10&filter=" + quote(FILTERS[name](users)) for name in EXPLAINED}
    script = f"import curve, json; print(json.dumps(curve.explained({paths!r}, {token!r})))"
    return json.loads(manage(site, "shell", "-c", script).strip().splitlines()[-1])


def database_storage(database: str) -> dict[str, Any]:
    """The seeded database's size and PostgreSQL's shared buffers: past them, reads go to the OS's cache."""
    query = "SELECT pg_database_size(current_database()), current_setting('shared_buffers')"
    answer = subprocess.run(["psql", "-d", database, "-tAc", query], capture_output=True, text=True, check=True)
    size, shared_buffers = answer.stdout.strip().split("|")
    return {"database_mb": round(int(size) / 2**20), "shared_buffers": shared_buffers}


def measure_size(options: argparse.Namespace, port: int) -> dict[str, Any]:
    """One size: seeded, served, measured workload by workload, the filters' plans read."""
    site = {**SITES["drf_scim"], "database": DATABASE, "port": port}
    log(f"{options.users:,} users: seeding")
    started = time.perf_counter()
    bearer = prepare("drf_scim", site, options)
    timings = {"seed": time.perf_counter() - started}
    storage = database_storage(DATABASE)
    results: dict[str, Any] = {}
    with gunicorn(site, options.workers, pgbouncer=options.pgbouncer):
        server = Server(f"http://127.0.0.1:{port}{site['prefix']}", bearer)
        started = time.perf_counter()
        data = CurveData(**vars(discover("drf_scim", server, options)))
        data.cursors = deep_cursors(server, options.users)
        timings["discover"] = time.perf_counter() - started
        log(f"{options.users:,} users: {len(data.cursors)} cursors at 90% in {timings['discover']:.1f} s with the ids")
        run_id, started = f"{time.strftime('%H%M%S')}-{options.users}", time.perf_counter()
        for workload in options.workloads:
            rounds = [["drf_scim"]] * options.rounds
            turns = run_workload(
                workload, {"drf_scim": (server, data, run_id)}, rounds, options.seconds / options.rounds, options, CURVE
            )["drf_scim"]
            result = Measurement.combine(turns)
            results[workload] = {**result.as_dict(), "rounds_rps": [turn.rps for turn in turns]}
            log(
                f"{options.users:>9,} {CURVE[workload][0]:<40} {result.rps:>8.1f} req/s "
                f"({min(t.rps for t in turns):.0f}-{max(t.rps for t in turns):.0f})  p50 {result.p50_ms:>7.1f} ms  "
                f"{result.queries} queries"
            )
        timings["measure"] = time.perf_counter() - started
    plans = explain(site, bearer, options.users) if set(EXPLAINED) & set(options.workloads) else {}
    return {
        "users": options.users,
        "big_group": options.big_group,
        "filters": {name: FILTERS[name](options.users) for name in EXPLAINED},
        "seconds": {step: round(value, 1) for step, value in timings.items()},
        **storage,
        "workloads": results,
        "plans": plans,
    }


def growth(report: dict[str, Any], workload: str) -> float | None:
    """The per-request cost (the inverse of the rate) at the largest size over that at the smallest."""
    rates = [size["workloads"][workload]["rps"] for size in report["sizes"] if workload in size["workloads"]]
    return rates[0] / rates[-1] if len(rates) > 1 and rates[-1] else None


def curve(parser: argparse.ArgumentParser, options: argparse.Namespace) -> dict[str, Any]:
    per_size = [sized(parser, options, users) for users in options.sizes]  # every size checked before seeding
    load = os.getloadavg()
    if load[0] > 0.5:
        log(f"the machine is busy (load average {load[0]:.2f}): the figures will be noisy")
    port = free_ports(1)[0]
    try:
        sizes = [measure_size(one, port) for one in per_size]
    finally:
        subprocess.run(["dropdb", "--if-exists", DATABASE], check=False)
    report = {
        "date": datetime.date.today().isoformat(),
        "machine": machine(),
        "load_average": [round(value, 2) for value in load],
        "config": {
            "sizes": options.sizes,
            "groups": options.groups,
            "gunicorn_workers": options.workers,
            "concurrency": options.concurrency,
            "seconds_per_workload": options.seconds,
            "rounds": options.rounds,
            "warmup": options.warmup,
        },
        "labels": {name: CURVE[name][0] for name in options.workloads},
        "sizes": sizes,
    }
    report["growth"] = {name: growth(report, name) for name in options.workloads}
    return report


def short(users: int) -> str:
    return (
        f"{users // 1_000_000}M" if users % 1_000_000 == 0 else f"{users // 1000}k" if users % 1000 == 0 else str(users)
    )


def describe(report: dict[str, Any]) -> str:
    config = report["config"]
    sizes = ", ".join(f"{users:,}" for users in config["sizes"])
    return (
        f"{measured_on(report)}; drf_scim only, {sizes} users with {config['groups']:,} groups of 10 and a group "
        f"of half the users; gunicorn with {config['gunicorn_workers']} sync workers (benchmarks/gunicorn.conf.py, "
        f"as make bench), {config['concurrency']} concurrent clients, {config['seconds_per_workload']:g} s per "
        f"workload and size in {config['rounds']} rounds after {config['warmup']:g} s of warm-up; load average at "
        f"the start {report['load_average'][0]:.2f}"
    )


def markdown(report: dict[str, Any]) -> str:
    sizes = report["sizes"]
    first, last = short(sizes[0]["users"]), short(sizes[-1]["users"])
    lines = [
        "# drf_scim's cost per request from the smallest size to the largest",
        "",
        f"Measured by `make bench-curve` on {describe(report)}.",
        "",
        "Each size has a fresh database, seeded by `scim_seed` and analysed (VACUUM ANALYZE), served by the site of"
        " `make bench`; req/s is over all rounds, with the range of the rounds' own rates in brackets; queries are"
        " the SQL queries of a request (median, the `X-Queries` header). The per-request cost is the inverse of"
        f" the rate: *{last} / {first}* is the cost at {last} over the cost at {first}, **bold** where it grows more"
        f" than {GROWTH - 1:.0%}.",
        "",
    ]
    header = ["Workload"] + [f"{short(s['users'])} {what}" for s in sizes for what in ("req/s", "p50 ms", "queries")]
    lines += ["| " + " | ".join([*header, f"cost {last} / {first}"]) + " |", "|---|" + "---:|" * len(header)]
    for name, label in report["labels"].items():
        cells = [label]
        for size in sizes:
            result = size["workloads"][name]
            spread = f"{min(result['rounds_rps']):,.0f}-{max(result['rounds_rps']):,.0f}"
            cells += [f"{result['rps']:,.1f} ({spread})", f"{result['p50_ms']:,.1f}", str(result["queries"])]
        value = report["growth"].get(name)
        shown = "" if value is None else f"{value:.2f}"
        cells.append(f"**{shown}**" if value is not None and value > GROWTH else shown)
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Filters, by size (co and ew match 10 to 99 users at every size):", ""]
    for size in sizes:
        lines.append(f"- {size['users']:,}: " + "; ".join(f"`{value}`" for value in size["filters"].values()))
    largest = sizes[-1]
    if largest["plans"]:
        lines += [
            "",
            f"PostgreSQL's plans for the filters at {largest['users']:,} users (`EXPLAIN` of the request's queries"
            " with a LIKE): *custom* knowing the values, the plan drf_scim's requests run (it never prepares"
            " a list filtered with co, sw or ew: drf_scim/plans/custom.py); *generic* as a prepared statement"
            " would run it (the site binds parameters server-side, and psycopg prepares what a connection runs"
            " 5 times); *prepared, it would run*: the plan PostgreSQL would settle on after five executions,"
            " estimated from the costs (it keeps the generic plan when that costs less than a custom plan and"
            " its planning)."
            " The indexes are those of migrations 0005 and 0008: `drf_scim_user_name_prefix`"
            " (varchar_pattern_ops, for sw), `drf_scim_user_name_trigram` (pg_trgm GIN, for co) and"
            " `drf_scim_user_name_suffix` (the reversed keys with pattern operators, for ew).",
            "",
            "| Filter | Query | Custom plan: users read by (cost) | Generic plan (cost) | Prepared, it would run |",
            "|---|---|---|---|---|",
        ]
        for name, queries in largest["plans"].items():
            for query in queries:
                custom, generic = (
                    f"{', '.join(query[kind]['access']) or 'no scan'} ({query[kind]['cost']:,.0f})"
                    for kind in ("custom", "generic")
                )
                lines.append(
                    f"| `{largest['filters'][name]}` | {query['query']} | {custom} | {generic} "
                    f"| {query['prepared_runs']} |"
                )
        lines += [
            "",
            "SQLite has neither kind of index: it answers sw, co and ew by scanning the users"
            " (docs/topics/filtering.rst).",
        ]
    if all("database_mb" in size for size in sizes):
        lines += [
            "",
            "Database size after seeding (PostgreSQL's shared_buffers): "
            + "; ".join(f"{s['users']:,}: {s['database_mb']:,} MB ({s['shared_buffers']})" for s in sizes)
            + ". A table larger than the shared buffers is read from the operating system's cache, page by page"
            " (docs/benchmarks.rst, *The cost curve*).",
        ]
    lines += ["", "Seconds per size: " + "; ".join(f"{s['users']:,}: {s['seconds']}" for s in sizes)]
    return "\n".join(lines) + "\n"


def write_chart(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(10, 6.8), dpi=110)
    users = [size["users"] for size in report["sizes"]]
    for name, label in report["labels"].items():
        costs = [1000 / size["workloads"][name]["rps"] for size in report["sizes"]]
        axes.plot(users, costs, marker="o", label=label)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xticks(users, [f"{value:,}" for value in users])
    axes.set_xlabel("users (log scale)")
    axes.set_ylabel("ms per request, 1 / req/s (log scale, lower is better)")
    axes.set_title("drf_scim: per-request cost by the number of users", loc="left", fontsize=12)
    axes.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    axes.grid(True, which="both", alpha=0.3)
    figure.text(0.01, 0.01, describe(report), fontsize=7, color="#4a5568", wrap=True)
    figure.tight_layout(rect=(0, 0.07, 1, 1))
    figure.savefig(path)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--sizes", type=lambda text: [int(value) for value in text.split(",")], default=DEFAULT_SIZES,
        help="comma-separated numbers of users, smallest first (default: 10000,100000,1000000)",
    )  # fmt: skip
    add_arguments(parser, workloads=CURVE, users=False)
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per workload and size")
    parser.add_argument("--rounds", type=int, default=5, help="turns per workload and size (their spread is shown)")
    parser.add_argument(
        "--output", type=Path,
        help=f"where curve.json, .md and .png go (default: {RESULTS.relative_to(ROOT)} for a run of the default sizes)",
    )  # fmt: skip
    options = parser.parse_args()
    if options.sizes != sorted(options.sizes) or options.rounds < 1 or options.seconds <= 0:
        parser.error("--sizes smallest first; --rounds and --seconds positive")
    knobs = ("sizes", "seconds", "rounds", "workloads", "groups")
    whole = all(getattr(options, knob) == parser.get_default(knob) for knob in knobs)
    report = curve(parser, options)
    text = markdown(report)
    print(text, end="")
    output = options.output or (RESULTS if whole else None)
    if output is None:
        return  # a smaller run is a measurement for its console, not the results of record
    output.mkdir(parents=True, exist_ok=True)
    (output / "curve.json").write_text(json.dumps(report, indent=2) + "\n")
    (output / "curve.md").write_text(text)
    write_chart(report, output / "curve.png")
    log(f"Wrote {output}/curve.json, curve.md and curve.png")


if __name__ == "__main__":
    main()
