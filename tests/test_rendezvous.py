"""Rendezvous: the score definition, balance, minimal disruption, replicas, bounded
loads, twins, pickles, errors."""

import math
import pickle

import numpy as np
import pytest

from hypothesis import given, settings
from hypothesis import strategies as st

from fastring import Rendezvous, hash_key, hash_keys
from fastring._implementation import use_twin
from fastring.routers import _SALT_SEED, _mix64

KEYS = np.arange(30_000)  # integer keys: the pure twin hashes them vectorized
STR_KEYS = [f"user:{i}" for i in range(2000)]
M64 = 2**64 - 1


def owners(router, keys=KEYS):
    return np.array(router.nodes, dtype=object)[router.lookup_many(keys)]


def reference_lookup(router, key):
    """The documented definition with Python floats and libm's log: the highest
    score -w / ln(u) wins (lowest index on ties)."""
    h = hash_key(key, router.algorithm)
    best, best_score = None, -1.0
    for i, (name, w) in enumerate(zip(router.nodes, router.weights)):
        seed = _mix64(hash_key(f"{name}", router.algorithm) ^ _SALT_SEED)
        z = _mix64(h ^ seed)
        u = (2 * (z >> 12) + 1) * 2.0**-53
        score = -w / math.log(u)
        if score > best_score:
            best, best_score = name, score
    return best


def assert_balanced(counts, expected, sigmas=6.0):
    counts = np.asarray(counts, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    df = len(counts) - 1
    stat = float(((counts - expected) ** 2 / expected).sum())
    assert stat < df + sigmas * np.sqrt(2 * df), (stat, df)


# --------------------------------------------------------------------------- definition


@pytest.mark.parametrize("algorithm", ["xxh64", "murmur3_32", "md5_32"])
def test_matches_the_definition(twin, algorithm):
    nodes = {f"node-{i}": w for i, w in enumerate([1, 2, 0.5, 3.25, 1, 1, 7, 0.01])}
    router = Rendezvous(nodes, algorithm=algorithm)
    keys = STR_KEYS[:1500] + [0, 1, -1, 2**64 - 1, b"\x00"]
    got = [router.nodes[i] for i in router.lookup_many(keys)]
    assert got == [reference_lookup(router, k) for k in keys]
    assert [router.lookup(k) for k in keys[:100]] == got[:100]


def test_known_answers(twin):
    """Frozen vectors: the same key routes the same way in every release and twin."""
    router = Rendezvous({"a": 1, "b": 2, "c": 1, "d": 0.5, "e": 1.5})
    assert router.lookup_many([f"user:{i}" for i in range(20)]).tolist() == KNOWN_WEIGHTED
    router = Rendezvous([f"node{i}" for i in range(10)])
    assert router.lookup_many(np.arange(20)).tolist() == KNOWN_UNWEIGHTED
    assert router.replicas("user:42", 4) == KNOWN_REPLICAS


KNOWN_WEIGHTED = [0, 1, 4, 0, 0, 1, 2, 2, 4, 1, 2, 4, 1, 0, 4, 4, 4, 2, 4, 2]
KNOWN_UNWEIGHTED = [9, 8, 5, 5, 0, 1, 9, 1, 0, 2, 6, 9, 2, 1, 2, 4, 5, 0, 7, 4]
KNOWN_REPLICAS = ("node9", "node8", "node6", "node5")


def test_neg_log_unit_accuracy(compiled):
    """-ln(u) from basic operations: within a few ulps of libm, identical in both twins."""
    rng = np.random.default_rng(1)
    z = np.concatenate(
        [
            rng.integers(0, 2**64, size=50_000, dtype=np.uint64),
            np.array([0, 1, 4095, 4096, 2**63 - 1, 2**63, 2**64 - 4096, 2**64 - 1], dtype=np.uint64),
            (np.uint64(1) << np.arange(12, 64, dtype=np.uint64)),
            (np.uint64(1) << np.arange(12, 64, dtype=np.uint64)) - np.uint64(1),
        ]
    )
    c, p = compiled["routers"]
    out_c, out_p = np.empty(len(z)), np.empty(len(z))
    c.neg_log_unit(z, out_c)
    p.neg_log_unit(z, out_p)
    np.testing.assert_array_equal(out_c.view(np.uint64), out_p.view(np.uint64))
    u = [(2 * (v >> 12) + 1) * 2.0**-53 for v in z.tolist()]
    exact = np.array([-math.log(x) for x in u])
    assert (out_c > 0).all()
    assert np.max(np.abs(out_c - exact) / exact) < 4 * 2.0**-52
    # The bound the compiled twin prunes with: -ln(u) >= 1 - u.
    assert (out_c >= (1.0 - np.array(u)) * (1 - 1e-15)).all()


# --------------------------------------------------------------------------- balance


def test_balance_unweighted(twin):
    router = Rendezvous([f"n{i}" for i in range(50)])
    counts = np.bincount(router.lookup_many(KEYS), minlength=50)
    assert_balanced(counts, np.full(50, len(KEYS) / 50))


def test_balance_weighted(twin):
    weights = {f"n{i}": w for i, w in enumerate([1, 2, 3, 4, 5, 0.5, 10, 1, 1, 2.5])}
    router = Rendezvous(weights)
    counts = np.bincount(router.lookup_many(KEYS), minlength=10)
    w = np.array(list(weights.values()))
    assert_balanced(counts, len(KEYS) * w / w.sum())


def test_second_choice_is_uniform(twin):
    """Replicas: given the winner, the runner-up is uniform over the other nodes."""
    router = Rendezvous([f"n{i}" for i in range(8)])
    pairs = router.replicas_many(KEYS, 2)
    first = pairs[:, 0] == 0
    counts = np.bincount(pairs[first, 1], minlength=8)[1:]
    assert_balanced(counts, np.full(7, first.sum() / 7))


# --------------------------------------------------------------------------- disruption


def test_remove_moves_only_that_nodes_keys(twin):
    router = Rendezvous({f"n{i}": 1 + i % 3 for i in range(20)})
    before = owners(router)
    router.remove("n5")
    after = owners(router)
    moved = before != after
    assert set(before[moved]) == {"n5"} and moved.sum() == (before == "n5").sum()


def test_add_moves_keys_only_to_the_new_node(twin):
    router = Rendezvous({f"n{i}": 1 + i % 3 for i in range(20)})
    before = owners(router)
    router.add("new", weight=2)
    after = owners(router)
    moved = before != after
    assert set(after[moved]) == {"new"}
    # Its share is about w / sum(w) = 2 / 41.
    assert abs(moved.mean() - 2 / 41) < 0.01


def test_changes_keep_other_nodes_order(twin):
    router = Rendezvous([f"n{i}" for i in range(12)])
    full = [router.replicas(k, 12) for k in STR_KEYS[:200]]
    router.remove("n3")
    for key, order in zip(STR_KEYS[:200], full):
        assert router.replicas(key, 11) == tuple(n for n in order if n != "n3")


# --------------------------------------------------------------------------- replicas


def test_replicas(twin):
    router = Rendezvous({"a": 1, "b": 2, "c": 3, "d": 1})
    for key in STR_KEYS[:100]:
        reps = router.replicas(key, 4)
        assert len(set(reps)) == 4 and reps[0] == router.lookup(key)
        assert router.replicas(key, 2) == reps[:2]
        scores = router.scores(key)
        assert router.nodes[int(np.argmax(scores))] == reps[0]
        assert list(np.array(router.nodes)[np.argsort(-scores, kind="stable")]) == list(reps)
    many = router.replicas_many(STR_KEYS[:300], 3)
    assert many.shape == (300, 3) and many.dtype == np.int32
    assert [tuple(router.nodes[i] for i in row) for row in many.tolist()] == [
        router.replicas(k, 3) for k in STR_KEYS[:300]
    ]
    np.testing.assert_array_equal(many[:, 0], router.lookup_many(STR_KEYS[:300]))
    assert router.replicas_many([], 2).shape == (0, 2)


# --------------------------------------------------------------------------- bounded loads


def reference_bounded(router, keys, capacities):
    """Keys in order, each to its best-scoring node with spare capacity."""
    remaining = list(capacities)
    out = []
    for key in keys:
        order = router.replicas(key, len(router))
        for name in order:
            i = router.nodes.index(name)
            if remaining[i] > 0:
                remaining[i] -= 1
                out.append(i)
                break
    return out


def test_bounded_matches_reference(twin):
    router = Rendezvous({"a": 1, "b": 2, "c": 1, "d": 4, "e": 1})
    keys = STR_KEYS[:600]
    capacities = np.array([60, 150, 100, 200, 100], dtype=np.int64)
    out = router._assign_bounded(keys, capacities)
    assert out.dtype == np.int32
    assert out.tolist() == reference_bounded(router, keys, capacities.tolist())
    assert (np.bincount(out, minlength=5) <= capacities).all()
    assert capacities.tolist() == [60, 150, 100, 200, 100]  # not modified


def test_assign_bounded_protocol(twin):
    bounded = pytest.importorskip("fastring.bounded")
    router = Rendezvous({f"n{i}": 1 + (i % 4) for i in range(16)})
    out = bounded.assign_bounded(KEYS, router, load_factor=1.1)
    w = np.array(router.weights)
    caps = np.ceil(1.1 * len(KEYS) * w / w.sum())
    counts = np.bincount(out, minlength=16)
    assert counts.sum() == len(KEYS) and (counts <= caps).all()
    # Without bounds the same keys go where lookup_many sends them; bounds only divert.
    free = router.lookup_many(KEYS)
    assert (out == free).mean() > 0.9


def test_bounded_errors(twin):
    router = Rendezvous(["a", "b"])
    with pytest.raises(ValueError, match="fewer than"):
        router._assign_bounded(STR_KEYS[:10], np.array([4, 5]))
    with pytest.raises(ValueError, match="one value per node"):
        router._assign_bounded(STR_KEYS[:10], np.array([10]))
    assert router._assign_bounded([], np.array([0, 0])).shape == (0,)


# --------------------------------------------------------------------------- twins


@st.composite
def nodes_and_keys(draw):
    n = draw(st.integers(min_value=1, max_value=40))
    seeds = draw(st.lists(st.integers(min_value=0, max_value=M64), min_size=n, max_size=n))
    if draw(st.booleans()):
        seeds = [seeds[0]] * n if draw(st.booleans()) else seeds  # forced exact ties
    if draw(st.booleans()):
        weights = [1.0] * n
    else:
        weights = draw(
            st.lists(st.floats(min_value=1e-6, max_value=1e6), min_size=n, max_size=n)
        )
    keys = draw(st.lists(st.integers(min_value=0, max_value=M64), max_size=60))
    return (
        np.array(keys, dtype=np.uint64),
        np.array(seeds, dtype=np.uint64),
        np.array([1.0 / w for w in weights]),
    )


@settings(max_examples=300, deadline=None)
@given(nodes_and_keys())
def test_kernel_parity(compiled, case):
    """Both twins find the same winner, and it is the full scan's argmin (the
    compiled twin's pruning never changes the answer)."""
    hashes, seeds, inv_weights = case
    c, p = compiled["routers"]
    m, n = len(hashes), len(seeds)
    out_c, out_p = np.empty(m, np.int32), np.empty(m, np.int32)
    c.rendezvous_many(hashes, seeds, inv_weights, out_c)
    p.rendezvous_many(hashes, seeds, inv_weights, out_p)
    np.testing.assert_array_equal(out_c, out_p)
    ranks_c, ranks_p = np.empty((m, n)), np.empty((m, n))
    c.rendezvous_scores(hashes, seeds, inv_weights, ranks_c)
    p.rendezvous_scores(hashes, seeds, inv_weights, ranks_p)
    np.testing.assert_array_equal(ranks_c, ranks_p)
    if m:
        np.testing.assert_array_equal(out_c, np.argmin(ranks_c, axis=1))
    capacity = np.full(n, -(-m // n) + 1, dtype=np.int64)
    rem_c, rem_p = capacity.copy(), capacity.copy()
    c.rendezvous_bounded(hashes, seeds, inv_weights, rem_c, out_c)
    p.rendezvous_bounded(hashes, seeds, inv_weights, rem_p, out_p)
    np.testing.assert_array_equal(out_c, out_p)
    np.testing.assert_array_equal(rem_c, rem_p)


def test_kernel_parity_large(compiled):
    rng = np.random.default_rng(9)
    hashes = rng.integers(0, 2**64, size=4000, dtype=np.uint64)
    c, p = compiled["routers"]
    for n in (1, 2, 3, 100, 1000):
        seeds = rng.integers(0, 2**64, size=n, dtype=np.uint64)
        for inv in (np.ones(n), 1.0 / rng.uniform(0.01, 100, size=n)):
            out_c, out_p = np.empty(len(hashes), np.int32), np.empty(len(hashes), np.int32)
            c.rendezvous_many(hashes, seeds, inv, out_c)
            p.rendezvous_many(hashes, seeds, inv, out_p)
            np.testing.assert_array_equal(out_c, out_p)
            caps = np.full(n, int(1.05 * len(hashes) / n) + 1, dtype=np.int64)
            rc, rp = caps.copy(), caps.copy()
            c.rendezvous_bounded(hashes, seeds, inv, rc, out_c)
            p.rendezvous_bounded(hashes, seeds, inv, rp, out_p)
            np.testing.assert_array_equal(out_c, out_p)


def test_kernels_check_inputs(compiled):
    for module in compiled["routers"]:
        h = np.zeros(3, dtype=np.uint64)
        with pytest.raises(ValueError):
            module.rendezvous_many(h, np.zeros(0, np.uint64), np.zeros(0), np.empty(3, np.int32))
        with pytest.raises(ValueError):
            module.rendezvous_many(h, np.zeros(2, np.uint64), np.ones(3), np.empty(3, np.int32))
        with pytest.raises(ValueError):
            module.rendezvous_bounded(h, np.zeros(2, np.uint64), np.ones(2), np.array([1, 1]), np.empty(3, np.int32))


def test_pickle_round_trip_between_twins(twin):
    router = Rendezvous({"a": 1, "b": 2.5, "c": 0.25, 7: 1})
    expected = router.lookup_many(KEYS)
    data = pickle.dumps(router)
    other = "python" if twin == "cython" else "cython"
    with use_twin(other):  # made on one twin, loaded and used on the other
        loaded = pickle.loads(data)
        assert loaded.nodes == router.nodes and loaded.weights == router.weights
        np.testing.assert_array_equal(loaded.lookup_many(KEYS), expected)


# --------------------------------------------------------------------------- API and errors


def test_container_protocol(twin):
    router = Rendezvous({"a": 1, "b": 2})
    assert router.nodes == ("a", "b") and router.weights == (1.0, 2.0)
    assert len(router) == 2 and "a" in router and "z" not in router and {} not in router
    assert list(router) == ["a", "b"] and "Rendezvous(2 nodes" in repr(router)
    clone = router.copy()
    clone.add("c")
    assert len(router) == 2 and len(clone) == 3
    keys = hash_keys(STR_KEYS[:10])  # any container works, uint64 arrays too
    assert router.lookup_many(keys).shape == (10,)
    assert router.lookup_many([]).shape == (0,)


def test_bad_input(twin):
    with pytest.raises(ValueError, match="duplicate node name"):
        Rendezvous(["a", "b", "a"])
    with pytest.raises(ValueError, match="duplicate node name"):
        Rendezvous([1, "1"])  # both hash as "1"
    with pytest.raises(ValueError, match="duplicate node name"):
        Rendezvous([1, 1.0])  # equal names
    for bad in (0, -1, float("nan"), float("inf"), 1e-300, 1e300):
        with pytest.raises(ValueError, match="weight of node 'a'"):
            Rendezvous({"a": bad})
    for bad in (True, "2", None):
        with pytest.raises(TypeError, match="weight of node 'a'"):
            Rendezvous({"a": bad})
    with pytest.raises(TypeError, match="single str"):
        Rendezvous("abc")
    with pytest.raises(ValueError, match="unknown algorithm"):
        Rendezvous(["a"], algorithm="sha256")
    router = Rendezvous(["a", "b", "c"])
    with pytest.raises(ValueError, match="only 3 nodes"):
        router.replicas("k", 4)
    with pytest.raises(ValueError, match="only 3 nodes"):
        router.replicas_many(["k"], 4)
    with pytest.raises(ValueError, match="at least 1"):
        router.replicas("k", 0)
    with pytest.raises(TypeError, match="n must be an int"):
        router.replicas("k", 1.0)
    with pytest.raises(ValueError, match="already"):
        router.add("a")
    with pytest.raises(ValueError, match="weight"):
        router.add("d", weight=0)
    with pytest.raises(KeyError, match="not in the rendezvous router"):
        router.remove("zz")
    with pytest.raises(TypeError, match="position 1"):
        router.lookup_many(["a", None])
    empty = Rendezvous()
    with pytest.raises(LookupError, match="no nodes"):
        empty.lookup("k")
    with pytest.raises(LookupError, match="no nodes"):
        empty.lookup_many(["k"])
    with pytest.raises(ValueError, match="only 0 nodes"):
        empty.replicas("k", 1)
