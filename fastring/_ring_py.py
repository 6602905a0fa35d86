"""Pure-Python twin of the ring kernels (``_ring_c.pyx``): same names, same results.

See ``_ring_c.pyx`` for what a :class:`RingIndex` holds. Batch searches here use
``numpy.searchsorted`` on the live points (the prefix table is for the compiled
search only); single-key lookups use :func:`bisect.bisect_right` on Python lists
built on first use.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import numpy as np
from numpy.typing import NDArray

from . import _hashing_py
from ._hashfuncs_py import _SCALAR, ALGORITHM_TABLE
from ._keycontract_py import key_bytes

__all__ = ["RING_MODES", "RingIndex", "bucket_starts", "stable_order"]

# Key hashing modes, by name (see _ring_c.pyx); ring.py takes their numbers from here.
RING_MODES: dict[str, int] = {"hash": 0, "ketama": 1, "uhashring": 2}
MODE_HASH, MODE_KETAMA, MODE_UHASHRING = (RING_MODES[m] for m in ("hash", "ketama", "uhashring"))

_M64 = 0xFFFFFFFFFFFFFFFF
_INT_MIN = -(1 << 63)
_INT_END = 1 << 64

_32BIT = frozenset(algo for _, algo, bits, _ in ALGORITHM_TABLE if bits == 32)


def _md5(data: bytes) -> bytes:
    return hashlib.md5(data, usedforsecurity=False).digest()


def _utf8(text: str, position: int | None = None) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return key_bytes(text, position)  # raises the key contract's ValueError


# ---------------------------------------------------------------- point kernels


def stable_order(keys: NDArray[np.uint64]) -> NDArray[np.intp]:
    """The permutation that sorts ``keys`` ascending, equal keys in their given order."""
    if len(keys) >= 2**32:
        raise ValueError("a ring holds fewer than 2**32 points")
    return np.argsort(keys, kind="stable").astype(np.intp, copy=False)


def bucket_starts(pos: NDArray[np.uint64], shift: int, table: NDArray[np.uint32]) -> int:
    """Fill the prefix table: ``table[b]`` = the number of points whose ``pos >> shift``
    is below ``b``. ``pos`` must be sorted and every bucket below ``len(table)``.
    Returns the most points in one bucket."""
    if not 0 <= shift < 64:
        raise ValueError("bad shift")
    if len(table) < 1:
        raise ValueError("the table needs a bucket")
    if len(pos) > 1 and np.any(pos[1:] < pos[:-1]):
        raise ValueError("positions must be sorted")
    buckets = pos >> np.uint64(shift)
    if len(pos) and int(buckets[-1]) >= len(table):
        raise ValueError("a position is beyond the last bucket")
    counts = np.bincount(buckets.astype(np.intp), minlength=len(table))
    table[0] = 0
    table[1:] = np.cumsum(counts[:-1])
    return int(counts.max()) if len(pos) else 0


# ---------------------------------------------------------------- the index


class RingIndex:
    """An immutable snapshot of a ring's live points, ready for lookups.

    The same constructor as the compiled twin; see ``_ring_c.pyx``.
    """

    __slots__ = (
        "names", "size", "mode", "algo", "seed", "shift", "depth", "wide", "arrays",
        "_pos", "_lo", "_owner", "_fn", "_lists",
    )

    def __init__(self, names: tuple[Any, ...], pos: Any, lo: Any, owner: Any, table: Any, shift: int, depth: int, mode: int, algo: int, seed: int, size: int) -> None:
        if getattr(self, "names", None) is not None:
            raise TypeError("a RingIndex is immutable: it cannot be initialized twice")
        if not isinstance(names, tuple):
            raise TypeError("names must be a tuple")
        if not 0 <= depth < 32:
            raise ValueError("bad depth")
        pad = 1 << depth
        if size < 0 or len(pos) != size + pad or len(owner) != size + pad:
            raise ValueError("pos and owner must hold size + 2**depth entries")
        if mode == MODE_UHASHRING and len(lo) != size + pad:
            raise ValueError("a 128-bit ring needs lo with size + 2**depth entries")
        if len(table) < 1 or not 0 <= shift < 64:
            raise ValueError("bad table or shift")
        if size >= 2**31:
            raise ValueError("a ring holds fewer than 2**31 points")
        owner_all = np.asarray(owner) if size else np.empty(0, dtype=np.int32)
        if ((owner_all < 0) | (owner_all >= len(names))).any() or (np.asarray(table) > size).any():
            raise ValueError("owner values must index names and table values must be <= size")
        self.names = names
        self.size = size
        self.mode = mode
        self.algo = algo
        self.seed = seed
        self.shift = shift
        self.depth = depth
        self.wide = mode == MODE_UHASHRING
        self.arrays = (pos, lo if len(lo) else None, owner, table)
        self._pos = np.asarray(pos)[:size]
        self._lo: np.ndarray | None = np.asarray(lo)[:size] if self.wide else None
        self._owner = np.asarray(owner)[:size]
        self._fn: Callable[[bytes, int], int] | None = _SCALAR.get(algo) if mode == MODE_HASH else None
        if mode == MODE_HASH and self._fn is None:
            raise ValueError(f"unknown hash algorithm id: {algo!r}")
        self._lists: tuple[list[int], list[int]] | None = None

    def __reduce__(self) -> NoReturn:
        raise TypeError("RingIndex is not picklable; pickle the HashRing")

    # ------------------------------------------------------------ one key

    def _search_lists(self) -> tuple[list[int], list[int]]:
        lists = self._lists
        if lists is None:
            # Built on first use (a benign race: two threads build equal lists).
            if self._lo is not None:
                keys = [(h << 64) | l for h, l in zip(self._pos.tolist(), self._lo.tolist())]
            else:
                keys = self._pos.tolist()
            lists = self._lists = (keys, self._owner.tolist())
        return lists

    def _hash_one(self, key: Any) -> int:
        """The key's hash as one int (128-bit for uhashring mode)."""
        mode = self.mode
        if mode == MODE_HASH:
            kind = type(key)
            if kind is str:
                data = _utf8(key)
            elif kind is bytes:
                data = key
            elif kind is int and _INT_MIN <= key < _INT_END:
                data = (key & _M64).to_bytes(8, "little")
            else:
                data = key_bytes(key)
            fn = self._fn
            assert fn is not None
            return fn(data, self.seed)
        data = _utf8(key if type(key) is str else str(key))
        digest = _md5(data)
        if mode == MODE_KETAMA:
            return int.from_bytes(digest[:4], "little")
        return int.from_bytes(digest, "big")

    def _entry(self, key: Any) -> int:
        if self.size == 0:
            raise LookupError("the ring has no points: add a node before looking up keys")
        keys, _ = self._search_lists()
        h = self._hash_one(key)
        j = bisect_right(keys, h)
        return j if j < self.size else 0

    def lookup(self, key: Any) -> Any:
        """The name of the node that owns ``key``."""
        lists = self._lists
        if lists is None:
            if self.size == 0:
                raise LookupError("the ring has no points: add a node before looking up keys")
            lists = self._search_lists()
        if type(key) is str and self._fn is not None:
            # The common case inlined (this is the pure twin's hot path).
            try:
                h = self._fn(key.encode("utf-8"), self.seed)
            except UnicodeEncodeError:
                h = self._hash_one(key)
        else:
            h = self._hash_one(key)
        j = bisect_right(lists[0], h)
        return self.names[lists[1][j if j < self.size else 0]]

    def entry(self, key: Any) -> int:
        """The index of the live point that owns ``key``."""
        return self._entry(key)

    def owners_small(self, keys: Sequence[Any]) -> NDArray[np.int32] | None:
        """Node indices of a short list of keys, one key at a time: an int32 array, or
        None if a key is not one ``lookup`` takes, or if the ring is empty."""
        if self.size == 0:
            return None
        try:
            return np.array([self._owner[self._entry(key)] for key in keys], dtype=np.int32)
        except (TypeError, ValueError, OverflowError):
            return None

    def replicas(self, key: Any, count: int) -> tuple[Any, ...]:
        """The first ``count`` distinct nodes walking the ring from ``key`` (names)."""
        j = self._entry(key)
        _, owners = self._search_lists()
        found: list[Any] = []
        seen = set()
        steps = 0
        while len(found) < count:
            if steps == self.size:
                raise ValueError(f"the ring has fewer than {count} nodes with points")
            o = owners[j]
            if o not in seen:
                seen.add(o)
                found.append(self.names[o])
            j += 1
            if j == self.size:
                j = 0
            steps += 1
        return tuple(found)

    # ------------------------------------------------------------ batches

    def _check_batch(self, n: int, m: int, wide: bool) -> None:
        if m != n:
            raise ValueError(f"out has length {m}, expected {n}")
        if self.size == 0 and n:
            raise LookupError("the ring has no points: add a node before looking up keys")
        if wide != self.wide:
            raise ValueError("128-bit hashes go to owners_wide/entries_wide, others to owners/entries")

    def _check_starts(self, starts: Any) -> None:
        bad = np.flatnonzero((starts < 0) | (starts >= self.size))
        if len(bad):
            raise ValueError(f"start {int(bad[0])} is not a point index")

    def _entries(self, hashes: Any) -> NDArray[np.intp]:
        j = np.searchsorted(self._pos, np.asarray(hashes, dtype=np.uint64), side="right")
        j[j == self.size] = 0
        return j

    def _entries_wide(self, hi: Any, lo: Any) -> NDArray[np.intp]:
        hi = np.asarray(hi, dtype=np.uint64)
        lo = np.asarray(lo, dtype=np.uint64)
        lo_pos = self._lo
        assert lo_pos is not None
        j: NDArray[np.intp] = np.searchsorted(self._pos, hi, side="left")
        # Points whose high word equals the key's: step over those <= the key.
        inside = np.minimum(j, self.size - 1)
        for i in np.flatnonzero((j < self.size) & (self._pos[inside] == hi)).tolist():
            k = int(j[i])
            while k < self.size and self._pos[k] == hi[i] and lo_pos[k] <= lo[i]:
                k += 1
            j[i] = k
        j[j == self.size] = 0
        return j

    def owners(self, hashes: Any, out: Any) -> Any:
        """out[i] = the node owning key hash hashes[i] (64-bit/32-bit rings)."""
        self._check_batch(len(hashes), len(out), False)
        if len(hashes):
            out[:] = self._owner[self._entries(hashes)]
        return out

    def owners_u64(self, values: Any, out: Any) -> Any:
        """out[i] = the node owning integer key values[i] (its 8 little-endian bytes
        hashed with the ring's algorithm): ``owners`` with the hashing fused in."""
        self._check_batch(len(values), len(out), False)
        if self.mode != MODE_HASH:
            raise ValueError("owners_u64 hashes keys with the ring's algorithm: default mode only")
        if len(values):
            dtype = np.uint32 if self.algo in _32BIT else np.uint64
            hashes = np.empty(len(values), dtype=dtype)
            _hashing_py.hash_uint64(np.asarray(values, dtype=np.uint64), self.algo, self.seed, hashes)
            out[:] = self._owner[self._entries(hashes)]
        return out

    def owners_wide(self, hi: Any, lo: Any, out: Any) -> Any:
        """out[i] = the node owning the 128-bit key hash (hi[i], lo[i])."""
        self._check_batch(len(hi), len(out), True)
        if len(lo) != len(hi):
            raise ValueError("hi and lo must have the same length")
        if len(hi):
            out[:] = self._owner[self._entries_wide(hi, lo)]
        return out

    def entries(self, hashes: Any, out: Any) -> Any:
        """out[i] = the index of the live point owning key hash hashes[i]."""
        self._check_batch(len(hashes), len(out), False)
        if len(hashes):
            out[:] = self._entries(hashes)
        return out

    def entries_wide(self, hi: Any, lo: Any, out: Any) -> Any:
        """out[i] = the index of the live point owning the 128-bit hash (hi[i], lo[i])."""
        self._check_batch(len(hi), len(out), True)
        if len(lo) != len(hi):
            raise ValueError("hi and lo must have the same length")
        if len(hi):
            out[:] = self._entries_wide(hi, lo)
        return out

    def walk(self, starts: Any, out: Any) -> int:
        """out[i, :] = the first out.shape[1] distinct nodes from point starts[i] on.

        Returns the number of rows filled: fewer than len(starts) only if the ring has
        fewer distinct nodes with points than out.shape[1] (the caller checks first).
        """
        n = len(starts)
        k = out.shape[1]
        if out.shape[0] != n:
            raise ValueError("out must have one row per start")
        self._check_starts(np.asarray(starts))
        if n == 0 or k == 0:
            return n
        owners = self._search_lists()[1]
        size = self.size
        for i, j in enumerate(np.asarray(starts).tolist()):
            row: list[Any] = []
            seen = set()
            steps = 0
            while len(row) < k and steps < size:
                o = owners[j]
                if o not in seen:
                    seen.add(o)
                    row.append(o)
                j += 1
                if j == size:
                    j = 0
                steps += 1
            out[i, : len(row)] = row
            if len(row) < k:
                return i
        return n

    def bounded(self, starts: Any, capacity: Any, load: Any, out: Any) -> int:
        """Bounded-load assignment: key i takes the first node from point starts[i] on
        whose load is below its capacity; load is updated in place.

        Returns the number of keys assigned: fewer than len(starts) only if every node
        with points is full (the caller checks the capacities first).
        """
        n = len(starts)
        if len(out) != n:
            raise ValueError("out must hold one node per key")
        if len(capacity) != len(self.names) or len(load) != len(self.names):
            raise ValueError("capacity and load must hold one value per node")
        self._check_starts(np.asarray(starts))
        owners = self._search_lists()[1]
        cap = np.asarray(capacity).tolist()
        used = np.asarray(load).tolist()
        size = self.size
        result = []
        for j in np.asarray(starts).tolist():
            o = owners[j]
            steps = 0
            while used[o] >= cap[o] and steps < size:
                j += 1
                if j == size:
                    j = 0
                o = owners[j]
                steps += 1
            if used[o] >= cap[o]:
                break
            used[o] += 1
            result.append(o)
        done = len(result)
        if done:
            out[:done] = result
        load[:] = used
        return done
