"""Compiled router kernels: Jump, JumpBack, Memento, Rendezvous, Maglev.

Same names, signatures and results as the pure twin ``_routers_py``. The Python
layer (``fastring.routers``) validates inputs and allocates outputs; the kernels
still check lengths, because a mistake there would read or write out of bounds.
Every batch loop runs with the GIL released.

Exactness between the twins: integer work is unsigned 64-bit arithmetic, which
wraps the same way in C and in NumPy. Floating-point work is a fixed sequence of
single IEEE-754 operations (``+ - * /``, exact int <-> double conversions and
exact scalings by powers of two). The one place shaped like ``a * b + c`` (the polynomial of
``fr_neg_log``) lives in a C function that forbids FMA contraction, so it rounds
the same on every compiler and CPU. No libm transcendental is called.
"""

from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.math cimport INFINITY
from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t

from cpython.object cimport PyObject
from libc.stdint cimport uint8_t

cimport numpy as cnp

from fastring._arrays cimport int32_data, new_int32

cnp.import_array()  # the NumPy C API (new_int32) needs it once per module
from fastring._hashfuncs cimport FR_SPLITMIX_GAMMA, hash_bytes, hash_u64, mix64
from fastring._keycontract cimport (
    KEY_BITS,
    KEY_BYTES,
    PyLong_AsLongLongAndOverflow,
    PyLong_CheckExact,
    PyUnicode_CheckExact,
    key_fast,
)


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

cdef extern from *:
    """
    #include <stdint.h>
    #include <string.h>
    #if defined(_MSC_VER) && !defined(__clang__)
    #include <intrin.h>
    static inline int fr_clz64(uint64_t x) { unsigned long i; _BitScanReverse64(&i, x); return 63 - (int)i; }
    #else
    static inline int fr_clz64(uint64_t x) { return __builtin_clzll(x); }
    #endif

    /* -ln(u) for u = (2*(z >> 12) + 1) * 2^-53, from +, -, *, / and exact bit work.
       Why the pragmas: the Horner steps p*zz + c must round twice, as in the pure
       twin (NumPy never fuses); GCC fuses into FMA by default where the CPU has
       one (aarch64), clang within expressions, so both are told not to. */
    #if defined(_MSC_VER) && !defined(__clang__)
    #pragma fp_contract(off)
    #endif
    #if defined(__GNUC__) && !defined(__clang__)
    __attribute__((optimize("fp-contract=off")))
    #endif
    static double fr_neg_log(uint64_t z) {
    #if defined(__clang__)
    #pragma clang fp contract(off)
    #endif
        const double sqrt_half = 0.7071067811865476;  /* 0x1.6a09e667f3bcdp-1 */
        const double ln2 = 0.6931471805599453;  /* 0x1.62e42fefa39efp-1 */
        /* u = v * 2^-53 with v = 2*(z >> 12) + 1 odd, in [1, 2^53). frexp(u) is
           (v * 2^-bits, bits - 53) where bits = bit length of v: both exact. */
        uint64_t v = 2 * (z >> 12) + 1;
        int bits = 64 - fr_clz64(v);
        uint64_t scale_bits = (uint64_t)(1023 - bits) << 52;   /* 2^-bits */
        double scale;
        memcpy(&scale, &scale_bits, sizeof scale);
        double m = (double)v * scale;                             /* exact, in [0.5, 1) */
        int e = bits - 53;
        if (m < sqrt_half) { m = m * 2.0; e = e - 1; }
        double s = (m - 1.0) / (m + 1.0);
        double zz = s * s;
        double p = 2.0 / 21.0;
        p = p * zz + 2.0 / 19.0;
        p = p * zz + 2.0 / 17.0;
        p = p * zz + 2.0 / 15.0;
        p = p * zz + 2.0 / 13.0;
        p = p * zz + 2.0 / 11.0;
        p = p * zz + 2.0 / 9.0;
        p = p * zz + 2.0 / 7.0;
        p = p * zz + 2.0 / 5.0;
        p = p * zz + 2.0 / 3.0;
        double a = 2.0 * s;
        double b = zz * p;
        double ln_m = a + s * b;
        double le = (double)e * ln2;
        return -(le + ln_m);
    }
    """
    double fr_neg_log(uint64_t z) noexcept nogil


# Jump consistent hash (Lamping & Veach 2014): the LCG of the paper.
cdef uint64_t JUMP_MUL = 2862933555777941757ULL
cdef double TWO31 = 2147483648.0
cdef double TWO53 = 9007199254740992.0
cdef double TWO_M53 = 1.1102230246251565e-16  # 2**-53
# Pruning margin of the rendezvous search: far above the few-ulp error of fr_neg_log.
cdef double PRUNE_MARGIN = 1.000000001

# Keys jumped at once (see _jump_lanes): their dependent float divisions overlap.
cdef enum:
    LANES = 8


cdef inline void _check_len(Py_ssize_t a, Py_ssize_t b, str what) except *:
    if a != b:
        raise ValueError(what)


# --------------------------------------------------------------------------- jump


cdef inline int32_t _jump(uint64_t key, int64_t n) noexcept nogil:
    cdef int64_t b = -1, j = 0
    while j < n:
        b = j
        key = key * JUMP_MUL + 1
        j = <int64_t>(<double>(b + 1) * (TWO31 / <double>((key >> 33) + 1)))
    return <int32_t>b


cdef void _jump_lanes(const uint64_t* keys, Py_ssize_t m, int64_t n, int32_t* out) noexcept nogil:
    """Jump LANES keys at once, branch-free: a lane whose key is done stores its bucket
    and takes the next key, so the lanes' dependent float divisions overlap and no
    lane idles waiting for the slowest key."""
    cdef uint64_t st[LANES]
    cdef int64_t b[LANES]
    cdef int64_t j[LANES]
    cdef Py_ssize_t idx[LANES]
    cdef Py_ssize_t nxt, l
    cdef bint done
    if m < 2 * LANES:
        for l in range(m):
            out[l] = _jump(keys[l], n)
        return
    for l in range(LANES):
        st[l] = keys[l]
        b[l] = 0
        j[l] = 0
        idx[l] = l
    nxt = LANES
    # Every lane may take a key per step: nxt + LANES <= m keeps keys[nxt] in bounds.
    while nxt + LANES <= m:
        for l in range(LANES):
            done = j[l] >= n
            # Unconditional store: the final bucket when done, else a placeholder that
            # the final store of this key overwrites later.
            out[idx[l]] = <int32_t>b[l]
            idx[l] = nxt if done else idx[l]
            st[l] = keys[nxt] if done else st[l]
            b[l] = 0 if done else j[l]
            nxt += done
            st[l] = st[l] * JUMP_MUL + 1
            j[l] = <int64_t>(<double>(b[l] + 1) * (TWO31 / <double>((st[l] >> 33) + 1)))
    for l in range(LANES):  # drain the lanes, then the last keys one by one
        while j[l] < n:
            b[l] = j[l]
            st[l] = st[l] * JUMP_MUL + 1
            j[l] = <int64_t>(<double>(b[l] + 1) * (TWO31 / <double>((st[l] >> 33) + 1)))
        out[idx[l]] = <int32_t>b[l]
    while nxt < m:
        out[nxt] = _jump(keys[nxt], n)
        nxt += 1


def jump_one(uint64_t key, int64_t num_buckets):
    """Jump consistent hash of one 64-bit key (``jump.hash`` of the jump package)."""
    return _jump(key, num_buckets)


def jump_many(const uint64_t[::1] keys, int64_t num_buckets, int32_t[::1] out):
    """``out[i] = jump_one(keys[i], num_buckets)``."""
    cdef Py_ssize_t m = keys.shape[0]
    _check_len(out.shape[0], m, "out must have the length of keys")
    if m == 0:
        return
    with nogil:
        _jump_lanes(&keys[0], m, num_buckets, &out[0])


# --------------------------------------------------------------------------- jumpback


cdef extern from *:
    """
    #if defined(_MSC_VER) && !defined(__clang__)
    #include <intrin.h>
    static inline int fr_bitlen32(uint32_t x) { unsigned long i; _BitScanReverse(&i, x); return (int)i + 1; }
    static inline int fr_parity32(uint32_t x) { return (int)(__popcnt(x) & 1); }
    #else
    static inline int fr_bitlen32(uint32_t x) { return 32 - __builtin_clz(x); }
    static inline int fr_parity32(uint32_t x) { return __builtin_parity(x); }
    #endif
    """
    int fr_bitlen32(uint32_t x) noexcept nogil  # x != 0
    int fr_parity32(uint32_t x) noexcept nogil


cdef inline int32_t _jumpback(uint64_t key, int64_t n) noexcept nogil:
    # Ertl 2024, with SplitMix64 as the pseudorandom generator seeded by the key
    # (hash4j's ConsistentHashing.jumpBackHash(splitMix64_V1())).
    cdef uint64_t state, r0, r1
    cdef uint32_t x, range_min, range_max, bucket
    if n <= 1:
        return 0
    state = key + FR_SPLITMIX_GAMMA
    r0 = mix64(state)
    x = <uint32_t>(r0 ^ (r0 >> 32)) & ((<uint32_t>0xFFFFFFFFu) >> (32 - fr_bitlen32(<uint32_t>(n - 1))))
    while True:
        if x == 0:
            return 0
        range_min = (<uint32_t>1) << (fr_bitlen32(x) - 1)
        # hash4j shifts a long by bitCount(x) << 5, which Java takes mod 64: 32 or 0.
        bucket = range_min + (<uint32_t>(r0 >> (fr_parity32(x) << 5)) & (range_min - 1))
        if bucket < n:
            return <int32_t>bucket
        range_max = (range_min << 1) - 1
        while True:
            state = state + FR_SPLITMIX_GAMMA
            r1 = mix64(state)
            bucket = <uint32_t>r1 & range_max
            if bucket < range_min:
                break
            if bucket < n:
                return <int32_t>bucket
            bucket = <uint32_t>(r1 >> 32) & range_max
            if bucket < range_min:
                break
            if bucket < n:
                return <int32_t>bucket
        x ^= range_min


def jumpback_one(uint64_t key, int64_t num_buckets):
    """JumpBackHash (Ertl 2024) of one 64-bit key, SplitMix64 as the random source."""
    return _jumpback(key, num_buckets)


def jumpback_many(const uint64_t[::1] keys, int64_t num_buckets, int32_t[::1] out):
    """``out[i] = jumpback_one(keys[i], num_buckets)``."""
    cdef Py_ssize_t i, m = keys.shape[0]
    _check_len(out.shape[0], m, "out must have the length of keys")
    with nogil:
        for i in range(m):
            out[i] = _jumpback(keys[i], num_buckets)


# --------------------------------------------------------------------------- memento


cdef int64_t _check_memento(int64_t size, const int32_t[::1] replacer, const int32_t[::1] index) except -1:
    """The number of removed buckets of a valid replacement table (else ValueError)."""
    cdef int64_t i, n_removed = 0
    _check_len(replacer.shape[0], size, "replacer and index must have one entry per bucket")
    _check_len(index.shape[0], size, "replacer and index must have one entry per bucket")
    if size <= 0:
        raise ValueError("size must be positive")
    for i in range(size):
        # A replacer is a working-set size in [1, size); 0 would divide by zero.
        if replacer[i] == 0 or replacer[i] < -1 or replacer[i] >= size:
            raise ValueError(f"replacer[{i}] = {replacer[i]} is not -1 or in [1, size)")
        n_removed += replacer[i] >= 0
    return n_removed


cdef inline int64_t _memento_bucket(uint64_t h, int64_t b, const int32_t* replacer,
                                    int64_t n_removed) noexcept nogil:
    """The working bucket of key hash ``h`` whose jump bucket is ``b``; -1 if the
    replacement table loops (a tampered state)."""
    cdef int64_t r = replacer[b], r2, hops = 0
    # Bounds: r strictly decreases from one rehash to the next (r = r2 < r), so there
    # are fewer than ``size`` rehashes. A chain of replacers visits distinct removed
    # buckets in a valid table, so it has at most n_removed hops; a longer one loops
    # and is refused instead of spinning without the GIL.
    while r >= 0:
        # Rehash the key with the removed bucket as seed, into [0, r).
        b = <int64_t>(mix64(h + <uint64_t>(b + 1) * FR_SPLITMIX_GAMMA) % <uint64_t>r)
        r2 = replacer[b]
        # Buckets removed before the one we came from were already replaced then:
        # follow their replacers while they are at least r.
        hops = 0
        while r2 >= r and hops <= n_removed:
            b = r2
            r2 = replacer[b]
            hops += 1
        if hops > n_removed:
            return -1
        r = r2
    return b


def memento_many(const uint64_t[::1] keys, int64_t size, const int32_t[::1] replacer,
                 const int32_t[::1] index, int32_t[::1] out):
    """MementoHash lookup (Coluzzi et al. 2023) of uint64 keys; out int32 node indices.

    ``size`` is the b-array size (jump's bucket count), ``replacer[b]`` the bucket that
    replaced removed bucket ``b`` (the working-set size right after its removal) or -1
    for a working bucket, ``index[b]`` the node index of working bucket ``b``.
    """
    cdef Py_ssize_t i, m = keys.shape[0]
    cdef int64_t b, n_removed
    cdef bint looped = False
    _check_len(out.shape[0], m, "out must have the length of keys")
    n_removed = _check_memento(size, replacer, index)
    if m == 0:
        return
    with nogil:
        _jump_lanes(&keys[0], m, size, &out[0])
        for i in range(m):
            b = _memento_bucket(keys[i], out[i], &replacer[0], n_removed)
            if b < 0:
                looped = True
                break
            out[i] = index[b]
    if looped:
        raise ValueError("the replacement table loops: it is not a MementoHash state")


# --------------------------------------------------------------------------- rendezvous


def neg_log_unit(const uint64_t[::1] z, double[::1] out):
    """``out[i] = -ln(u_i)`` with ``u_i = (2*(z[i] >> 12) + 1) * 2**-53``."""
    cdef Py_ssize_t i, m = z.shape[0]
    _check_len(out.shape[0], m, "out must have the length of z")
    with nogil:
        for i in range(m):
            out[i] = fr_neg_log(z[i])


cdef inline double _rank(uint64_t h, uint64_t seed, double inv_weight) noexcept nogil:
    return fr_neg_log(mix64(h ^ seed)) * inv_weight


cdef enum:
    ACC = 4  # independent running minima in _best


cdef inline double _lower(uint64_t z, double iw) noexcept nogil:
    # d * iw with d = 2**53 - 1 - 2 * (z >> 12), i.e. (1 - u) * iw in units of 2**-53.
    return <double>(<int64_t>9007199254740991 - 2 * <int64_t>(z >> 12)) * iw


cdef Py_ssize_t _best(uint64_t h, const uint64_t* seeds, const double* iw, Py_ssize_t n,
                      double* bound) noexcept nogil:
    """The node with the smallest rank (lowest index on ties), exactly as a full scan
    would find it, computing ``fr_neg_log`` only when several nodes can win.

    Why pruning is exact: (1 - u) <= -ln(u) <= (1 - u) / u. So ``d * iw`` (d = 2**53 *
    (1 - u)) bounds a node's rank (in units of 2**-53) from below, and the candidate
    with the smallest lower bound has a rank of at most its bound over ``u``. A node
    whose lower bound exceeds the candidate's upper bound by more than PRUNE_MARGIN
    (far above fr_neg_log's few-ulp error) can neither win nor tie. ``bound`` (n
    entries) keeps the lower bounds for a vectorizable count.
    """
    cdef Py_ssize_t i, a, best, passing = 0
    cdef Py_ssize_t arg[ACC]
    cdef double low[ACC]
    cdef uint64_t z
    cdef double lower, first, upper, best_rank, threshold, rank
    for a in range(ACC):
        low[a] = INFINITY
        arg[a] = 0
    # ACC running minima: one would chain every node's minsd on the previous one.
    i = 0
    while i + ACC <= n:
        for a in range(ACC):
            lower = _lower(mix64(h ^ seeds[i + a]), iw[i + a])
            bound[i + a] = lower
            # Arithmetic select: compilers may turn a ternary here into an
            # unpredictable branch (a new minimum is rare but random).
            arg[a] += (lower < low[a]) * (i + a - arg[a])
            low[a] = lower if lower < low[a] else low[a]
        i += ACC
    while i < n:
        lower = _lower(mix64(h ^ seeds[i]), iw[i])
        bound[i] = lower
        arg[0] += (lower < low[0]) * (i - arg[0])
        low[0] = lower if lower < low[0] else low[0]
        i += 1
    # The smallest bound; on equal bounds the lowest index (ties are settled exactly
    # below anyway, since an equal bound always passes the count).
    first, best = low[0], arg[0]
    for a in range(1, ACC):
        if low[a] < first or (low[a] == first and arg[a] < best):
            first, best = low[a], arg[a]
    z = mix64(h ^ seeds[best])
    upper = first / (<double>(2 * (z >> 12) + 1) * TWO_M53) * PRUNE_MARGIN
    for i in range(n):
        passing += bound[i] <= upper
    if passing <= 1:  # the common case: no other node can win, no logarithm needed
        return best
    best_rank = fr_neg_log(z) * iw[best]  # == _rank(h, seeds[best], iw[best])
    threshold = best_rank * TWO53 * PRUNE_MARGIN
    for i in range(n):
        if i != best and bound[i] <= threshold:
            rank = _rank(h, seeds[i], iw[i])
            if rank < best_rank or (rank == best_rank and i < best):
                best_rank = rank
                best = i
    return best


cdef Py_ssize_t _best_uniform(uint64_t h, const uint64_t* seeds, double iw, Py_ssize_t n,
                              uint32_t* top) noexcept nogil:
    """:func:`_best` when every node has the same weight: the rank falls as
    ``k = z >> 12`` grows, so the candidate is the largest ``k`` (integer work only)
    and the pruning bound becomes a bound on ``k``. ``top`` (n entries) keeps the top
    32 bits of every ``k`` for a vectorizable count of the nodes that pass the bound.
    """
    cdef Py_ssize_t i, best = 0, passing = 0
    cdef uint64_t z, k, top1 = 0, k_min
    cdef uint32_t k_min_top
    cdef double best_rank, d_max, rank
    for i in range(n):
        k = mix64(h ^ seeds[i]) >> 12
        top[i] = <uint32_t>(k >> 20)
        best += (k > top1) * (i - best)  # arithmetic select, as in _best
        top1 = k if k > top1 else top1
    # A node can win or tie only if its d = 2**53 - 1 - 2k (its rank's lower bound in
    # units of 2**-53) is at most the candidate's rank, itself at most d_best / u_best
    # (-ln(u) <= (1 - u) / u): no logarithm needed to rule the others out. k_min is
    # rounded down by one more step, so rounding never prunes a candidate.
    d_max = (<double>(<int64_t>9007199254740991 - 2 * <int64_t>top1)
             / (<double>(2 * top1 + 1) * TWO_M53) * PRUNE_MARGIN)
    if d_max >= 9007199254740991.0:
        k_min = 0
    else:
        k_min = <uint64_t>((9007199254740991.0 - d_max) * 0.5)
        k_min = k_min - 1 if k_min > 0 else 0
    # Coarse count on the top 32 bits (k >= k_min implies top >= k_min_top), so a
    # candidate is never missed; the exact test follows for the few that pass.
    k_min_top = <uint32_t>(k_min >> 20)
    for i in range(n):
        passing += top[i] >= k_min_top
    if passing > 1:  # rare: another node may win or tie
        best_rank = _rank(h, seeds[best], iw)
        for i in range(n):
            if i != best and top[i] >= k_min_top:
                z = mix64(h ^ seeds[i])
                if (z >> 12) >= k_min:
                    rank = fr_neg_log(z) * iw
                    if rank < best_rank or (rank == best_rank and i < best):
                        best_rank = rank
                        best = i
    return best


cdef inline void _check_nodes(Py_ssize_t seeds, Py_ssize_t weights) except *:
    if seeds != weights:
        raise ValueError("seeds and inv_weights must have the same length")
    if seeds == 0:
        raise ValueError("no nodes")


def rendezvous_many(const uint64_t[::1] hashes, const uint64_t[::1] seeds,
                    const double[::1] inv_weights, int32_t[::1] out):
    """Weighted rendezvous winner of every key hash: the node with the smallest rank
    ``-ln(u) * inv_weights[i]`` (the largest score ``-w / ln(u)``); ties go to the
    lowest node index. ``u`` comes from SplitMix64's finalizer of ``hash ^ seed``.
    """
    cdef Py_ssize_t i, m = hashes.shape[0], n = seeds.shape[0]
    cdef bint uniform = True
    cdef void* scratch
    _check_nodes(n, inv_weights.shape[0])
    _check_len(out.shape[0], m, "out must have the length of hashes")
    for i in range(n):
        uniform = uniform and inv_weights[i] == inv_weights[0]
    scratch = PyMem_Malloc(n * sizeof(double))  # n doubles (_best) or n uint32 (_best_uniform)
    if scratch == NULL:
        raise MemoryError()
    try:
        with nogil:
            if uniform:
                for i in range(m):
                    out[i] = <int32_t>_best_uniform(hashes[i], &seeds[0], inv_weights[0], n,
                                                    <uint32_t*>scratch)
            else:
                for i in range(m):
                    out[i] = <int32_t>_best(hashes[i], &seeds[0], &inv_weights[0], n,
                                            <double*>scratch)
    finally:
        PyMem_Free(scratch)


def rendezvous_scores(const uint64_t[::1] hashes, const uint64_t[::1] seeds,
                      const double[::1] inv_weights, double[:, ::1] out):
    """``out[k, i]``: the rank of node ``i`` for key hash ``k`` (smaller is better)."""
    cdef Py_ssize_t k, i, m = hashes.shape[0], n = seeds.shape[0]
    _check_nodes(n, inv_weights.shape[0])
    if out.shape[0] != m or out.shape[1] != n:
        raise ValueError("out must have shape (len(hashes), len(seeds))")
    with nogil:
        for k in range(m):
            for i in range(n):
                out[k, i] = _rank(hashes[k], seeds[i], inv_weights[i])


def rendezvous_bounded(const uint64_t[::1] hashes, const uint64_t[::1] seeds,
                       const double[::1] inv_weights, int64_t[::1] remaining, int32_t[::1] out):
    """Bounded-load rendezvous: keys in order, each to its best node (as in
    :func:`rendezvous_many`) among the nodes whose ``remaining`` capacity is positive;
    ``remaining`` (int64) is decremented in place.
    """
    cdef Py_ssize_t i, k, m = hashes.shape[0], n = seeds.shape[0]
    cdef int64_t total = 0
    cdef double* iw
    cdef Py_ssize_t best
    _check_nodes(n, inv_weights.shape[0])
    _check_len(out.shape[0], m, "out must have the length of hashes")
    _check_len(remaining.shape[0], n, "remaining must have one entry per node")
    for i in range(n):
        if remaining[i] > 0:
            total += remaining[i]
    if total < m:
        raise ValueError("the capacities cannot take every key")
    iw = <double*>PyMem_Malloc(2 * n * sizeof(double))  # weights, then _best's scratch
    if iw == NULL:
        raise MemoryError()
    try:
        with nogil:
            # A full node gets an infinite rank: it is never chosen while a node with
            # spare capacity exists, which the total above guarantees.
            for i in range(n):
                iw[i] = inv_weights[i] if remaining[i] > 0 else INFINITY
            for k in range(m):
                best = _best(hashes[k], &seeds[0], iw, n, iw + n)
                out[k] = <int32_t>best
                remaining[best] -= 1
                if remaining[best] == 0:
                    iw[best] = INFINITY
    finally:
        PyMem_Free(iw)


# --------------------------------------------------------------------------- maglev


def maglev_build(const int64_t[::1] offsets, const int64_t[::1] skips, const double[::1] fracs,
                 int32_t[::1] table):
    """Fill a Maglev lookup table (Eisenbud et al., NSDI 2016).

    Node ``i`` prefers the slots ``(offsets[i] + j * skips[i]) % M`` in order of ``j``.
    Rounds go over the nodes in index order; in each round node ``i`` adds ``fracs[i]``
    (its weight over the largest weight, in (0, 1]) to its credit and, when the credit
    reaches 1, spends 1 to take its next free preferred slot. With equal weights every
    node takes one slot per round: the paper's population.
    """
    cdef Py_ssize_t n = offsets.shape[0], m = table.shape[0], i, filled = 0
    cdef int64_t c, s
    cdef int64_t* cursor
    cdef double* credit
    _check_len(skips.shape[0], n, "offsets, skips and fracs must have the same length")
    _check_len(fracs.shape[0], n, "offsets, skips and fracs must have the same length")
    if n == 0 or m == 0:
        raise ValueError("no nodes or an empty table")
    cdef double top = 0.0
    cdef int64_t probes
    cdef bint full = False
    for i in range(n):
        if not (0 <= offsets[i] < m and 1 <= skips[i] < m):
            raise ValueError("offsets must lie in [0, M) and skips in [1, M)")
        if not (0.0 < fracs[i] <= 1.0):
            raise ValueError("fracs must lie in (0, 1]")
        top = max(top, fracs[i])
    # Bounds: a node with frac 1 takes a slot every round, so there are at most M
    # rounds; a turn probes at most M slots (all of them when M is prime).
    if top != 1.0:
        raise ValueError("the largest frac must be 1")
    cursor = <int64_t*>PyMem_Malloc(n * sizeof(int64_t))
    credit = <double*>PyMem_Malloc(n * sizeof(double))
    if cursor == NULL or credit == NULL:
        PyMem_Free(cursor)
        PyMem_Free(credit)
        raise MemoryError()
    try:
        with nogil:
            for i in range(m):
                table[i] = -1
            for i in range(n):
                cursor[i] = offsets[i]
                credit[i] = 0.0
            while filled < m:
                for i in range(n):
                    credit[i] += fracs[i]
                    if credit[i] >= 1.0:
                        credit[i] -= 1.0
                        c = cursor[i]
                        s = skips[i]
                        # M prime: the preference list of every node visits every
                        # slot, and a free slot is left while filled < M. A composite M
                        # (a tampered state) can cycle over full slots: refused.
                        probes = 0
                        while table[c] >= 0 and probes < m:
                            c += s
                            if c >= m:
                                c -= m
                            probes += 1
                        if probes == m:
                            full = True
                            break
                        table[c] = <int32_t>i
                        c += s
                        if c >= m:
                            c -= m
                        cursor[i] = c
                        filled += 1
                        if filled == m:
                            break
                if full:
                    break
    finally:
        PyMem_Free(cursor)
        PyMem_Free(credit)
    if full:
        raise ValueError("a node's preference list found no free slot: the table size is not prime")


def maglev_many(const uint64_t[::1] hashes, const int32_t[::1] table, int32_t[::1] out):
    """``out[i] = table[hashes[i] % len(table)]``."""
    cdef Py_ssize_t i, m = hashes.shape[0]
    cdef uint64_t size = <uint64_t>table.shape[0]
    _check_len(out.shape[0], m, "out must have the length of hashes")
    if size == 0:
        raise ValueError("empty table")
    with nogil:
        for i in range(m):
            out[i] = table[hashes[i] % size]


# ---------------------------------------------------------------- grouping rows by node

def group_rows(const int32_t[::1] node, int64_t n_nodes, int64_t[::1] order, int64_t[::1] offsets):
    """A stable counting sort of rows by node: ``order[offsets[j]:offsets[j + 1]]`` are
    the rows of node j, in input order. One pass counts, one places (GIL released).

    Returns -1, or the first row whose node is outside ``[0, n_nodes)`` (then ``order``
    and ``offsets`` are not meaningful).
    """
    cdef Py_ssize_t n = node.shape[0]
    cdef Py_ssize_t i, bad = -1
    cdef int64_t j, total = 0, c
    if n_nodes < 0 or offsets.shape[0] != n_nodes + 1:
        raise ValueError("offsets must have n_nodes + 1 entries")
    if order.shape[0] != n:
        raise ValueError("order must have one entry per row")
    with nogil:
        for j in range(n_nodes + 1):
            offsets[j] = 0
        for i in range(n):
            if node[i] < 0 or node[i] >= n_nodes:
                bad = i
                break
            offsets[node[i] + 1] += 1
        if bad < 0:
            for j in range(1, n_nodes + 1):
                offsets[j] += offsets[j - 1]
            # offsets[j] is now where node j's rows start; place each row, then shift
            # back (offsets[j] ends at node j + 1's start: undo by one slot).
            for i in range(n):
                c = offsets[node[i]]
                order[c] = i
                offsets[node[i]] = c + 1
            for j in range(n_nodes, 0, -1):
                offsets[j] = offsets[j - 1]
            offsets[0] = 0
    return bad


# ---------------------------------------------------------------- one key

cdef enum:
    ONE_JUMP = 0
    ONE_MEMENTO = 1
    ONE_MAGLEV = 2
    ONE_RENDEZVOUS = 3
    RANK_STACK = 256  # nodes whose bounds fit on the stack in a one-key rendezvous

ONE_KINDS = {"jump": ONE_JUMP, "memento": ONE_MEMENTO, "maglev": ONE_MAGLEV, "rendezvous": ONE_RENDEZVOUS}


cdef class KeyLookup:
    """One router version's ``lookup(key)``: the key hashed in C (the key contract's
    fast paths; other keys through ``hash_one``), then the router's kernel for one key.

    ``kind`` is one of ``ONE_KINDS``; ``algo`` the hash id, or -1 for integer keys as
    they are (``hash_one`` is then ``int_key_bits``); ``arrays`` what the kernel reads:
    jump nothing, memento (replacer, index), maglev (table,), rendezvous (seeds,
    inv_weights). The arrays are checked here as the batch kernels check them.
    """

    cdef int kind
    cdef int algo
    cdef object hash_one
    cdef tuple names
    cdef str empty
    cdef int64_t size
    cdef int64_t n_removed
    cdef bint uniform
    cdef const int32_t[::1] ints_a
    cdef const int32_t[::1] ints_b
    cdef const uint64_t[::1] seeds
    cdef const double[::1] inv_weights

    def __init__(self, str kind, int algo, hash_one, tuple names, str empty, int64_t size, tuple arrays=()):
        self.kind = ONE_KINDS[kind]
        self.algo = algo
        self.hash_one = hash_one
        self.names = names
        self.empty = empty
        self.size = size
        if not names:
            return
        if self.kind == ONE_MEMENTO:
            self.ints_a, self.ints_b = arrays
            self.n_removed = _check_memento(size, self.ints_a, self.ints_b)
        elif self.kind == ONE_MAGLEV:
            self.ints_a = arrays[0]
            if self.ints_a.shape[0] == 0:
                raise ValueError("empty table")
            self.size = self.ints_a.shape[0]
        elif self.kind == ONE_RENDEZVOUS:
            self.seeds, self.inv_weights = arrays
            _check_nodes(self.seeds.shape[0], self.inv_weights.shape[0])
            self.uniform = True
            for i in range(self.inv_weights.shape[0]):
                self.uniform = self.uniform and self.inv_weights[i] == self.inv_weights[0]
        elif size <= 0 or size > 2147483647:
            raise ValueError("size must be in [1, 2**31 - 1]")

    def lookup(self, key):
        if not self.names:
            raise LookupError(self.empty)
        return self.names[self._index(key)]

    def many(self, list keys):
        """Node indices of a short list of keys, one at a time (no batch set-up): an
        int32 array, or None if a key is off the key contract (the batch path then
        names it) or the router is empty."""
        cdef Py_ssize_t i, n = len(keys)
        cdef int32_t* view
        if not self.names:
            return None
        out = new_int32(n)
        view = int32_data(out)
        try:
            for i in range(n):
                view[i] = <int32_t>self._index(keys[i])
        except (TypeError, ValueError, OverflowError):
            return None
        return out

    cdef Py_ssize_t _index(self, key) except -1:
        cdef const uint8_t* p = NULL
        cdef size_t n = 0
        cdef uint64_t h = 0
        cdef int kind
        cdef int64_t b
        kind = key_fast(<PyObject*>key, &p, &n, &h)
        if kind == KEY_BYTES and self.algo >= 0:
            h = hash_bytes(p, n, self.algo, 0)
        elif kind == KEY_BITS and self.algo >= 0:
            h = hash_u64(h, self.algo, 0)
        elif kind != KEY_BITS:  # not on a fast path, or bytes where ints are needed
            h = self.hash_one(key)
        if self.kind == ONE_JUMP:
            return _jump(h, self.size)
        if self.kind == ONE_MAGLEV:
            return self.ints_a[h % <uint64_t>self.size]
        if self.kind == ONE_MEMENTO:
            b = _memento_bucket(h, _jump(h, self.size), &self.ints_a[0], self.n_removed)
            if b < 0:
                raise ValueError("the replacement table loops: it is not a MementoHash state")
            return self.ints_b[b]
        return self._rendezvous(h)

    cdef Py_ssize_t _rendezvous(self, uint64_t h) except -1:
        cdef Py_ssize_t n = self.seeds.shape[0], best
        cdef double stack[RANK_STACK]
        cdef void* scratch = <void*>stack
        if n > RANK_STACK:
            scratch = PyMem_Malloc(n * sizeof(double))
            if scratch == NULL:
                raise MemoryError()
        try:
            if self.uniform:
                best = _best_uniform(h, &self.seeds[0], self.inv_weights[0], n, <uint32_t*>scratch)
            else:
                best = _best(h, &self.seeds[0], &self.inv_weights[0], n, <double*>scratch)
        finally:
            if n > RANK_STACK:
                PyMem_Free(scratch)
        return best


# ---------------------------------------------------------------- jump_hash of one key

# fastring.jump_hash and jumpback_hash are these functions when the compiled twin is
# live. One exact int (or, with a hash, one str/bytes) and an exact int bucket count
# in range are answered here; everything else (containers, bad input) goes to
# fastring.routers' implementation, which gives the same answer or the same error.

from fastring._algorithms import ALGORITHMS as _PUBLIC, resolve_algorithm as _resolve

cdef dict _HASH_IDS = {name: _resolve(name)[0] for name in _PUBLIC}

#: While use_twin("python") runs with this twin live, the pure twin answers instead.
cdef object _twin = None


def _delegate_to(module):
    """Make this twin's public fast functions call ``module``'s (None: answer here)."""
    global _twin
    _twin = module


cdef int64_t _one_bucket(object key, object num_buckets, object algorithm, bint back):
    """The bucket of one key, or -1 when the call is not on the fast path."""
    cdef const uint8_t* p = NULL
    cdef size_t n = 0
    cdef uint64_t h = 0
    cdef long long buckets
    cdef int overflow = 0, kind
    if not PyLong_CheckExact(<PyObject*>num_buckets):
        return -1
    buckets = PyLong_AsLongLongAndOverflow(<PyObject*>num_buckets, &overflow)
    if overflow or buckets < 1 or buckets > 2147483647:
        return -1
    kind = key_fast(<PyObject*>key, &p, &n, &h)
    if algorithm is None:
        if kind != KEY_BITS:
            return -1
    else:
        found = _HASH_IDS.get(algorithm) if PyUnicode_CheckExact(<PyObject*>algorithm) else None
        if found is None:
            return -1
        if kind == KEY_BYTES:
            h = hash_bytes(p, n, <int>found, 0)
        elif kind == KEY_BITS:
            h = hash_u64(h, <int>found, 0)
        else:
            return -1
    return _jumpback(h, buckets) if back else _jump(h, buckets)


def jump_hash(keys, num_buckets, *, algorithm="xxh64"):
    return _bucket_of(keys, num_buckets, algorithm, False)


def jumpback_hash(keys, num_buckets, *, algorithm="xxh64"):
    return _bucket_of(keys, num_buckets, algorithm, True)


cdef object _bucket_of(object keys, object num_buckets, object algorithm, bint back):
    """jump_hash (``back`` False) or jumpback_hash: one key here, the rest in Python."""
    cdef int64_t bucket
    if _twin is not None:
        fn = _twin.jumpback_hash if back else _twin.jump_hash
        return fn(keys, num_buckets, algorithm=algorithm)
    bucket = _one_bucket(keys, num_buckets, algorithm, back)
    if bucket >= 0:
        return bucket
    from fastring import routers

    fn = routers._jumpback_hash if back else routers._jump_hash
    return fn(keys, num_buckets, algorithm=algorithm)
