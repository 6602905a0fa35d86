"""fastring.compat.uhashring against uhashring itself: every method, every attribute.

Each test builds the same ring with both packages, applies the same changes, and
compares everything uhashring exposes, on both twins.
"""

import pickle
import uuid
from collections import Counter

import pytest
import uhashring
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastring.compat import uhashring as compat

KEYS = [f"key:{i}" for i in range(60)] + ["", "é", 7, 2.5, None, b"raw", ("t", 1), uuid.UUID(int=5)]
# Two names whose ketama points collide (found by a search over "cache-<i>", vnodes 40):
# the test below checks the collision is there.
KETAMA_COLLIDING = ("cache-590", "cache-712")
COLLIDING_POINT = 1296976496

pytestmark = pytest.mark.usefixtures("twin")


def small_hash(key):
    """A key hash with few values, so points collide (uhashring's last writer wins)."""
    return sum(str(key).encode()) % 97


def mode_kwargs(mode):
    return {
        "md5": {},
        "ketama": {"hash_fn": "ketama"},
        "ketama3": {"hash_fn": "ketama", "replicas": 3},
        "callable": {"hash_fn": small_hash},
    }[mode]


def assert_same(ours, theirs, keys=KEYS):
    """Every answer and attribute of uhashring's API agrees."""
    assert ours.size == theirs.size
    assert ours.ring == theirs.ring
    assert ours.continuum == theirs.continuum
    assert ours._ring == theirs._ring
    assert ours._keys == theirs._keys
    assert ours._nodes == theirs._nodes
    assert ours.conf == theirs.conf and ours.nodes == theirs.nodes
    assert dict(ours.distribution) == dict(theirs.distribution)
    assert isinstance(ours.distribution, Counter)
    assert ours.get_points() == theirs.get_points()
    assert list(ours.get_nodes()) == list(theirs.get_nodes())
    assert ours.get_instances() == theirs.get_instances()
    for key in keys:
        for method in (
            "get", "get_node", "get_node_hostname", "get_node_port", "get_node_pos",
            "get_node_weight", "get_server", "get_node_instance", "get_key", "hashi",
        ):
            assert getattr(ours, method)(key) == getattr(theirs, method)(key), (method, key)
        assert ours[key] == theirs[key]
        for size in (None, 0, 1, 2, 3, -1):
            for unique in (True, False):
                assert list(ours.range(key, size, unique)) == list(theirs.range(key, size, unique)), (
                    key, size, unique,
                )
        assert list(ours.iterate_nodes(key)) == list(theirs.iterate_nodes(key))
        assert list(ours.iterate_nodes(key, distinct=False)) == list(theirs.iterate_nodes(key, distinct=False))


def both(nodes, **kwargs):
    return compat.HashRing(nodes, **kwargs), uhashring.HashRing(nodes, **kwargs)


# --------------------------------------------------------------------------- construction


@pytest.mark.parametrize("mode", ["md5", "ketama", "ketama3", "callable"])
@pytest.mark.parametrize(
    "nodes",
    [
        [],
        "solo",
        ["a", "b", "c"],
        {"a": 1, "b": 3, "c": 2},
        {
            "redis1": {"hostname": "10.0.0.1", "port": 6379, "instance": "client-1", "weight": 2},
            "redis2": {"hostname": "10.0.0.2", "port": 6380, "vnodes": 20},
            "redis3": {"instance": "client-3", "nodename": "third", "unknown": 1},
        },
        {"a": 1, "b": 0, "c": 2},  # a node without points
        [1, 2, 3],
    ],
)
def test_construction_matches(mode, nodes):
    kwargs = mode_kwargs(mode)
    if mode.startswith("ketama") and isinstance(nodes, dict) and 0 in nodes.values():
        kwargs = dict(kwargs, vnodes=30)
    assert_same(*both(nodes, **kwargs))


@pytest.mark.parametrize("vnodes", [1, 7, 40, 160])
@pytest.mark.parametrize("mode", ["md5", "ketama"])
def test_vnodes_and_ignored_kwargs(mode, vnodes):
    # uhashring ignores keyword arguments it does not know (its own tests pass compat=False).
    assert_same(*both({"x": 1, "y": 2, "z": 3}, vnodes=vnodes, compat=False, **mode_kwargs(mode)))


def test_known_hashes():
    assert compat.HashRing(["a"], hash_fn="ketama").hashi("test") == 3446378249
    assert compat.HashRing(["a"]).hashi("test") == 12707736894140473154801792860916528374
    assert compat.HashRing(["a"], hash_fn=lambda k: k + "_hash").hashi("coconut") == "coconut_hash"


def test_bad_configuration_is_refused_like_uhashring():
    for bad in (None, ("a", "b"), 5):
        with pytest.raises(ValueError, match="list or a dict"):
            compat.HashRing(bad)
        with pytest.raises(ValueError):
            uhashring.HashRing(bad)
    with pytest.raises(ValueError, match="dict or an int"):
        compat.HashRing({"a": "fail"})
    for bad_fn in (12, "coconut"):
        with pytest.raises(TypeError, match="weight_fn"):
            compat.HashRing(["a"], weight_fn=bad_fn)
    with pytest.raises(TypeError, match="hash_fn"):
        compat.HashRing(["a"], hash_fn=12)


@pytest.mark.parametrize("mode", ["md5", "ketama"])
def test_non_integer_weight_is_refused_before_any_change(mode):
    ring = compat.HashRing({"a": 1, "b": 2}, **mode_kwargs(mode))
    before = (dict(ring._nodes), ring.get_points())
    for bad in ({"weight": 1.5}, {"vnodes": "many"}):
        with pytest.raises(TypeError):
            ring["c"] = bad
        with pytest.raises(TypeError):
            uhashring.HashRing({"c": bad}, **mode_kwargs(mode))
    assert (dict(ring._nodes), ring.get_points()) == before


def test_aliases():
    ring = compat.HashRing(["a", "b"])
    assert ring.add_node == ring.__setitem__
    assert ring.get_node_instance == ring.__getitem__
    assert ring.remove_node == ring.__delitem__
    assert ring.continuum == ring.ring
    assert ring.nodes == ring.conf


@pytest.mark.parametrize("mode", ["md5", "ketama", "callable"])
def test_empty_ring(mode, capsys):
    ours, theirs = both([], **mode_kwargs(mode))
    assert_same(ours, theirs)
    assert ours.get("k") is None and ours.get_node("k") is None and ours["k"] is None
    assert list(ours.iterate_nodes("k")) == [None]
    ours.print_continuum()
    theirs.print_continuum()
    out = capsys.readouterr().out
    assert out == "Continuum empty\nContinuum empty\n"


@pytest.mark.parametrize("mode", ["md5", "ketama"])
def test_print_continuum(mode, capsys):
    ours, theirs = both({"a": 1, "b": 2}, vnodes=3, **mode_kwargs(mode))
    ours.print_continuum()
    mine = capsys.readouterr().out
    theirs.print_continuum()
    assert mine == capsys.readouterr().out
    assert mine.startswith("Numpoints in continuum: ")


# --------------------------------------------------------------------------- changes


nodes_conf = st.fixed_dictionaries(
    {},
    optional={
        "weight": st.integers(0, 3),
        "vnodes": st.sampled_from([1, 3, 8]),
        "port": st.integers(1, 9),
        "hostname": st.sampled_from(["h1", "h2"]),
        "instance": st.sampled_from([None, "", "client"]),
    },
)
node_names = st.sampled_from(["n0", "n1", "n2", "n3", "n4", "n5"])
operation = st.one_of(
    st.tuples(st.just("set"), node_names, st.one_of(st.integers(0, 3), nodes_conf)),
    st.tuples(st.just("add"), node_names, st.just(None)),
    st.tuples(st.just("remove"), node_names, st.just(None)),
    st.tuples(st.just("regenerate"), st.just(None), st.just(None)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    mode=st.sampled_from(["md5", "ketama", "ketama3", "callable"]),
    start=st.dictionaries(node_names, st.one_of(st.integers(1, 3), nodes_conf), max_size=4),
    operations=st.lists(operation, max_size=8),
)
def test_changes_match(mode, start, operations):
    kwargs = mode_kwargs(mode)
    weights = [c if isinstance(c, int) else c.get("weight", 1) for c in start.values()]
    if mode.startswith("ketama") and weights and sum(weights) == 0:
        with pytest.raises(ValueError, match="positive total weight"):
            compat.HashRing(start, **kwargs)
        return  # uhashring: ZeroDivisionError
    ours, theirs = both(start, vnodes=5, **kwargs)
    assert_same(ours, theirs, KEYS[:12])
    for op, name, conf in operations:
        if op == "set":
            weight = conf if isinstance(conf, int) else conf.get("weight", 1)
            if mode.startswith("ketama") and weight == 0:
                rest = sum(c["weight"] for n, c in theirs._nodes.items() if n != name)
                if rest == 0:
                    continue  # uhashring's ketama ring divides by the weight sum
            ours[name] = conf
            theirs[name] = conf
        elif op == "add":
            ours.add_node(name)
            theirs.add_node(name)
        elif op == "remove":
            if name not in theirs._nodes:
                with pytest.raises(KeyError):
                    ours.remove_node(name)
                continue
            if not theirs.distribution.get(name):
                continue  # uhashring's md5 ring fails to remove a node without points
            ours.remove_node(name)
            theirs.remove_node(name)
        else:
            ours.regenerate()
            theirs.regenerate()
        assert_same(ours, theirs, KEYS[:12])


def test_remove_a_node_without_points():
    # uhashring raises KeyError here half-way through; this removes it cleanly.
    ring = compat.HashRing({"a": 1, "b": 0})
    del ring["b"]
    assert list(ring.get_nodes()) == ["a"]
    assert_same(ring, uhashring.HashRing({"a": 1}))


def test_weight_fn_and_regenerate():
    state = {"n1": 1, "n2": 2, "n3": 3}

    def weight_fn(**conf):
        return state[conf["nodename"]]

    for kwargs in ({"hash_fn": "ketama", "vnodes": 40, "replicas": 4}, {"vnodes": 10}):
        ours, theirs = both({"n1": 1, "n2": 1, "n3": 1}, weight_fn=weight_fn, **kwargs)
        assert_same(ours, theirs)
        state["n3"] = 1
        ours.regenerate()
        theirs.regenerate()
        assert_same(ours, theirs)
        state["n3"] = 3


def test_consistency_after_remove_and_add():
    ring = compat.HashRing({"node1": 1, "node2": 1, "node3": 1}, hash_fn="ketama")
    before = {k: ring.get_node(k) for k in KEYS}
    del ring["node3"]
    with pytest.raises(KeyError):
        del ring["node3"]
    assert all(ring.get_node(k) == n for k, n in before.items() if n != "node3")
    ring.add_node("node3", 1)
    assert {k: ring.get_node(k) for k in KEYS} == before


@pytest.mark.parametrize("mode", ["md5", "ketama"])
def test_grown_one_node_at_a_time(mode):
    names = [f"node{i}" for i in range(8)]
    grown = compat.HashRing(**mode_kwargs(mode))
    for name in names:
        grown.add_node(name)
    assert_same(grown, uhashring.HashRing(names, **mode_kwargs(mode)))


# --------------------------------------------------------------------------- collisions


def test_ketama_collision_last_writer_and_repeated_key():
    names = list(KETAMA_COLLIDING)
    ours, theirs = both(names, hash_fn="ketama")
    assert ours._keys.count(COLLIDING_POINT) == 2  # the collision is real
    assert ours._native is not None  # served by the compiled ring
    assert_same(ours, theirs)
    for order in (names[::-1], names):
        ours, theirs = both(order, hash_fn="ketama")
        assert ours.ring[COLLIDING_POINT] == order[-1]
        assert_same(ours, theirs)
    del ours[names[1]]
    del theirs[names[1]]
    assert_same(ours, theirs)


def test_callable_hash_collisions_follow_history():
    ours, theirs = both(["a", "b", "c"], hash_fn=small_hash, vnodes=40)
    for step in (("remove", "b"), ("set", "d"), ("set", "b"), ("remove", "a"), ("set", "a")):
        for ring in (ours, theirs):
            if step[0] == "remove":
                del ring[step[1]]
            else:
                ring[step[1]] = {"weight": 2}
        assert_same(ours, theirs)


@pytest.mark.parametrize("mode", ["md5", "ketama"])
def test_names_that_print_the_same(mode):
    ours, theirs = both([1, "1", "2"], **mode_kwargs(mode))
    assert_same(ours, theirs)
    ours.remove_node("1")
    theirs.remove_node("1")
    assert_same(ours, theirs)


@pytest.mark.parametrize("mode", ["md5", "ketama"])
def test_large_ring(mode):
    nodes = {f"10.0.{i // 250}.{i % 250}:11211": 1 + i % 3 for i in range(300)}
    ours, theirs = both(nodes, **mode_kwargs(mode))
    assert ours._native is not None
    keys = [f"object:{i}" for i in range(2000)]
    assert [ours.get_node(k) for k in keys] == [theirs.get_node(k) for k in keys]
    assert_same(ours, theirs, keys[:20])


# --------------------------------------------------------------------------- travel


@pytest.mark.parametrize("mode", ["md5", "ketama", "ketama3"])
def test_pickle_round_trip(mode):
    ring = compat.HashRing({"a": 1, "b": {"weight": 2, "port": 5}}, **mode_kwargs(mode))
    copy = pickle.loads(pickle.dumps(ring))
    assert_same(copy, uhashring.HashRing({"a": 1, "b": {"weight": 2, "port": 5}}, **mode_kwargs(mode)))
    copy["c"] = 1
    assert "c" not in ring.get_nodes()
