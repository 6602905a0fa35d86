"""pytest-benchmark suite for the ring rows (same cases as bench_ring.py).

    pytest bench/test_bench_ring.py --benchmark-enable --benchmark-group-by=group

The Rust ``fastring`` 0.2 peer has this project's import name, so it cannot run in
this process: ``python bench/bench_ring.py`` times it in its own venv and process.
"""

import pytest
from bench_ring import cases

N, PURE_N = 1_000_000, 20_000
CASES = [(row, name, fn) for row, contenders, _ in cases(N, PURE_N) for name, (fn, _) in contenders.items()]


@pytest.mark.parametrize("row, contender, run", CASES, ids=[f"{r}|{c}" for r, c, _ in CASES])
def test_ring(benchmark, row, contender, run):
    benchmark.group = row
    benchmark.pedantic(run, rounds=5, iterations=1, warmup_rounds=1)
