"""Turn results.json into the markdown table, the bar chart and the section of docs/benchmarks.rst that shows them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

LIBRARIES = ("drf_scim", "django-scim2", "floor")
COLOURS = {"drf_scim": "#2b6cb0", "django-scim2": "#c05621", "floor": "#a0aec0"}

# What drf_scim must reach against django-scim2 and the floor: (workload, measure, at least).
TARGETS = [
    ("lookup", "speedup", 2),
    ("get", "speedup", 2),
    ("post", "speedup", 2),
    ("patch_active", "speedup", 2),
    ("deep_page", "speedup", 50),
    ("add_member", "speedup", 100),
    ("lookup", "share_of_floor", 0.9),
    ("get", "share_of_floor", 0.9),
    ("post", "share_of_floor", 0.85),
    ("patch_active", "share_of_floor", 0.85),
]

RESULTS_START = ".. benchmark-results:start"
RESULTS_END = ".. benchmark-results:end"


def measured_on(report: dict[str, Any]) -> str:
    """The date and the machine of a run (run.machine), as the reports of every benchmark begin."""
    machine = report["machine"]
    return (
        f"{report['date']}, {machine['cpu']} ({machine['cores']} cores, {machine['memory_gib']} GiB), "
        f"PostgreSQL {machine['postgresql']}, Python {machine['python']}, Django {machine['django']}"
    )


def describe(report: dict[str, Any]) -> str:
    config = report["config"]
    return (
        f"{measured_on(report)}; "
        f"{config['users']:,} users, {config['groups']:,} groups, a group of {config['big_group']:,} members; "
        f"gunicorn with {config['gunicorn_workers']} sync workers per site, "
        + ("connected through PgBouncer in transaction mode, " if config.get("pgbouncer") else "")
        + f"{config['concurrency']} concurrent clients, {config['seconds_per_workload']:g} s per workload and site"
        + (f", in {config['rounds']} turns taken in alternation" if config.get("rounds", 1) > 1 else "")
        + (
            f"; {config['runs']} runs one after the other, combined, with the lowest and highest run in parentheses"
            if config.get("runs", 1) > 1
            else ""
        )
    )


def rate(value: float) -> str:
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def ratio(value: float) -> str:
    """A speedup with the digits that decide a target: 1.96x is short of 2x, and shows it."""
    return f"{value:,.2f}x" if value < 10 else f"{value:,.1f}x"


def rows(report: dict[str, Any]) -> list[list[str]]:
    """The table: one row per workload."""
    table = [
        [
            "Workload",
            "drf_scim req/s",
            "django-scim2 req/s",
            "drf_scim / django-scim2",
            "p50 / p99 ms, drf_scim",
            "p50 / p99 ms, django-scim2",
            "SQL queries, drf_scim / django-scim2",
            "floor req/s (drf_scim's share)",
        ]
    ]
    for workload in report["workloads"]:
        ours, peer = workload["results"]["drf_scim"], workload["results"]["django-scim2"]
        floor = workload["results"].get("floor")
        runs = workload.get("runs") or []
        table.append(
            [
                workload["label"],
                rate(ours["rps"]) + spread(runs, lambda run: run["rps"]["drf_scim"], rate),
                rate(peer["rps"]) + spread(runs, lambda run: run["rps"]["django-scim2"], rate),
                ratio(workload["speedup"]) + spread(runs, lambda run: run["speedup"], ratio),
                f"{ours['p50_ms']:,.1f} / {ours['p99_ms']:,.1f}",
                f"{peer['p50_ms']:,.1f} / {peer['p99_ms']:,.1f}",
                f"{ours['queries']} / {peer['queries']}",
                (
                    f"{rate(floor['rps'])} ({workload['share_of_floor']:.0%}"
                    + spread(runs, lambda run: run["share_of_floor"], lambda value: f"{value:.0%}", inside=True)
                    + ")"
                )
                if floor
                else "",
            ]
        )
    return table


def spread(runs: list[dict[str, Any]], value: Any, shown: Any, *, inside: bool = False) -> str:
    """`` (lowest to highest)`` of ``value(run)`` over several runs (``, lowest to highest`` ``inside``
    parentheses already open); nothing for one run."""
    if len(runs) < 2:
        return ""
    values = sorted(value(run) for run in runs)
    text = f"{shown(values[0])} to {shown(values[-1])}"
    return f", {text}" if inside else f" ({text})"


def target_lines(report: dict[str, Any]) -> list[str]:
    """Each target, the measured value and whether it is met."""
    by_name = {workload["name"]: workload for workload in report["workloads"]}
    lines = []
    for name, measure, least in TARGETS:
        workload = by_name.get(name)
        if workload is None:  # a run of some workloads only (run.py --workloads)
            continue
        value = workload[measure]
        verdict = "met" if value >= least else "not met"
        if measure == "speedup":
            wanted, got = f"at least {least:g}x django-scim2", ratio(value)
            results = workload["results"]
            if "floor" in results:  # how far plain Django itself is from django-scim2 on this request
                verdict += f"; the floor: {ratio(results['floor']['rps'] / results['django-scim2']['rps'])}"
        else:
            wanted, got = f"at least {least:.0%} of the floor", f"{value:.1%}"
        lines.append(f"{workload['label']}: {wanted}: {got} ({verdict})")
    independence = report.get("query_independence", {})
    for label, counts in independence.items():
        verdict = "met" if len(set(counts.values())) == 1 else "not met"
        shown = ", ".join(f"{key}: {value}" for key, value in counts.items())
        lines.append(f"{label}: the same queries whatever the size: {shown} ({verdict})")
    return lines


def write_table(report: dict[str, Any], path: Path) -> None:
    table = rows(report)
    lines = [f"Measured {describe(report)}.", ""]
    lines.append("| " + " | ".join(table[0]) + " |")
    lines.append("|---|" + "---:|" * (len(table[0]) - 1))
    lines += ["| " + " | ".join(row) + " |" for row in table[1:]]
    lines += ["", "Targets:", ""] + [f"- {line}" for line in target_lines(report)]
    path.write_text("\n".join(lines) + "\n")


def rst_section(report: dict[str, Any], chart: str) -> str:
    """The results on docs/benchmarks.rst: the chart, the table and the targets, as reStructuredText."""
    table = rows(report)
    lines = [
        RESULTS_START,
        "",
        f".. image:: {chart}",
        "   :alt: Requests per second of drf_scim, django-scim2 and the floor, per workload",
        "",
        f"Measured by ``make bench`` on {describe(report)}.",
        "",
        ".. list-table::",
        "   :header-rows: 1",
        "",
    ]
    for row in table:
        lines.append(f"   * - {row[0]}")
        lines += [f"     - {cell}" for cell in row[1:]]
    lines += ["", "The targets of the benchmark, as measured in the same run:", ""]
    lines += [f"- {line}" for line in target_lines(report)]
    lines += ["", RESULTS_END]
    return "\n".join(lines)


def update_page(report: dict[str, Any], page: Path, chart: str) -> None:
    """Replace the section between the page's markers with this run's results."""
    text = page.read_text()
    pattern = re.compile(re.escape(RESULTS_START) + r".*?" + re.escape(RESULTS_END), re.DOTALL)
    if not pattern.search(text):
        raise SystemExit(f"{page} has no {RESULTS_START} ... {RESULTS_END} section to update.")
    page.write_text(pattern.sub(lambda _: rst_section(report, chart), text, count=1))


def write_chart(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    workloads = report["workloads"]
    figure, axes = plt.subplots(figsize=(10, 6.8), dpi=110)
    height = 0.27
    for offset, library in enumerate(LIBRARIES):
        positions, values = [], []
        for index, workload in enumerate(workloads):
            if library in workload["results"]:
                positions.append(index + (offset - 1) * height)
                values.append(workload["results"][library]["rps"])
        bars = axes.barh(positions, values, height=height, color=COLOURS[library], label=library)
        axes.bar_label(bars, labels=[rate(value) for value in values], padding=3, fontsize=8)
    axes.set_xscale("log")
    axes.set_yticks(range(len(workloads)), [workload["label"] for workload in workloads])
    axes.invert_yaxis()
    axes.set_xlabel("requests per second (log scale, higher is better)")
    axes.set_title("drf_scim and django-scim2 on PostgreSQL, same data", loc="left", fontsize=12, pad=24)
    axes.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=3, frameon=False, fontsize=9)
    axes.margins(x=0.12)
    figure.text(0.01, 0.01, describe(report), fontsize=7, color="#4a5568", wrap=True)
    figure.tight_layout(rect=(0, 0.05, 1, 1))
    figure.savefig(path)
    plt.close(figure)
