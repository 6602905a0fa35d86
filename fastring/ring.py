"""Consistent hashing on a ring: :class:`HashRing`.

This module owns the nodes, their validation, the key modes and the API; the point
set itself (sorted points, collisions, immutable snapshots swapped in whole, changes
made incrementally) is ``_ringpoints``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple, TypeVar

import numpy as np
from numpy.typing import NDArray

from . import _hashing, _ring
from ._batches import ChunkedKeys, DictKeys, FixedKeys, IntKeys, KeyBatch, ObjectKeys, PackedKeys, ViewKeys
from ._keys import as_key_batch
from ._nodeset import N, NodeSet
from ._params import (
    check_count,
    check_int,
    check_new_node,
    check_weight,
    node_label,
    parse_node_pairs,
    parse_nodes,
)
from ._ringpoints import SHIFTED_COMPAT, Config, State, points_per_vnode, rebuild, restore, target_counts
from ._threads import SMALL_BATCH, check_threads, run_sliced
from ._algorithms import resolve_algorithm
from .hashing import hash_batch, hash_in_chunks

__all__ = ["HashRing", "RingPoints"]

# Key hashing modes: numbers from the kernels' table (RING_MODES in each twin).
MODE_HASH, MODE_KETAMA, MODE_UHASHRING = (_ring.RING_MODES[m] for m in ("hash", "ketama", "uhashring"))

_COMPAT = {
    None: MODE_HASH,
    "ketama": MODE_KETAMA,
    "uhashring": MODE_UHASHRING,
    # The systems' rings: the kernels' default mode on 32-bit points stored plus one
    # (see _ringpoints.SHIFTED_COMPAT), with the system's key hash and point count.
    "libmemcached": MODE_HASH,
    "libmemcached_weighted": MODE_HASH,
    "nginx": MODE_HASH,
}
# compat -> (key hash, points per server and weight unit: fixed by the system).
_SYSTEM_RINGS = {
    "libmemcached": ("libmemcached:one_at_a_time", 100),  # MEMCACHED_POINTS_PER_SERVER
    "libmemcached_weighted": ("md5_32", 40),  # MEMCACHED_POINTS_PER_SERVER_KETAMA / 4
    "nginx": ("nginx:crc32", 160),  # ngx_http_upstream_init_chash: 160 * weight
}
_DEFAULT_VNODES = {MODE_HASH: 160, MODE_KETAMA: 40, MODE_UHASHRING: 160}
_MD5_32 = resolve_algorithm("md5_32")[0]

_BATCHES = (IntKeys, PackedKeys, ViewKeys, FixedKeys, ObjectKeys, DictKeys, ChunkedKeys)
_PICKLE_VERSION = 2  # 1: nodes only (still loads); 2: nodes and points
# RingIndex holds fewer than 2**31 points (int32 indices in the kernels).
_MAX_POINTS = 2**31 - 1


class RingPoints(NamedTuple):
    """The live points of a ring in ring order (see :meth:`fastring.HashRing.points`)."""

    position: np.ndarray
    """uint64 positions; for ``compat="uhashring"`` an (n, 2) array of (high, low) words."""
    node: np.ndarray
    """int32 index into :attr:`fastring.HashRing.nodes` of the node owning each point."""


# --------------------------------------------------------------------------- validation


def _check_vnodes(vnodes: Any, mode: int) -> int:
    if vnodes is None:
        return _DEFAULT_VNODES[mode]
    return check_int(vnodes, "vnodes", 1, _MAX_POINTS)


def _check_point_counts(
    names: tuple[Any, ...], weights: tuple[Any, ...], counts: tuple[int, ...], config: Config
) -> None:
    """Every node gets a point (default mode) and the ring stays within its size limit."""
    if config.mode == MODE_HASH and config.compat is None:
        for name, weight, count in zip(names, weights, counts):
            if count < 1:
                raise ValueError(
                    f"node {name!r} would get round({config.vnodes} * {weight}) = 0 points; "
                    "raise its weight or vnodes"
                )
    points = sum(counts) * points_per_vnode(config, weights)
    if points > _MAX_POINTS:
        raise ValueError(
            f"the ring would hold {points:.3g} points, more than the 2**31 - 1 it can hold; "
            "lower vnodes or the weights"
        )


# --------------------------------------------------------------------------- keys


def _compat_texts(keys: Any) -> list[Any]:
    """``str(k)`` for every key as iterating ``keys`` yields it (uhashring's key rule)."""
    if isinstance(keys, (str, bytes, bytearray)):
        raise TypeError(
            f"keys must be a collection of keys, not a single {type(keys).__name__}; "
            "use lookup() for one key or wrap it in a list"
        )
    if isinstance(keys, np.ndarray):
        if keys.ndim != 1:
            raise ValueError(f"key arrays must be one-dimensional, got shape {keys.shape}")
        if keys.dtype.kind in "Uiub":
            # str() of these NumPy scalars equals str() of their tolist() values.
            items = keys.tolist()
        else:
            items = list(keys)
    elif isinstance(keys, list):
        items = keys
    elif isinstance(keys, Mapping):
        raise TypeError(f"a mapping ({type(keys).__name__}) is not a key container; pass its .keys() or .values()")
    elif isinstance(keys, Iterable):
        items = list(keys)
    else:
        raise TypeError(f"keys must be an iterable of keys, got {type(keys).__name__}")
    for item in items:
        if type(item) is not str:
            return [k if type(k) is str else str(k) for k in items]
    texts: list[Any] = items
    return texts


class HashRing(NodeSet[N]):
    """Consistent hashing ring with virtual nodes, weights, and uhashring/ketama modes.

    Parameters
    ----------
    nodes : iterable of node names, or mapping name -> weight
        Node names are any hashable values with distinct ``f"{name}"`` text (two names
        that print the same would get the same points). Weights are positive numbers;
        an iterable gives every node weight 1.
    vnodes : int, optional
        Virtual nodes per unit of weight: 160 by default, 40 for ``compat="ketama"``
        (uhashring's defaults).
    algorithm : str, optional
        Key and point hash, one of :data:`fastring.ALGORITHMS` (default ``"xxh64"``).
        Not allowed with ``compat``, which fixes the hash.
    compat : {None, "uhashring", "ketama", "libmemcached", "libmemcached_weighted", "nginx"}
        ``None``: node ``name`` gets ``round(vnodes * weight)`` points at
        ``hash_key(f"{name}-{i}", algorithm)``; a key goes to the first point strictly
        greater than ``hash_key(key, algorithm)``, wrapping to the first point.
        ``"uhashring"``: the node of ``uhashring.HashRing(nodes, vnodes=vnodes)``
        (``vnodes * weight`` points at the 128-bit md5 of ``f"{name}-{i}"``).
        ``"ketama"``: the node of ``uhashring.HashRing(nodes, hash_fn="ketama")``
        (``vnodes * len(nodes) * weight // sum(weights)`` md5 digests per node, 4
        points each). Both compat modes take integer weights, stay exact after any
        ``add``/``remove``, and hash ``str(key)`` for every key as uhashring does: the
        int ``5`` and the str ``"5"`` are the same key there, ``b"a"`` is ``"b'a'"``,
        and keys of any type are accepted.
        The systems' rings, nodes named ``"host:port"``, integer weights, keys under the
        key contract (str as UTF-8, bytes as they are); a key goes to the first point
        ``>=`` its hash, wrapping:
        ``"libmemcached"``: pylibmc/libmemcached with behavior ``{"ketama": True}``: 100
        points per server at one-at-a-time(``host:port-i``; ``host-i`` on port 11211),
        keys one-at-a-time; with any weight above 1, libmemcached's weighted MD5
        continuum (below) while keys stay one-at-a-time.
        ``"libmemcached_weighted"``: behavior ``{"ketama_weighted": True}``: MD5, 4
        points per digest, ``floor(w / W * 40 * n + 1e-10)`` digests per server (in C
        float), keys hashed by the first 4 MD5 bytes, little-endian.
        ``"nginx"``: ``hash $key consistent``: ``160 * weight`` points per server,
        each the CRC32 of host, NUL, port and the previous point's 4 little-endian
        bytes; equal points after the first dropped; keys hashed with CRC32. (nginx sends
        an empty key to round robin instead; ``$arg_*`` keys are the raw, still
        percent-encoded query text.)

    Notes
    -----
    *Collisions.* When points of several nodes share a position, one node owns it:
    in the default and uhashring modes the node whose ``f"{name}"`` sorts first
    (so the ring does not depend on the order nodes were added); in ketama mode
    the node added last, as in uhashring (its ketama ring is rebuilt in node order and
    the last writer wins).

    *Node indices.* :attr:`nodes` lists the current nodes in the order they were
    added; :meth:`lookup_many` and :meth:`replicas_many` return indices into
    :attr:`nodes` as it is when the call starts. ``remove`` shifts the indices of the
    nodes after the removed one down by one; ``add`` appends. When other threads
    change the ring, take ``frozen = ring.copy()`` (cheap: the arrays are shared) and
    use ``frozen.nodes`` with ``frozen.lookup_many``.

    *Threads.* Lookups never lock. ``add``/``remove`` build the next ring aside and
    swap it in with one assignment, so a concurrent ``lookup_many`` (which releases
    the GIL) sees the old ring or the new one, never a mix.

    Examples
    --------
    >>> from fastring import HashRing
    >>> ring = HashRing(["a", "b", "c"])
    >>> ring.lookup("user:42")
    'b'
    >>> ring.lookup_many(["user:1", "user:2", "user:3"])
    array([1, 0, 2], dtype=int32)
    >>> ring.replicas("user:42", 2)
    ('b', 'c')
    >>> ring.remove("b"); ring.nodes
    ('a', 'c')
    >>> import uhashring
    >>> HashRing({"a": 1, "b": 2}, compat="ketama").lookup("k") == \
uhashring.HashRing({"a": 1, "b": 2}, hash_fn="ketama").get_node("k")
    True
    """

    def __init__(
        self,
        nodes: Iterable[N] | Mapping[N, float] = (),
        *,
        vnodes: int | None = None,
        algorithm: str | None = None,
        compat: str | None = None,
    ) -> None:
        try:
            mode = _COMPAT[compat]
        except (KeyError, TypeError):
            choices = ", ".join(repr(c) for c in _COMPAT)
            raise ValueError(f"unknown compat {compat!r}; choose one of {choices}") from None
        if compat in _SYSTEM_RINGS:
            name, points = _SYSTEM_RINGS[compat]
            if algorithm is not None:
                raise ValueError(f"compat={compat!r} fixes the hash ({name}); do not pass algorithm")
            if vnodes is not None and vnodes != points:
                raise ValueError(f"compat={compat!r} fixes the points per server ({points}); do not pass vnodes")
            algo, _, _ = resolve_algorithm(name, 0)
            config = Config(mode, compat, points, name, algo, 33)
            self._setup(config, *parse_nodes(nodes, integer=True))
            return
        if mode == MODE_HASH:
            name = "xxh64" if algorithm is None else algorithm
            algo, dtype, _ = resolve_algorithm(name, 0)
            keybits = 8 * dtype.itemsize
        else:
            if algorithm is not None:
                raise ValueError(f"compat={compat!r} fixes the hash (md5); do not pass algorithm")
            name = "md5_32" if mode == MODE_KETAMA else "md5"
            algo = _MD5_32
            keybits = 32 if mode == MODE_KETAMA else 64
        config = Config(mode, compat, _check_vnodes(vnodes, mode), name, algo, keybits)
        self._setup(config, *parse_nodes(nodes, integer=compat is not None))

    def _setup(self, config: Config, names: tuple[Any, ...], weight_list: list[Any], points: Any = None) -> None:
        """Set the ring up: its points built, or taken from a pickle (checked)."""
        weights = tuple(weight_list)
        _check_point_counts(names, weights, target_counts(weights, config), config)
        labels = tuple(node_label(name) for name in names)
        self._config = config
        self._lock = threading.Lock()
        if points is None:
            self._state = rebuild(None, names, weights, labels, config, None)
        else:
            self._state = restore(names, weights, labels, config, points)

    # ------------------------------------------------------------------ properties

    @property
    def weights(self) -> tuple[float, ...]:
        """Node weights as floats, aligned with :attr:`nodes`."""
        return tuple(float(w) for w in self._state.weights)

    @property
    def vnodes(self) -> int:
        """Virtual nodes per unit of weight."""
        return self._config.vnodes

    @property
    def algorithm(self) -> str:
        """The key hash, an :data:`~fastring.ALGORITHMS` name, ``"md5_32"`` (ketama) or ``"md5"``."""
        return self._config.algorithm

    @property
    def compat(self) -> str | None:
        """``None``, ``"uhashring"`` or ``"ketama"``."""
        return self._config.compat

    def __repr__(self) -> str:
        state = self._state
        mode = f", compat={self._config.compat!r}" if self._config.compat else f", algorithm={self._config.algorithm!r}"
        return f"HashRing({len(state.names)} nodes, {state.index.size} points, vnodes={self._config.vnodes}{mode})"

    # ------------------------------------------------------------------ lookups

    def lookup(self, key: Any) -> N:
        """The node that owns ``key``.

        Parameters
        ----------
        key : str, bytes, int, ... (any object in compat modes, hashed as ``str(key)``)

        Raises
        ------
        LookupError
            The ring has no points (no nodes).
        TypeError, ValueError, OverflowError
            A key outside the key contract (default mode only).

        Examples
        --------
        >>> from fastring import HashRing
        >>> HashRing(["a", "b", "c"]).lookup("user:42")
        'b'
        """
        node: N = self._state.index.lookup(key)
        return node

    def lookup_many(self, keys: Any, *, threads: int = 1) -> NDArray[np.int32]:
        """The node index (into :attr:`nodes`) of every key: an int32 array.

        ``keys`` is any container :func:`fastring.hash_keys` accepts (in compat modes:
        any iterable, each key hashed as ``str(key)``). ``threads`` splits a large
        batch into parts hashed and searched in parallel (the kernels release the
        GIL); the answer is the same.

        Examples
        --------
        >>> import numpy as np
        >>> from fastring import HashRing
        >>> ring = HashRing(["a", "b", "c"])
        >>> idx = ring.lookup_many(np.arange(5))
        >>> [ring.nodes[i] for i in idx] == [ring.lookup(k) for k in range(5)]
        True
        """
        state = self._state
        if type(keys) is list and len(keys) <= SMALL_BATCH and type(threads) is int and threads == 1:
            small: NDArray[np.int32] | None = state.index.owners_small(keys)  # a key at a time: no batch set-up
            if small is not None:
                return small
        return self._owners(state, keys, check_threads(threads))

    def _owners(self, state: State, keys: Any, threads: int = 1) -> NDArray[np.int32]:
        index = state.index
        config = self._config
        if config.mode == MODE_UHASHRING:
            hi, lo = _md5_hashes(keys)
            out = np.empty(len(hi), dtype=np.int32)
            _check_points(index, len(hi))
            run_sliced(len(hi), threads, lambda a, b: index.owners_wide(hi[a:b], lo[a:b], out[a:b]))
            return out
        if config.mode == MODE_HASH:
            batch = as_key_batch(keys)
            if isinstance(batch, IntKeys):  # hashing fused into the search
                values = batch.values
                out = np.empty(len(batch), dtype=np.int32)
                _check_points(index, len(batch))
                run_sliced(len(values), threads, lambda a, b: index.owners_u64(values[a:b], out[a:b]))
                return out
            # The hashes go straight into the search, a chunk at a time.
            out = np.empty(len(batch), dtype=np.int32)
            _check_points(index, len(batch))
            dtype = np.uint64 if config.keybits == 64 else np.uint32
            hash_in_chunks(batch, config.algo, 0, dtype, threads, lambda a, b, h: index.owners(h, out[a:b]))
            return out
        hashes = self._key_hashes(keys, threads)
        out = np.empty(len(hashes), dtype=np.int32)
        _check_points(index, len(hashes))
        run_sliced(len(hashes), threads, lambda a, b: index.owners(hashes[a:b], out[a:b]))
        return out

    def _key_hashes(self, keys: Any, threads: int = 1) -> np.ndarray:
        config = self._config
        batch: KeyBatch
        if config.mode == MODE_KETAMA:
            batch = ObjectKeys(_compat_texts(keys))
            out = np.empty(len(batch), dtype=np.uint32)
        else:
            batch = keys if isinstance(keys, _BATCHES) else as_key_batch(keys)
            out = np.empty(len(batch), dtype=np.uint64 if config.keybits == 64 else np.uint32)
        hash_batch(batch, config.algo, 0, out, threads)
        return out

    def _entries(self, state: State, keys: Any) -> np.ndarray:
        """The live point index of every key (where walks start)."""
        index = state.index
        if self._config.mode == MODE_UHASHRING:
            hi, lo = _md5_hashes(keys)
            out = np.empty(len(hi), dtype=np.int32)
            _check_points(index, len(hi))
            index.entries_wide(hi, lo, out)
            return out
        hashes = self._key_hashes(keys)
        out = np.empty(len(hashes), dtype=np.int32)
        _check_points(index, len(hashes))
        index.entries(hashes, out)
        return out

    def replicas(self, key: Any, n: int) -> tuple[N, ...]:
        """The first ``n`` distinct nodes met walking the ring from ``key``'s point.

        ``replicas(key, 1)[0] == lookup(key)``. In compat modes this equals
        ``[c["nodename"] for c in uhashring_ring.range(key, n)]``.

        Raises
        ------
        ValueError
            ``n`` is not positive or exceeds the nodes that have points.

        Examples
        --------
        >>> from fastring import HashRing
        >>> HashRing(["a", "b", "c"]).replicas("user:42", 2)
        ('b', 'c')
        """
        state = self._state
        nodes: tuple[N, ...] = state.index.replicas(key, _check_replicas(state, n))
        return nodes

    def replicas_many(self, keys: Any, n: int) -> NDArray[np.int32]:
        """``replicas`` for every key as node indices: an int32 array of shape (len(keys), n).

        Examples
        --------
        >>> from fastring import HashRing
        >>> ring = HashRing(["a", "b", "c"])
        >>> table = ring.replicas_many(["user:1", "user:42"], 2)
        >>> [tuple(ring.nodes[i] for i in row) for row in table] == [ring.replicas(k, 2) for k in ["user:1", "user:42"]]
        True
        """
        state = self._state
        n = _check_replicas(state, n)
        starts = self._entries(state, keys)
        out = np.empty((len(starts), n), dtype=np.int32)
        filled = state.index.walk(starts, out)
        if filled != len(starts):  # pragma: no cover - _check_replicas rules it out
            raise RuntimeError("replica walk ended early")
        return out

    def points(self) -> RingPoints:
        """The live points in ring order: positions and owning node indices (read-only).

        A point shared by several nodes appears once, with the node that owns it.

        Examples
        --------
        >>> from fastring import HashRing
        >>> points = HashRing(["a", "b"], vnodes=4).points()
        >>> len(points.position), sorted(set(points.node.tolist()))
        (8, [0, 1])
        """
        index = self._state.index
        pos, lo, owner, _ = index.arrays
        size = index.size
        position = pos[:size]
        if self._config.compat in SHIFTED_COMPAT:  # stored plus one (see _ringpoints)
            position = position - np.uint64(1)
            position.flags.writeable = False
        if lo is not None:
            position = np.stack([pos[:size], lo[:size]], axis=1)
            position.flags.writeable = False
        return RingPoints(position, owner[:size])

    # ------------------------------------------------------------------ changes

    def add(self, name: N, weight: float = 1) -> None:
        """Add node ``name`` (appended to :attr:`nodes`); only its points are hashed.

        In ketama mode with unequal weights every node's share changes, as in
        uhashring; the vnodes each node gains or loses are the only ones touched.

        Raises
        ------
        ValueError
            ``name`` is already on the ring, or the weight is not positive/finite.

        Examples
        --------
        >>> from fastring import HashRing
        >>> ring = HashRing(["a", "b"])
        >>> ring.add("c", weight=2)
        >>> ring.nodes, ring.weights
        (('a', 'b', 'c'), (1.0, 1.0, 2.0))
        """
        config = self._config
        weight = check_weight(name, weight, integer=config.compat is not None)
        with self._lock:
            old = self._state
            label = check_new_node(name, old.names, old.labels, "ring")
            names, weights = old.names + (name,), old.weights + (weight,)
            _check_point_counts(names, weights, target_counts(weights, config), config)
            self._state = rebuild(old, names, weights, old.labels + (label,), config, None)

    def remove(self, name: N) -> None:
        """Remove node ``name``; nodes after it in :attr:`nodes` shift down by one.

        Raises
        ------
        KeyError
            ``name`` is not on the ring.

        Examples
        --------
        >>> from fastring import HashRing
        >>> ring = HashRing(["a", "b", "c"])
        >>> ring.remove("b")
        >>> ring.nodes
        ('a', 'c')
        """
        with self._lock:
            old = self._state
            try:
                i = old.where[name]
            except (KeyError, TypeError):
                raise KeyError(f"node {name!r} is not on the ring") from None
            self._state = rebuild(
                old, _without(old.names, i), _without(old.weights, i), _without(old.labels, i), self._config, i
            )

    def copy(self) -> HashRing[N]:
        """An independent ring with the same nodes (cheap: the point arrays are shared).

        Examples
        --------
        >>> from fastring import HashRing
        >>> ring = HashRing(["a", "b"])
        >>> twin = ring.copy()
        >>> twin.add("c")
        >>> len(ring), len(twin), ring == HashRing(["a", "b"])
        (2, 3, True)
        """
        new = object.__new__(HashRing)
        new._config = self._config
        new._lock = threading.Lock()
        new._state = self._state
        return new

    __copy__ = copy

    def __deepcopy__(self, memo: Any) -> HashRing[N]:
        return self.copy()

    # ------------------------------------------------------------------ pickling

    def _params(self) -> dict[str, Any]:
        """What the ring is: its nodes, weights and parameters (pickles and ``==``)."""
        state = self._state
        config = self._config
        return {
            "nodes": list(zip(state.names, state.weights)),
            "vnodes": config.vnodes,
            "algorithm": config.algorithm if config.mode == MODE_HASH and config.compat is None else None,
            "compat": config.compat,
        }

    def __getstate__(self) -> dict[str, Any]:
        # Python values and NumPy arrays only, so a pickle loads with either twin. The
        # points travel too: loading checks them instead of sorting them again.
        state = self._state
        return dict(self._params(), version=_PICKLE_VERSION, points=(state.pos, state.lo, state.owner, state.vnode))

    def __setstate__(self, data: dict[str, Any]) -> None:
        version = data.get("version") if isinstance(data, dict) else None
        if version not in (1, _PICKLE_VERSION):
            raise ValueError(f"unsupported HashRing pickle version {version!r}")
        fresh: HashRing[Any] = HashRing(
            (), vnodes=data["vnodes"], algorithm=data["algorithm"], compat=data["compat"]
        )
        config = fresh._config
        names, weights = parse_node_pairs(data["nodes"], integer=config.compat is not None)
        # Version 1 holds the nodes only: their points are built.
        self._setup(config, names, weights, None if version == 1 else data["points"])

    # ------------------------------------------------------------------ bounded loads

    def _assign_bounded(self, keys: Any, capacities: np.ndarray) -> np.ndarray:
        """The bounded-load protocol of :func:`fastring.assign_bounded` (int32 node per key)."""
        state = self._state
        capacities = np.ascontiguousarray(capacities, dtype=np.int64)
        if capacities.shape != (len(state.names),):
            raise ValueError(f"capacities must hold one value per node ({len(state.names)})")
        starts = self._entries(state, keys)
        usable = int(capacities[state.live_counts > 0].sum())
        if usable < len(starts):
            raise ValueError(
                f"the nodes with points can take {usable} keys in all, fewer than {len(starts)}"
            )
        load = np.zeros(len(state.names), dtype=np.int64)
        out = np.empty(len(starts), dtype=np.int32)
        done = state.index.bounded(starts, capacities, load, out)
        if done != len(starts):  # pragma: no cover - ruled out by the capacity check
            raise RuntimeError("bounded assignment ran out of capacity")
        return out


def _md5_hashes(keys: Any) -> tuple[np.ndarray, np.ndarray]:
    texts = _compat_texts(keys)
    hi = np.empty(len(texts), dtype=np.uint64)
    lo = np.empty(len(texts), dtype=np.uint64)
    _hashing.md5_strings(texts, hi, lo)
    return hi, lo


_T = TypeVar("_T")


def _without(items: tuple[_T, ...], i: int) -> tuple[_T, ...]:
    return items[:i] + items[i + 1 :]


def _check_points(index: _ring.RingIndex, n: int) -> None:
    if n and index.size == 0:
        raise LookupError("the ring has no points: add a node before looking up keys")


def _check_replicas(state: State, n: Any) -> int:
    count = check_count(n, len(state.names), "ring")
    if count > state.reachable:
        raise ValueError(f"asked for {count} replicas but only {state.reachable} nodes have points on the ring")
    return count
