"""Shared helpers for the benchmarks: sample keys, twin switching, interleaved timing."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable

import numpy as np

import fastring
from fastring._implementation import use_twin

SEED = 20261126


def str_keys(n: int, seed: int = SEED) -> list[str]:
    """PERF.md's str keys: ``user:<n>`` for a random permutation of range(n)."""
    return [f"user:{i}" for i in np.random.default_rng(seed).permutation(n).tolist()]


def uint64_keys(n: int, seed: int = SEED) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 2**64, size=n, dtype=np.uint64)



def on_pure_twin(fn: Callable[..., object], *args, **kw) -> Callable[[], None]:
    """A contender that calls ``fn(*args, **kw)`` with the public API on the pure twin."""

    def run() -> None:
        with use_twin("python"):
            fn(*args, **kw)

    return run


def interleaved_best(contenders: dict[str, Callable[[], object]], repeats: int = 7) -> dict[str, float]:
    """Best wall time of each contender over ``repeats`` rounds, contenders interleaved."""
    best = {name: float("inf") for name in contenders}
    for _ in range(repeats):
        for name, run in contenders.items():
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def machine() -> dict:
    cpu = platform.processor()
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), cpu)
    commit = "unknown"
    with contextlib.suppress(Exception):
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for dist in ("numpy", "pandas", "pyarrow", "polars", "mmh3", "xxhash", "uhashring", "jump-consistent-hash", "clandestined", "Cython"):
        with contextlib.suppress(PackageNotFoundError):
            versions[dist] = version(dist)
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": sys.version.split()[0],
        "fastring": fastring.__version__,
        "implementation": fastring.IMPLEMENTATION,
        "commit": commit,
        "versions": versions,
    }


def write_results(name: str, rows: list[dict]) -> str:
    path = os.path.join(os.path.dirname(__file__), "results", f"{name}.json")
    with open(path, "w") as f:
        json.dump({"machine": machine(), "rows": rows}, f, indent=2)
    return path


def run_cases(area: str, cases, repeats: int, unit: str = "ns/key") -> list[dict]:
    """Time each case's contenders interleaved, print them, write results/<area>.json.

    A case is ``(row, {contender: (callable, items per call)}, (ours, peer), target)``;
    times are per item (``unit``), the ratio is peer time / our time.
    """
    rows = []
    for row, contenders, (ours, peer), target in cases:
        best = interleaved_best({name: fn for name, (fn, _) in contenders.items()}, repeats)
        # Build rows time one build per call: report milliseconds per build.
        row_unit, scale = ("ms/build", 1e3) if "build" in row else (unit, 1e9)
        ns = {name: best[name] / count * scale for name, (_, count) in contenders.items()}
        ratio = ns[peer] / ns[ours]
        rows.append({"row": row, "ns_per_key": ns, "ours": ours, "peer": peer, "ratio": ratio, "target": target, "unit": row_unit})
        print(f"\n{row}  (target {target})")
        for name, value in ns.items():
            print(f"  {name:<45} {value:12.2f} {row_unit}")
        print(f"  ratio {peer} / {ours}: {ratio:.2f}×")
    print("\nwrote", write_results(area, rows))
    return rows
