"""fastring.analysis: load statistics, moved fractions, ideal moves, memory."""

import math

import numpy as np
import pytest

from fastring.analysis import ideal_moved_fraction, load_stats, moved_fraction, router_memory


def test_load_stats_uniform_and_weighted():
    stats = load_stats(np.array([0, 0, 1, 1, 2, 2]), 3)
    assert stats.counts.tolist() == [2, 2, 2]
    assert stats.peak_to_mean == 1.0 and stats.stddev_to_mean == 0.0 and stats.empty_nodes == 0
    weighted = load_stats([0, 1, 1, 1, 1, 1, 1, 2], 4, weights=[1, 6, 1, 0])
    assert weighted.peak_to_mean == pytest.approx(1.0)
    assert weighted.empty_nodes == 0  # a zero-weight node with no keys is not "empty"
    skewed = load_stats([0, 0, 0, 1], 2)
    assert skewed.peak_to_mean == 1.5
    assert skewed.stddev_to_mean == pytest.approx(0.5)
    assert load_stats([0, 0], 3).empty_nodes == 2


def test_load_stats_empty_assignment():
    stats = load_stats(np.array([], dtype=np.int32), 2)
    assert stats.counts.tolist() == [0, 0] and math.isnan(stats.peak_to_mean)


@pytest.mark.parametrize(
    "assignment, n, weights, match",
    [
        ([0, 3], 3, None, "outside"),
        ([-1], 3, None, "outside"),
        ([[0]], 3, None, "one-dimensional"),
        ([0], 0, None, "positive"),
        ([0], 2, [1], "weights"),
        ([0], 2, [1, -1], "weights"),
        ([0], 2, [0, 0], "weights"),
        ([0], 2, [1, float("nan")], "weights"),
    ],
)
def test_load_stats_bad_input(assignment, n, weights, match):
    with pytest.raises(ValueError, match=match):
        load_stats(assignment, n, weights)


def test_moved_fraction_by_index_and_by_name():
    assert moved_fraction([0, 1, 2], [0, 1, 2]) == 0.0
    assert moved_fraction([0, 1, 2, 3], [0, 1, 1, 1]) == 0.5
    # Removing "b" renumbers "c": by name only b's key moved.
    assert moved_fraction([0, 1, 2], [0, 0, 1], ["a", "b", "c"], ["a", "c"]) == pytest.approx(1 / 3)
    assert moved_fraction([], []) == 0.0
    with pytest.raises(ValueError, match="length"):
        moved_fraction([0], [0, 1])
    with pytest.raises(ValueError, match="both"):
        moved_fraction([0], [0], ["a"], None)


def test_ideal_moved_fraction():
    four = dict.fromkeys("abcd", 1)
    assert ideal_moved_fraction(four, dict.fromkeys("abc", 1)) == pytest.approx(0.25)
    assert ideal_moved_fraction(four, dict.fromkeys("abcde", 1)) == pytest.approx(0.2)
    assert ideal_moved_fraction(four, four) == 0.0
    assert ideal_moved_fraction({"a": 1, "b": 1}, {"a": 1, "b": 3}) == pytest.approx(0.25)
    with pytest.raises(ValueError):
        ideal_moved_fraction({}, {"a": 1})


def test_router_memory_counts_arrays():
    class Router:
        def __init__(self, size):
            self.table = np.zeros(size, dtype=np.int64)
            self.nodes = ("a", "b")

    small, big = router_memory(Router(10)), router_memory(Router(100_000))
    assert big - small == pytest.approx(8 * (100_000 - 10), rel=0.01)


def test_router_memory_counts_the_compiled_index_arrays(twin):
    from fastring import HashRing
    from fastring.analysis import router_memory

    ring = HashRing([f"n{i}" for i in range(300)])
    index = ring._state.index
    held = getattr(index, "arrays", None) or tuple(v for v in vars(index).values() if isinstance(v, np.ndarray))
    arrays = sum(a.nbytes for a in held if isinstance(a, np.ndarray))
    assert arrays > 0 and router_memory(ring) >= arrays
