"""``ShardedClient``: one key-value client over many servers (Redis, memcached, or
anything behind the small adapter protocol), each key on the ``replicas`` nodes its
router names, with failover when a server goes away.

- Placement: key ``k`` lives on ``router.replicas(k, replicas)`` (``lookup(k)`` when
  ``replicas == 1``); batched calls route every key with one ``replicas_many`` /
  ``lookup_many`` and send each node one request (``MGET``/``MSET``/``DEL`` on Redis,
  multi-key ``get``/``set``/``delete`` on memcached).
- Health: nginx's passive check, the balancers' own model. A node whose client raises
  a connection error is taken out for ``fail_timeout`` seconds (after ``max_fails``
  failures); then it is tried again, and its first failure takes it out again.
- Reads go to the key's first live replica; a key missing there is looked for on the
  next replicas (a write made while that replica was down is on the others). Writes and
  deletes go to every live replica and count as done when one has acknowledged them.

Guarantees and limits: nothing acknowledged is lost while one of its replicas lives;
there are no cross-node transactions (a batch that fails on some nodes has been applied
on the others; the error says how many keys no replica took); a replica that was down
during a write or delete keeps its old value until the key is written again (a read
prefers the first live replica, so after a failover it may see that old value).

Give the clients short timeouts and few retries of their own: failover is this class's
job, and a client that retries a dead server with backoff (redis-py's default since
6.0: 3 retries, exponential backoff) holds up the first request that finds it dead.
For redis-py: ``Redis(..., socket_connect_timeout=1, retry=Retry(NoBackoff(), 0))``.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any, Protocol

import numpy as np

from ._params import check_clock, check_health_params, check_int
from .balance import _PassiveHealth
from .select import NoAvailableNode

__all__ = ["MemoryStore", "ShardAdapter", "ShardedClient", "moves"]


class ShardAdapter(Protocol):
    """What ShardedClient needs of one server's client: three batch calls, one round
    trip each. redis-py's ``Redis`` and pymemcache's ``Client`` are adapted built in;
    give any other client these methods (and, optionally, ``errors``: the exception
    types that mean the server is unreachable). :class:`~fastring.sharded.MemoryStore` is one.

    Examples
    --------
    >>> from fastring import ShardedClient
    >>> class Loud(dict):   # an adapter: the three calls, one request each
    ...     def get_many(self, keys): return {k: self[k] for k in keys if k in self}
    ...     def set_many(self, items): print("one request:", sorted(items)); self.update(items)
    ...     def delete_many(self, keys): [self.pop(k, None) for k in keys]
    >>> ShardedClient({"only": Loud()}).set_many({"b": 2, "a": 1})
    one request: ['a', 'b']
    """

    def get_many(self, keys: list[Any]) -> Mapping[Any, Any]:
        """The values of the keys that exist (missing keys absent)."""

    def set_many(self, items: dict[Any, Any]) -> Iterable[Any] | None:
        """Store every item; return the keys not stored (or None)."""

    def delete_many(self, keys: list[Any]) -> None:
        """Delete the keys (missing ones are no error)."""


class MemoryStore(dict[Any, Any]):
    """A server in this process's memory, with the adapter protocol: for tests, examples
    and local runs. ``down = True`` makes it fail as an unreachable server does.

    Examples
    --------
    >>> from fastring.sharded import MemoryStore
    >>> store = MemoryStore()
    >>> store.set_many({"k": b"v"})
    >>> store.get_many(["k", "missing"])
    {'k': b'v'}
    >>> store.down = True
    >>> store.get_many(["k"])
    Traceback (most recent call last):
      ...
    ConnectionRefusedError: this MemoryStore is down
    """

    def __init__(self) -> None:
        super().__init__()
        self.down = False

    def _check(self) -> None:
        if self.down:
            raise ConnectionRefusedError("this MemoryStore is down")

    def get_many(self, keys: list[Any]) -> dict[Any, Any]:
        self._check()
        return {k: self[k] for k in keys if k in self}

    def set_many(self, items: dict[Any, Any]) -> None:
        self._check()
        self.update(items)

    def delete_many(self, keys: list[Any]) -> None:
        self._check()
        for k in keys:
            self.pop(k, None)


_NETWORK_ERRORS: tuple[type[BaseException], ...] = (OSError, ConnectionError, TimeoutError, socket.timeout, EOFError)


class _RedisAdapter:
    def __init__(self, client: Any) -> None:
        import redis.exceptions

        self.client = client
        self.errors = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, *_NETWORK_ERRORS)

    def get_many(self, keys: list[Any]) -> dict[Any, Any]:
        return {k: v for k, v in zip(keys, self.client.mget(keys)) if v is not None}

    def set_many(self, items: dict[Any, Any]) -> None:
        self.client.mset(items)

    def delete_many(self, keys: list[Any]) -> None:
        self.client.delete(*keys)


class _MemcacheAdapter:
    def __init__(self, client: Any) -> None:
        from pymemcache.exceptions import MemcacheUnexpectedCloseError

        self.client = client
        self.errors = (MemcacheUnexpectedCloseError, *_NETWORK_ERRORS)

    def get_many(self, keys: list[Any]) -> dict[Any, Any]:
        return dict(self.client.get_many(keys))

    def set_many(self, items: dict[Any, Any]) -> list[Any]:
        return list(self.client.set_many(items, noreply=False))

    def delete_many(self, keys: list[Any]) -> None:
        self.client.delete_many(keys, noreply=False)


class _Adapted:
    """A client object the protocol's way, with its network errors."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.errors = tuple(getattr(client, "errors", ())) + _NETWORK_ERRORS
        self.get_many = client.get_many
        self.set_many = client.set_many
        self.delete_many = client.delete_many


def _adapt(name: Any, client: Any) -> Any:
    module = type(client).__module__
    if module.startswith("redis") and hasattr(client, "mget"):
        return _RedisAdapter(client)
    if module.startswith("pymemcache") and hasattr(client, "get_many"):
        return _MemcacheAdapter(client)
    missing = [m for m in ("get_many", "set_many", "delete_many") if not callable(getattr(client, m, None))]
    if missing:
        raise TypeError(
            f"the client of node {name!r} ({module}.{type(client).__qualname__}) has no {', '.join(missing)}: "
            "pass a redis.Redis, a pymemcache Client, or an object with get_many/set_many/delete_many "
            "(fastring.sharded.ShardAdapter)"
        )
    return _Adapted(client)


class ShardedClient:
    """Get, set and delete keys over many servers, each key on ``replicas`` of them.

    Parameters
    ----------
    clients : mapping
        Node name -> client (``redis.Redis``, ``pymemcache.Client``, or any
        :class:`~fastring.sharded.ShardAdapter`).
    router : fastring router, optional
        Places the keys; its nodes must be the names of ``clients``. Default:
        ``Rendezvous(clients)``. With ``replicas > 1`` it needs ``replicas_many``
        (:class:`~fastring.Rendezvous`, :class:`~fastring.HashRing`).
    replicas : int
        Copies of each key, on distinct nodes (at most the number of nodes).
    max_fails, fail_timeout, clock
        Passive health, as the balancers have it: ``max_fails`` connection errors
        within ``fail_timeout`` seconds take a node out for ``fail_timeout`` seconds.

    Examples
    --------
    >>> from fastring import ShardedClient
    >>> from fastring.sharded import MemoryStore   # stand-ins for redis.Redis clients
    >>> servers = {"a": MemoryStore(), "b": MemoryStore(), "c": MemoryStore()}
    >>> kv = ShardedClient(servers, replicas=2)
    >>> kv.set_many({"user:1": b"ann", "user:2": b"bob"})
    >>> kv.get("user:1"), kv.get_many(["user:1", "user:2", "user:3"])
    (b'ann', {'user:1': b'ann', 'user:2': b'bob'})
    >>> sorted(n for n, s in servers.items() if "user:1" in s) == sorted(kv.nodes_for("user:1"))
    True
    """

    def __init__(
        self,
        clients: Mapping[Any, Any],
        *,
        router: Any = None,
        replicas: int = 1,
        max_fails: int = 1,
        fail_timeout: float = 10.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if not isinstance(clients, Mapping):
            raise TypeError(f"clients must be a mapping of node name -> client, got {type(clients).__name__}")
        if not clients:
            raise ValueError("clients is empty: give at least one node")
        names = list(clients)
        if router is None:
            from .routers import Rendezvous

            router = Rendezvous(names)
        if not hasattr(router, "nodes") or not hasattr(router, "lookup_many"):
            raise TypeError(f"router must be a fastring router, got {type(router).__name__}")
        nodes = tuple(router.nodes)
        if set(nodes) != set(names) or len(nodes) != len(names):
            extra = [n for n in nodes if n not in clients]
            missing = [n for n in names if n not in set(nodes)]
            raise ValueError(f"the router's nodes must be the clients' names: router has {extra} too, lacks {missing}")
        self._replicas = check_int(replicas, "replicas", 1)
        if self._replicas > len(names):
            raise ValueError(f"replicas={self._replicas} but there are only {len(names)} nodes")
        if self._replicas > 1 and not hasattr(router, "replicas_many"):
            raise TypeError(f"replicas > 1 needs a router with replicas_many; {type(router).__name__} has none")
        self._router = router
        self._nodes = nodes  # router order: node i of a lookup is nodes[i]
        self._clients = {name: clients[name] for name in nodes}
        self._adapters = [_adapt(name, clients[name]) for name in nodes]
        self._index = {name: i for i, name in enumerate(nodes)}
        self._health = _PassiveHealth(*check_health_params(max_fails, fail_timeout))
        self._health.add(len(nodes))
        self._clock = check_clock(clock)
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ placement

    @property
    def router(self) -> Any:
        return self._router

    @property
    def replicas(self) -> int:
        return self._replicas

    @property
    def clients(self) -> dict[Any, Any]:
        """Node name -> client, in the router's node order."""
        return dict(self._clients)

    def nodes_for(self, key: Any) -> tuple[Any, ...]:
        """The nodes that hold ``key``, first replica first (down or not).

        Examples
        --------
        >>> from fastring import ShardedClient
        >>> from fastring.sharded import MemoryStore
        >>> kv = ShardedClient({"a": MemoryStore(), "b": MemoryStore(), "c": MemoryStore()}, replicas=2)
        >>> kv.nodes_for("user:1") == kv.router.replicas("user:1", 2)
        True
        """
        if self._replicas == 1:
            return (self._router.lookup(key),)
        return tuple(self._router.replicas(key, self._replicas))

    def _table(self, keys: list[Any]) -> np.ndarray:
        """Node indices of every key's replicas: shape (len(keys), replicas)."""
        if self._replicas == 1:
            return np.asarray(self._router.lookup_many(keys)).reshape(-1, 1)
        return np.asarray(self._router.replicas_many(keys, self._replicas))

    # ------------------------------------------------------------------ health

    def _health_now(self) -> _PassiveHealth:
        """The health records with the take-outs due by now ended (under the lock)."""
        health = self._health
        now = self._clock()
        if health.next_expiry <= now:
            health.expire(now)
        return health

    def _up(self) -> np.ndarray:
        """True for each node that takes requests now."""
        with self._lock:
            return np.array([node.should_be_up for node in self._health_now().nodes], dtype=bool)

    def _node_up(self, i: int) -> bool:
        with self._lock:
            return self._health_now().nodes[i].should_be_up

    def _call(self, i: int, method: str, arg: Any) -> tuple[bool, Any]:
        """(True, result) of one request to node ``i``; (False, error) if the node is
        unreachable (counted against its health). Other errors propagate."""
        adapter = self._adapters[i]
        try:
            result = getattr(adapter, method)(arg)
        except adapter.errors as exc:
            with self._lock:
                self._health.failure(i, self._clock())
            return False, exc
        if self._health.probation:
            with self._lock:
                self._health.success(i)
        return True, result

    @property
    def down(self) -> list[Any]:
        """The nodes out now (marked down or failing)."""
        return [name for name, up in zip(self._nodes, self._up().tolist()) if not up]

    def mark_down(self, name: Any) -> None:
        """Take ``name`` out until :meth:`mark_up` (e.g. for maintenance).

        Examples
        --------
        >>> from fastring import ShardedClient
        >>> from fastring.sharded import MemoryStore
        >>> kv = ShardedClient({"a": MemoryStore(), "b": MemoryStore(), "c": MemoryStore()}, replicas=2)
        >>> kv.mark_down("a")
        >>> kv.down
        ['a']
        """
        i = self._node_index(name)
        with self._lock:
            self._health.nodes[i].manual_down = True

    def mark_up(self, name: Any) -> None:
        """Put ``name`` back at once, forgetting its failures.

        Examples
        --------
        >>> from fastring import ShardedClient
        >>> from fastring.sharded import MemoryStore
        >>> kv = ShardedClient({"a": MemoryStore(), "b": MemoryStore(), "c": MemoryStore()}, replicas=2)
        >>> kv.mark_down("a")
        >>> kv.mark_up("a")
        >>> kv.down
        []
        """
        i = self._node_index(name)
        with self._lock:
            self._health.nodes[i].manual_down = False
            self._health.clear(i)

    def _node_index(self, name: Any) -> int:
        try:
            return self._index[name]
        except (KeyError, TypeError):
            raise KeyError(f"node {name!r} is not one of this client's nodes") from None

    # ------------------------------------------------------------------ reads

    def get(self, key: Any) -> Any:
        """The value of ``key``, or None if no live replica has it.

        Raises
        ------
        NoAvailableNode
            Every replica of ``key`` is down or unreachable.

        Examples
        --------
        >>> from fastring import ShardedClient
        >>> from fastring.sharded import MemoryStore
        >>> kv = ShardedClient({"a": MemoryStore(), "b": MemoryStore(), "c": MemoryStore()}, replicas=2)
        >>> kv.set("user:1", b"ann")
        >>> kv.get("user:1"), kv.get("user:2")
        (b'ann', None)
        """
        answered = False
        for name in self.nodes_for(key):
            i = self._index[name]
            if not self._node_up(i):
                continue
            ok, got = self._call(i, "get_many", [key])
            if ok:
                if key in got:
                    return got[key]
                answered = True
        if not answered:
            raise NoAvailableNode(f"1 of 1 keys have no live replica, e.g. {key!r} on {list(self.nodes_for(key))}")
        return None

    def get_many(self, keys: Iterable[Any]) -> dict[Any, Any]:
        """``{key: value}`` for the keys that exist (missing keys absent, as pymemcache's
        ``get_many``). One request per node, more only for keys missing or unreachable
        on their first replica.

        Raises
        ------
        NoAvailableNode
            Every replica of some key is down or unreachable (the error names it).
        TypeError, ValueError, OverflowError
            A key outside the router's key contract (named by position).

        Examples
        --------
        >>> from fastring import ShardedClient
        >>> from fastring.sharded import MemoryStore
        >>> kv = ShardedClient({"a": MemoryStore(), "b": MemoryStore(), "c": MemoryStore()}, replicas=2)
        >>> kv.set_many({"user:1": b"ann", "user:2": b"bob"})
        >>> kv.clients[kv.nodes_for("user:1")[0]].down = True     # its first replica dies
        >>> sorted(kv.get_many(["user:1", "user:2", "user:3"]).items())
        [('user:1', b'ann'), ('user:2', b'bob')]
        """
        keys = list(keys)
        if not keys:
            return {}
        table = self._table(keys)
        found: dict[Any, Any] = {}
        answered = np.zeros(len(keys), dtype=bool)  # some replica answered (hit or miss)
        pending = np.arange(len(keys))
        for column in range(self._replicas):
            if not len(pending):
                break
            up = self._up()
            nodes = table[pending, column]
            live = up[nodes]
            hit = np.zeros(len(pending), dtype=bool)
            for i in np.unique(nodes[live]).tolist():
                rows = np.flatnonzero(nodes == i)
                ok, got = self._call(i, "get_many", [keys[j] for j in pending[rows].tolist()])
                if not ok:
                    continue  # these keys go on to their next replica
                answered[pending[rows]] = True
                for r, j in zip(rows.tolist(), pending[rows].tolist()):
                    key = keys[j]
                    if key in got:
                        found[key] = got[key]
                        hit[r] = True
            pending = pending[~hit]
        unanswered = pending[~answered[pending]]
        if len(unanswered):
            first = keys[int(unanswered[0])]
            raise NoAvailableNode(
                f"{len(unanswered)} of {len(keys)} keys have no live replica, e.g. {first!r} "
                f"on {list(self.nodes_for(first))}"
            )
        return found

    # ------------------------------------------------------------------ writes

    def set(self, key: Any, value: Any) -> None:
        """Store ``key`` on its live replicas (done when one has acknowledged it).

        Examples
        --------
        >>> from fastring import ShardedClient
        >>> from fastring.sharded import MemoryStore
        >>> kv = ShardedClient({"a": MemoryStore(), "b": MemoryStore(), "c": MemoryStore()}, replicas=2)
        >>> kv.set("user:1", b"ann")
        >>> sorted(n for n, store in kv.clients.items() if "user:1" in store) == sorted(kv.nodes_for("user:1"))
        True
        """
        self.set_many({key: value})

    def set_many(self, items: Mapping[Any, Any]) -> None:
        """Store every item on its live replicas: one request per node.

        Raises
        ------
        NoAvailableNode
            No replica acknowledged some keys (the others are stored: there are no
            cross-node transactions).

        Examples
        --------
        >>> from fastring import ShardedClient
        >>> from fastring.sharded import MemoryStore
        >>> kv = ShardedClient({"a": MemoryStore(), "b": MemoryStore(), "c": MemoryStore()}, replicas=2)
        >>> kv.set_many({f"user:{i}": i for i in range(100)})
        >>> sum(len(store) for store in kv.clients.values())      # every key twice
        200
        """
        if not isinstance(items, Mapping):
            raise TypeError(f"items must be a mapping of key -> value, got {type(items).__name__}")
        keys = list(items)
        self._write(keys, "set_many", lambda picked: {k: items[k] for k in picked})

    def delete(self, key: Any) -> None:
        """Delete ``key`` from its live replicas.

        Examples
        --------
        >>> from fastring import ShardedClient
        >>> from fastring.sharded import MemoryStore
        >>> kv = ShardedClient({"a": MemoryStore(), "b": MemoryStore(), "c": MemoryStore()}, replicas=2)
        >>> kv.set("user:1", b"ann")
        >>> kv.delete("user:1")
        >>> kv.get("user:1") is None
        True
        """
        self.delete_many([key])

    def delete_many(self, keys: Iterable[Any]) -> None:
        """Delete the keys from their live replicas: one request per node.

        Examples
        --------
        >>> from fastring import ShardedClient
        >>> from fastring.sharded import MemoryStore
        >>> kv = ShardedClient({"a": MemoryStore(), "b": MemoryStore(), "c": MemoryStore()}, replicas=2)
        >>> kv.set_many({"user:1": 1, "user:2": 2})
        >>> kv.delete_many(["user:1", "user:2", "user:3"])
        >>> kv.get_many(["user:1", "user:2"])
        {}
        """
        self._write(list(keys), "delete_many", lambda picked: picked)

    def _write(self, keys: list[Any], method: str, payload: Callable[[list[Any]], Any]) -> None:
        if not keys:
            return
        table = self._table(keys)
        up = self._up()
        acked = np.zeros(len(keys), dtype=bool)
        flat = table.ravel()
        rows = np.repeat(np.arange(len(keys)), self._replicas)
        for i in np.unique(flat[up[flat]]).tolist():
            picked_rows = rows[flat == i]
            picked = [keys[j] for j in picked_rows.tolist()]
            ok, refused = self._call(i, method, payload(picked))
            if not ok:
                continue
            stored = np.ones(len(picked), dtype=bool)
            if refused:
                refused_set = set(refused)
                stored = np.array([k not in refused_set for k in picked], dtype=bool)
            acked[picked_rows[stored]] = True
        if not acked.all():
            lost = np.flatnonzero(~acked)
            first = keys[int(lost[0])]
            verb = "stored" if method == "set_many" else "deleted"
            raise NoAvailableNode(
                f"{len(lost)} of {len(keys)} keys were {verb} on no replica (all down or refusing), "
                f"e.g. {first!r} on {list(self.nodes_for(first))}"
            )

    def __repr__(self) -> str:
        return f"ShardedClient({len(self._nodes)} nodes, replicas={self._replicas}, down={self.down})"


def moves(old_router: Any, new_router: Any, keys: Iterable[Any], *, replicas: int = 1) -> dict[tuple[Hashable, Hashable], list[Any]]:
    """Which keys a change of router moves: ``{(from_node, to_node): [keys]}``.

    With ``replicas == 1`` a key moves from its old node to its new one. With more, each
    node newly among a key's replicas gets a copy from the key's first old replica.
    Copy exactly these to resize a cluster: every other key is already in place.

    Examples
    --------
    >>> from fastring import Rendezvous
    >>> from fastring.sharded import moves
    >>> keys = [f"user:{i}" for i in range(1000)]
    >>> moved = moves(Rendezvous(["a", "b", "c"]), Rendezvous(["a", "b", "c", "d"]), keys)
    >>> sorted({dst for _, dst in moved})  # only to the new node
    ['d']
    >>> 150 < sum(map(len, moved.values())) < 350  # about a quarter of the keys
    True
    """
    keys = list(keys)
    n = check_int(replicas, "replicas", 1)
    out: dict[tuple[Hashable, Hashable], list[Any]] = {}
    if not keys:
        return out
    old_nodes, new_nodes = old_router.nodes, new_router.nodes
    if n == 1:
        before = old_router.lookup_many(keys).tolist()
        after = new_router.lookup_many(keys).tolist()
        for key, b, a in zip(keys, before, after):
            src, dst = old_nodes[b], new_nodes[a]
            if src != dst:
                out.setdefault((src, dst), []).append(key)
        return out
    before_table = old_router.replicas_many(keys, n).tolist()
    after_table = new_router.replicas_many(keys, n).tolist()
    for key, b_row, a_row in zip(keys, before_table, after_table):
        had = [old_nodes[i] for i in b_row]
        for i in a_row:
            dst = new_nodes[i]
            if dst not in had:
                out.setdefault((had[0], dst), []).append(key)
    return out
