"""Turn results.json into the markdown table and the bar chart shown in the README."""

from __future__ import annotations

from pathlib import Path
from typing import Any

LIBRARIES = ("drf_scim", "django-scim2", "floor")
COLOURS = {"drf_scim": "#2b6cb0", "django-scim2": "#c05621", "floor": "#718096"}


def describe(report: dict[str, Any]) -> str:
    machine, config = report["machine"], report["config"]
    return (
        f"{report['date']}, {machine['cpu']} ({machine['cores']} cores, {machine['memory_gib']} GiB), "
        f"PostgreSQL {machine['postgresql']}, Python {machine['python']}, Django {machine['django']}; "
        f"{config['users']:,} users, {config['groups']:,} groups, a group of {config['big_group']:,} members; "
        f"gunicorn with {config['gunicorn_workers']} sync workers per site, {config['concurrency']} concurrent "
        f"clients, {config['seconds_per_workload']:g} s per workload"
    )


def write_table(report: dict[str, Any], path: Path) -> None:
    lines = [
        f"Measured {describe(report)}.",
        "",
        "| Workload | drf_scim req/s | django-scim2 req/s | speedup | drf_scim p50 / p99 ms "
        "| django-scim2 p50 / p99 ms | queries drf_scim / django-scim2 | floor req/s (drf_scim share) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for workload in report["workloads"]:
        ours, peer = workload["results"]["drf_scim"], workload["results"]["django-scim2"]
        floor = workload["results"].get("floor")
        floor_cell = f"{floor['rps']:,.0f} ({workload['share_of_floor']:.0%})" if floor else ""
        lines.append(
            f"| {workload['label']} | {ours['rps']:,.1f} | {peer['rps']:,.1f} | {workload['speedup']:,.1f}x "
            f"| {ours['p50_ms']:,.1f} / {ours['p99_ms']:,.1f} | {peer['p50_ms']:,.1f} / {peer['p99_ms']:,.1f} "
            f"| {ours['queries']} / {peer['queries']} | {floor_cell} |"
        )
    path.write_text("\n".join(lines) + "\n")


def write_chart(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    workloads = report["workloads"]
    figure, axes = plt.subplots(figsize=(10, 6.5), dpi=110)
    height = 0.27
    for offset, library in enumerate(LIBRARIES):
        positions, values = [], []
        for index, workload in enumerate(workloads):
            if library in workload["results"]:
                positions.append(index + (offset - 1) * height)
                values.append(workload["results"][library]["rps"])
        bars = axes.barh(positions, values, height=height, color=COLOURS[library], label=library)
        axes.bar_label(bars, labels=[f"{value:,.1f}" if value < 10 else f"{value:,.0f}" for value in values],
                       padding=3, fontsize=8)  # fmt: skip
    axes.set_xscale("log")
    axes.set_yticks(range(len(workloads)), [workload["label"] for workload in workloads])
    axes.invert_yaxis()
    axes.set_xlabel("requests per second (log scale, higher is better)")
    axes.set_title("drf_scim vs django-scim2 on PostgreSQL", loc="left", fontsize=12)
    axes.text(0, 1.01, describe(report), transform=axes.transAxes, fontsize=6.5, color="#4a5568", wrap=True)
    axes.legend(loc="lower right")
    axes.margins(x=0.15)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
