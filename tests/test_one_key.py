"""lookup(key): the compiled one-key path equals lookup_many, key for key, in both twins."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastring import JumpRouter, Maglev, MementoRouter, Rendezvous

NODES = [f"node-{i}" for i in range(11)]
KEYS = ["", "user:42", "é✓🎉", "x" * 300, b"raw", bytearray(b"ba"), 0, -1, 2**63, 2**64 - 1, True, np.int16(-7), np.uint64(9)]
BAD = [1.5, None, [1], 2**64, "\ud800", object()]


def routers(algorithm="xxh64"):
    memento = MementoRouter(NODES + ["gone-1", "gone-2"], algorithm=algorithm)
    memento.remove("gone-1")
    memento.remove("node-3")
    return [
        Maglev(NODES, table_size=1009, algorithm=algorithm),
        Rendezvous({n: 1 + i % 3 for i, n in enumerate(NODES)}, algorithm=algorithm),  # weighted
        Rendezvous(NODES, algorithm=algorithm),  # uniform
        Rendezvous([f"n{i}" for i in range(300)], algorithm=algorithm),  # past the stack buffer
        MementoRouter(NODES, algorithm=algorithm),  # no removals: plain jump
        memento,
        JumpRouter(NODES, algorithm=algorithm),
    ]


def _outcome(fn, key):
    try:
        return ("ok", fn(key))
    except Exception as exc:
        return (type(exc).__name__, str(exc))


@pytest.mark.parametrize("algorithm", ["xxh64", "murmur3_32", "md5_32"])
def test_lookup_equals_lookup_many(twin, algorithm):
    for router in routers(algorithm):
        expected = [router.nodes[i] for i in router.lookup_many(KEYS)]
        assert [router.lookup(k) for k in KEYS] == expected, repr(router)
        for bad in BAD:
            with pytest.raises((TypeError, ValueError, OverflowError)):
                router.lookup(bad)


def test_bad_keys_fail_alike_in_both_twins():
    from fastring._implementation import use_twin

    for i, router in enumerate(routers()):
        outcomes = []
        for twin in ("cython", "python"):
            with use_twin(twin):
                fresh = routers()[i]  # built on that twin
                outcomes.append([_outcome(fresh.lookup, k) for k in KEYS + BAD])
        assert outcomes[0] == outcomes[1], repr(router)


def test_jump_router_without_a_hash_takes_integers_only(twin):
    router = JumpRouter(NODES, algorithm=None)
    ints = [0, 1, 2**63, 2**64 - 1, -1, np.int8(-3), True]
    assert [router.lookup(k) for k in ints] == [router.nodes[i] for i in router.lookup_many(ints)]
    for key in ("5", b"5", 1.0):
        with pytest.raises(TypeError):
            router.lookup(key)


def test_empty_routers_raise_lookup_error(twin):
    for router in (Maglev([]), Rendezvous([]), MementoRouter([]), JumpRouter([])):
        with pytest.raises(LookupError, match="no nodes"):
            router.lookup("k")


def test_a_change_gives_a_new_lookup(twin):
    for router in routers()[4:]:
        before = router.lookup("user:42")
        router.add("late")
        assert router.lookup("user:42") == router.nodes[router.lookup_many(["user:42"])[0]]
        router.remove("late")
        assert router.lookup("user:42") == before


@settings(max_examples=200, deadline=None)
@given(keys=st.lists(st.one_of(st.text(), st.binary(), st.integers(-(2**63), 2**64 - 1)), min_size=1, max_size=20))
def test_compiled_and_pure_key_lookups_agree(compiled, keys):
    compiled_routers, pure_routers = compiled["routers"]
    names = tuple(NODES)
    memento = routers()[5]._state  # a real state with two removed buckets
    maglev = routers()[0]._state
    weighted = routers()[1]._state
    cases = [
        ("jump", 11, names, ()),
        ("memento", memento.size, memento.names, (memento.replacer, memento.index)),
        ("maglev", 0, maglev.names, (maglev.table,)),
        ("rendezvous", 0, weighted.names, (weighted.seeds, weighted.inv_weights)),
    ]
    from fastring import hash_key

    for kind, size, names, arrays in cases:
        made = [
            module.KeyLookup(kind, 0, lambda k: hash_key(k), tuple(names), "empty", size, arrays)
            for module in (compiled_routers, pure_routers)
        ]
        assert [made[0].lookup(k) for k in keys] == [made[1].lookup(k) for k in keys], kind


def test_key_lookups_refuse_bad_state(compiled):
    names = tuple(NODES)
    for module in compiled["routers"]:
        with pytest.raises(ValueError):
            module.KeyLookup("maglev", 0, hash, names, "empty", 0, (np.zeros(0, dtype=np.int32),))
        with pytest.raises(ValueError):
            module.KeyLookup("memento", 0, hash, names, "empty", 4, (np.zeros(3, dtype=np.int32), np.zeros(4, dtype=np.int32)))
        with pytest.raises(ValueError):
            module.KeyLookup("jump", 0, hash, names, "empty", 0)
        with pytest.raises(KeyError):
            module.KeyLookup("ring", 0, hash, names, "empty", 1)
    # A replacement table that loops passes the range checks but never a lookup.
    looping = np.array([1, 1, -1, -1], dtype=np.int32)  # bucket 1 replaced by itself
    index = np.array([-1, -1, 0, 1], dtype=np.int32)
    compiled_twin = compiled["routers"][0]
    one = compiled_twin.KeyLookup("memento", -1, int, ("a", "b"), "empty", 4, (looping, index))
    outcomes = set()
    for key in range(200):
        try:
            outcomes.add(one.lookup(key))
        except ValueError as exc:
            outcomes.add(str(exc))
    assert "the replacement table loops: it is not a MementoHash state" in outcomes


@pytest.mark.parametrize("n", [0, 1, 10, 64, 65])
def test_short_lists_route_as_the_batch_path_does(twin, n):
    from fastring import HashRing

    keys = [f"user:{i}" if i % 3 else i * 7919 for i in range(n)]
    every = routers() + [HashRing(NODES), HashRing(NODES, compat="ketama"), HashRing(NODES, compat="uhashring")]
    for router in every:
        expected = router.lookup_many(np.array(keys, dtype=object)) if n else np.empty(0, dtype=np.int32)
        got = router.lookup_many(keys)
        assert got.dtype == np.int32 and got.tolist() == expected.tolist(), repr(router)


def test_short_lists_with_a_bad_key_name_its_position(twin):
    from fastring import HashRing

    for router in routers() + [HashRing(NODES)]:
        with pytest.raises(TypeError, match="position 2"):
            router.lookup_many(["a", "b", 1.5, "d"])
        with pytest.raises(ValueError, match="position 1"):
            router.lookup_many(["a", "\ud800"])
    for empty in (HashRing([]), Maglev([]), JumpRouter([])):
        with pytest.raises(LookupError):
            empty.lookup_many(["a"])
        assert empty.lookup_many([]).tolist() == []
