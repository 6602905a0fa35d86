"""Online load balancers with in-flight counting, latency tracking and passive health.

Every balancer hands out nodes through a lease::

    with lb.acquire() as node:          # counts the request in flight
        send(node, request)             # an exception here counts as a failure

- :class:`RoundRobin`: nginx's smooth weighted round robin over the available nodes.
- :class:`RandomChoice`: a random node in proportion to its weight.
- :class:`LeastConnections`: the node with the fewest requests in flight per unit of
  weight (ties rotate).
- :class:`PowerOfTwoChoices`: Envoy's least-request: the better of two random nodes by
  ``weight / (in_flight + 1) ** bias``.
- :class:`PeakEWMA`: Finagle's peak-EWMA: the better of two random nodes by
  ``peak-sensitive decaying latency * (in_flight + 1)``.
- :class:`ConsistentBalancer`: a key's node from a consistent-hashing router, with
  HAProxy's bounded loads over in-flight requests and failover along the key's replicas.

Health is nginx's passive check: ``max_fails`` failures within ``fail_timeout`` seconds
take a node out for ``fail_timeout`` seconds; after that it gets requests again, and a
failure of its first request takes it out again at once (a success clears it).
:meth:`~Balancer.mark_down` / :meth:`~Balancer.mark_up` are the operator's switch.
When no node is available, :meth:`~Balancer.acquire` raises :class:`NoAvailableNode`.

All balancers are thread-safe: one lock guards the choice and the counters.
"""

from __future__ import annotations

import heapq
import math
import threading
from collections.abc import Callable, Hashable, Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, cast

import numpy as np

from . import _select
from ._nodeset import N
from ._params import check_clock, check_health_params, check_real, construct, parse_nodes, resolve_rng
from .select import NoAvailableNode, SmoothWeightedRoundRobin

__all__ = [
    "Balancer",
    "ConsistentBalancer",
    "LeastConnections",
    "Lease",
    "NoAvailableNode",
    "PeakEWMA",
    "PowerOfTwoChoices",
    "RandomChoice",
    "RoundRobin",
]

_M64 = 0xFFFFFFFFFFFFFFFF


if TYPE_CHECKING:

    class Lease(Generic[N]):
        """One request in flight on ``node`` (the live twin's class; typed here)."""

        node: N
        index: int
        start: float

        @property
        def released(self) -> bool: ...
        def __enter__(self) -> N: ...
        def __exit__(
            self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
        ) -> None: ...
        def release(self, *, failed: bool = False) -> None: ...

else:
    from ._select import Lease


class _Bits:
    """64-bit words from a Generator, drawn in blocks (one Generator call per 512 words)."""

    __slots__ = ("_buffer", "_gen", "_given")

    def __init__(self, rng: Any) -> None:
        self._gen = resolve_rng(rng)
        self._given = rng is not None
        self._buffer: list[int] = []

    @property
    def pickled(self) -> np.random.Generator | None:
        """The rng a pickled copy takes: the generator in its current state if one was
        given (the copy is reproducible); None for the process-wide one, so that a copy
        in another process does not replay this process's draws."""
        return self._gen if self._given else None

    def next(self) -> int:
        if not self._buffer:
            block = self._gen.integers(0, 2**64, size=512, dtype=np.uint64).tolist()
            block.reverse()
            self._buffer = block
        return self._buffer.pop()


class _NodeHealth:
    """One node's passive-health record (see :class:`_PassiveHealth`)."""

    __slots__ = ("down_until", "fails", "gone", "manual_down", "window")

    def __init__(self) -> None:
        self.manual_down = False  # the operator's mark_down
        self.gone = False  # removed from a ConsistentBalancer's router
        self.down_until: float | None = None  # out for failures until then
        self.fails = 0  # failures counted in the current window
        self.window = 0.0  # when the current window opened

    @property
    def should_be_up(self) -> bool:
        return not (self.manual_down or self.gone or self.down_until is not None)


class _PassiveHealth:
    """nginx's passive check for every balancer: the one health model of this module.

    ``max_fails`` failures within ``fail_timeout`` seconds take a node out for
    ``fail_timeout`` seconds; then it is on probation: a failure of its first request
    takes it out again at once, a success clears it. Take-outs end through a heap of
    expiry times, so the balancer's up mask is exact at every choice without a scan.
    Not thread-safe on its own: the balancer calls it under its lock.
    """

    __slots__ = ("_heap", "fail_timeout", "max_fails", "next_expiry", "nodes", "probation")

    def __init__(self, max_fails: int, fail_timeout: float) -> None:
        self.max_fails = max_fails
        self.fail_timeout = fail_timeout
        self.nodes: list[_NodeHealth] = []
        # Nodes back after a take-out: one failure takes them out again. A set, so that
        # a release checks "any on probation?" without touching a node record.
        self.probation: set[int] = set()
        self._heap: list[tuple[float, int]] = []
        self.next_expiry = math.inf

    def add(self, k: int) -> None:
        self.nodes += [_NodeHealth() for _ in range(k)]

    def success(self, i: int) -> None:
        if i in self.probation:
            self.probation.discard(i)
            self.nodes[i].fails = 0

    def failure(self, i: int, now: float) -> bool:
        """Count a failure of node ``i``; True if it takes the node out."""
        node = self.nodes[i]
        if not self.max_fails or node.down_until is not None:
            return False
        if i not in self.probation:
            if node.fails == 0 or now - node.window > self.fail_timeout:
                node.window = now
                node.fails = 0
            node.fails += 1
            if node.fails < self.max_fails:
                return False
        until = now + self.fail_timeout
        node.down_until = until
        node.fails = 0
        self.probation.add(i)
        heap = self._heap
        heapq.heappush(heap, (until, i))
        if len(heap) > 2 * len(self.nodes) + 8:
            # clear() leaves a node's entry behind (stale: its down_until no longer
            # matches, or it repeats the live one). Each node has at most one live
            # entry, so keeping those alone bounds the heap by O(nodes) however often
            # nodes flap.
            heap[:] = {(t, j) for t, j in heap if self.nodes[j].down_until == t}
            heapq.heapify(heap)
        self.next_expiry = heap[0][0]
        return True

    def clear(self, i: int) -> None:
        """Forget node ``i``'s failures and any passive down time (the operator's mark_up)."""
        node = self.nodes[i]
        node.down_until = None
        node.fails = 0
        self.probation.discard(i)

    def expire(self, now: float) -> list[int]:
        """End the take-outs due by ``now``; the nodes whose down time ended."""
        ended = []
        heap = self._heap
        while heap and heap[0][0] <= now:
            until, i = heapq.heappop(heap)
            if self.nodes[i].down_until == until:
                self.nodes[i].down_until = None
                ended.append(i)
        self.next_expiry = heap[0][0] if heap else math.inf
        return ended


class Balancer(Generic[N]):
    """Base of the online balancers: counters, health, leases. Not used directly.

    Parameters
    ----------
    nodes : iterable of node names, or mapping name -> weight
        Weights are positive and finite (default 1).
    max_fails : int
        Failures within ``fail_timeout`` that take a node out (default 1, as nginx);
        0 turns passive health off.
    fail_timeout : float
        Seconds: the window for counting failures and how long a node stays out
        (default 10, as nginx).
    clock : callable, optional
        Returns seconds; default :func:`time.monotonic`. Latencies and health use it.

    Notes
    -----
    The node table is what the selection kernels read: ``_weight``, ``_active`` (in
    flight) and ``_up`` (choosable) arrays indexed by node, which only grow, so a
    lease's index stays valid. A subclass keeps whatever it derives from them (an
    alias table, a list of the available nodes) in ``_rebuild``, which runs
    before the next choice after any change to ``_up`` or the table.

    Examples
    --------
    >>> from fastring import PowerOfTwoChoices
    >>> from fastring.balance import Balancer
    >>> lb = PowerOfTwoChoices({"a": 2, "b": 1}, rng=3)
    >>> isinstance(lb, Balancer)
    True
    >>> with lb.acquire() as node:
    ...     node in ("a", "b")
    True
    """

    #: Can gain nodes after construction (then it may start empty): see ``_params``.
    _grows = False

    def __init__(
        self,
        nodes: Mapping[N, float] | Iterable[N],
        *,
        max_fails: int = 1,
        fail_timeout: float = 10.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        names, weights = parse_nodes(nodes, allow_empty=self._grows)
        self._health = _PassiveHealth(*check_health_params(max_fails, fail_timeout))
        self._clock = check_clock(clock)
        self._lock = threading.Lock()
        # acquire and a lease's release run in the core (compiled in the compiled twin);
        # it calls the per-request hooks only of the classes that override them.
        self._core = _select.BalancerCore(
            self, self._lock, self._clock, self._health.probation,
            type(self)._prepare is not Balancer._prepare, type(self)._observe is not Balancer._observe,
        )
        self._names: tuple[N, ...] = ()
        self._index: dict[Hashable, int] = {}
        self._weight = np.empty(0, dtype=np.float64)
        self._active = np.empty(0, dtype=np.int64)
        self._up = np.empty(0, dtype=np.uint8)
        self._append(names, weights)

    # -- node table ---------------------------------------------------------------

    def _append(self, names: tuple[N, ...], weights: list[float]) -> None:
        """Add nodes at the end (indices never move, so leases stay valid)."""
        start = len(self._names)
        self._names = self._names + tuple(names)
        for offset, name in enumerate(names):
            self._index[name] = start + offset
        k = len(names)
        self._weight = np.concatenate([self._weight, np.asarray(weights, dtype=np.float64)])
        self._active = np.concatenate([self._active, np.zeros(k, dtype=np.int64)])
        self._up = np.concatenate([self._up, np.ones(k, dtype=np.uint8)])
        # Kernels take memoryviews: ~5x cheaper to pass than the arrays, and their
        # item updates from Python are ~2x cheaper than the arrays'.
        self._weight_mv = cast("memoryview[float]", self._weight.data)
        self._active_mv = self._active.data
        self._up_mv = self._up.data
        self._health.add(k)
        self._core.set_nodes(self._names, self._active)
        self._core.n_up += k
        self._core.stale = True

    def _rebuild(self) -> None:
        """Hook: derive the subclass's choice state from the node table (under the lock)."""

    def _refresh(self) -> None:
        """Run :meth:`_rebuild` if the node table or ``_up`` changed since the last one."""
        if self._core.stale:
            self._rebuild()
            self._core.stale = False

    def _sync(self, i: int) -> None:
        """Make node ``i``'s up flag follow its health record."""
        up = self._health.nodes[i].should_be_up
        if bool(self._up_mv[i]) != up:
            self._up_mv[i] = 1 if up else 0
            self._core.n_up += 1 if up else -1
            self._core.stale = True

    # -- callbacks of the core (under the lock) -------------------------------------

    def _expire(self, now: float) -> None:
        """End the take-outs due by ``now``."""
        for i in self._health.expire(now):
            self._sync(i)
        self._core.next_expiry = self._health.next_expiry

    def _fail(self, i: int, now: float) -> None:
        """Count a failure of node ``i``."""
        if self._health.failure(i, now):
            self._sync(i)
        self._core.next_expiry = self._health.next_expiry

    def _succeed(self, i: int) -> None:
        """A request to node ``i``, on probation, succeeded."""
        self._health.success(i)

    def _no_node(self) -> None:
        current = sum(not h.gone for h in self._health.nodes)
        if not current:
            raise NoAvailableNode("no nodes: the router has none yet")
        raise NoAvailableNode(f"all {current} nodes are down")

    # -- public -------------------------------------------------------------------

    @property
    def nodes(self) -> tuple[N, ...]:
        """The nodes' names, in index order."""
        with self._lock:
            self._prepare()
            return tuple(name for name, h in zip(self._names, self._health.nodes) if not h.gone)

    @property
    def in_flight(self) -> dict[N, int]:
        """A snapshot of name -> requests in flight (acquired and not yet released).

        A node removed from a :class:`ConsistentBalancer`'s router stays listed while
        it has requests in flight.
        """
        with self._lock:
            self._prepare()
            counts = self._active.tolist()
            return {
                name: c for name, c, h in zip(self._names, counts, self._health.nodes) if not h.gone or c
            }

    @property
    def available(self) -> tuple[N, ...]:
        """The nodes that can be chosen now."""
        now = self._clock()
        with self._lock:
            self._prepare()
            self._expire(now)
            return tuple(name for name, up in zip(self._names, self._up.tolist()) if up)

    def is_up(self, name: Hashable) -> bool:
        """True if ``name`` can be chosen now.

        Examples
        --------
        >>> from fastring import RoundRobin
        >>> RoundRobin(["a", "b"]).is_up("a")
        True
        """
        now = self._clock()
        with self._lock:
            i = self._i(name)
            self._expire(now)
            return bool(self._up_mv[i])

    def _i(self, name: Hashable) -> int:
        """The index of a current node (call under the lock)."""
        self._prepare()
        try:
            i = self._index[name]
        except (KeyError, TypeError):
            raise KeyError(f"unknown node {name!r}") from None
        if self._health.nodes[i].gone:
            raise KeyError(f"unknown node {name!r} (removed from the router)")
        return i

    def acquire(self, key: Any = None) -> Lease[N]:
        """Choose a node and count a request in flight on it.

        Parameters
        ----------
        key : optional
            Routing key (used by :class:`ConsistentBalancer`, ignored by the others).

        Returns
        -------
        Lease
            A context manager whose ``__enter__`` returns the node's name; or call
            ``lease.release(failed=...)`` yourself.

        Raises
        ------
        NoAvailableNode
            Every node is down.

        Examples
        --------
        >>> from fastring import LeastConnections
        >>> lb = LeastConnections(["a", "b"])
        >>> with lb.acquire() as node:
        ...     lb.in_flight[node]
        1
        >>> lb.in_flight
        {'a': 0, 'b': 0}
        """
        # The twins' Lease is one runtime class; the N it carries is this balancer's.
        return cast("Lease[N]", self._core.acquire(key))

    def _prepare(self) -> None:
        """Hook run under the lock before a choice (ConsistentBalancer follows its router)."""

    def _observe(self, i: int, latency: float, now: float) -> None:
        """Hook: a request to node i took ``latency`` seconds (called under the lock)."""

    def report_failure(self, name: Hashable) -> None:
        """Count a failure of ``name`` outside a lease (e.g. a bad response).

        Examples
        --------
        >>> from fastring import RoundRobin
        >>> lb = RoundRobin(["a", "b"], max_fails=1, fail_timeout=30)
        >>> lb.report_failure("a")
        >>> lb.is_up("a"), lb.available
        (False, ('b',))
        """
        now = self._clock()
        with self._lock:
            self._fail(self._i(name), now)

    def mark_down(self, name: Hashable) -> None:
        """Take ``name`` out until :meth:`mark_up` (requests in flight finish normally).

        Examples
        --------
        >>> from fastring import RandomChoice
        >>> lb = RandomChoice(["a", "b"], rng=1)
        >>> lb.mark_down("b")
        >>> picked = set()
        >>> for _ in range(5):
        ...     with lb.acquire() as node:
        ...         picked.add(node)
        >>> picked
        {'a'}
        """
        with self._lock:
            i = self._i(name)
            self._health.nodes[i].manual_down = True
            self._sync(i)

    def mark_up(self, name: Hashable) -> None:
        """Put ``name`` back, forgetting its failures and any passive down time.

        Examples
        --------
        >>> from fastring import RoundRobin
        >>> lb = RoundRobin(["a", "b"])
        >>> lb.mark_down("b")
        >>> lb.mark_up("b")
        >>> lb.available
        ('a', 'b')
        """
        with self._lock:
            i = self._i(name)
            self._health.nodes[i].manual_down = False
            self._health.clear(i)
            self._sync(i)

    def _choose(self, key: Any, now: float) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self.nodes)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(nodes={len(self)}, available={self._core.n_up}, in_flight={self._core.total})"

    # -- pickling ---------------------------------------------------------------------

    def __reduce__(self) -> tuple[Any, ...]:
        """A balancer pickles as its configuration: nodes, weights, health settings,
        clock and options (and the random generator where it draws). The copy starts
        fresh: no leases in flight, every node up, no failures or latencies recorded;
        those describe this process's requests, not the other one's."""
        return (construct, (type(self), self._pickle_args(), self._pickle_kwargs()))

    def _pickle_args(self) -> tuple[Any, ...]:
        return (dict(zip(self._names, self._weight.tolist())),)

    def _pickle_kwargs(self) -> dict[str, Any]:
        health = self._health
        return {"max_fails": health.max_fails, "fail_timeout": health.fail_timeout, "clock": self._clock}


class RoundRobin(Balancer[N]):
    """nginx's smooth weighted round robin over the available nodes.

    Weights must be integers (nginx's ``weight=``); equal weights rotate in order.

    Examples
    --------
    >>> from fastring import RoundRobin
    >>> lb = RoundRobin({"a": 2, "b": 1})
    >>> picks = []
    >>> for _ in range(6):
    ...     with lb.acquire() as node:
    ...         picks.append(node)
    >>> "".join(picks)
    'abaaba'
    >>> lb.mark_down("a")
    >>> with lb.acquire() as node:
    ...     node
    'b'
    >>> lb.in_flight
    {'a': 0, 'b': 0}
    """

    def __init__(self, nodes: Mapping[N, float] | Iterable[N], **kwargs: Any) -> None:
        # The rotation is SmoothWeightedRoundRobin's, with its own (nginx's) failure
        # handling off: health is the balancer's, shown to the rotation as "down".
        self._rotation = SmoothWeightedRoundRobin(nodes, max_fails=0)
        super().__init__(cast("Mapping[N, float]", self._rotation.weights), **kwargs)
        # The core steps the rotation's table itself, under the balancer's lock, which
        # every use of the rotation holds: no second lock, no clock, no Python call.
        self._core.rotation = self._rotation._unlocked_table

    def _rebuild(self) -> None:
        rotation = self._rotation
        for name, up in zip(self._names, self._up.tolist()):
            if up:
                rotation.mark_up(name)
            else:
                rotation.mark_down(name)

    def _pickle_args(self) -> tuple[Any, ...]:
        return (self._rotation.weights,)

    def _choose(self, key: Any, now: float) -> int:  # pragma: no cover - the core steps the rotation
        raise AssertionError("RoundRobin's choices are the rotation's, made in the core")


class RandomChoice(Balancer[N]):
    """A random available node, in proportion to its weight.

    Parameters
    ----------
    nodes, max_fails, fail_timeout, clock
        See :class:`Balancer`.
    rng : None, int or numpy.random.Generator
        Source of randomness (64-bit words drawn in blocks of 512).

    Examples
    --------
    >>> from fastring import RandomChoice
    >>> lb = RandomChoice({"a": 3, "b": 1}, rng=7)
    >>> picks = []
    >>> for _ in range(1000):
    ...     with lb.acquire() as node:
    ...         picks.append(node)
    >>> 0.7 < picks.count("a") / 1000 < 0.8
    True
    """

    def __init__(self, nodes: Mapping[N, float] | Iterable[N], *, rng: Any = None, **kwargs: Any) -> None:
        bits = _Bits(rng)
        super().__init__(nodes, **kwargs)
        self._bits = bits

    def _pickle_kwargs(self) -> dict[str, Any]:
        return {**super()._pickle_kwargs(), "rng": self._bits.pickled}

    def _rebuild(self) -> None:
        # The alias table of the available nodes' weights; each choice is one kernel
        # draw on one word (as WeightedSampler's, without the SplitMix64 expansion).
        up = np.flatnonzero(self._up)
        self._up_list = up.tolist()
        threshold = np.empty(len(up), dtype=np.uint64)
        alias = np.empty(len(up), dtype=np.int64)
        if len(up):
            _select.alias_build(np.ascontiguousarray(self._weight[up]), threshold, alias)
        self._table = (threshold.data, alias.data)

    def _choose(self, key: Any, now: float) -> int:
        threshold, alias = self._table
        return self._up_list[_select.alias_pick(threshold, alias, self._bits.next())]


class LeastConnections(Balancer[N]):
    """The available node with the fewest requests in flight per unit of weight.

    Ties go round-robin: each scan starts after the node chosen last.

    Examples
    --------
    >>> from fastring import LeastConnections
    >>> lb = LeastConnections({"a": 2, "b": 1})
    >>> leases = [lb.acquire() for _ in range(3)]
    >>> [lease.node for lease in leases]
    ['a', 'b', 'a']
    >>> lb.in_flight
    {'a': 2, 'b': 1}
    >>> for lease in leases:
    ...     lease.release()
    """

    def __init__(self, nodes: Mapping[N, float] | Iterable[N], **kwargs: Any) -> None:
        super().__init__(nodes, **kwargs)
        self._start = 0

    def _choose(self, key: Any, now: float) -> int:
        i = _select.least_loaded(self._active_mv, self._weight_mv, self._up_mv, self._start)
        self._start = i + 1 if i + 1 < len(self._names) else 0
        return i


class _TwoChoices(Balancer[N]):
    """Base of the two-random-choices balancers: two candidates from one random word."""

    def __init__(self, nodes: Mapping[N, float] | Iterable[N], *, rng: Any = None, **kwargs: Any) -> None:
        bits = _Bits(rng)
        super().__init__(nodes, **kwargs)
        self._bits = bits

    def _pickle_kwargs(self) -> dict[str, Any]:
        return {**super()._pickle_kwargs(), "rng": self._bits.pickled}

    def _rebuild(self) -> None:
        self._up_list = np.flatnonzero(self._up).tolist()


    def _candidates(self) -> tuple[int, int]:
        """Two distinct random available nodes from one 64-bit word; the only one twice
        when only one is available (the better of a node and itself is that node)."""
        up = self._up_list
        m = len(up)
        if m == 1:
            return up[0], up[0]
        x = self._bits.next() * m
        a = x >> 64
        b = ((x & _M64) * (m - 1)) >> 64  # the low word is uniform given a
        if b >= a:
            b += 1
        return up[a], up[b]


class PowerOfTwoChoices(_TwoChoices[N]):
    """Envoy's least-request balancer: the better of two random available nodes.

    A node's score is ``weight / (in_flight + 1) ** bias``; the higher score wins and
    a tie goes to the first candidate.

    Parameters
    ----------
    nodes, max_fails, fail_timeout, clock
        See :class:`Balancer`.
    bias : float
        Envoy's ``active_request_bias`` (default 1.0); 0 ignores the load.
    rng : None, int or numpy.random.Generator
        Source of randomness.

    Examples
    --------
    >>> from fastring import PowerOfTwoChoices
    >>> lb = PowerOfTwoChoices(["a", "b"], rng=1)
    >>> first = lb.acquire()
    >>> with lb.acquire() as node:      # the other node has nothing in flight
    ...     node != first.node
    True
    >>> first.release()
    """

    def __init__(
        self, nodes: Mapping[N, float] | Iterable[N], *, bias: float = 1.0, rng: Any = None, **kwargs: Any
    ) -> None:
        bias = check_real(bias, "bias", 0)
        super().__init__(nodes, rng=rng, **kwargs)
        self._bias = bias

    def _pickle_kwargs(self) -> dict[str, Any]:
        return {**super()._pickle_kwargs(), "bias": self._bias}

    def _choose(self, key: Any, now: float) -> int:
        a, b = self._candidates()
        active, weight = self._active_mv, self._weight_mv
        if self._bias == 1.0:
            # w_b / (n_b + 1) > w_a / (n_a + 1), without divisions.
            better = weight[b] * (active[a] + 1) > weight[a] * (active[b] + 1)
        else:
            better = weight[b] / (active[b] + 1) ** self._bias > weight[a] / (active[a] + 1) ** self._bias
        return b if better else a


class PeakEWMA(_TwoChoices[N]):
    """Finagle's peak-EWMA balancer: the cheaper of two random available nodes.

    A node's cost is its peak-sensitive latency average times ``in_flight + 1``,
    divided by its weight. The average jumps up to any slower latency at once and
    decays towards faster ones with time constant ``decay_time``; a node that has
    never answered costs 0 when idle and a huge penalty when busy, as in Finagle.

    Parameters
    ----------
    nodes, max_fails, fail_timeout, clock
        See :class:`Balancer`.
    decay_time : float
        Seconds (default 10, Finagle's default).
    rng : None, int or numpy.random.Generator
        Source of randomness.

    Examples
    --------
    >>> from fastring import PeakEWMA
    >>> t = [0.0]                                   # a clock we move by hand
    >>> lb = PeakEWMA(["fast", "slow"], clock=lambda: t[0], rng=0)
    >>> leases = {lease.node: lease for lease in (lb.acquire(), lb.acquire())}
    >>> sorted(leases)                              # the busy node costs a penalty
    ['fast', 'slow']
    >>> t[0] = 0.01; leases["fast"].release()
    >>> t[0] = 0.50; leases["slow"].release()
    >>> with lb.acquire() as node:
    ...     node
    'fast'
    >>> {name: round(rtt, 2) for name, rtt in lb.latencies.items()}
    {'fast': 0.01, 'slow': 0.5}
    """

    # Finagle's Long.MaxValue >> 16 nanoseconds is ~1.4e5 s; any cost far above real
    # latencies works, small enough that adding the in-flight count stays exact.
    PENALTY = float(2**40)

    def __init__(
        self, nodes: Mapping[N, float] | Iterable[N], *, decay_time: float = 10.0, rng: Any = None, **kwargs: Any
    ) -> None:
        decay = check_real(decay_time, "decay_time", 0, open_min=True)
        super().__init__(nodes, rng=rng, **kwargs)
        self._decay = decay
        now = self._clock()
        self._cost = [0.0] * len(self._names)
        self._stamp = [now] * len(self._names)

    def _pickle_kwargs(self) -> dict[str, Any]:
        return {**super()._pickle_kwargs(), "decay_time": self._decay}

    def _observe(self, i: int, rtt: float, now: float) -> None:
        # Finagle PeakEwma.Metric.observe: jump to a peak, else decay towards rtt.
        elapsed = now - self._stamp[i]
        w = math.exp(-elapsed / self._decay) if elapsed > 0 else 1.0
        if rtt > self._cost[i]:
            self._cost[i] = rtt
        else:
            self._cost[i] = self._cost[i] * w + rtt * (1.0 - w)
        self._stamp[i] = now

    def _load(self, i: int, now: float) -> float:
        # Finagle PeakEwma.Metric.get: decay first (observe 0), then scale by pending + 1.
        self._observe(i, 0.0, now)
        cost, pending = self._cost[i], self._active_mv[i]
        if cost == 0.0 and pending:
            return (self.PENALTY + pending) / self._weight_mv[i]
        return cost * (pending + 1) / self._weight_mv[i]

    def _choose(self, key: Any, now: float) -> int:
        a, b = self._candidates()
        return b if self._load(b, now) < self._load(a, now) else a

    @property
    def latencies(self) -> dict[N, float]:
        """name -> current peak-EWMA latency estimate in seconds (not decayed to now)."""
        with self._lock:
            return {name: c for name, c, h in zip(self._names, self._cost, self._health.nodes) if not h.gone}


class ConsistentBalancer(Balancer[N]):
    """A key's node from a consistent-hashing router, with bounded loads and failover.

    Each key goes to its router node unless that node is down or full; then to the
    next of the key's replicas (``router.replicas(key, n)``, in preference order) that
    is neither. Node ``i`` is full when it already has ``ceil(load_factor *
    (in_flight + 1) * w_i / W)`` requests in flight, where ``in_flight`` counts every
    node and ``W`` is the total weight of the available nodes: HAProxy's
    ``hash-balance-factor`` ("Consistent Hashing with Bounded Loads", Mirrokni, Thorup
    & Zadimoghaddam) over requests in flight. Some available node always has room.

    Parameters
    ----------
    router
        Any router with ``nodes`` (tuple of names), ``lookup(key) -> name`` and
        ``replicas(key, n) -> sequence of names``, such as :class:`fastring.HashRing`.
        Its ``weights`` (aligned with ``nodes``), if it has them, weigh the
        capacities; otherwise every node weighs 1. Nodes added to or removed from the
        router are followed on the next :meth:`acquire`.
    load_factor : float or None
        At least 1 (default 1.25, HAProxy's ``hash-balance-factor 125``); ``None``
        means no bound (fail over only when a node is down).
    max_fails, fail_timeout, clock
        See :class:`Balancer`.

    Examples
    --------
    >>> from fastring import ConsistentBalancer, HashRing
    >>> ring = HashRing(["a", "b", "c"])
    >>> lb = ConsistentBalancer(ring, load_factor=1.0)
    >>> with lb.acquire("user:42") as node:
    ...     node == ring.lookup("user:42")
    True
    >>> lb.mark_down(ring.lookup("user:42"))
    >>> with lb.acquire("user:42") as node:           # the key's next replica
    ...     node == ring.replicas("user:42", 2)[1]
    True
    """

    _grows = True  # follows its router's nodes

    def __init__(self, router: Any, load_factor: float | None = 1.25, **kwargs: Any) -> None:
        for attribute in ("nodes", "lookup", "replicas"):
            if not hasattr(router, attribute):
                raise TypeError(f"router has no {attribute!r}: it needs nodes, lookup(key) and replicas(key, n)")
        self._router = router
        self._load_factor = None if load_factor is None else check_real(load_factor, "load_factor", 1)
        self._seen = router.nodes
        super().__init__(self._router_nodes(), **kwargs)

    def _pickle_args(self) -> tuple[Any, ...]:
        return (self._router, self._load_factor)

    def _router_nodes(self) -> dict[N, float]:
        names = tuple(self._router.nodes)
        weights = getattr(self._router, "weights", None)
        try:
            weights = [float(w) for w in weights] if weights is not None else None
        except (TypeError, ValueError):
            weights = None
        if weights is None or len(weights) != len(names) or not all(0 < w < math.inf for w in weights):
            weights = [1.0] * len(names)
        if len(set(names)) != len(names):
            raise ValueError("the router has duplicate node names")
        return dict(zip(names, weights))

    @property
    def router(self) -> Any:
        """The router this balancer follows."""
        return self._router

    @property
    def load_factor(self) -> float | None:
        return self._load_factor

    def _prepare(self) -> None:
        nodes = self._router.nodes
        if nodes is self._seen or nodes == self._seen:
            return
        current = self._router_nodes()
        new = [name for name in current if name not in self._index]
        if new:
            self._append(tuple(new), [current[name] for name in new])
        for name, i in self._index.items():
            self._health.nodes[i].gone = name not in current
            if name in current:
                self._weight_mv[i] = current[name]
            self._sync(i)
        self._seen = nodes
        self._core.stale = True  # the weights may have changed

    def _rebuild(self) -> None:
        self._up_weight = math.fsum(self._weight[self._up.astype(bool)].tolist())

    # A router changing under a choice (between _prepare and the router's answer) is
    # followed and the choice made again, at most this many times.
    _RETRIES = 3

    def _choose(self, key: Any, now: float) -> int:
        if key is None:
            raise TypeError("ConsistentBalancer.acquire needs a key")
        for _ in range(self._RETRIES):
            seen = self._seen
            try:
                return self._choose_on_router(key)
            except (KeyError, ValueError, LookupError):
                # A name we do not know yet, or fewer replicas than we asked for: the
                # router changed since _prepare. Any other cause is the caller's error.
                if self._router.nodes == seen:
                    raise
                self._prepare()
                if not self._core.n_up:
                    raise NoAvailableNode("every node of the router is down or gone") from None
                self._refresh()
        # The router keeps changing: the least loaded available node is never wrong.
        return _select.least_loaded(self._active_mv, self._weight_mv, self._up_mv, 0)

    def _choose_on_router(self, key: Any) -> int:
        up, active, weight, index = self._up_mv, self._active_mv, self._weight_mv, self._index
        lf = self._load_factor
        # Node i has room while active[i] < ceil(slots * w_i).
        slots = 0.0 if lf is None else lf * (self._core.total + 1) / self._up_weight
        i = index[self._router.lookup(key)]
        if up[i] and (lf is None or active[i] < math.ceil(slots * weight[i])):
            return i
        for name in self._router.replicas(key, len(self._seen)):
            i = index[name]
            if up[i] and (lf is None or active[i] < math.ceil(slots * weight[i])):
                return i
        # A router that lists fewer replicas than nodes: the least loaded available node.
        return _select.least_loaded(self._active_mv, self._weight_mv, self._up_mv, 0)
