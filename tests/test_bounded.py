"""assign_bounded: consistent hashing with bounded loads (Mirrokni, Thorup, Zadimoghaddam)."""

import math
from fractions import Fraction

import numpy as np
import pytest

from fastring.bounded import _capacities, assign_bounded
from fastring.ring import HashRing

KEYS = [f"user:{i}" for i in range(2000)]


def reference(ring, keys, load_factor):
    """The definition: each key in order takes the first node of its preference order
    (the distinct nodes met walking the ring) whose load is below its capacity."""
    weights = ring.weights
    total = sum(Fraction(str(w)) for w in weights)
    caps = [math.ceil(Fraction(str(load_factor)) * len(keys) * Fraction(str(w)) / total) for w in weights]
    load = [0] * len(ring.nodes)
    out = []
    for key in keys:
        for name in ring.replicas(key, len(ring.nodes)):
            i = ring.nodes.index(name)
            if load[i] < caps[i]:
                load[i] += 1
                out.append(i)
                break
    return out, caps


@pytest.mark.parametrize("compat", [None, "uhashring", "ketama"])
@pytest.mark.parametrize("load_factor", [1.0, 1.1, 1.25, 2.0])
def test_matches_definition(twin, compat, load_factor):
    ring = HashRing({"a": 1, "b": 2, "c": 1, "d": 3, "e": 1}, compat=compat)
    keys = KEYS[:700]
    got = assign_bounded(keys, ring, load_factor=load_factor)
    want, caps = reference(ring, keys, load_factor)
    assert got.dtype == np.int32 and got.tolist() == want
    counts = np.bincount(got, minlength=len(ring.nodes))
    assert (counts <= caps).all() and counts.sum() == len(keys)


def test_no_node_exceeds_capacity_and_no_key_is_lost(twin):
    ring = HashRing([f"n{i}" for i in range(50)])
    keys = np.arange(50_000, dtype=np.uint64)
    got = assign_bounded(keys, ring, load_factor=1.05)
    counts = np.bincount(got, minlength=50)
    assert counts.sum() == len(keys)
    assert counts.max() <= math.ceil(1.05 * len(keys) / 50)
    plain = np.bincount(ring.lookup_many(keys), minlength=50)
    assert plain.max() > counts.max()  # the bound did something


def test_loose_bound_is_plain_consistent_hashing(twin):
    ring = HashRing([f"n{i}" for i in range(10)])
    np.testing.assert_array_equal(assign_bounded(KEYS, ring, load_factor=100), ring.lookup_many(KEYS))


def test_weighted_capacities(twin):
    ring = HashRing({"small": 1, "big": 4})
    got = assign_bounded(KEYS, ring, load_factor=1.0)
    assert np.bincount(got).tolist() == [400, 1600]  # exactly the weighted shares


def test_any_key_container(twin):
    ring = HashRing(["a", "b", "c"])
    want = assign_bounded(KEYS[:300], ring)
    np.testing.assert_array_equal(assign_bounded(iter(KEYS[:300]), ring), want)
    np.testing.assert_array_equal(assign_bounded(np.array(KEYS[:300]), ring), want)
    np.testing.assert_array_equal(assign_bounded(tuple(KEYS[:300]), ring), want)
    assert assign_bounded([], ring).shape == (0,)


def test_nodes_without_points_do_not_count(twin):
    # ketama: 1 * 2 * 1 // 11 = 0 vnodes for the light node, as in uhashring
    ring = HashRing({"heavy": 10, "light": 1}, compat="ketama", vnodes=1)
    assert ring._state.live_counts.tolist() == [4, 0]
    got = assign_bounded(KEYS[:100], ring, load_factor=1.2)
    assert (got == 0).all()
    with pytest.raises(ValueError, match="can take"):
        assign_bounded(KEYS[:100], ring, load_factor=1.0)


def test_capacities_are_exact():
    assert _capacities(1.25, 1000, (1.0, 1.0, 1.0)) == [417] * 3
    assert _capacities(1.05, 50_000, (1.0,) * 50) == [1050] * 50  # not 1051 from binary 1.05
    assert _capacities(1.0, 10, (0.1, 0.2, 0.7)) == [1, 2, 7]
    assert _capacities(1.5, 4, (1, 3)) == [2, 4]  # ceil(4.5) = 5, but 4 keys fit any node
    assert _capacities(1e308, 10, (1, 3)) == [10, 10]  # no bound at all: no overflow either
    assert sum(_capacities(1.0, 997, (1.0, 3.0, 7.0, 0.5))) >= 997
    assert _capacities(1.0, 5, ()) == []


class FakeRouter:
    """A router joining the protocol: nodes, weights and _assign_bounded."""

    nodes = ("x", "y")
    weights = (1.0, 3.0)

    def __init__(self):
        self.seen = None

    def _assign_bounded(self, keys, capacities):
        self.seen = (list(keys), capacities.tolist(), capacities.dtype)
        return np.zeros(len(self.seen[0]), dtype=np.int32)


def test_protocol_for_other_routers():
    router = FakeRouter()
    assign_bounded((f"k{i}" for i in range(10)), router, load_factor=1.2)
    keys, caps, dtype = router.seen
    assert keys == [f"k{i}" for i in range(10)] and caps == [3, 9] and dtype == np.int64


def test_rendezvous_joins_the_protocol():
    routers = pytest.importorskip("fastring.routers")
    rendezvous = getattr(routers, "Rendezvous", None)
    if rendezvous is None or not hasattr(rendezvous, "_assign_bounded"):
        pytest.skip("Rendezvous does not implement _assign_bounded yet")
    router = rendezvous({"a": 1, "b": 2, "c": 1})
    got = assign_bounded(KEYS, router, load_factor=1.1)
    caps = _capacities(1.1, len(KEYS), tuple(router.weights))
    assert (np.bincount(got, minlength=3) <= caps).all() and len(got) == len(KEYS)


def test_bad_input(twin):
    ring = HashRing(["a", "b"])
    with pytest.raises(TypeError, match="bounded loads"):
        assign_bounded(KEYS, object())
    for factor in (0.99, 0, -1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="load_factor"):
            assign_bounded(KEYS, ring, load_factor=factor)
    for factor in ("1.5", True, None):
        with pytest.raises(TypeError, match="load_factor"):
            assign_bounded(KEYS, ring, load_factor=factor)
    with pytest.raises(TypeError, match="single str"):
        assign_bounded("abc", ring)
    with pytest.raises(ValueError, match="no nodes"):
        assign_bounded(KEYS, HashRing([]))
    assert assign_bounded([], HashRing([])).shape == (0,)
    with pytest.raises(ValueError, match="one value per node"):
        ring._assign_bounded(KEYS, np.array([1], dtype=np.int64))
    with pytest.raises(TypeError, match="position 1"):
        assign_bounded(["a", 1.5], ring)
