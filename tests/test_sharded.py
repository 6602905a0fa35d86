"""ShardedClient on real redis-server and memcached processes (loopback ports), and on
in-memory stand-ins for the failure cases that need exact control."""

from __future__ import annotations

import contextlib

import pytest

import servers
from fastring import HashRing, JumpRouter, NoAvailableNode, Rendezvous, ShardedClient
from fastring.sharded import MemoryStore, moves

KEYS = [f"user:{i}" for i in range(10_000)]


class Store(MemoryStore):
    """A MemoryStore that counts the requests it gets."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def _check(self):
        self.calls += 1
        super()._check()


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def stores(n=3):
    return {f"node-{i}": Store() for i in range(n)}


# --------------------------------------------------------------------------- real servers


@contextlib.contextmanager
def running(start, count, connect):
    """``count`` servers from ``start()``, a client each from ``connect(i, server)``;
    all closed and stopped afterwards (also when a later one fails to start)."""
    started, clients = [], {}
    try:
        for _ in range(count):
            started.append(start())
        clients = dict(connect(i, server) for i, server in enumerate(started))
        yield started, clients
    finally:
        for client in clients.values():
            client.close()
        for server in started:
            server.stop()


@pytest.fixture
def redis_trio(tmp_path):
    pytest.importorskip("redis")
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    binary = servers.require("redis-server")

    def connect(i, server):
        options = {"socket_connect_timeout": 1, "socket_timeout": 2, "retry": Retry(NoBackoff(), 0)}
        return f"redis-{i}", redis.Redis(port=server.port, **options)

    with running(lambda: servers.redis(binary, workdir=str(tmp_path)), 3, connect) as both:
        yield both


@pytest.fixture
def memcached_pair(tmp_path):
    pytest.importorskip("pymemcache")
    from pymemcache.client.base import Client

    binary = servers.require("memcached")

    def connect(i, server):
        return f"mc-{i}", Client(("127.0.0.1", server.port), connect_timeout=1, timeout=2)

    with running(lambda: servers.memcached(binary, workdir=str(tmp_path)), 2, connect) as both:
        yield both


def test_keys_land_where_the_router_says(twin, redis_trio):
    """The issue's test: 10,000 keys, replicas=2, 3 Redis servers."""
    _, clients = redis_trio
    kv = ShardedClient(clients, replicas=2)
    kv.set_many({k: k.encode() for k in KEYS})
    router = Rendezvous(list(clients))
    for name, client in clients.items():
        held = {k.decode() for k in client.keys("*")}
        assert held == {k for k in KEYS if name in router.replicas(k, 2)}
    assert kv.get_many(KEYS) == {k: k.encode() for k in KEYS}
    assert kv.get("user:7") == b"user:7" and kv.get("nobody") is None
    assert kv.get_many(["user:1", "nobody"]) == {"user:1": b"user:1"}  # missing keys absent
    kv.delete("user:1")
    kv.delete_many(["user:2", "user:3"])
    assert kv.get_many(["user:1", "user:2", "user:3", "user:4"]) == {"user:4": b"user:4"}
    assert all(c.exists("user:1") == 0 for c in clients.values())


def test_a_killed_redis_server_loses_nothing(redis_trio):
    """SIGKILL one of three servers: every key is still readable, and the dead node is
    tried once (then it is down), not once per key."""
    started, clients = redis_trio
    kv = ShardedClient(clients, replicas=2, fail_timeout=60)
    kv.set_many({k: k.encode() for k in KEYS})
    started[1].kill()
    dead = kv._adapters[kv._node_index("redis-1")]
    attempts = []
    original = dead.get_many
    dead.get_many = lambda keys: (attempts.append(len(keys)), original(keys))[1]
    assert kv.get_many(KEYS) == {k: k.encode() for k in KEYS}
    assert kv.down == ["redis-1"] and len(attempts) == 1
    assert all(kv.get(k) == k.encode() for k in KEYS)  # the per-key loop
    assert len(attempts) == 1
    # Writes go on to the live replicas; a key on no live replica is an error.
    kv.set("user:new", b"1")
    assert kv.get("user:new") == b"1"


def test_memcached_round_trip_and_failover(memcached_pair):
    started, clients = memcached_pair
    kv = ShardedClient(clients, replicas=2, router=HashRing(list(clients)))
    items = {f"k{i}": str(i).encode() for i in range(500)}
    kv.set_many(items)
    assert kv.get_many(list(items)) == items
    assert all(c.get("k1") == b"1" for c in clients.values())  # 2 replicas of 2 nodes
    started[0].kill()
    assert kv.get_many(list(items)) == items
    assert kv.down == ["mc-0"]
    kv.delete("k1")
    assert kv.get("k1") is None


def test_single_replica_over_memcached(memcached_pair):
    _, clients = memcached_pair
    kv = ShardedClient(clients)
    kv.set("a", b"1")
    kv.set("b", b"2")
    holder = clients[kv.nodes_for("a")[0]]
    assert holder.get("a") == b"1"
    assert kv.get_many(["a", "b", "c"]) == {"a": b"1", "b": b"2"}


# --------------------------------------------------------------------------- failover, exactly


def test_failover_and_recovery_after_fail_timeout(twin):
    nodes, clock = stores(), Clock()
    kv = ShardedClient(nodes, replicas=2, fail_timeout=5, clock=clock)
    kv.set_many({f"k{i}": i for i in range(300)})
    first = kv.nodes_for("k1")[0]
    nodes[first].down = True
    assert kv.get("k1") == 1  # from the second replica
    assert kv.down == [first]
    calls = nodes[first].calls
    assert kv.get_many([f"k{i}" for i in range(300)]) == {f"k{i}": i for i in range(300)}
    assert nodes[first].calls == calls  # down: not asked again
    kv.set("k1", "new")  # written to the live replica only
    clock.now = 5.1
    nodes[first].down = False
    assert kv.down == []  # back after fail_timeout
    assert kv.get("k1") == 1  # the first replica missed the write: it still has the old value
    nodes[first].pop("k1")
    assert kv.get("k1") == "new"  # a miss on the first replica reads the next


def test_probation_a_failure_after_recovery_takes_the_node_out_at_once():
    nodes, clock = stores(2), Clock()
    kv = ShardedClient(nodes, replicas=2, max_fails=3, fail_timeout=5, clock=clock)
    kv.set("k", 1)
    first = kv.nodes_for("k")[0]
    nodes[first].down = True
    for _ in range(3):
        assert kv.get("k") == 1
    assert kv.down == [first]
    clock.now = 6
    assert kv.get("k") == 1 and kv.down == [first]  # one failure on probation: out again


def test_every_replica_down_is_an_error_not_a_miss():
    nodes = stores(2)
    kv = ShardedClient(nodes, replicas=2)
    kv.set("k", 1)
    for s in nodes.values():
        s.down = True
    with pytest.raises(NoAvailableNode, match="no live replica, e.g. 'k'"):
        kv.get("k")
    with pytest.raises(NoAvailableNode, match="stored on no replica"):
        kv.set("k", 2)
    with pytest.raises(NoAvailableNode, match="deleted on no replica"):
        kv.delete_many(["k"])


def test_mark_down_and_up():
    nodes = stores(3)
    kv = ShardedClient(nodes, replicas=2)
    kv.mark_down("node-0")
    kv.set_many({f"k{i}": i for i in range(100)})
    assert not nodes["node-0"] and nodes["node-0"].calls == 0 and kv.down == ["node-0"]
    kv.mark_up("node-0")
    assert kv.down == []
    with pytest.raises(KeyError, match="not one of"):
        kv.mark_down("node-9")


def test_a_store_that_refuses_some_keys_counts_them_unstored():
    class Refusing(Store):
        def set_many(self, items):
            super().set_many(items)
            return [k for k in items if k.startswith("x")]

    kv = ShardedClient({"a": Refusing()})
    kv.set("ok", 1)
    with pytest.raises(NoAvailableNode, match="1 of 1 keys were stored on no replica"):
        kv.set("xy", 1)


def test_other_errors_propagate_untouched():
    class Angry(Store):
        def get_many(self, keys):
            raise PermissionError("no")  # an OSError: unreachable for our purposes

    class Wrong(Store):
        def get_many(self, keys):
            raise KeyError("a bug in the client")

    with pytest.raises(NoAvailableNode):
        ShardedClient({"a": Angry()}).get("k")
    with pytest.raises(KeyError, match="a bug"):
        ShardedClient({"a": Wrong()}).get("k")


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"clients": [Store()]}, TypeError, "mapping of node name"),
        ({"clients": {}}, ValueError, "empty"),
        ({"clients": {"a": object()}}, TypeError, "node 'a'.*has no get_many, set_many, delete_many"),
        ({"clients": stores(2), "replicas": 3}, ValueError, "replicas=3 but there are only 2 nodes"),
        ({"clients": stores(2), "replicas": 0}, ValueError, "replicas"),
        ({"clients": stores(2), "router": Rendezvous(["node-0", "x"])}, ValueError, "router has \\['x'\\] too, lacks \\['node-1'\\]"),
        ({"clients": stores(2), "router": "ring"}, TypeError, "fastring router"),
        ({"clients": stores(2), "router": JumpRouter(["node-0", "node-1"]), "replicas": 2}, TypeError, "replicas_many"),
        ({"clients": stores(2), "fail_timeout": 0}, ValueError, "fail_timeout"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        ShardedClient(**kwargs)


@pytest.mark.parametrize("key, error", [(1.5, TypeError), (None, TypeError), (2**64, OverflowError)])
def test_unroutable_keys_are_refused_before_any_request(twin, key, error):
    nodes = stores(3)
    kv = ShardedClient(nodes, replicas=2)
    for call in (lambda: kv.get(key), lambda: kv.set(key, 1), lambda: kv.get_many(["ok", key]),
                 lambda: kv.set_many({"ok": 1, key: 2}), lambda: kv.delete_many(["ok", key])):
        with pytest.raises(error):
            call()
    assert all(s.calls == 0 for s in nodes.values())  # nothing half written
    with pytest.raises(TypeError, match="items must be a mapping"):
        kv.set_many([("k", 1)])


def test_jump_router_with_one_replica():
    nodes = stores(3)
    kv = ShardedClient(nodes, router=JumpRouter(list(nodes)))
    kv.set_many({f"k{i}": i for i in range(50)})
    assert sum(map(len, nodes.values())) == 50
    assert kv.get_many([f"k{i}" for i in range(50)]) == {f"k{i}": i for i in range(50)}


# --------------------------------------------------------------------------- resizing


@pytest.mark.parametrize("replicas", [1, 2])
def test_moves_copy_only_what_moved(twin, replicas):
    old_nodes = stores(3)
    old = ShardedClient(old_nodes, replicas=replicas)
    items = {f"k{i}": i for i in range(2000)}
    old.set_many(items)
    new_nodes = {**old_nodes, "node-3": Store()}
    new = ShardedClient(new_nodes, replicas=replicas)
    moved = moves(old.router, new.router, list(items), replicas=replicas)
    assert {dst for _, dst in moved} == {"node-3"}  # a consistent router moves keys to the newcomer only
    copied = sorted({k for ks in moved.values() for k in ks})
    assert 0.1 * len(items) < len(copied) < 0.5 * len(items) * replicas
    new.set_many(old.get_many(copied))
    assert new.get_many(list(items)) == items
    for (src, _), ks in moved.items():
        assert all(k in old_nodes[src] for k in ks)  # the source holds what it sends
    assert moves(old.router, old.router, list(items), replicas=replicas) == {}
    assert moves(old.router, new.router, [], replicas=replicas) == {}
