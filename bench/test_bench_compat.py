"""pytest-benchmark suite for the fastring.compat rows
(same cases as bench_compat.py: contenders side by side, both twins).

    pytest bench/test_bench_compat.py --benchmark-enable --benchmark-group-by=group

pytest-benchmark reports time per call; divide by the keys a contender handles (the
pure twin and clandestined time a sample, see bench_compat.py) for ns/key, or run
``python bench/bench_compat.py`` for the interleaved ns/key table and ratios.
"""

import pytest
from bench_compat import cases

N, PURE_N = 1_000_000, 20_000
CASES = [
    (row, name, fn, count)
    for row, contenders, _, _ in cases(N, PURE_N)
    for name, (fn, count) in contenders.items()
]


@pytest.mark.parametrize("row, contender, run, count", CASES, ids=[f"{r}|{c}" for r, c, _, _ in CASES])
def test_compat(benchmark, row, contender, run, count):
    benchmark.group = row
    benchmark.extra_info["keys"] = count
    benchmark.pedantic(run, rounds=5, iterations=1, warmup_rounds=1)
