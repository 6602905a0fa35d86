"""pytest-benchmark suite for the selection rows (same cases as bench_select.py).

    pytest bench/test_bench_select.py --benchmark-enable --benchmark-group-by=group

The acquire/release rows time 20,000 acquire+release pairs per round: divide by
20,000 for the cost of one call.
"""

import pytest
from bench_select import cases

N, PURE_N, CALLS = 1_000_000, 20_000, 20_000
CASES = list(
    dict.fromkeys(
        (row.split(" vs ")[0], name, fn) for row, contenders, _, _ in cases(N, PURE_N, CALLS) for name, (fn, _) in contenders.items()
    )
)


@pytest.mark.parametrize("row, contender, run", CASES, ids=[f"{r}|{c}" for r, c, _ in CASES])
def test_select(benchmark, row, contender, run):
    benchmark.group = row
    benchmark.pedantic(run, rounds=5, iterations=1, warmup_rounds=1)
