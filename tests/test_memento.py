"""MementoRouter: jump when nothing is removed, minimal disruption, LIFO restore, twins."""

import copy
import pickle
import random

import numpy as np
import pytest

from hypothesis import given, settings
from hypothesis import strategies as st

from fastring import MementoRouter, hash_keys, jump_hash
from fastring._implementation import use_twin

KEYS = np.arange(40_000)  # integer keys: the pure twin hashes them vectorized
STR_KEYS = [f"user:{i}" for i in range(3000)]


def owners(router, keys=KEYS):
    """Node name of every key."""
    return np.array(router.nodes, dtype=object)[router.lookup_many(keys)]


def test_no_removals_is_jump(twin):
    names = [f"node{i}" for i in range(37)]
    router = MementoRouter(names)
    np.testing.assert_array_equal(router.lookup_many(KEYS), jump_hash(KEYS, 37))
    for key in KEYS[:50].tolist():
        assert router.lookup(key) == names[jump_hash(key, 37)]
    np.testing.assert_array_equal(router.lookup_many(STR_KEYS), jump_hash(STR_KEYS, 37))
    router = MementoRouter(names, algorithm="murmur3_32")
    np.testing.assert_array_equal(router.lookup_many(KEYS), jump_hash(KEYS, 37, algorithm="murmur3_32"))


def test_removing_the_last_node_is_jump_shrinking(twin):
    router = MementoRouter([f"n{i}" for i in range(10)])
    router.remove("n9")
    assert router.removed_buckets == ()
    np.testing.assert_array_equal(router.lookup_many(KEYS), jump_hash(KEYS, 9))


def test_remove_moves_only_that_nodes_keys(twin):
    router = MementoRouter([f"n{i}" for i in range(20)])
    before = owners(router)
    router.remove("n7")
    after = owners(router)
    moved = before != after
    assert set(before[moved]) == {"n7"}
    assert (before == "n7").sum() == moved.sum()
    # The removed node's keys spread over all the others.
    counts = np.unique(after, return_counts=True)[1]
    assert len(counts) == 19
    assert counts.max() / counts.mean() < 1.1


def test_add_restores_last_removed_bucket(twin):
    router = MementoRouter(["a", "b", "c", "d", "e"])
    start = owners(router)
    router.remove("b")
    router.remove("d")
    assert router.removed_buckets == (1, 3)
    router.add("x")  # takes bucket 3, the last removed
    assert router.buckets["x"] == 3
    router.add("y")  # then bucket 1
    assert router.buckets["y"] == 1
    assert router.removed_buckets == ()
    restored = owners(router)
    rename = {"a": "a", "b": "y", "c": "c", "d": "x", "e": "e"}
    assert (np.array([rename[o] for o in start], dtype=object) == restored).all()
    router.add("z")  # nothing removed: a new last bucket
    assert router.buckets["z"] == 5
    assert router.nodes == ("a", "y", "c", "x", "e", "z")


def test_random_changes_are_minimal_and_balanced(twin):
    """Any sequence of removals and additions: a removal moves only the removed node's
    keys, an addition moves keys only to the added node; loads stay balanced."""
    rng = random.Random(2023)
    router = MementoRouter([f"n{i}" for i in range(16)])
    keys = KEYS[:20_000]
    current = owners(router, keys)
    fresh = 16
    for step in range(60):
        if len(router) > 2 and (rng.random() < 0.5 or len(router) > 30):
            victim = rng.choice(router.nodes)
            router.remove(victim)
            new = owners(router, keys)
            moved = current != new
            assert set(current[moved]) <= {victim}, step
            assert moved.sum() == (current == victim).sum()
        else:
            name = f"n{fresh}"
            fresh += 1
            router.add(name)
            new = owners(router, keys)
            moved = current != new
            assert set(new[moved]) <= {name}, step
        counts = np.unique(new, return_counts=True)[1]
        assert len(counts) == len(router)
        assert counts.max() / counts.mean() < 1.25, step
        current = new


def test_remove_everything_then_add(twin):
    router = MementoRouter(["a", "b", "c"])
    for name in ("b", "a", "c"):
        router.remove(name)
    assert len(router) == 0 and router.nodes == ()
    with pytest.raises(LookupError, match="no nodes"):
        router.lookup("k")
    with pytest.raises(LookupError, match="no nodes"):
        router.lookup_many(["k"])
    assert router.lookup_many([]).shape == (0,)
    router.add("d")
    assert router.lookup("k") == "d"
    router.add("e")
    np.testing.assert_array_equal(router.lookup_many(KEYS), jump_hash(KEYS, 2))


def test_container_protocol(twin):
    router = MementoRouter(["a", "b", "c"])
    assert len(router) == 3 and "b" in router and "z" not in router and [] not in router
    assert list(router) == ["a", "b", "c"]
    assert "MementoRouter(3 nodes" in repr(router)
    assert router.algorithm == "xxh64"
    clone = router.copy()
    clone.remove("a")
    assert router.nodes == ("a", "b", "c") and clone.nodes == ("b", "c")
    deep = copy.deepcopy(router)
    np.testing.assert_array_equal(deep.lookup_many(KEYS), router.lookup_many(KEYS))
    idx = router.lookup_many(KEYS[:100])
    assert [router.nodes[i] for i in idx] == [router.lookup(k) for k in KEYS[:100].tolist()]


def test_key_containers(twin):
    router = MementoRouter([f"n{i}" for i in range(9)])
    router.remove("n4")
    ints = np.arange(1000)
    expected = router.lookup_many(ints.tolist())
    np.testing.assert_array_equal(router.lookup_many(ints), expected)
    np.testing.assert_array_equal(router.lookup_many(ints.astype(np.int16)), expected)
    assert [router.nodes[i] for i in expected[:20]] == [router.lookup(int(k)) for k in ints[:20]]


def test_pickle_round_trip_between_twins(twin):
    router = MementoRouter([f"n{i}" for i in range(12)])
    for name in ("n3", "n8", "n11", "n0"):
        router.remove(name)
    router.add("new")
    expected = router.lookup_many(KEYS)
    data = pickle.dumps(router)
    other = "python" if twin == "cython" else "cython"
    with use_twin(other):  # made on one twin, loaded and used on the other
        loaded = pickle.loads(data)
        assert loaded.nodes == router.nodes
        assert loaded.removed_buckets == router.removed_buckets
        np.testing.assert_array_equal(loaded.lookup_many(KEYS), expected)


def test_bad_input(twin):
    with pytest.raises(ValueError, match="duplicate node name"):
        MementoRouter(["a", "b", "a"])
    with pytest.raises(ValueError, match="duplicate node name"):
        MementoRouter([1, True])  # equal names
    with pytest.raises(TypeError, match="names only"):
        MementoRouter({"a": 1})
    with pytest.raises(TypeError, match="single str"):
        MementoRouter("abc")
    with pytest.raises(TypeError, match="hashable"):
        MementoRouter([["a"]])
    with pytest.raises(ValueError, match="unknown algorithm"):
        MementoRouter(["a"], algorithm="crc32")
    router = MementoRouter(["a", "b"])
    with pytest.raises(ValueError, match="already"):
        router.add("a")
    with pytest.raises(KeyError, match="not in the memento router"):
        router.remove("zz")
    with pytest.raises(LookupError):
        MementoRouter().lookup("k")
    with pytest.raises(TypeError, match="position 1"):
        router.lookup_many(["a", 1.5])


# --------------------------------------------------------------------------- kernel parity


@st.composite
def memento_states(draw):
    """A router state reached by random removals and additions."""
    n = draw(st.integers(min_value=1, max_value=40))
    router = MementoRouter(range(n))
    fresh = n
    for op in draw(st.lists(st.booleans(), max_size=30)):
        if op and len(router) > 1:
            router.remove(draw(st.sampled_from(router.nodes)))
        else:
            router.add(fresh)
            fresh += 1
    return router._state


@settings(max_examples=150, deadline=None)
@given(memento_states(), st.lists(st.integers(min_value=0, max_value=2**64 - 1), max_size=50))
def test_kernel_parity(compiled, state, keys):
    c, p = compiled["routers"]
    hashes = np.array(keys, dtype=np.uint64)
    out_c = np.empty(len(keys), dtype=np.int32)
    out_p = np.empty(len(keys), dtype=np.int32)
    c.memento_many(hashes, state.size, state.replacer, state.index, out_c)
    p.memento_many(hashes, state.size, state.replacer, state.index, out_p)
    np.testing.assert_array_equal(out_c, out_p)
    assert ((out_c >= 0) & (out_c < len(state.names))).all()


def test_kernel_rejects_bad_tables(compiled):
    for module in compiled["routers"]:
        keys = np.zeros(2, dtype=np.uint64)
        out = np.empty(2, dtype=np.int32)
        replacer = np.array([-1, 0, -1], dtype=np.int32)  # a replacer of 0 would divide by zero
        with pytest.raises(ValueError, match="replacer"):
            module.memento_many(keys, 3, replacer, np.array([0, -1, 1], dtype=np.int32), out)
        with pytest.raises(ValueError):
            module.memento_many(keys, 3, np.full(2, -1, dtype=np.int32), np.zeros(3, dtype=np.int32), out)


def test_hash_is_the_key_hash(twin):
    """lookup_many hashes each key once with the router's algorithm."""
    router = MementoRouter([f"n{i}" for i in range(5)], algorithm="fnv1a_64")
    hashes = hash_keys(STR_KEYS, "fnv1a_64")
    np.testing.assert_array_equal(router.lookup_many(STR_KEYS), jump_hash(hashes, 5, algorithm=None))
