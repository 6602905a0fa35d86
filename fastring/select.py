"""Weighted selection: the alias-method sampler and nginx's smooth weighted round robin.

:class:`WeightedSampler` draws node indices in proportion to weights (Vose's alias
method, with or without replacement); :class:`SmoothWeightedRoundRobin` is nginx's
deterministic weighted rotation. Both run on the live twin's kernels
(``fastring._select``); both twins give the same results for the same inputs and seed.

Anything random takes ``rng``: ``None`` (a process-wide generator seeded from the
operating system), an ``int`` seed (``numpy.random.default_rng(seed)``) or a
``numpy.random.Generator``.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any

import numpy as np

from . import _select
from ._params import (
    check_clock,
    check_health_params,
    check_int,
    construct,
    draw_word,
    is_int,
    parse_nodes,
    parse_weights,
    resolve_rng,
)

__all__ = ["NoAvailableNode", "SmoothWeightedRoundRobin", "WeightedSampler"]


class NoAvailableNode(LookupError):
    """Every node is down: marked down, or out after failing (passive health)."""

def _size_shape(size: Any) -> tuple[int, ...]:
    if is_int(size):
        shape: tuple[int, ...] = (int(size),)
    elif isinstance(size, tuple) and all(is_int(s) for s in size):
        shape = tuple(int(s) for s in size)
    else:
        raise TypeError(f"size must be an int or a tuple of ints, got {size!r}")
    if any(s < 0 for s in shape):
        raise ValueError(f"size must not be negative, got {size!r}")
    return shape


class WeightedSampler:
    """Draw indices in proportion to weights with Vose's alias method.

    Building the table costs O(n); each draw costs O(1): one 64-bit random word
    picks a column (its high part) and tosses the column's biased coin (its low
    part). The table is built with the same float operations in the same order in
    both twins, so it is identical everywhere.

    Parameters
    ----------
    weights : sequence of numbers or mapping name -> number
        Non-negative and finite, with a positive sum. Zero weights are allowed and
        are never drawn. For a sequence, the names are the indices ``0 .. n-1``.

    Raises
    ------
    ValueError
        Empty weights, a negative, NaN or infinite weight, all weights zero, a sum
        that overflows, or more than ``2**32 - 1`` weights.
    TypeError
        A weight that is not a real number (bool and str are refused).

    See Also
    --------
    SmoothWeightedRoundRobin : a deterministic weighted rotation.

    Notes
    -----
    ``sample`` draws ONE 64-bit word from ``rng`` per call, whatever ``size``, and
    expands it with SplitMix64 (Steele, Lea & Flood 2014) into the per-draw words:
    a counter-based stream, so a batch is a pure function of that word and both
    twins (and any chunking of the work) give the same samples. Column and coin
    come from the 128-bit product of the word and ``n``, so the probability of each
    index is exact up to rounding of the weights to doubles (error below
    ``n * 2**-52`` relative), with no modulo bias beyond ``n / 2**64``.

    Examples
    --------
    >>> from fastring import WeightedSampler
    >>> s = WeightedSampler({"a": 5, "b": 1, "c": 0})
    >>> s.names
    ('a', 'b', 'c')
    >>> draws = s.sample(10_000, rng=42)
    >>> draws.dtype, bool((draws != 2).all())
    (dtype('int64'), True)
    >>> round(float((draws == 0).mean()), 2)
    0.83
    >>> bool((s.sample(5, rng=7) == s.sample(5, rng=7)).all())   # same seed, same draws
    True
    >>> sorted(s.sample_names(2, rng=1, replace=False))          # distinct, by weight
    ['a', 'b']
    >>> s.pick_name(rng=3) in ("a", "b")
    True
    """

    __slots__ = ("_alias", "_names", "_n_positive", "_table", "_threshold", "_weights", "__weakref__")

    def __init__(self, weights: Mapping[Any, float] | Iterable[float]) -> None:
        names, values = parse_weights(weights)
        w = np.array(values, dtype=np.float64)
        bad = ~np.isfinite(w) | (w < 0)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"weight of {names[i]!r} is {values[i]!r}; weights must be finite and >= 0")
        if len(w) > 0xFFFFFFFF:
            raise ValueError(f"at most 2**32 - 1 weights are supported, got {len(w)}")
        n_positive = int(np.count_nonzero(w))
        if n_positive == 0:
            raise ValueError("all weights are zero")
        threshold = np.empty(len(w), dtype=np.uint64)
        alias = np.empty(len(w), dtype=np.int64)
        _select.alias_build(w, threshold, alias)  # also refuses a sum that overflows
        w.flags.writeable = False
        threshold.flags.writeable = False
        alias.flags.writeable = False
        self._names = names
        self._weights = w
        self._threshold = threshold
        self._alias = alias
        self._table = _select.AliasTable(threshold, alias)  # pick: one compiled call
        self._n_positive = n_positive

    @property
    def names(self) -> tuple[Any, ...]:
        """The names, in index order (the indices themselves for a sequence)."""
        return self._names

    @property
    def weights(self) -> np.ndarray:
        """The weights as a read-only float64 array."""
        return self._weights

    @property
    def probabilities(self) -> np.ndarray:
        """Each index's probability, ``weights / weights.sum()``."""
        return self._weights / math.fsum(self._weights.tolist())

    def __len__(self) -> int:
        return len(self._names)

    def __repr__(self) -> str:
        return f"WeightedSampler(n={len(self._names)}, positive={self._n_positive})"

    def __reduce__(self) -> tuple[Any, ...]:
        if isinstance(self._names, tuple) and self._names == tuple(range(len(self._names))):
            return (WeightedSampler, (self._weights.tolist(),))
        return (WeightedSampler, (dict(zip(self._names, self._weights.tolist())),))

    def sample(self, size: int | tuple[int, ...], *, rng: Any = None, replace: bool = True) -> np.ndarray:
        """Draw indices in proportion to the weights.

        Parameters
        ----------
        size : int or tuple of ints
            Number (or shape) of draws. Without replacement, an int at most the
            number of positive weights.
        rng : None, int or numpy.random.Generator
            Source of randomness (see the module docstring).
        replace : bool
            ``False`` draws distinct indices (Efraimidis–Spirakis): the result is in
            the order of successive weighted draws without replacement.

        Returns
        -------
        numpy.ndarray
            int64 indices of shape ``size``.

        Notes
        -----
        With replacement, one 64-bit word is drawn from ``rng`` per call. Without,
        one standard exponential per weight ``E_i``; the result is the ``size``
        indices of smallest ``E_i / w_i`` (compared as ``log E_i - log w_i``, which
        cannot overflow), i.e. the largest ``U_i ** (1 / w_i)`` of Efraimidis and
        Spirakis (2006).

        Examples
        --------
        >>> from fastring import WeightedSampler
        >>> s = WeightedSampler({"a": 5, "b": 1, "c": 1})
        >>> s.sample(6, rng=1).tolist()
        [0, 0, 0, 1, 0, 0]
        >>> sorted(s.sample(3, rng=1, replace=False).tolist())     # each index once
        [0, 1, 2]
        """
        gen = resolve_rng(rng)
        if replace:
            shape = _size_shape(size)
            out = np.empty(math.prod(shape), dtype=np.int64)
            seed = draw_word(gen)
            if out.size:
                _select.alias_sample(self._threshold, self._alias, seed, out)
            return out.reshape(shape)
        k = check_int(size, "without replacement, size", 0)
        if k > self._n_positive:
            raise ValueError(
                f"cannot draw {k} distinct indices: only {self._n_positive} weights are positive"
            )
        e = gen.standard_exponential(len(self._weights))
        with np.errstate(divide="ignore", invalid="ignore"):
            # w = 0 -> +inf (never before a positive weight); e = w = 0 -> NaN (sorts last).
            keys = np.log(e) - np.log(self._weights)
        return np.argsort(keys, kind="stable")[:k].astype(np.int64, copy=False)

    def sample_names(self, size: int, *, rng: Any = None, replace: bool = True) -> list[Any]:
        """Like :meth:`sample` (an int ``size``), returning a list of names.

        Examples
        --------
        >>> from fastring import WeightedSampler
        >>> WeightedSampler({"a": 5, "b": 1}).sample_names(4, rng=2)
        ['a', 'a', 'a', 'a']
        """
        check_int(size, "size")
        names = self._names
        return [names[i] for i in self.sample(size, rng=rng, replace=replace).tolist()]

    def pick(self, rng: Any = None) -> int:
        """One index: the same as ``sample(1, rng=rng)[0]`` (one word from ``rng``).

        Examples
        --------
        >>> from fastring import WeightedSampler
        >>> WeightedSampler([0, 1, 0]).pick(rng=5)     # only index 1 has weight
        1
        """
        return self._table.pick(resolve_rng(rng))

    def pick_name(self, rng: Any = None) -> Hashable:
        """One name: ``names[pick(rng)]``.

        Examples
        --------
        >>> from fastring import WeightedSampler
        >>> WeightedSampler({"a": 0, "b": 3}).pick_name(rng=5)
        'b'
        """
        name: Hashable = self._names[self.pick(rng)]
        return name


# Rows of the smooth weighted round robin state (the kernels' table, by name).
SWRR_ROWS = len(_select.SWRR_ROW_NAMES)
_WEIGHT, _CURRENT, _EFFECTIVE, _FAILS, _CHECKED, _ACCESSED, _DOWN = (
    _select.SWRR_ROW_NAMES.index(name)
    for name in ("weight", "current", "effective", "fails", "checked", "accessed", "down")
)
_MAX_TOTAL_WEIGHT = 2**62


def _ns(seconds: float) -> int:
    return int(seconds * 1e9)


def _initial_state(weights: Any) -> np.ndarray:
    """The state of integer ``weights`` before any choice: every peer up, no failures,
    current weights 0."""
    state = np.zeros((SWRR_ROWS, len(weights)), dtype=np.int64)
    state[_WEIGHT] = weights
    state[_EFFECTIVE] = weights
    return state


class SmoothWeightedRoundRobin:
    """nginx's smooth weighted round robin (``ngx_http_upstream_get_peer``), exactly.

    Every choice adds each available peer's effective weight to its current
    weight, picks the peer with the largest current weight (ties go to the first
    peer) and subtracts the total effective weight from the winner. Weights 5:1:1
    give ``a a b a c a a``; any weights give nginx's sequence.

    Parameters
    ----------
    weights : mapping name -> int, or iterable of node names
        Integer weights >= 1 (nginx's ``weight=``); an iterable of names weighs 1 each.
    max_fails : int
        nginx's ``max_fails`` (default 1): a failure lowers the peer's effective weight
        by ``weight // max_fails`` (it then climbs back by one per choice), and
        ``max_fails`` failures take the peer out for ``fail_timeout``. 0 disables both.
    fail_timeout : float
        nginx's ``fail_timeout`` in seconds (default 10).
    clock : callable, optional
        Returns seconds (default :func:`time.monotonic`); inject one for tests.

    Notes
    -----
    Thread-safe: every method takes an internal lock. Health follows nginx's
    ``ngx_http_upstream_free_round_robin_peer``: :meth:`report_failure` counts a
    failure; once ``fails >= max_fails`` the peer is skipped until ``fail_timeout``
    has passed since it was last checked, then it gets one request, and
    :meth:`report_success` after that request clears its failures.

    Examples
    --------
    >>> from fastring import SmoothWeightedRoundRobin
    >>> rr = SmoothWeightedRoundRobin({"a": 5, "b": 1, "c": 1})
    >>> "".join(rr.next() for _ in range(7))
    'aabacaa'
    >>> rr.next_many(7)
    array([0, 0, 1, 0, 2, 0, 0])
    >>> rr.mark_down("a")
    >>> "".join(rr.next() for _ in range(4))
    'bcbc'
    """

    def __init__(
        self,
        weights: Mapping[Any, int] | Iterable[Hashable],
        *,
        max_fails: int = 1,
        fail_timeout: float = 10.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        names, ints = parse_nodes(weights, integer=True, allow_empty=False)
        if sum(ints) >= _MAX_TOTAL_WEIGHT:
            raise ValueError("the weights must sum to less than 2**62")
        self._max_fails, self._fail_timeout = check_health_params(max_fails, fail_timeout)
        self._clock = check_clock(clock)
        self._timeout_ns = _ns(self._fail_timeout)
        self._names = names
        self._index = {name: i for i, name in enumerate(names)}
        self._state = _initial_state(ints)
        # Passing a memoryview to a compiled kernel is ~5x cheaper than passing the array;
        # one choice at a time goes through a table that holds the buffer once.
        self._view = self._state.data
        self._table = _select.SwrrTable(self._state)
        self._lock = threading.Lock()

    @property
    def names(self) -> tuple[Any, ...]:
        """The peers' names, in index order."""
        return self._names

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickles as its configuration (weights, health settings, clock); the copy
        starts fresh, as a new one does: at the start of the rotation, every peer up."""
        kwargs = {"max_fails": self._max_fails, "fail_timeout": self._fail_timeout, "clock": self._clock}
        return (construct, (SmoothWeightedRoundRobin, (self.weights,), kwargs))

    def _row(self, row: int) -> dict[Hashable, int]:
        with self._lock:
            values = self._state[row].tolist()
        return dict(zip(self._names, values))

    @property
    def weights(self) -> dict[Hashable, int]:
        """name -> configured weight."""
        return self._row(_WEIGHT)

    @property
    def effective_weights(self) -> dict[Hashable, int]:
        """name -> effective weight (lowered by failures, recovering by one per choice)."""
        return self._row(_EFFECTIVE)

    @property
    def current_weights(self) -> dict[Hashable, int]:
        """name -> current weight (nginx's ``current_weight``)."""
        return self._row(_CURRENT)

    def __len__(self) -> int:
        return len(self._names)

    def __repr__(self) -> str:
        return f"SmoothWeightedRoundRobin({self.weights!r})"

    def _i(self, name: Hashable) -> int:
        try:
            return self._index[name]
        except (KeyError, TypeError):
            raise KeyError(f"unknown peer {name!r}") from None

    def _now(self) -> int:
        return _ns(self._clock())

    def next_index(self) -> int:
        """The next peer's index.

        Examples
        --------
        >>> from fastring import SmoothWeightedRoundRobin
        >>> wrr = SmoothWeightedRoundRobin({"a": 2, "b": 1})
        >>> [wrr.next_index() for _ in range(3)]
        [0, 1, 0]
        """
        # Without failure handling the clock plays no part: do not call it.
        now = int(self._clock() * 1e9) if self._max_fails else 0
        with self._lock:
            best = self._table.next(now, self._max_fails, self._timeout_ns)
        if best < 0:
            raise NoAvailableNode(f"all {len(self._names)} nodes are down")
        return best

    @property
    def _unlocked_table(self) -> Any:
        """The SwrrTable, for an owner that steps it under its own lock with failure
        handling off (``max_fails=0``): RoundRobin's balancer core."""
        if self._max_fails:
            raise ValueError("the table is stepped without failure handling: build with max_fails=0")
        return self._table

    def next(self) -> Hashable:
        """The next peer's name.

        Raises
        ------
        NoAvailableNode
            Every peer is down or failing.

        Examples
        --------
        >>> from fastring import SmoothWeightedRoundRobin
        >>> wrr = SmoothWeightedRoundRobin({"a": 5, "b": 1, "c": 1})
        >>> [wrr.next() for _ in range(7)]     # nginx's sequence
        ['a', 'a', 'b', 'a', 'c', 'a', 'a']
        """
        name: Hashable = self._names[self.next_index()]
        return name

    def next_many(self, n: int) -> np.ndarray:
        """The next ``n`` peers' indices as an int64 array (one compiled loop).

        The batch is chosen at one instant of the clock (as nginx's cached time within
        one event-loop turn). If no peer is available before the batch is complete,
        NoAvailableNode is raised and the state is left as it was.

        Examples
        --------
        >>> from fastring import SmoothWeightedRoundRobin
        >>> SmoothWeightedRoundRobin({"a": 5, "b": 1, "c": 1}).next_many(7).tolist()
        [0, 0, 1, 0, 2, 0, 0]
        """
        n = check_int(n, "n", 0)
        out = np.empty(n, dtype=np.int64)
        now = self._now()
        with self._lock:
            saved = self._state.copy()
            made = _select.swrr_next_many(self._view, now, self._max_fails, self._timeout_ns, out)
            if made < n:
                self._state[...] = saved
        if made < n:
            raise NoAvailableNode(f"all {len(self._names)} nodes are down")
        return out

    def report_failure(self, name: Hashable) -> None:
        """Count a failed request to ``name`` (nginx's ``NGX_PEER_FAILED``).

        ``fails += 1``; the effective weight drops by ``weight // max_fails`` (floored
        at 0); with ``fails >= max_fails`` the peer is skipped for ``fail_timeout``.

        Examples
        --------
        >>> from fastring import SmoothWeightedRoundRobin
        >>> wrr = SmoothWeightedRoundRobin({"a": 1, "b": 1}, max_fails=1, fail_timeout=30)
        >>> wrr.report_failure("a")
        >>> wrr.is_up("a"), {wrr.next() for _ in range(4)}
        (False, {'b'})
        """
        i = self._i(name)
        now = self._now()
        with self._lock:
            s = self._state
            s[_FAILS, i] += 1
            s[_ACCESSED, i] = now
            s[_CHECKED, i] = now
            if self._max_fails:
                s[_EFFECTIVE, i] -= s[_WEIGHT, i] // self._max_fails
            if s[_EFFECTIVE, i] < 0:
                s[_EFFECTIVE, i] = 0

    def report_success(self, name: Hashable) -> None:
        """Count a successful request: clears the failures once the peer was re-checked.

        Examples
        --------
        >>> from fastring import SmoothWeightedRoundRobin
        >>> wrr = SmoothWeightedRoundRobin({"a": 4, "b": 1}, max_fails=2)
        >>> wrr.report_failure("a")
        >>> wrr.report_success("a")
        >>> wrr.is_up("a")
        True
        """
        i = self._i(name)
        with self._lock:
            s = self._state
            if s[_ACCESSED, i] < s[_CHECKED, i]:
                s[_FAILS, i] = 0

    def mark_down(self, name: Hashable) -> None:
        """Take ``name`` out of the rotation (nginx's ``down``) until :meth:`mark_up`.

        Examples
        --------
        >>> from fastring import SmoothWeightedRoundRobin
        >>> wrr = SmoothWeightedRoundRobin({"a": 1, "b": 1})
        >>> wrr.mark_down("a")
        >>> [wrr.next() for _ in range(3)]
        ['b', 'b', 'b']
        """
        i = self._i(name)
        with self._lock:
            self._state[_DOWN, i] = 1

    def mark_up(self, name: Hashable) -> None:
        """Put ``name`` back and forget its failures.

        Examples
        --------
        >>> from fastring import SmoothWeightedRoundRobin
        >>> wrr = SmoothWeightedRoundRobin({"a": 1, "b": 1})
        >>> wrr.mark_down("a")
        >>> wrr.mark_up("a")
        >>> sorted({wrr.next() for _ in range(4)})
        ['a', 'b']
        """
        i = self._i(name)
        with self._lock:
            self._state[_DOWN, i] = 0
            self._state[_FAILS, i] = 0

    def is_up(self, name: Hashable) -> bool:
        """False if ``name`` was marked down or is out for failures right now.

        Examples
        --------
        >>> from fastring import SmoothWeightedRoundRobin
        >>> wrr = SmoothWeightedRoundRobin({"a": 1, "b": 1})
        >>> wrr.is_up("a")
        True
        """
        i = self._i(name)
        now = self._now()
        with self._lock:
            s = self._state
            if s[_DOWN, i]:
                return False
            failing = self._max_fails and s[_FAILS, i] >= self._max_fails
            return not (failing and now - s[_CHECKED, i] <= self._timeout_ns)

    def reset(self) -> None:
        """Back to the initial state: current weights 0, no failures, every peer up.

        Examples
        --------
        >>> from fastring import SmoothWeightedRoundRobin
        >>> wrr = SmoothWeightedRoundRobin({"a": 2, "b": 1})
        >>> first = [wrr.next() for _ in range(3)]
        >>> wrr.reset()
        >>> [wrr.next() for _ in range(3)] == first
        True
        """
        with self._lock:
            self._state[...] = _initial_state(self._state[_WEIGHT].copy())
