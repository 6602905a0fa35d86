"""Pure-Python twin of the router kernels (see ``_routers_c.pyx``).

Same names, signatures and results as the compiled twin, bit for bit. Integer work
uses NumPy ``uint64`` arrays (their arithmetic wraps modulo 2**64 like C's) or Python
integers masked to 64 bits. Floating-point work is a sequence of single IEEE-754
operations (``+ - * /``, exact conversions, ``frexp``) written in the same order as in
the compiled twin; no libm transcendental is ever called, so the answers do not
depend on the platform's ``log``.

Kernels are array in, array out: the Python layer (``fastring.routers``) validates
everything and allocates the outputs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._hashfuncs_py import SPLITMIX_GAMMA, mix64, mix64_array

__all__ = [
    "KeyLookup",
    "group_rows",
    "jump_hash",
    "jumpback_hash",
    "jump_one",
    "jump_many",
    "jumpback_one",
    "jumpback_many",
    "memento_many",
    "neg_log_unit",
    "rendezvous_many",
    "rendezvous_scores",
    "rendezvous_bounded",
    "maglev_build",
    "maglev_many",
]

_M64 = 0xFFFFFFFFFFFFFFFF

# Jump consistent hash (Lamping & Veach 2014): the LCG of the paper.
_JUMP_MUL = 2862933555777941757
_TWO31 = 2147483648.0

_GAMMA = SPLITMIX_GAMMA
_U_GAMMA = np.uint64(SPLITMIX_GAMMA)
_U_JUMP_MUL = np.uint64(_JUMP_MUL)
_U1 = np.uint64(1)

# neg_log_unit: u = (2k + 1) * 2**-53 with k the top 52 bits of a 64-bit value.
_TWO_M53 = 2.0**-53
_SQRT_HALF = float.fromhex("0x1.6a09e667f3bcdp-1")  # sqrt(0.5) rounded to nearest
_LN2 = float.fromhex("0x1.62e42fefa39efp-1")  # ln(2) rounded to nearest
# ln(m) = 2*atanh(s) = 2s + s * z * (c1 + z * (c2 + ...)), z = s*s, c_j = 2 / (2j + 1).
_ATANH = tuple(2.0 / (2 * j + 1) for j in range(1, 11))

_CHUNK_CELLS = 1 << 13  # keys x nodes per vectorized rendezvous step (fits L2)


# --------------------------------------------------------------------------- jump


def jump_one(key: int, num_buckets: int) -> int:
    """Jump consistent hash of one 64-bit key (``jump.hash`` of the jump package)."""
    key &= _M64
    b, j = -1, 0
    while j < num_buckets:
        b = j
        key = (key * _JUMP_MUL + 1) & _M64
        # The int -> float conversions are exact (b + 1 < 2**31, key >> 33 < 2**31).
        j = int(float(b + 1) * (_TWO31 / float((key >> 33) + 1)))
    return b


def jump_many(keys: Any, num_buckets: int, out: Any) -> None:
    """``out[i] = jump_one(keys[i], num_buckets)``; keys uint64, out int32."""
    keys = np.asarray(keys)
    out = np.asarray(out)
    if out.shape[0] != keys.shape[0]:
        raise ValueError("out must have the length of keys")
    idx = np.arange(keys.shape[0])
    state = keys.astype(np.uint64, copy=True)
    j = np.zeros(keys.shape[0], dtype=np.int64)
    while idx.size:
        b = j
        state = state * _U_JUMP_MUL + _U1
        j = ((b + 1).astype(np.float64) * (_TWO31 / ((state >> np.uint64(33)) + _U1).astype(np.float64))).astype(
            np.int64
        )
        done = j >= num_buckets
        out[idx[done]] = b[done]
        keep = ~done
        idx, state, j = idx[keep], state[keep], j[keep]


# --------------------------------------------------------------------------- jumpback


def jumpback_one(key: int, num_buckets: int) -> int:
    """JumpBackHash (Ertl 2024) of one 64-bit key, SplitMix64 as the random source."""
    if num_buckets <= 1:
        return 0
    state = (key + _GAMMA) & _M64
    r0 = mix64(state)
    x = (r0 ^ (r0 >> 32)) & ((1 << (num_buckets - 1).bit_length()) - 1)
    while True:
        if x == 0:
            return 0
        range_min = 1 << (x.bit_length() - 1)
        shift = 32 if bin(x).count("1") & 1 else 0
        bucket = range_min + ((r0 >> shift) & (range_min - 1))
        if bucket < num_buckets:
            return bucket
        range_max = 2 * range_min - 1
        while True:
            state = (state + _GAMMA) & _M64
            r1 = mix64(state)
            bucket = r1 & range_max
            if bucket < range_min:
                break
            if bucket < num_buckets:
                return bucket
            bucket = (r1 >> 32) & range_max
            if bucket < range_min:
                break
            if bucket < num_buckets:
                return bucket
        x ^= range_min


def _parity32(x: np.ndarray) -> np.ndarray:
    x = x ^ (x >> np.uint64(16))
    x ^= x >> np.uint64(8)
    x ^= x >> np.uint64(4)
    x ^= x >> np.uint64(2)
    x ^= x >> np.uint64(1)
    return x & _U1


def _high_bit(x: np.ndarray) -> np.ndarray:
    """Highest set bit of each nonzero uint64 value below 2**53 (exact via frexp)."""
    exponent = np.frexp(x.astype(np.float64))[1]
    return np.left_shift(_U1, (exponent - 1).astype(np.uint64))


def jumpback_many(keys: Any, num_buckets: int, out: Any) -> None:
    """``out[i] = jumpback_one(keys[i], num_buckets)``; keys uint64, out int32.

    Vectorized over the keys: every key runs the same state machine as
    :func:`jumpback_one`, the keys still undecided advance together.
    """
    keys = np.asarray(keys)
    out = np.asarray(out)
    if out.shape[0] != keys.shape[0]:
        raise ValueError("out must have the length of keys")
    if num_buckets <= 1:
        out[:] = 0
        return
    n = np.uint64(num_buckets)
    idx = np.arange(keys.shape[0])
    state = keys.astype(np.uint64) + _U_GAMMA
    r0 = mix64_array(state.copy())
    x = (r0 ^ (r0 >> np.uint64(32))) & np.uint64((1 << (num_buckets - 1).bit_length()) - 1)
    while idx.size:
        zero = x == 0
        out[idx[zero]] = 0
        live = ~zero
        idx, state, r0, x = idx[live], state[live], r0[live], x[live]
        if not idx.size:
            break
        range_min = _high_bit(x)
        shift = _parity32(x) << np.uint64(5)
        bucket = range_min + ((r0 >> shift) & (range_min - _U1))
        hit = bucket < n
        out[idx[hit]] = bucket[hit]
        miss = ~hit
        idx, state, r0, x, range_min = idx[miss], state[miss], r0[miss], x[miss], range_min[miss]
        # Inner loop: draw until a bucket in [range_min, n) is found (done) or one below
        # range_min (drop the top bit of x and go on with the outer loop).
        range_max = (range_min << _U1) - _U1
        pending = np.arange(idx.size)  # positions (in idx) still in the inner loop
        decided = np.zeros(idx.size, dtype=bool)  # answered inside the inner loop
        while pending.size:
            s = state[pending] + _U_GAMMA
            state[pending] = s
            r1 = mix64_array(s.copy())
            rmin, rmax = range_min[pending], range_max[pending]
            lo = r1 & rmax
            hi = (r1 >> np.uint64(32)) & rmax
            brk = lo < rmin
            ret = ~brk & (lo < n)
            rest = ~brk & ~ret
            brk2 = rest & (hi < rmin)
            ret2 = rest & ~brk2 & (hi < n)
            out[idx[pending[ret]]] = lo[ret]
            out[idx[pending[ret2]]] = hi[ret2]
            decided[pending[ret | ret2]] = True
            pending = pending[rest & ~brk2 & ~ret2]
        live = ~decided
        idx, state, r0 = idx[live], state[live], r0[live]
        x = x[live] ^ range_min[live]


# --------------------------------------------------------------------------- memento


def memento_many(keys: Any, size: int, replacer: Any, index: Any, out: Any) -> None:
    """MementoHash lookup (Coluzzi et al. 2023) of uint64 keys; out int32 node indices.

    ``size`` is the b-array size (jump's bucket count), ``replacer[b]`` the bucket that
    replaced removed bucket ``b`` (the working-set size right after its removal) or -1
    for a working bucket, ``index[b]`` the node index of working bucket ``b``.
    """
    keys = np.asarray(keys)
    out = np.asarray(out)
    replacer = np.asarray(replacer).astype(np.int64)
    index = np.asarray(index)
    if out.shape[0] != keys.shape[0]:
        raise ValueError("out must have the length of keys")
    if replacer.shape[0] != size or index.shape[0] != size:
        raise ValueError("replacer and index must have one entry per bucket")
    if size <= 0:
        raise ValueError("size must be positive")
    bad = np.flatnonzero((replacer == 0) | (replacer < -1) | (replacer >= size))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"replacer[{i}] = {int(replacer[i])} is not -1 or in [1, size)")
    bucket = np.empty(keys.shape[0], dtype=np.int32)
    jump_many(keys, size, bucket)
    bucket = bucket.astype(np.int64)
    r = replacer[bucket]
    act = np.flatnonzero(r >= 0)
    h = keys[act].astype(np.uint64)
    b = bucket[act]
    r = r[act]
    n_removed = int(np.count_nonzero(replacer >= 0))
    while act.size:
        # Rehash the key with the removed bucket as seed, into [0, r).
        h2 = mix64_array(h + (b + 1).astype(np.uint64) * _U_GAMMA)
        b = (h2 % r.astype(np.uint64)).astype(np.int64)
        r2 = replacer[b]
        # Buckets removed before the one we came from were already replaced then:
        # follow their replacers while they are at least r.
        follow = np.flatnonzero(r2 >= r)
        hops = 0
        while follow.size:
            if hops == n_removed:  # the compiled twin's bound: see there
                raise ValueError("the replacement table loops: it is not a MementoHash state")
            b[follow] = r2[follow]
            r2[follow] = replacer[b[follow]]
            hops += 1
            follow = follow[r2[follow] >= r[follow]]
        r = r2
        done = r < 0
        bucket[act[done]] = b[done]
        keep = ~done
        act, h, b, r = act[keep], h[keep], b[keep], r[keep]
    out[:] = index[bucket]


# --------------------------------------------------------------------------- rendezvous


def _neg_log(z: np.ndarray) -> np.ndarray:
    """-ln(u), u = (2*(z >> 12) + 1) * 2**-53 in (0, 1), from +, -, *, / and frexp only.

    The operations and their order are those of ``fr_neg_log`` in the compiled twin
    (in-place updates only reuse memory; ``x * y == y * x`` and ``x + y == y + x``
    hold exactly in IEEE arithmetic).
    """
    v = z >> np.uint64(12)
    v <<= _U1
    v |= _U1  # 2k + 1 < 2**53
    u = v.astype(np.float64)
    u *= _TWO_M53  # exact
    m, e = np.frexp(u)  # exact: u = m * 2**e, m in [0.5, 1)
    small = m < _SQRT_HALF
    np.multiply(m, 2.0, out=m, where=small)  # exact
    e -= small
    s = m - 1.0  # exact (Sterbenz)
    m += 1.0
    s /= m
    zz = s * s
    p = np.full_like(zz, _ATANH[-1])
    for c in _ATANH[-2::-1]:
        p *= zz
        p += c
    p *= zz  # b = zz * p
    p *= s  # s * b
    p += 2.0 * s  # ln(m) = 2s + s * b
    le = e.astype(np.float64)
    le *= _LN2
    le += p
    return np.negative(le, out=le)


def neg_log_unit(z: Any, out: Any) -> None:
    """``out[i] = -ln(u_i)`` with ``u_i = (2*(z[i] >> 12) + 1) * 2**-53``.

    Accurate to a few ulps; computed from basic IEEE operations in a fixed order so
    that both twins and every platform give the same bits.
    """
    z = np.asarray(z)
    out = np.asarray(out)
    if out.shape[0] != z.shape[0]:
        raise ValueError("out must have the length of z")
    out[:] = _neg_log(z.astype(np.uint64))


def _scores(hashes: np.ndarray, seeds: np.ndarray, inv_weights: np.ndarray) -> np.ndarray:
    """(len(hashes), len(seeds)) ranks: -ln(u(key, node)) / w_node (smallest wins)."""
    z = mix64_array(hashes[:, None] ^ seeds[None, :])
    scores: np.ndarray = _neg_log(z) * inv_weights[None, :]
    return scores


def _chunk(n_nodes: int) -> int:
    return max(1, _CHUNK_CELLS // max(1, n_nodes))


def _check_nodes(seeds: Any, inv_weights: Any) -> tuple[NDArray[np.uint64], NDArray[np.float64]]:
    seeds = np.asarray(seeds).astype(np.uint64, copy=False)
    inv_weights = np.asarray(inv_weights).astype(np.float64, copy=False)
    if seeds.shape[0] != inv_weights.shape[0]:
        raise ValueError("seeds and inv_weights must have the same length")
    if seeds.shape[0] == 0:
        raise ValueError("no nodes")
    return seeds, inv_weights


def rendezvous_many(hashes: Any, seeds: Any, inv_weights: Any, out: Any) -> None:
    """Weighted rendezvous winner of every key hash: the node with the smallest rank
    ``-ln(u) * inv_weights[i]`` (the largest score ``-w / ln(u)``); ties go to the
    lowest node index. ``u`` comes from SplitMix64's finalizer of ``hash ^ seed``.
    """
    hashes = np.asarray(hashes).astype(np.uint64, copy=False)
    out = np.asarray(out)
    seeds, inv_weights = _check_nodes(seeds, inv_weights)
    if out.shape[0] != hashes.shape[0]:
        raise ValueError("out must have the length of hashes")
    step = _chunk(seeds.shape[0])
    for start in range(0, hashes.shape[0], step):
        stop = min(start + step, hashes.shape[0])
        out[start:stop] = np.argmin(_scores(hashes[start:stop], seeds, inv_weights), axis=1)


def rendezvous_scores(hashes: Any, seeds: Any, inv_weights: Any, out: Any) -> None:
    """``out[k, i]``: the rank of node ``i`` for key hash ``k`` (smaller is better)."""
    hashes = np.asarray(hashes).astype(np.uint64, copy=False)
    out = np.asarray(out)
    seeds, inv_weights = _check_nodes(seeds, inv_weights)
    if out.shape != (hashes.shape[0], seeds.shape[0]):
        raise ValueError("out must have shape (len(hashes), len(seeds))")
    step = _chunk(seeds.shape[0])
    for start in range(0, hashes.shape[0], step):
        stop = min(start + step, hashes.shape[0])
        out[start:stop] = _scores(hashes[start:stop], seeds, inv_weights)


def rendezvous_bounded(hashes: Any, seeds: Any, inv_weights: Any, remaining: Any, out: Any) -> None:
    """Bounded-load rendezvous: keys in order, each to its best node (as in
    :func:`rendezvous_many`) among the nodes whose ``remaining`` capacity is positive;
    ``remaining`` (int64) is decremented in place.
    """
    hashes = np.asarray(hashes).astype(np.uint64, copy=False)
    out = np.asarray(out)
    seeds, inv_weights = _check_nodes(seeds, inv_weights)
    if out.shape[0] != hashes.shape[0]:
        raise ValueError("out must have the length of hashes")
    if not isinstance(remaining, np.ndarray) or remaining.dtype != np.int64:
        raise TypeError("remaining must be an int64 numpy.ndarray (it is updated in place)")
    if remaining.shape[0] != seeds.shape[0]:
        raise ValueError("remaining must have one entry per node")
    if int(np.maximum(remaining, 0).sum()) < hashes.shape[0]:
        raise ValueError("the capacities cannot take every key")
    n = seeds.shape[0]
    step = _chunk(n)
    for start in range(0, hashes.shape[0], step):
        stop = min(start + step, hashes.shape[0])
        ranks = _scores(hashes[start:stop], seeds, inv_weights)
        pos = 0
        while pos < ranks.shape[0]:
            # Winners of the remaining keys if no further node fills up ...
            winners = np.argmin(np.where(remaining > 0, ranks[pos:], np.inf), axis=1)
            # ... valid up to the first key that would overflow its winner.
            order = np.argsort(winners, kind="stable")
            sorted_winners = winners[order]
            starts = np.flatnonzero(np.r_[True, sorted_winners[1:] != sorted_winners[:-1]])
            group = np.cumsum(np.r_[False, sorted_winners[1:] != sorted_winners[:-1]])
            rank = np.empty(winners.shape[0], dtype=np.int64)
            rank[order] = np.arange(winners.shape[0]) - starts[group]
            over = np.flatnonzero(rank >= remaining[winners])
            take = winners.shape[0] if not over.size else int(over[0])
            out[start + pos : start + pos + take] = winners[:take]
            remaining -= np.bincount(winners[:take], minlength=n)
            pos += take


# --------------------------------------------------------------------------- maglev


def maglev_build(offsets: Any, skips: Any, fracs: Any, table: Any) -> None:
    """Fill a Maglev lookup table (Eisenbud et al., NSDI 2016).

    Node ``i`` prefers the slots ``(offsets[i] + j * skips[i]) % M`` in order of ``j``.
    Rounds go over the nodes in index order; in each round node ``i`` adds ``fracs[i]``
    (its weight over the largest weight, in (0, 1]) to its credit and, when the credit
    reaches 1, spends 1 to take its next free preferred slot. With equal weights every
    node takes one slot per round: the paper's population.
    """
    table = np.asarray(table)
    off = np.asarray(offsets).tolist()
    skip = np.asarray(skips).tolist()
    frac = np.asarray(fracs).tolist()
    m = table.shape[0]
    n = len(off)
    if len(skip) != n or len(frac) != n:
        raise ValueError("offsets, skips and fracs must have the same length")
    if n == 0 or m == 0:
        raise ValueError("no nodes or an empty table")
    for i in range(n):
        if not (0 <= off[i] < m and 1 <= skip[i] < m):
            raise ValueError("offsets must lie in [0, M) and skips in [1, M)")
        if not (0.0 < frac[i] <= 1.0):
            raise ValueError("fracs must lie in (0, 1]")
    # Bounds as in the compiled twin: at most M rounds, at most M probes a turn.
    if max(frac) != 1.0:
        raise ValueError("the largest frac must be 1")
    entry = [-1] * m
    cursor = list(off)
    credit = [0.0] * n
    filled = 0
    while filled < m:
        for i in range(n):
            credit[i] += frac[i]
            if credit[i] >= 1.0:
                credit[i] -= 1.0
                c = cursor[i]
                s = skip[i]
                probes = 0
                while entry[c] >= 0 and probes < m:
                    c += s
                    if c >= m:
                        c -= m
                    probes += 1
                if probes == m:
                    raise ValueError("a node's preference list found no free slot: the table size is not prime")
                entry[c] = i
                c += s
                if c >= m:
                    c -= m
                cursor[i] = c
                filled += 1
                if filled == m:
                    break
    table[:] = entry


def maglev_many(hashes: Any, table: Any, out: Any) -> None:
    """``out[i] = table[hashes[i] % len(table)]``."""
    hashes = np.asarray(hashes).astype(np.uint64, copy=False)
    table = np.asarray(table)
    out = np.asarray(out)
    if out.shape[0] != hashes.shape[0]:
        raise ValueError("out must have the length of hashes")
    np.take(table, (hashes % np.uint64(table.shape[0])).astype(np.intp), out=out)


# --- grouping rows by node ---


def group_rows(node: Any, n_nodes: int, order: Any, offsets: Any) -> int:
    """A stable counting sort of rows by node (see ``_routers_c.group_rows``); returns
    -1, or the first row whose node is outside ``[0, n_nodes)``."""
    node = np.asarray(node)
    if n_nodes < 0 or len(offsets) != n_nodes + 1:
        raise ValueError("offsets must have n_nodes + 1 entries")
    if len(order) != len(node):
        raise ValueError("order must have one entry per row")
    bad = np.flatnonzero((node < 0) | (node >= n_nodes))
    if len(bad):
        return int(bad[0])
    offsets[0] = 0
    offsets[1:] = np.cumsum(np.bincount(node, minlength=n_nodes)) if n_nodes else []
    order[:] = np.argsort(node, kind="stable")
    return -1


# --------------------------------------------------------------------------- one key

ONE_KINDS = ("jump", "memento", "maglev", "rendezvous")


class KeyLookup:
    """One router version's ``lookup(key)`` (the compiled twin's KeyLookup): the key
    hashed by ``hash_one``, then the router's kernel for one key."""

    __slots__ = ("kind", "hash_one", "names", "empty", "size", "arrays")

    def __init__(self, kind: str, algo: int, hash_one: Any, names: tuple[Any, ...], empty: str, size: int, arrays: tuple[Any, ...] = ()) -> None:
        if kind not in ONE_KINDS:
            raise KeyError(kind)
        self.kind, self.hash_one, self.names, self.empty = kind, hash_one, names, empty
        self.size, self.arrays = size, arrays
        if not names:
            return
        if kind == "memento":
            replacer, _ = arrays
            if len(replacer) != size or size <= 0:
                raise ValueError("replacer and index must have one entry per bucket")
        elif kind == "maglev":
            if len(arrays[0]) == 0:
                raise ValueError("empty table")
            self.size = len(arrays[0])
        elif kind == "rendezvous":
            if len(arrays[0]) != len(arrays[1]):
                raise ValueError("seeds and inv_weights must have the same length")
        elif not 1 <= size <= 2**31 - 1:
            raise ValueError("size must be in [1, 2**31 - 1]")

    def lookup(self, key: Any) -> Any:
        if not self.names:
            raise LookupError(self.empty)
        return self.names[self._index(key)]

    def many(self, keys: Any) -> Any:
        """Node indices of a short list of keys, one at a time: an int32 array, or
        None if a key is off the key contract or the router is empty."""
        if not self.names:
            return None
        try:
            return np.array([self._index(key) for key in keys], dtype=np.int32)
        except (TypeError, ValueError, OverflowError):
            return None

    def _index(self, key: Any) -> int:
        h = self.hash_one(key)
        if self.kind == "jump":
            return jump_one(h, self.size)
        if self.kind == "maglev":
            return int(self.arrays[0][h % self.size])
        out = np.empty(1, dtype=np.int32)
        hashes = np.array([h], dtype=np.uint64)
        if self.kind == "memento":
            memento_many(hashes, self.size, self.arrays[0], self.arrays[1], out)
        else:
            rendezvous_many(hashes, self.arrays[0], self.arrays[1], out)
        return int(out[0])


# --------------------------------------------------------------------------- jump_hash

#: While use_twin("cython") runs with this twin live, the compiled twin answers instead.
_twin = None


def _delegate_to(module: Any) -> None:
    """Make this twin's public fast functions call ``module``'s (None: answer here)."""
    global _twin
    _twin = module


def jump_hash(keys: Any, num_buckets: int, *, algorithm: str = "xxh64") -> Any:
    if _twin is not None:
        return _twin.jump_hash(keys, num_buckets, algorithm=algorithm)
    from .routers import _jump_hash  # the public module (it imports this one)

    return _jump_hash(keys, num_buckets, algorithm=algorithm)


def jumpback_hash(keys: Any, num_buckets: int, *, algorithm: str = "xxh64") -> Any:
    if _twin is not None:
        return _twin.jumpback_hash(keys, num_buckets, algorithm=algorithm)
    from .routers import _jumpback_hash

    return _jumpback_hash(keys, num_buckets, algorithm=algorithm)
