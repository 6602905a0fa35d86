"""Jump, JumpBack, Memento, Rendezvous and Maglev: consistent hashing without a ring.

* :func:`jump_hash` -- Jump consistent hash (Lamping & Veach 2014): key -> bucket in
  ``[0, n)``; growing ``n`` moves keys only to the new bucket. No memory.
* :func:`jumpback_hash` -- JumpBackHash (Ertl 2024): the same contract, integer
  arithmetic only, O(1) expected time whatever ``n``.
* :class:`MementoRouter` -- MementoHash (Coluzzi, Brocco, Antonucci, Leidi 2023): jump
  hash over named nodes plus a table of removed buckets, so any node can leave (only
  its keys move) and come back.
* :class:`Rendezvous` -- weighted highest-random-weight hashing (logarithmic method):
  every node scores every key, the best score wins; ``replicas`` are the best ``n``.
* :class:`Maglev` -- Maglev hashing (Eisenbud et al., NSDI 2016): a prime-sized lookup
  table filled from per-node permutations; a lookup is one table read.

Every router has ``nodes`` (a tuple of names; index ``i`` is node ``i``),
``lookup(key) -> name`` and ``lookup_many(keys) -> int32 array of node indices``, taking
every key container :func:`fastring.hash_keys` accepts. Keys are hashed once with
``algorithm`` (see :data:`fastring.ALGORITHMS`); the hot loops run in the compiled twin
with the GIL released, and the pure-Python twin gives the same answers bit for bit.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar, cast

import numpy as np
from numpy.typing import NDArray

from . import _routers, _routers_py
from ._keycontract_py import int_key_bits
from ._keys import as_key_batch, integer_keys
from ._nodeset import N, NodeSet
from ._params import (
    check_count,
    check_int,
    check_new_node,
    check_weight,
    empty_router_error,
    frozen,
    node_label,
    parse_node_pairs,
    parse_nodes,
)
from ._hashfuncs_py import mix64 as _mix64
from ._algorithms import resolve_algorithm
from .hashing import hash_in_chunks, hash_key, hash_keys
from ._threads import SMALL_BATCH, check_threads, run_sliced

__all__ = ["JumpRouter", "Maglev", "MementoRouter", "Rendezvous", "jump_hash", "jumpback_hash"]

_MAX_BUCKETS = 2**31 - 1
_PICKLE_VERSION = 1

# Salts that turn a node name's hash into independent 64-bit values (per-node seeds
# of Rendezvous, offset and skip of Maglev).
_SALT_SEED = 0x5851F42D4C957F2D
_SALT_OFFSET = 0x2545F4914F6CDD1D
_SALT_SKIP = 0x9E3779B97F4A7C15


# --------------------------------------------------------------------------- keys


def _is_container(keys: Any) -> bool:
    if isinstance(keys, (str, bytes, bytearray)):
        return False
    if isinstance(keys, np.ndarray):
        return keys.ndim != 0
    return (
        isinstance(keys, Iterable)
        or hasattr(keys, "__arrow_c_stream__")
        or hasattr(keys, "__arrow_c_array__")
    )


def _hashes(keys: Any, algorithm: str, threads: int = 1) -> np.ndarray:
    """Key hashes as uint64 (32-bit algorithms zero-extended)."""
    out = hash_keys(keys, algorithm, threads=threads)
    if out.dtype != np.uint64:
        out = out.astype(np.uint64)
    return out


def _hash_one(key: Any, algorithm: str) -> np.ndarray:
    return np.array([hash_key(key, algorithm)], dtype=np.uint64)


# --------------------------------------------------------------------------- jump


def _check_buckets(num_buckets: Any) -> int:
    return check_int(num_buckets, "num_buckets", 1, _MAX_BUCKETS)


def _bucket_hashes(keys: Any, algorithm: str | None) -> np.ndarray:
    if algorithm is None:
        return integer_keys(keys)
    return _hashes(keys, algorithm)


def _bucket_hash(key: Any, algorithm: str | None) -> int:
    if algorithm is None:
        return int_key_bits(key)
    return hash_key(key, algorithm)


def _jump_hash(keys: Any, num_buckets: int, *, algorithm: str | None = "xxh64") -> Any:
    """Jump consistent hash (Lamping & Veach 2014): each key's bucket in ``[0, num_buckets)``.

    Going from ``n`` to ``n + 1`` buckets moves about ``1/(n + 1)`` of the keys, all of
    them to the new bucket ``n``; no other key moves. Buckets can only be added or
    removed at the end (see :class:`MementoRouter` for arbitrary removals).

    Parameters
    ----------
    keys : key or key container
        One key (str, bytes, int) or any container :func:`fastring.hash_keys` accepts.
    num_buckets : int
        In ``[1, 2**31 - 1]``.
    algorithm : str or None
        Hash applied to the keys first (one of :data:`fastring.ALGORITHMS`). ``None``
        takes integer keys as they are (their uint64 bits): the result then equals
        ``jump.hash(key, num_buckets)`` of the jump-consistent-hash package and the C++
        code of the paper, and Guava's ``Hashing.consistentHash(key, num_buckets)``
        except on LCG states whose top 31 bits are all ones (probability 2**-31 per
        step), where Guava's ``int`` overflow ends its loop early.

    Returns
    -------
    int or numpy.ndarray
        An int for one key, else an int32 array of buckets.

    Raises
    ------
    ValueError
        ``num_buckets`` outside ``[1, 2**31 - 1]``, or an unknown algorithm.
    TypeError
        A key outside the key contract, or a non-integer key with ``algorithm=None``
        (the message names its position).

    Examples
    --------
    >>> import numpy as np
    >>> from fastring import jump_hash
    >>> jump_hash(12345, 10, algorithm=None)  # == jump.hash(12345, 10)
    1
    >>> jump_hash(np.array([12345, 2**63], dtype=np.uint64), 10, algorithm=None)
    array([1, 5], dtype=int32)
    >>> jump_hash("user:42", 100)
    74
    >>> b10, b11 = jump_hash(np.arange(1000), 10), jump_hash(np.arange(1000), 11)
    >>> set(b11[b10 != b11].tolist())
    {10}
    """
    return _buckets(keys, num_buckets, algorithm, _routers.jump_one, _routers.jump_many)


def _jumpback_hash(keys: Any, num_buckets: int, *, algorithm: str | None = "xxh64") -> Any:
    """JumpBackHash (Ertl 2024): consistent buckets with integer arithmetic, O(1) time.

    Same contract as :func:`jump_hash` (growing ``n`` moves keys only to the new bucket;
    keys spread uniformly) but it needs no floating point and a constant expected
    number of steps for any ``n``, so it is faster for large ``n``. The key's 64-bit hash
    seeds SplitMix64, as in hash4j's ``ConsistentHashing.jumpBackHash(
    PseudoRandomGeneratorProvider.splitMix64_V1())``: with ``algorithm=None`` the result
    is that function's ``getBucket(key, num_buckets)``.

    Parameters
    ----------
    keys : key or key container
        See :func:`jump_hash`.
    num_buckets : int
        In ``[1, 2**31 - 1]``.
    algorithm : str or None
        See :func:`jump_hash`.

    Returns
    -------
    int or numpy.ndarray
        An int for one key, else an int32 array of buckets.

    Examples
    --------
    >>> import numpy as np
    >>> from fastring import jumpback_hash
    >>> b = jumpback_hash(np.arange(100_000), 7)
    >>> np.bincount(b).tolist()
    [14313, 14263, 14298, 14309, 14310, 14198, 14309]
    >>> b8 = jumpback_hash(np.arange(100_000), 8)
    >>> set(b8[b != b8].tolist())
    {7}
    """
    return _buckets(keys, num_buckets, algorithm, _routers.jumpback_one, _routers.jumpback_many)


# fastring.jump_hash and jumpback_hash are the live twin's own functions: the compiled
# ones answer one int (or str/bytes) without a Python frame and hand everything else
# to the implementations above (see _routers_c).
jump_hash = _routers.jump_hash
jumpback_hash = _routers.jumpback_hash
jump_hash.__doc__ = _routers_py.jump_hash.__doc__ = _jump_hash.__doc__
jumpback_hash.__doc__ = _routers_py.jumpback_hash.__doc__ = _jumpback_hash.__doc__


def _buckets(keys: Any, num_buckets: int, algorithm: str | None, one: Any, many: Any) -> Any:
    """Shared body of jump_hash and jumpback_hash: validate, hash, then run the
    kernel for one key (``one``) or for a batch (``many``)."""
    num_buckets = _check_buckets(num_buckets)
    if algorithm is not None:
        resolve_algorithm(algorithm)
    if not _is_container(keys):
        return int(one(_bucket_hash(keys, algorithm), num_buckets))
    hashes = _bucket_hashes(keys, algorithm)
    out = np.empty(len(hashes), dtype=np.int32)
    many(hashes, num_buckets, out)
    return out


# --------------------------------------------------------------------------- routers


def _check_version(data: Any, kind: str) -> None:
    if not isinstance(data, dict) or data.get("version") != _PICKLE_VERSION:
        version = data.get("version") if isinstance(data, dict) else None
        raise ValueError(f"unsupported {kind} pickle version {version!r}")


_R = TypeVar("_R", bound="_Router[Any]")


class _Router(NodeSet[N]):
    """Shared plumbing: the algorithm, the lock, copying, batch lookups, and the
    compiled one-key lookup of the current state (``self._one``)."""

    __slots__ = ("_current", "_keyed", "_one", "_algorithm", "_lock")

    _kind = "router"
    _current: Any  # the state: immutable, replaced whole on every change
    _keyed: Any  # the kernels' KeyLookup of the state
    _one: Callable[[Any], N]  # its bound lookup
    _algorithm: str | None  # None: JumpRouter taking integer keys as they are
    _lock: threading.Lock

    @property
    def _state(self) -> Any:
        return self._current

    @_state.setter
    def _state(self, state: Any) -> None:
        # Every new state gets its one-key lookup at once. A lookup running while
        # another thread changes the router uses the old pair or the new one, each
        # consistent in itself (the lookup holds its own arrays and names).
        self._current = state
        if state is not None:  # None only inside __init__, before the first state
            self._keyed = self._one_key(state)
            self._one = self._keyed.lookup

    def _one_key(self, state: Any) -> Any:
        raise NotImplementedError  # pragma: no cover - abstract

    def _key_lookup(self, kind: str, state: Any, size: int, arrays: tuple[Any, ...] = ()) -> Any:
        """A KeyLookup of ``kind`` for ``state``, hashing keys with the router's
        algorithm; its bound ``lookup`` (the cheapest call there is) is ``self._one``."""
        algorithm = self._algorithm
        if algorithm is None:
            algo, hash_one = -1, int_key_bits
        else:
            algo = resolve_algorithm(algorithm)[0]
            hash_one = functools.partial(hash_key, algorithm=algorithm)
        empty = str(empty_router_error(self._kind))
        return _routers.KeyLookup(kind, algo, hash_one, tuple(state.names), empty, size, arrays)

    def lookup(self, key: Any) -> N:
        """The node of one key.

        Raises
        ------
        LookupError
            The router has no nodes.
        TypeError, ValueError, OverflowError
            A key outside the key contract.

        Examples
        --------
        >>> from fastring import MementoRouter
        >>> MementoRouter(["a", "b", "c"]).lookup("user:42")
        'a'
        """
        return self._one(key)

    def _init(self, algorithm: str, state: Any) -> None:
        resolve_algorithm(algorithm)
        self._algorithm = algorithm
        self._state = state
        # Changes are read-modify-write of the state: one at a time. Lookups take no
        # lock: they read whichever immutable state is current.
        self._lock = threading.Lock()

    @property
    def algorithm(self) -> str:
        """The key hash (one of :data:`fastring.ALGORITHMS`)."""
        algorithm = self._algorithm
        assert algorithm is not None  # only JumpRouter has none, and says so in its own
        return algorithm

    def _params(self) -> dict[str, Any]:
        return cast("dict[str, Any]", self.__getstate__())  # Python values only: nodes, weights, parameters

    def copy(self: _R) -> _R:
        """An independent copy (same lookups).

        Examples
        --------
        >>> from fastring import Rendezvous
        >>> r = Rendezvous(["a", "b"])
        >>> c = r.copy()
        >>> c.remove("a")
        >>> r.nodes, c.nodes
        (('a', 'b'), ('b',))
        """
        clone = object.__new__(type(self))
        # self._algorithm is None only for a JumpRouter, whose _init takes None.
        clone._init(self._algorithm, self._state)  # type: ignore[arg-type]  # states are immutable: shared
        return clone

    __copy__ = copy

    def __deepcopy__(self: _R, memo: Any) -> _R:
        return self.copy()

    def _lookup_many(self, keys: Any, kernel: Any, threads: Any) -> NDArray[np.int32]:
        """``kernel(state, hashes, out)`` fills the int32 node indices (of the state read
        once, so a concurrent change is never half seen), fed the key hashes a chunk at
        a time (the whole batch's hashes never exist), in up to ``threads`` slices."""
        if type(keys) is list and len(keys) <= SMALL_BATCH and type(threads) is int and threads == 1:
            small: NDArray[np.int32] | None = self._keyed.many(keys)  # a key at a time: no batch set-up
            if small is not None:
                return small
        threads = check_threads(threads)
        state = self._state
        if self._algorithm is None:  # JumpRouter on integer keys: the keys are the hashes
            values = integer_keys(keys)
            out = np.empty(len(values), dtype=np.int32)
            if len(values):
                if not state.names:
                    raise empty_router_error(self._kind)
                run_sliced(len(values), threads, lambda a, b: kernel(state, values[a:b], out[a:b]))
            return out
        batch = as_key_batch(keys)
        out = np.empty(len(batch), dtype=np.int32)
        if len(batch):
            if not state.names:
                raise empty_router_error(self._kind)
            algo = resolve_algorithm(self._algorithm)[0]
            hash_in_chunks(batch, algo, 0, np.uint64, threads, lambda a, b, h: kernel(state, h, out[a:b]))
        return out

    def _index(self, name: Any) -> int:
        try:
            return int(self._state.where[name])
        except (KeyError, TypeError):
            raise KeyError(f"node {name!r} is not in the {self._kind}") from None


# --------------------------------------------------------------------------- batch kernels
# Each takes (state, hashes, out); looked up on the selector at call time.


def _memento_many(state: Any, hashes: np.ndarray, out: np.ndarray) -> None:
    if not state.removed:
        # Buckets 0..size-1 all work and bucket b is node b: plain jump.
        _routers.jump_many(hashes, state.size, out)
    else:
        _routers.memento_many(hashes, state.size, state.replacer, state.index, out)


def _jump_many(state: Any, hashes: np.ndarray, out: np.ndarray) -> None:
    _routers.jump_many(hashes, len(state.names), out)


def _rendezvous_many(state: Any, hashes: np.ndarray, out: np.ndarray) -> None:
    _routers.rendezvous_many(hashes, state.seeds, state.inv_weights, out)


def _maglev_many(state: Any, hashes: np.ndarray, out: np.ndarray) -> None:
    _routers.maglev_many(hashes, state.table, out)


# --------------------------------------------------------------------------- memento


class _MementoState:
    """Immutable MementoHash state (a new one replaces it on every change)."""

    __slots__ = ("size", "slots", "removed", "last", "names", "where", "bucket_of", "replacer", "index")

    def __init__(self, size: int, slots: tuple[Any, ...], removed: tuple[Any, ...], last: int) -> None:
        self.size = size  # the b-array size: jump's bucket count
        self.slots = slots  # slots[b]: (name,) for a working bucket, () for a removed one
        self.removed = removed  # ((bucket, replacer, previous last), ...) in removal order
        self.last = last  # the last removed bucket (size when none is removed)
        self.names = tuple(slot[0] for slot in slots if slot)
        self.where = {name: i for i, name in enumerate(self.names)}
        self.bucket_of = {slot[0]: b for b, slot in enumerate(slots) if slot}
        replacer = np.full(size, -1, dtype=np.int32)
        for bucket, rep, _ in removed:
            replacer[bucket] = rep
        index = np.full(size, -1, dtype=np.int32)
        live = np.flatnonzero(replacer < 0)
        index[live] = np.arange(len(live), dtype=np.int32)
        self.replacer = frozen(replacer)
        self.index = frozen(index)


class MementoRouter(_Router[N]):
    """MementoHash (Coluzzi, Brocco, Antonucci, Leidi 2023) over named nodes.

    Nodes are buckets of :func:`jump_hash`. Removing the last bucket shrinks jump's range
    as usual; removing any other node records it in a small replacement table (the
    "memento"), and a key that jump sends to a removed bucket is rehashed into the
    working set that was left when that bucket went away. So:

    * removing a node moves only that node's keys, spread evenly over the others;
    * :meth:`add` first brings back the most recently removed bucket (last in, first
      out, as in the paper), moving to it exactly the keys it lost; with nothing
      removed it appends a new bucket, which takes keys only from the others;
    * with nothing removed a lookup costs what :func:`jump_hash` costs.

    Parameters
    ----------
    nodes : iterable
        Node names (hashable, distinct); node ``i`` starts as bucket ``i``.
    algorithm : str
        Key hash, one of :data:`fastring.ALGORITHMS`.

    Notes
    -----
    ``nodes`` lists the working nodes in bucket order, so removing a node shifts the
    indices :meth:`lookup_many` returns for the nodes after it; names never change.
    The key of a removed bucket ``b`` is rehashed with SplitMix64's finalizer of
    ``hash + (b + 1) * 0x9E3779B97F4A7C15``, reduced modulo the working-set size.

    Examples
    --------
    >>> import numpy as np
    >>> from fastring import MementoRouter
    >>> router = MementoRouter(["a", "b", "c", "d"])
    >>> keys = np.arange(10_000)
    >>> before = np.array(router.nodes)[router.lookup_many(keys)]
    >>> router.remove("b")
    >>> after = np.array(router.nodes)[router.lookup_many(keys)]
    >>> set(before[before != after].tolist())
    {'b'}
    >>> router.add("e")  # takes bucket 1, the one "b" left
    >>> router.nodes
    ('a', 'e', 'c', 'd')
    """

    __slots__ = ()
    _kind = "memento router"

    def __init__(self, nodes: Iterable[N] = (), *, algorithm: str = "xxh64") -> None:
        names, _ = parse_nodes(nodes, weighted=False)
        self._init(algorithm, _MementoState(len(names), tuple((name,) for name in names), (), len(names)))

    def __repr__(self) -> str:
        state = self._state
        return (
            f"MementoRouter({len(state.names)} nodes, {len(state.removed)} removed buckets, "
            f"algorithm={self._algorithm!r})"
        )

    @property
    def buckets(self) -> dict[str, Any]:
        """Node name -> its jump bucket."""
        return dict(self._state.bucket_of)

    @property
    def removed_buckets(self) -> tuple[int, ...]:
        """Removed buckets still remembered, oldest first (:meth:`add` reuses the last)."""
        return tuple(bucket for bucket, _, _ in self._state.removed)

    def _one_key(self, state: Any) -> Any:
        if not state.removed:  # buckets 0..size-1 all work and bucket b is node b: plain jump
            return self._key_lookup("jump", state, state.size)
        return self._key_lookup("memento", state, state.size, (state.replacer, state.index))

    def lookup_many(self, keys: Any, *, threads: int = 1) -> NDArray[np.int32]:
        """The node index (into :attr:`nodes`) of every key: an int32 array.

        ``threads`` splits a large batch into parts routed in parallel (as in
        :func:`fastring.hash_keys`); the answer is the same.

        Examples
        --------
        >>> from fastring import MementoRouter
        >>> m = MementoRouter(["a", "b", "c"])
        >>> [m.nodes[i] for i in m.lookup_many(["user:1", "user:2"])] == [m.lookup("user:1"), m.lookup("user:2")]
        True
        """
        return self._lookup_many(keys, _memento_many, threads)

    def add(self, name: N) -> None:
        """Add node ``name`` in the most recently removed bucket, or in a new last one.

        Examples
        --------
        >>> from fastring import MementoRouter
        >>> m = MementoRouter(["a", "b", "c"])
        >>> m.remove("b")
        >>> m.add("d")            # takes the bucket b left
        >>> m.buckets
        {'a': 0, 'd': 1, 'c': 2}
        """
        with self._lock:
            self._add(name)

    def _add(self, name: Any) -> None:
        state = self._state
        check_new_node(name, state.names, kind=self._kind)
        slots = list(state.slots)
        if not state.removed:
            if len(slots) >= _MAX_BUCKETS:
                raise ValueError("the memento router is full (2**31 - 1 buckets)")
            slots.append((name,))
            self._state = _MementoState(state.size + 1, tuple(slots), (), state.size + 1)
            return
        bucket, _, previous = state.removed[-1]
        slots[bucket] = (name,)
        self._state = _MementoState(state.size, tuple(slots), state.removed[:-1], previous)

    def remove(self, name: N) -> None:
        """Remove node ``name``: only the keys it held move (to the other nodes).

        Examples
        --------
        >>> from fastring import MementoRouter
        >>> m = MementoRouter(["a", "b", "c"])
        >>> before = [m.lookup(f"k{i}") for i in range(1000)]
        >>> m.remove("b")
        >>> after = [m.lookup(f"k{i}") for i in range(1000)]
        >>> all(x == y for x, y in zip(before, after) if x != "b")   # only b's keys move
        True
        """
        with self._lock:
            self._remove(name)

    def _remove(self, name: Any) -> None:
        state = self._state
        self._index(name)  # KeyError if absent
        bucket = state.bucket_of[name]
        working = len(state.names)
        if working == 1:
            self._state = _MementoState(0, (), (), 0)
        elif not state.removed and bucket == state.size - 1:
            # The last bucket of a table with no removals: jump's own shrink.
            self._state = _MementoState(state.size - 1, state.slots[:-1], (), state.size - 1)
        else:
            slots = list(state.slots)
            slots[bucket] = ()
            removed = state.removed + ((bucket, working - 1, state.last),)
            self._state = _MementoState(state.size, tuple(slots), removed, bucket)

    def __getstate__(self) -> dict[str, Any]:
        state = self._state
        return {
            "version": _PICKLE_VERSION,
            "algorithm": self._algorithm,
            "size": state.size,
            "slots": [list(slot) for slot in state.slots],
            "removed": [list(entry) for entry in state.removed],
            "last": state.last,
        }

    def __setstate__(self, data: dict[str, Any]) -> None:
        _check_version(data, "MementoRouter")
        self._init(data["algorithm"], _memento_state(data["size"], data["slots"], data["removed"], data["last"]))


def _memento_state(size: Any, slots: Any, removed: Any, last: Any) -> _MementoState:
    """A pickled MementoHash state, checked to be one that add/remove can reach.

    The kernels follow replacer chains without the GIL, so a table that loops or
    points outside the buckets must never load. Reachable states are exactly: removal
    ``k`` (0-based, oldest first) of bucket ``b_k`` recorded ``(b_k, size - k - 1,
    previous last)``, where ``previous last`` is ``b_{k-1}`` (``size`` for the first),
    ``last`` is the newest removed bucket (``size`` with none), and the removed
    buckets are exactly the empty slots.
    """

    def corrupt(why: str) -> ValueError:
        return ValueError(f"corrupt MementoRouter state: {why}")

    size = check_int(size, "size", 0, _MAX_BUCKETS)
    if not isinstance(slots, (list, tuple)) or len(slots) != size:
        raise corrupt(f"{size} buckets need {size} slots")
    if not all(isinstance(slot, (list, tuple)) and len(slot) <= 1 for slot in slots):
        raise corrupt("a slot holds one name or none")
    parse_nodes([slot[0] for slot in slots if slot], weighted=False)  # names distinct, hashable
    if not isinstance(removed, (list, tuple)) or not all(
        isinstance(entry, (list, tuple)) and len(entry) == 3 for entry in removed
    ):
        raise corrupt("removed is a list of (bucket, replacer, previous last) triples")
    empty = [b for b, slot in enumerate(slots) if not slot]
    buckets = [entry[0] for entry in removed]
    if sorted(buckets) != empty:
        raise corrupt("the removed buckets must be exactly the empty slots")
    if size and len(removed) >= size:
        raise corrupt("at least one bucket must be working")
    previous = size
    for k, (bucket, replacer, before) in enumerate(removed):
        if replacer != size - k - 1 or before != previous:
            raise corrupt(f"removal {k} of bucket {bucket} does not follow the ones before it")
        previous = bucket
    if last != previous:
        raise corrupt(f"last is {last!r}, expected {previous}")
    return _MementoState(
        size, tuple(tuple(slot) for slot in slots), tuple(tuple(entry) for entry in removed), last
    )


# --------------------------------------------------------------------------- jump router


class _JumpState:
    """Immutable node list: bucket ``i`` is node ``i``."""

    __slots__ = ("names", "where")

    def __init__(self, names: tuple[Any, ...]) -> None:
        self.names = names
        self.where = {name: i for i, name in enumerate(names)}


class JumpRouter(_Router[N]):
    """:func:`jump_hash` over named nodes: bucket ``i`` is ``nodes[i]``.

    The smallest and fastest router with minimal disruption when nodes are added or
    removed *at the end* (a shard count that grows and shrinks). Removing any other
    node would renumber the buckets after it, so :meth:`remove` takes only the last
    node; use :class:`MementoRouter` (jump hash plus a replacement table) for
    arbitrary removals.

    Parameters
    ----------
    nodes : iterable
        Node names (hashable, distinct), in bucket order.
    algorithm : str or None
        Key hash (one of :data:`fastring.ALGORITHMS`), or ``None`` to take integer keys
        as they are: then ``lookup_many(keys)`` equals ``jump_hash(keys, len(nodes),
        algorithm=None)``, Guava's ``consistentHash`` and ``jump.hash``.

    Examples
    --------
    >>> from fastring import JumpRouter, jump_hash
    >>> router = JumpRouter(["a", "b", "c"])
    >>> router.lookup("user:42") == router.nodes[jump_hash("user:42", 3)]
    True
    >>> JumpRouter([f"s{i}" for i in range(10)], algorithm=None).lookup(12345)  # jump.hash(12345, 10) == 1
    's1'
    """

    __slots__ = ()
    _kind = "jump router"

    def __init__(self, nodes: Iterable[N] = (), *, algorithm: str | None = "xxh64") -> None:
        names, _ = parse_nodes(nodes, weighted=False)
        if len(names) > _MAX_BUCKETS:
            raise ValueError(f"jump hash takes at most 2**31 - 1 nodes, got {len(names)}")
        self._init(algorithm, _JumpState(names))

    def _init(self, algorithm: str | None, state: Any) -> None:
        if algorithm is None:  # integer keys as they are
            self._algorithm, self._state, self._lock = None, state, threading.Lock()
        else:
            super()._init(algorithm, state)

    @property
    def algorithm(self) -> str | None:  # type: ignore[override]  # None: integer keys
        """The key hash (one of :data:`fastring.ALGORITHMS`), or None for integer keys as they are."""
        return self._algorithm

    def __repr__(self) -> str:
        return f"JumpRouter({len(self._state.names)} nodes, algorithm={self._algorithm!r})"

    def _one_key(self, state: Any) -> Any:
        return self._key_lookup("jump", state, len(state.names))

    def lookup_many(self, keys: Any, *, threads: int = 1) -> NDArray[np.int32]:
        """The node index (into :attr:`nodes`) of every key: an int32 array
        (``threads`` parallel parts for a large batch, same answer).

        Examples
        --------
        >>> import numpy as np
        >>> from fastring import JumpRouter, jump_hash
        >>> j = JumpRouter(["s0", "s1", "s2"], algorithm=None)     # integer keys as they are
        >>> j.lookup_many(np.arange(6, dtype=np.uint64)).tolist() == jump_hash(np.arange(6, dtype=np.uint64), 3, algorithm=None).tolist()
        True
        """
        return self._lookup_many(keys, _jump_many, threads)

    def add(self, name: N) -> None:
        """Add node ``name`` as the new last bucket: it takes ``1/len(nodes)`` of the
        keys, from every other node; no other key moves.

        Examples
        --------
        >>> from fastring import JumpRouter
        >>> j = JumpRouter(["s0", "s1"])
        >>> j.add("s2")
        >>> j.nodes
        ('s0', 's1', 's2')
        """
        with self._lock:
            state = self._state
            check_new_node(name, state.names, kind=self._kind)
            if len(state.names) >= _MAX_BUCKETS:
                raise ValueError("the jump router is full (2**31 - 1 buckets)")
            self._state = _JumpState(state.names + (name,))

    def remove(self, name: N) -> None:
        """Remove the last node (its keys spread over the others; no other key moves).

        Raises
        ------
        KeyError
            ``name`` is not a node.
        ValueError
            ``name`` is not the last node: jump hash cannot remove it without moving
            other keys (use :class:`MementoRouter`).

        Examples
        --------
        >>> from fastring import JumpRouter
        >>> j = JumpRouter(["s0", "s1", "s2"])
        >>> j.remove("s2")        # only the last bucket can go
        >>> j.nodes
        ('s0', 's1')
        """
        with self._lock:
            i = self._index(name)
            names = self._state.names
            if i != len(names) - 1:
                raise ValueError(
                    f"jump hash removes only its last node ({names[-1]!r}); {name!r} is bucket {i} of "
                    f"{len(names)}: use MementoRouter to remove any node"
                )
            self._state = _JumpState(names[:-1])

    def __getstate__(self) -> dict[str, Any]:
        return {"version": _PICKLE_VERSION, "algorithm": self._algorithm, "nodes": list(self._state.names)}

    def __setstate__(self, data: dict[str, Any]) -> None:
        _check_version(data, "JumpRouter")
        algorithm = data.get("algorithm")
        if algorithm is not None:
            resolve_algorithm(algorithm)
        names, _ = parse_nodes(data.get("nodes", ()), weighted=False)
        self._init(algorithm, _JumpState(names))


# --------------------------------------------------------------------------- rendezvous


class _WeightedState:
    """Immutable node list with weights and per-node hash-derived values."""

    __slots__ = ("names", "weights", "labels", "where", "name_hashes")

    def __init__(
        self, names: tuple[Any, ...], weights: tuple[float, ...], labels: tuple[str, ...], name_hashes: tuple[int, ...]
    ) -> None:
        self.names = names
        self.weights = weights
        self.labels = labels
        self.name_hashes = name_hashes
        self.where = {name: i for i, name in enumerate(names)}


class _WeightedRouter(_Router[N]):
    """Rendezvous and Maglev: named nodes with weights, rebuilt from (name, weight)
    pairs on every change; subclasses say how a state is made (``_new_state``)."""

    __slots__ = ()

    def _make_state(self, names: tuple[Any, ...], weights: Iterable[Any]) -> _WeightedState:
        labels = tuple(node_label(name) for name in names)
        hashes = tuple(hash_key(label, self.algorithm) for label in labels)
        return self._new_state(names, tuple(float(w) for w in weights), labels, hashes)

    def _new_state(
        self, names: tuple[Any, ...], weights: tuple[float, ...], labels: tuple[str, ...], name_hashes: tuple[int, ...]
    ) -> _WeightedState:
        raise NotImplementedError  # pragma: no cover - abstract

    @property
    def weights(self) -> tuple[float, ...]:
        """Node weights as floats, aligned with :attr:`nodes`."""
        weights: tuple[float, ...] = self._state.weights
        return weights

    def add(self, name: N, weight: float = 1) -> None:
        """Add node ``name`` (appended to :attr:`nodes`). Rendezvous moves keys only to
        it; Maglev rebuilds its table, moving a few other keys too.

        Examples
        --------
        >>> from fastring import Rendezvous
        >>> r = Rendezvous({"a": 1, "b": 1})
        >>> r.add("c", weight=2)
        >>> r.nodes, r.weights
        (('a', 'b', 'c'), (1.0, 1.0, 2.0))
        """
        weight = float(check_weight(name, weight))
        with self._lock:
            state = self._state
            check_new_node(name, state.names, state.labels, self._kind)
            self._state = self._make_state(state.names + (name,), state.weights + (weight,))

    def remove(self, name: N) -> None:
        """Remove node ``name``; later nodes' indices shift down by one. Rendezvous moves
        only its keys; Maglev rebuilds its table (disruption bounded, not minimal).

        Examples
        --------
        >>> from fastring import Maglev
        >>> m = Maglev(["a", "b", "c"], table_size=251)
        >>> m.remove("a")
        >>> m.nodes
        ('b', 'c')
        """
        with self._lock:
            i = self._index(name)
            state = self._state
            self._state = self._new_state(
                state.names[:i] + state.names[i + 1 :],
                state.weights[:i] + state.weights[i + 1 :],
                state.labels[:i] + state.labels[i + 1 :],
                state.name_hashes[:i] + state.name_hashes[i + 1 :],
            )

    def __getstate__(self) -> dict[str, Any]:
        return {
            "version": _PICKLE_VERSION,
            "algorithm": self._algorithm,
            "nodes": list(zip(self._state.names, self._state.weights)),
        }

    def __setstate__(self, data: dict[str, Any]) -> None:
        _check_version(data, type(self).__name__)
        self._init(data["algorithm"], None)
        self._state = self._make_state(*parse_node_pairs(data["nodes"]))


class _RendezvousState(_WeightedState):
    __slots__ = ("seeds", "inv_weights")

    def __init__(
        self, names: tuple[Any, ...], weights: tuple[float, ...], labels: tuple[str, ...], name_hashes: tuple[int, ...]
    ) -> None:
        super().__init__(names, weights, labels, name_hashes)
        self.seeds = frozen(np.array([_mix64(h ^ _SALT_SEED) for h in name_hashes], dtype=np.uint64))
        self.inv_weights = frozen(np.array([1.0 / w for w in weights], dtype=np.float64))


class Rendezvous(_WeightedRouter[N]):
    """Weighted rendezvous (highest random weight) hashing, logarithmic method.

    Node ``i`` scores key ``k`` with ``-w_i / ln(u)``, where ``u`` in (0, 1) is a 64-bit
    mix of the key's hash and node ``i``'s seed; the highest score wins (the logarithmic
    method of Schindelhauer & Schomaker, "Weighted Distributed Hash Tables", 2005). Node ``i`` wins a share ``w_i / sum(w)`` of the keys,
    and a change of one node moves only the keys it wins or loses.

    Parameters
    ----------
    nodes : iterable or mapping
        Node names (weight 1 each) or a mapping name -> weight (a positive real in
        ``[1e-100, 1e100]``).
    algorithm : str
        Key hash, one of :data:`fastring.ALGORITHMS`. Node names are hashed with it
        too, as ``f"{name}"``.

    Notes
    -----
    Exactly: ``z = splitmix64_finalizer(key_hash ^ seed_i)``; ``u = (2 * (z >> 12) + 1)
    * 2**-53`` (never 0 or 1); node ranks are ``-ln(u) * (1 / w_i)``, the smallest rank
    (the largest score) wins, ties go to the lower node index. ``ln`` is computed with
    additions, multiplications and divisions only (no libm), in a fixed order, so the
    answer is the same on every platform, compiler and twin.

    Speed: a batch lookup hashes each key once, then scores every node in the compiled
    twin with the GIL released. The bounds ``1 - u <= -ln(u) <= (1 - u) / u`` settle
    almost every key with one 64-bit mix per node and no logarithm at all (integer
    work only when the weights are equal); the exact ranks are computed only for the
    rare keys where two nodes come close, so the answer is always the exact one.

    Examples
    --------
    >>> import numpy as np
    >>> from fastring import Rendezvous
    >>> r = Rendezvous({"a": 1, "b": 1, "c": 2})
    >>> np.bincount(r.lookup_many(np.arange(40_000))).tolist()
    [10062, 9771, 20167]
    >>> r.replicas("user:42", 3)[0] == r.lookup("user:42")
    True
    """

    __slots__ = ()
    _kind = "rendezvous router"

    def __init__(self, nodes: Iterable[N] | Mapping[N, float] = (), *, algorithm: str = "xxh64") -> None:
        self._init(algorithm, None)
        self._state = self._make_state(*parse_nodes(nodes))

    def _new_state(
        self, names: tuple[Any, ...], weights: tuple[float, ...], labels: tuple[str, ...], name_hashes: tuple[int, ...]
    ) -> _RendezvousState:
        return _RendezvousState(names, weights, labels, name_hashes)

    def __repr__(self) -> str:
        return f"Rendezvous({len(self)} nodes, algorithm={self._algorithm!r})"

    def lookup(self, key: Any) -> N:
        """The node with the highest score for ``key``.

        Raises
        ------
        LookupError
            The router has no nodes.

        Examples
        --------
        >>> from fastring import Rendezvous
        >>> Rendezvous({"a": 1, "b": 3}).lookup("user:42")
        'a'
        """
        return self._one(key)

    def _one_key(self, state: Any) -> Any:
        return self._key_lookup("rendezvous", state, len(state.names), (state.seeds, state.inv_weights))

    def lookup_many(self, keys: Any, *, threads: int = 1) -> NDArray[np.int32]:
        """The node index (into :attr:`nodes`) of every key: an int32 array.

        Each key is hashed once; all nodes are scored in the compiled twin with the GIL
        released, in ``threads`` parallel parts for a large batch (same answer).

        Examples
        --------
        >>> from fastring import Rendezvous
        >>> r = Rendezvous(["a", "b", "c"])
        >>> [r.nodes[i] for i in r.lookup_many(["user:1", "user:2"])] == [r.lookup("user:1"), r.lookup("user:2")]
        True
        """
        return self._lookup_many(keys, _rendezvous_many, threads)

    def scores(self, key: Any) -> np.ndarray:
        """Every node's score ``-w_i / ln(u)`` for ``key`` (float64, aligned with :attr:`nodes`).

        For inspection; the winner is decided on the exact ranks ``-ln(u) / w_i``.

        Examples
        --------
        >>> from fastring import Rendezvous
        >>> r = Rendezvous(["a", "b", "c"])
        >>> s = r.scores("user:42")
        >>> r.nodes[int(s.argmax())] == r.lookup("user:42")
        True
        """
        state = self._state
        ranks = np.empty((1, len(state.names)), dtype=np.float64)
        if state.names:
            _routers.rendezvous_scores(_hash_one(key, self.algorithm), state.seeds, state.inv_weights, ranks)
        return np.asarray(1.0 / ranks[0])

    def replicas(self, key: Any, n: int) -> tuple[N, ...]:
        """The ``n`` nodes with the highest scores for ``key``, best first.

        ``replicas(key, 1)[0] == lookup(key)``. Removing a node never reorders the
        others.

        Raises
        ------
        ValueError
            ``n`` is not positive or exceeds the number of nodes.

        Examples
        --------
        >>> from fastring import Rendezvous
        >>> r = Rendezvous(["a", "b", "c"])
        >>> r.replicas("user:42", 2)[0] == r.lookup("user:42")
        True
        """
        state = self._state
        n = check_count(n, len(state.names))
        ranks = np.empty((1, len(state.names)), dtype=np.float64)
        _routers.rendezvous_scores(_hash_one(key, self.algorithm), state.seeds, state.inv_weights, ranks)
        order = np.argsort(ranks[0], kind="stable")[:n]
        return tuple(state.names[i] for i in order.tolist())

    def replicas_many(self, keys: Any, n: int) -> NDArray[np.int32]:
        """``replicas`` for every key as node indices: int32 array of shape (len(keys), n).

        Examples
        --------
        >>> from fastring import Rendezvous
        >>> r = Rendezvous(["a", "b", "c"])
        >>> [tuple(r.nodes[i] for i in row) for row in r.replicas_many(["user:1"], 3)] == [r.replicas("user:1", 3)]
        True
        """
        state = self._state
        n = check_count(n, len(state.names))
        hashes = _hashes(keys, self.algorithm)
        out = np.empty((len(hashes), n), dtype=np.int32)
        step = max(1, (1 << 16) // len(state.names))
        ranks = np.empty((min(step, len(hashes)), len(state.names)), dtype=np.float64)
        for start in range(0, len(hashes), step):
            stop = min(start + step, len(hashes))
            block = ranks[: stop - start]
            _routers.rendezvous_scores(hashes[start:stop], state.seeds, state.inv_weights, block)
            out[start:stop] = np.argsort(block, axis=1, kind="stable")[:, :n]
        return out

    def _assign_bounded(self, keys: Any, capacities: np.ndarray) -> np.ndarray:
        """The bounded-load protocol of :func:`fastring.assign_bounded`.

        Keys in order; each goes to the node with the highest score among those whose
        load is still below ``capacities[i]``. Returns int32 node indices.
        """
        state = self._state
        remaining = np.array(capacities, dtype=np.int64)  # a copy: the kernel counts down
        if remaining.shape != (len(state.names),):
            raise ValueError(f"capacities must hold one value per node ({len(state.names)})")
        hashes = _hashes(keys, self.algorithm)
        out = np.empty(len(hashes), dtype=np.int32)
        if not len(hashes):
            return out
        if not state.names:
            raise empty_router_error(self._kind)
        total = int(np.maximum(remaining, 0).sum())
        if total < len(hashes):
            raise ValueError(f"the nodes can take {total} keys in all, fewer than {len(hashes)}")
        _routers.rendezvous_bounded(hashes, state.seeds, state.inv_weights, remaining, out)
        return out


# --------------------------------------------------------------------------- maglev


def _is_prime(n: int) -> bool:
    """Deterministic Miller-Rabin (exact for n < 3.3e24)."""
    if n < 2:
        return False
    small = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41)
    for p in small:
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for a in small:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def _check_table_size(table_size: Any) -> int:
    size = check_int(table_size, "table_size", 2, _MAX_BUCKETS)
    if not _is_prime(size):
        raise ValueError(
            f"table_size must be prime (Maglev's permutations need it), got {size}; "
            "e.g. 251, 4099, 65537, 655373"
        )
    return size


class _MaglevState(_WeightedState):
    __slots__ = ("table",)

    def __init__(
        self, names: tuple[Any, ...], weights: tuple[float, ...], labels: tuple[str, ...], name_hashes: tuple[int, ...],
        table_size: int,
    ) -> None:
        super().__init__(names, weights, labels, name_hashes)
        if len(names) > table_size:
            raise ValueError(f"{len(names)} nodes do not fit a Maglev table of {table_size} slots")
        table = np.empty(table_size if names else 0, dtype=np.int32)
        if names:
            offsets = np.array([_mix64(h ^ _SALT_OFFSET) % table_size for h in name_hashes], dtype=np.int64)
            skips = np.array([_mix64(h ^ _SALT_SKIP) % (table_size - 1) + 1 for h in name_hashes], dtype=np.int64)
            top = max(weights)
            fracs = np.array([w / top for w in weights], dtype=np.float64)
            _routers.maglev_build(offsets, skips, fracs, table)
        self.table = frozen(table)


class Maglev(_WeightedRouter[N]):
    """Maglev hashing (Eisenbud et al., "Maglev: A Fast and Reliable Software Network
    Load Balancer", NSDI 2016): a lookup is one read of a prime-sized table.

    Each node has a preference list of table slots, the permutation ``(offset + j *
    skip) mod M`` with ``offset = h1(name) mod M`` and ``skip = h2(name) mod (M - 1) + 1``
    (``h1``, ``h2``: two SplitMix64 mixes of the name's hash). Nodes take turns, in index
    order, claiming their next free preferred slot until the table is full.

    Weights: in every round node ``i`` earns ``w_i / max(w)`` credits and takes a turn
    when it has a whole credit, so the heaviest node takes a turn every round and each
    node's share of the slots is ``w_i / sum(w)`` (within a slot or so). With equal
    weights this is exactly the paper's round robin.

    Parameters
    ----------
    nodes : iterable or mapping
        Node names (weight 1 each) or a mapping name -> positive weight.
    table_size : int
        ``M``: a prime, at least the number of nodes. The paper suggests ``M`` of at
        least 100 times the number of nodes for a table imbalance of about 1%.
    algorithm : str
        Key hash, one of :data:`fastring.ALGORITHMS`; node names are hashed with it too.

    Notes
    -----
    Adding or removing a node rebuilds the table (about a millisecond for 65537
    slots in the compiled twin). Maglev trades some disruption for balance: after a
    change, slightly more keys move than the changed node's share.

    Examples
    --------
    >>> import numpy as np
    >>> from fastring import Maglev
    >>> m = Maglev(["a", "b", "c"], table_size=251)
    >>> np.bincount(m.table).tolist()
    [84, 84, 83]
    >>> m.nodes[m.table[0]] in m
    True
    """

    __slots__ = ("_table_size",)
    _kind = "maglev router"

    def __init__(
        self, nodes: Iterable[N] | Mapping[N, float] = (), *, table_size: int = 65537, algorithm: str = "xxh64"
    ) -> None:
        self._table_size = _check_table_size(table_size)
        self._init(algorithm, None)
        self._state = self._make_state(*parse_nodes(nodes))

    def _new_state(
        self, names: tuple[Any, ...], weights: tuple[float, ...], labels: tuple[str, ...], name_hashes: tuple[int, ...]
    ) -> _MaglevState:
        return _MaglevState(names, weights, labels, name_hashes, self._table_size)

    def copy(self) -> Maglev[N]:
        """An independent copy (same table; the table array is shared, read-only).

        Examples
        --------
        >>> from fastring import Maglev
        >>> m = Maglev(["a", "b"], table_size=251)
        >>> c = m.copy()
        >>> c.add("c")
        >>> len(m), len(c), m.table_size == c.table_size
        (2, 3, True)
        """
        clone = super().copy()
        clone._table_size = self._table_size
        return clone

    __copy__ = copy

    def __repr__(self) -> str:
        return f"Maglev({len(self)} nodes, table_size={self._table_size}, algorithm={self._algorithm!r})"

    @property
    def table_size(self) -> int:
        """``M``, the number of table slots (prime)."""
        return self._table_size

    @property
    def table(self) -> np.ndarray:
        """The lookup table, the node index of every slot (read-only int32 array)."""
        table: np.ndarray = self._state.table
        return table

    def lookup(self, key: Any) -> N:
        """The node of one key: ``nodes[table[hash(key) % M]]``.

        Raises
        ------
        LookupError
            The router has no nodes.

        Examples
        --------
        >>> from fastring import Maglev
        >>> m = Maglev(["a", "b", "c"], table_size=251)
        >>> m.lookup("user:42") in m
        True
        """
        return self._one(key)

    def _one_key(self, state: Any) -> Any:
        return self._key_lookup("maglev", state, len(state.names), (state.table,))

    def lookup_many(self, keys: Any, *, threads: int = 1) -> NDArray[np.int32]:
        """The node index (into :attr:`nodes`) of every key: an int32 array (one gather;
        ``threads`` parallel parts for a large batch, same answer).

        Examples
        --------
        >>> from fastring import Maglev
        >>> m = Maglev(["a", "b", "c"], table_size=251)
        >>> [m.nodes[i] for i in m.lookup_many(["user:1", "user:2"])] == [m.lookup("user:1"), m.lookup("user:2")]
        True
        """
        return self._lookup_many(keys, _maglev_many, threads)

    def __getstate__(self) -> dict[str, Any]:
        return {**super().__getstate__(), "table_size": self._table_size}

    def __setstate__(self, data: dict[str, Any]) -> None:
        _check_version(data, "Maglev")
        self._table_size = _check_table_size(data["table_size"])
        super().__setstate__(data)

