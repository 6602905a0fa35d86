"""pytest-benchmark suite for the hashing rows (same cases as bench_hashing.py).

    pytest bench/test_bench_hashing.py --benchmark-enable --benchmark-group-by=group
"""

import pytest
from bench_hashing import cases

N, PURE_N = 1_000_000, 20_000
CASES = [(row, name, fn) for row, contenders, _, _ in cases(N, PURE_N) for name, (fn, _) in contenders.items()]


@pytest.mark.parametrize("row, contender, run", CASES, ids=[f"{r}|{c}" for r, c, _ in CASES])
def test_hashing(benchmark, row, contender, run):
    benchmark.group = row
    benchmark.pedantic(run, rounds=5, iterations=1, warmup_rounds=1)
