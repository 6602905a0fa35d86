"""Pure-Python twin of the selection kernels (see ``_select_c.pyx``).

Same names, signatures and results, bit for bit. Floating-point work is done with
Python floats (IEEE-754 doubles) in exactly the order the compiled twin uses;
64-bit integer work either uses Python integers masked to 64 bits or NumPy
``uint64`` arrays, whose arithmetic wraps modulo 2**64 like C's.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any, NoReturn

import numpy as np

from ._hashfuncs_py import SPLITMIX_GAMMA, mix64_array
from ._hashfuncs_py import mix64 as _mix64

__all__ = [
    "AliasTable",
    "BalancerCore",
    "Lease",
    "SwrrTable",
    "SWRR_ROW_NAMES",
    "alias_build",
    "alias_pick",
    "alias_sample",
    "least_loaded",
    "swrr_next",
    "swrr_next_many",
]

# Rows of the smooth weighted round robin state (see _select_c.pyx), by name.
SWRR_ROW_NAMES = ("weight", "current", "effective", "fails", "checked", "accessed", "down")
WEIGHT, CURRENT, EFFECTIVE, FAILS, CHECKED, ACCESSED, DOWN = range(len(SWRR_ROW_NAMES))
SWRR_ROWS = len(SWRR_ROW_NAMES)

_GAMMA = np.uint64(SPLITMIX_GAMMA)
_LOW32 = np.uint64(0xFFFFFFFF)
_ALWAYS = 0xFFFFFFFFFFFFFFFF
_TWO64 = 18446744073709551616.0
_CHUNK = 1 << 18  # draws per vectorized step: bounds the temporaries to a few MiB


def alias_build(weights: np.ndarray, threshold: np.ndarray, alias: np.ndarray) -> None:
    """Fill Vose's alias table of ``weights`` (non-negative, finite, positive sum)."""
    weights, threshold, alias = np.asarray(weights), np.asarray(threshold), np.asarray(alias)
    n = weights.shape[0]
    if threshold.shape[0] != n or alias.shape[0] != n:
        raise ValueError("threshold and alias must have the length of weights")
    if n == 0:
        raise ValueError("no weights")
    w = weights.tolist()
    total = 0.0
    fallback = -1
    for i, x in enumerate(w):
        total += x
        if fallback < 0 and x > 0.0:
            fallback = i
    if not (0.0 < total < 1.8e308):
        raise ValueError(f"the weights must have a positive finite sum, got {total!r}")
    thr = [0] * n
    ali = [0] * n
    p = [(x / total) * n for x in w]
    small = [i for i in range(n) if p[i] < 1.0]
    large = [i for i in range(n) if not p[i] < 1.0]
    while small and large:
        s = small.pop()
        l = large.pop()
        thr[s] = int(p[s] * _TWO64)
        ali[s] = l
        p[l] = (p[l] + p[s]) - 1.0
        if p[l] < 1.0:
            small.append(l)
        else:
            large.append(l)
    while large:
        l = large.pop()
        thr[l] = _ALWAYS
        ali[l] = l
    while small:
        s = small.pop()
        if w[s] > 0.0:
            thr[s] = _ALWAYS
            ali[s] = s
        else:
            thr[s] = 0
            ali[s] = fallback
    threshold[:] = thr
    alias[:] = ali


def _check_table(threshold: Any, alias: Any) -> int:
    n = len(threshold)
    if len(alias) != n:
        raise ValueError("threshold and alias differ in length")
    if n == 0 or n > 0xFFFFFFFF:
        raise ValueError("the table must have between 1 and 2**32 - 1 columns")
    return n


def alias_sample(threshold: np.ndarray, alias: np.ndarray, seed: int, out: np.ndarray) -> None:
    """Fill ``out`` with alias draws from the SplitMix64 stream keyed by ``seed``."""
    threshold, alias, out = np.asarray(threshold), np.asarray(alias), np.asarray(out)
    n = _check_table(threshold, alias)
    useed = np.uint64(seed)
    m = np.uint64(n)
    s32 = np.uint64(32)
    size = out.shape[0]
    for start in range(0, size, _CHUNK):
        stop = min(start + _CHUNK, size)
        # Array arithmetic on uint64 wraps modulo 2**64 (NumPy warns only for scalars).
        z = np.arange(start + 1, stop + 1, dtype=np.uint64)
        z *= _GAMMA
        z += useed
        mix64_array(z)
        t = (z & _LOW32) * m
        col = ((z >> s32) * m + (t >> s32)) >> s32
        col = col.astype(np.intp)
        keep = (z * m) < threshold[col]
        out[start:stop] = np.where(keep, col, alias[col])


def alias_pick(threshold: Any, alias: Any, word: int) -> int:
    """One alias draw with the 64-bit ``word`` as it is: the column is the high word of
    ``word * n`` and the coin its low word (below the column's threshold keeps it)."""
    n = _check_table(threshold, alias)
    x = (word & _ALWAYS) * n
    col = x >> 64
    return col if (x & _ALWAYS) < int(threshold[col]) else int(alias[col])


class AliasTable:
    """A WeightedSampler's table for one draw at a time (the compiled twin's
    AliasTable): ``pick(gen)`` equals ``alias_sample`` for one output, with the word
    drawn from the Generator ``gen``."""

    __slots__ = ("threshold", "alias")

    def __init__(self, threshold: Any, alias: Any) -> None:
        _check_table(threshold, alias)
        self.threshold, self.alias = threshold, alias

    def pick(self, gen: np.random.Generator) -> int:
        seed = int(gen.integers(0, 2**64, dtype=np.uint64))  # what _params.draw_word draws
        return alias_pick(self.threshold, self.alias, _mix64((seed + SPLITMIX_GAMMA) & _ALWAYS))


def _swrr_step(weight: list[int], current: list[int], effective: list[int], fails: list[int], checked: list[int], down: list[int], now: int, max_fails: int, fail_timeout: int) -> int:
    # ngx_http_upstream_get_peer (src/http/ngx_http_upstream_round_robin.c), line by line.
    best = -1
    total = 0
    for i in range(len(weight)):
        if down[i]:
            continue
        if max_fails and fails[i] >= max_fails and now - checked[i] <= fail_timeout:
            continue
        current[i] += effective[i]
        total += effective[i]
        if effective[i] < weight[i]:
            effective[i] += 1
        if best == -1 or current[i] > current[best]:
            best = i
    if best == -1:
        return -1
    current[best] -= total
    if now - checked[best] > fail_timeout:
        checked[best] = now
    return best


def _check_state(state: np.ndarray | memoryview) -> np.ndarray:
    state = np.asarray(state)
    if state.ndim != 2 or state.shape[0] != SWRR_ROWS:
        raise ValueError(f"the state must have {SWRR_ROWS} rows")
    return state


def _store(state: np.ndarray, current: list[int], effective: list[int], checked: list[int]) -> None:
    state[CURRENT] = current
    state[EFFECTIVE] = effective
    state[CHECKED] = checked


def swrr_next(state: np.ndarray, now: int, max_fails: int, fail_timeout: int) -> int:
    """One nginx smooth weighted round robin choice, updating ``state``; -1 if none is up."""
    state = _check_state(state)
    weight, current, effective, fails, checked, _, down = state.tolist()
    best = _swrr_step(weight, current, effective, fails, checked, down, now, max_fails, fail_timeout)
    _store(state, current, effective, checked)
    return best


class SwrrTable:
    """A smooth weighted round robin state for one choice at a time (the compiled
    twin's SwrrTable): ``next(...)`` is ``swrr_next(state, ...)``."""

    __slots__ = ("state",)

    def __init__(self, state: Any) -> None:
        self.state = _check_state(state)

    def next(self, now: int, max_fails: int, fail_timeout: int) -> int:
        return swrr_next(self.state, now, max_fails, fail_timeout)


def swrr_next_many(state: np.ndarray | memoryview, now: int, max_fails: int, fail_timeout: int, out: np.ndarray) -> int:
    """Fill ``out`` with successive choices; returns how many were made before none was up."""
    state, out = _check_state(state), np.asarray(out)
    weight, current, effective, fails, checked, _, down = state.tolist()
    chosen = []
    for _ in range(out.shape[0]):
        best = _swrr_step(weight, current, effective, fails, checked, down, now, max_fails, fail_timeout)
        if best < 0:
            break
        chosen.append(best)
    _store(state, current, effective, checked)
    out[: len(chosen)] = chosen
    return len(chosen)


def least_loaded(active: Any, weight: Any, available: Any, start: int) -> int:
    """Index of the available node with the least ``active / weight``, scanning cyclically
    from ``start`` (ties go to the first met); -1 if none is available."""
    active, weight, available = np.asarray(active), np.asarray(weight), np.asarray(available)
    n = active.shape[0]
    if weight.shape[0] != n or available.shape[0] != n:
        raise ValueError("active, weight and available differ in length")
    if n == 0:
        return -1
    if start < 0 or start >= n:
        raise ValueError("start out of range")
    a = active.tolist()
    w = weight.tolist()
    up = available.tolist()
    best = -1
    for j in range(n):
        i = start + j
        if i >= n:
            i -= n
        if not up[i]:
            continue
        if best < 0 or float(a[i]) * w[best] < float(a[best]) * w[i]:
            best = i
    return best


def _seconds(value: Any) -> float:
    """A clock's reading as a double, as the compiled twin's C conversion does it
    (``__float__`` or ``__index__``; text is not a number)."""
    if isinstance(value, (str, bytes, bytearray)):
        raise TypeError(f"must be real number, not {type(value).__name__}")
    return float(value)


class BalancerCore:
    """The per-request half of a balancer (the compiled twin's BalancerCore): the lock,
    the clock, the in-flight counts and the leases; see the compiled twin for the
    callbacks into the balancer."""

    __slots__ = ("_balancer", "_clock", "_lock", "_probation", "active", "n_up", "names",
                 "next_expiry", "observes", "prepares", "rotation", "stale", "total")

    def __init__(self, balancer: Any, lock: Any, clock: Callable[[], Any], probation: set[int], prepares: bool, observes: bool) -> None:
        if not isinstance(probation, set):
            raise TypeError("probation must be a set")
        self._balancer = balancer
        self._lock = lock
        self._clock = clock
        self._probation = probation
        self.prepares = bool(prepares)
        self.observes = bool(observes)
        self.names: tuple[Any, ...] = ()
        self.active = np.zeros(0, dtype=np.int64).data
        self.n_up = 0
        self.stale = False
        self.next_expiry = float("inf")
        self.total = 0
        self.rotation: SwrrTable | None = None

    def set_nodes(self, names: tuple[Any, ...], active: np.ndarray) -> None:
        """The node names and the in-flight counts (shared, not copied), index-aligned."""
        if not isinstance(names, tuple):
            raise TypeError("names must be a tuple")
        if active.shape[0] != len(names):
            raise ValueError("names and active differ in length")
        self.names = names
        self.active = active.data

    def acquire(self, key: Any = None) -> Lease:
        """Choose a node, count a request in flight on it, return its Lease."""
        now = self._clock()
        if type(now) is not float:
            now = _seconds(now)
        balancer = self._balancer
        with self._lock:
            if self.prepares:
                balancer._prepare()
            if now >= self.next_expiry:
                balancer._expire(now)
            if self.n_up <= 0:
                balancer._no_node()
            if self.stale:
                balancer._refresh()
            if self.rotation is not None:
                i = self.rotation.next(0, 0, 0)
            else:
                i = int(balancer._choose(key, now))
            n = len(self.active)
            if not 0 <= i < n:
                raise IndexError(f"the balancer chose node {i} of {n}")
            self.active[i] += 1
            self.total += 1
        lease = Lease.__new__(Lease)
        lease._core, lease.index, lease.node, lease.start, lease._done = self, i, self.names[i], now, False
        return lease

    def release(self, i: int, start: float, failed: bool) -> None:
        """End a request on node ``i`` that started at ``start`` (a Lease calls this once)."""
        now = self._clock()
        if type(now) is not float:
            now = _seconds(now)
        with self._lock:
            n = len(self.active)
            if not 0 <= i < n:
                raise IndexError(f"node {i} of {n}")
            self.active[i] -= 1
            self.total -= 1
            if self.observes:
                self._balancer._observe(i, now - start, now)
            if failed:
                self._balancer._fail(i, now)
            elif self._probation and i in self._probation:
                self._balancer._succeed(i)


class Lease:
    """One request in flight on ``node``; release it exactly once.

    ``with balancer.acquire() as node:`` releases on exit: an :class:`Exception`
    inside counts as a failure of the node and propagates; a ``BaseException`` that
    is not an ``Exception`` (KeyboardInterrupt, task cancellation, ...) releases
    without blaming the node. Leases come from :meth:`Balancer.acquire`.

    Examples
    --------
    >>> from fastring import LeastConnections
    >>> lb = LeastConnections(["a", "b"])
    >>> lease = lb.acquire()
    >>> lease.node in ("a", "b"), lease.released
    (True, False)
    >>> with lease as node:       # a lease is its own context manager
    ...     pass
    >>> lease.released
    True
    """

    __slots__ = ("_core", "_done", "index", "node", "start")
    _core: BalancerCore
    _done: bool
    index: int
    node: Any
    start: float

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("leases come from a balancer's acquire()")

    def __enter__(self) -> Any:
        return self.node

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if not self._done:
            self._done = True
            self._core.release(self.index, self.start, exc_type is not None and issubclass(exc_type, Exception))

    def release(self, *, failed: bool = False) -> None:
        """End the request; ``failed=True`` counts a failure. Later calls do nothing.

        Examples
        --------
        >>> from fastring import RoundRobin
        >>> lb = RoundRobin(["a"], max_fails=1)
        >>> lease = lb.acquire()             # without ``with``: release it yourself
        >>> lease.release(failed=True)       # the request failed: a takes the blame
        >>> lease.released, lb.is_up("a")
        (True, False)
        """
        if not self._done:
            self._done = True
            self._core.release(self.index, self.start, bool(failed))

    @property
    def released(self) -> bool:
        """True once the lease has been released."""
        return self._done

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Lease cannot be pickled: it is one request in flight in this process")

    def __repr__(self) -> str:
        return f"<Lease {self.node!r} {'released' if self._done else 'in flight'}>"
