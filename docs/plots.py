"""The site's pictures, drawn from fresh runs of fastring's own commands.

    python docs/plots.py docs/_generated      # also done by every Sphinx build

- ``compare.png``: ``fastring compare`` (speed, balance, keys moved per router);
- ``simulate.png``: ``fastring simulate`` (p99 latency of the balancers over time,
  with one server slowing down).

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


if __name__ == "__main__":
    draw(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "_generated"))
