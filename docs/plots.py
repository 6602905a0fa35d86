"""The site's pictures, drawn from fresh runs of fastring's own commands.

    python docs/plots.py docs/_generated      # also done by every Sphinx build

- ``compare.png``: ``fastring compare`` (speed, balance, keys moved per router);
- ``simulate.png``: ``fastring simulate`` (p99 latency of the balancers over time,
  with one server slowing down);
- ``bench-<area>.png``: the speed-ups of each section of ``benchmarks.md`` (the
  tables ``bench/report.py`` writes from the benchmark runs), one bar per workload.

A drawing is skipped when its file is newer than fastring's sources and this script.
"""

from __future__ import annotations

import glob
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def _newest_source() -> float:
    import fastring

    sources = glob.glob(os.path.join(os.path.dirname(fastring.__file__), "*.py"))
    return max(os.path.getmtime(p) for p in [*sources, os.path.abspath(__file__)])


def draw(out_dir: str) -> None:
    from fastring._cmd_compare import compare_routers, plot_comparison
    from fastring._cmd_simulate import Scenario, plot, simulate, BALANCERS

    os.makedirs(out_dir, exist_ok=True)
    newest = _newest_source()

    def stale(name: str) -> bool:
        path = os.path.join(out_dir, name)
        return not os.path.exists(path) or os.path.getmtime(path) < newest

    if stale("compare.png"):
        rows = compare_routers(100, 100_000, repeats=1)
        plot_comparison(rows, 100, os.path.join(out_dir, "compare.png"))
    if stale("simulate.png"):
        scenario = Scenario(requests=20_000)
        plot([simulate(scenario, name) for name in BALANCERS], os.path.join(out_dir, "simulate.png"))
    for area, rows in speedups(os.path.join(HERE, "benchmarks.md")).items():
        plot_speedups(area, rows, os.path.join(out_dir, f"bench-{area}.png"))


def speedups(path: str) -> dict[str, list[tuple[str, float]]]:
    """{area: [(workload, speed-up), ...]} from the speed-up tables of benchmarks.md."""
    tables: dict[str, list[tuple[str, float]]] = {}
    area = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("## "):
                area = line[3:].strip()
            elif area and line.startswith("| ") and line.rstrip().endswith("× |"):
                label, value = line.strip().strip("|").rsplit("|", 1)
                tables.setdefault(area, []).append((label.strip(), float(value.strip().rstrip("×").replace(",", ""))))
    return tables


def plot_speedups(area: str, rows: list[tuple[str, float]], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [_short(label) for label, _ in rows]
    values = [value for _, value in rows]
    fig, ax = plt.subplots(figsize=(10, 0.32 * len(rows) + 1.2))
    colors = ["tab:green" if v >= 1 else "tab:red" for v in values]
    from matplotlib.ticker import FuncFormatter, LogLocator

    ax.barh(labels, [v - 1 for v in values], left=1, color=colors)  # bars grow from 1x
    ax.axvline(1, color="grey", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_xlim(min(0.5, min(values) / 1.5), max(2.0, max(values) * 1.5))
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1, 2, 5)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}×"))
    ax.set_xlabel("speed-up, peer time / fastring time (green: fastring faster)")
    ax.tick_params(axis="y", labelsize=7)
    ax.invert_yaxis()
    ax.set_title(f"benchmarks: {area}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _short(label: str, width: int = 90) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


if __name__ == "__main__":
    draw(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "_generated"))
