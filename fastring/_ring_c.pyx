"""Compiled ring kernels; the pure-Python twin is ``_ring_py.py`` (same names, same results).

The Python layer (``fastring/ring.py``) owns the ring: it keeps every point sorted,
resolves colliding points and builds a :class:`RingIndex` snapshot, which holds only
*live* points (one per distinct position: the winner of a collision), padded for the
search below. The kernels here only read those arrays.

Search: a key hash ``h`` goes to the first point strictly greater than ``h`` (wrapping
to point 0). A prefix table indexed by the top ``B`` bits of ``h`` gives the first
point of ``h``'s bucket; every bucket holds fewer than ``2**depth`` points, so a
branch-free binary lifting of exactly ``depth`` steps over the padded array counts the
bucket's points ``<= h``. Points past the bucket are ``> h`` and the padding is
``UINT64_MAX``, so the count never leaves the bucket except to wrap (an index ``>=
size``, whose padded owner is the owner of point 0).
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.object cimport PyObject
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.unicode cimport PyUnicode_AsUTF8AndSize
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcpy, memset

from fastring._hashfuncs cimport ALGO_XXH64, hash_bytes, hash_u64, md5_32, md5_digest, read_be64, xxh64_u64

cimport numpy as cnp
import numpy as np

from fastring._arrays cimport int32_data, new_int32

cnp.import_array()  # the NumPy C API (new_int32) needs it once per module
from fastring._keycontract cimport KEY_BITS, KEY_SLOW, key_fast, key_slow


__all__ = ["RING_MODES", "RingIndex", "bucket_starts", "stable_order"]

# Key hashing modes. ring.py takes their numbers from RING_MODES below.
cdef enum:
    MODE_HASH = 0        # hash_key(key, algorithm): the key contract
    MODE_KETAMA = 1      # md5_32(str(key)), uhashring hash_fn="ketama"
    MODE_UHASHRING = 2   # 128-bit md5(str(key)) as (hi, lo), uhashring default

#: Mode name -> number, the one table of ring modes (the pure twin's copy must equal
#: it: see tests/test_tables.py).
RING_MODES = {"hash": MODE_HASH, "ketama": MODE_KETAMA, "uhashring": MODE_UHASHRING}

ctypedef fused hash_t:
    uint32_t
    uint64_t


# ---------------------------------------------------------------- helpers

cdef inline void _find_many_u64(const uint64_t* values, Py_ssize_t n, int algo,
                                uint64_t seed, const uint64_t* pos, const uint32_t* table,
                                uint64_t last, int shift, int depth, const int32_t* owner,
                                int32_t* out) noexcept nogil:
    """out[i] = owner[_find(hash_u64(values[i]))]: hashing fused into the grouped search.

    The hashes stay in registers instead of a temporary array (integer keys are hashed
    as their 8 little-endian bytes, exactly as the hashing kernels do).
    """
    cdef Py_ssize_t idx[GROUP]
    cdef uint64_t h[GROUP]
    cdef uint64_t b
    cdef Py_ssize_t i = 0
    cdef Py_ssize_t j, step
    cdef int d
    cdef bint fast = algo == ALGO_XXH64
    while i + GROUP <= n:
        if fast:
            for j in range(GROUP):
                h[j] = xxh64_u64(values[i + j], seed)
        else:
            for j in range(GROUP):
                h[j] = hash_u64(values[i + j], algo, seed)
        for j in range(GROUP):
            b = h[j] >> shift
            idx[j] = table[b if b < last else last]
        step = (<Py_ssize_t>1) << depth
        for d in range(depth):
            step >>= 1
            for j in range(GROUP):
                idx[j] += step * (pos[idx[j] + step - 1] <= h[j])
        for j in range(GROUP):
            out[i + j] = owner[idx[j]]
        i += GROUP
    while i < n:
        out[i] = owner[_find(pos, table, last, shift, depth, hash_u64(values[i], algo, seed))]
        i += 1


cdef inline Py_ssize_t _find(const uint64_t* pos, const uint32_t* table, uint64_t last,
                             int shift, int depth, uint64_t h) noexcept nogil:
    """Index of the first point > h (>= size means: wrap to point 0)."""
    cdef uint64_t b = h >> shift
    # Clamp: a hash above a 32-bit ring's range lands in the last bucket, where every
    # point is <= h, so it wraps as it should; the table is never read out of bounds.
    cdef Py_ssize_t base = table[b if b < last else last]
    cdef Py_ssize_t step = (<Py_ssize_t>1) << depth
    cdef int d
    for d in range(depth):
        step >>= 1
        # Branch-free: the comparison is a 0/1 integer (a cmov, no jump).
        base += step * (pos[base + step - 1] <= h)
    return base


cdef enum:
    GROUP = 16  # keys searched in lockstep by _find_many


cdef inline void _find_many(const hash_t* hashes, Py_ssize_t n, const uint64_t* pos,
                            const uint32_t* table, uint64_t last, int shift, int depth,
                            const int32_t* owner, Py_ssize_t size,
                            int32_t* out) noexcept nogil:
    """out[i] = owner[_find(hashes[i])] if owner else the wrapped point index.

    Keys go in groups of GROUP, one bisection step for the whole group at a time: the
    loads of a step are independent, so their cache misses overlap instead of queuing
    behind each other (about 2x faster than one key after another).
    """
    cdef Py_ssize_t idx[GROUP]
    cdef uint64_t h[GROUP]
    cdef uint64_t b
    cdef Py_ssize_t i = 0
    cdef Py_ssize_t j, step, k
    cdef int d
    while i + GROUP <= n:
        for j in range(GROUP):
            h[j] = hashes[i + j]
            b = h[j] >> shift
            idx[j] = table[b if b < last else last]
        step = (<Py_ssize_t>1) << depth
        for d in range(depth):
            step >>= 1
            for j in range(GROUP):
                idx[j] += step * (pos[idx[j] + step - 1] <= h[j])
        if owner != NULL:
            for j in range(GROUP):
                out[i + j] = owner[idx[j]]
        else:
            for j in range(GROUP):
                out[i + j] = <int32_t>(idx[j] if idx[j] < size else 0)
        i += GROUP
    while i < n:
        k = _find(pos, table, last, shift, depth, hashes[i])
        if owner != NULL:
            out[i] = owner[k]
        else:
            out[i] = <int32_t>(k if k < size else 0)
        i += 1


cdef inline Py_ssize_t _find_wide(const uint64_t* pos, const uint64_t* low,
                                  const uint32_t* table, uint64_t last, int shift,
                                  int depth, uint64_t h, uint64_t l) noexcept nogil:
    """_find for 128-bit points (pos = high word, low = low word)."""
    cdef uint64_t b = h >> shift
    cdef Py_ssize_t base = table[b if b < last else last]
    cdef Py_ssize_t step = (<Py_ssize_t>1) << depth
    cdef Py_ssize_t j
    cdef int d
    for d in range(depth):
        step >>= 1
        j = base + step - 1
        base += step * ((pos[j] < h) | ((pos[j] == h) & (low[j] <= l)))
    return base


# ---------------------------------------------------------------- the compact layout
# A big ring's index falls out of the caches: the plain layout reads ~20 bytes per
# point (8 of position, 4 of owner, 8 of prefix table) in three dependent loads. The
# compact layout, built next to it for the searches of big rings (batches and one key;
# 128-bit rings settle equal bits on both words), reads ~5 in two:
# a coarser prefix table (one entry per 2-4 points), then one 32-bit entry per point,
# the 16 bits that follow the prefix of its position above its 16-bit owner. Within a
# bucket every point shares the prefix, so those bits order the bucket as the full
# positions do, except on equal bits (about one key in 2**16), which are settled on
# the full positions. A count that would run past the bucket is stopped by the
# bucket's end, which the plain layout's padding gives for free. (1,000 nodes: 0.9 MB
# instead of 3.2; 10,000: 8.5 MB instead of 32.)

cdef enum:
    # Where the compact layout starts to pay for batches (measured: equal at 160k
    # points, 1,000 nodes; 2.6x faster at 1.6M). Below, the plain layout's fewer steps
    # win: a batch keeps many misses in flight. One key at a time waits for each miss,
    # so fewer bytes win much sooner: 100 nodes (16k points) 10-25% faster, 10 nodes even.
    COMPACT_MIN_POINTS = 1 << 17
    COMPACT_ONE_KEY_MIN_POINTS = 1 << 12
    COMPACT_MAX_NODES = 65536      # owners fit 16 bits
    COMPACT_OWNER = 0xFFFF
    CGROUP = 32                    # keys in lockstep: more misses in flight than GROUP


ctypedef uint32_t entry_t
cdef enum:
    ENTRY_DROP = 64 - 8 * sizeof(entry_t)   # position bits below the entry's


cdef struct Compact:
    const entry_t* entry    # (bits [shift - 48, shift) of the position) << 16 | owner;
                             # entry[-1] and entry[size : size + 2**depth] are padding
                             # whose owner is point 0's (the wrap)
    const uint32_t* table    # 2**bits + 2 bucket starts: [2**bits] and [2**bits + 1] = size
    const uint64_t* pos      # the full positions, for equal bits
    const uint64_t* lo       # their low words on 128-bit rings, else NULL
    uint64_t last            # 2**bits - 1
    Py_ssize_t size
    int shift                # the bucket of h is h >> shift
    int depth                # every bucket holds fewer than 2**depth points


cdef inline Py_ssize_t _compact_settle(Py_ssize_t k, entry_t probe, uint64_t h, Py_ssize_t first,
                                       const entry_t* entry, const uint64_t* pos) noexcept nogil:
    """Equal 48 bits (rare): step back over the points whose full position is > h."""
    while k > first and (entry[k - 1] | COMPACT_OWNER) == probe and pos[k - 1] > h:
        k -= 1
    return k


cdef inline Py_ssize_t _compact_settle_wide(Py_ssize_t k, entry_t probe, uint64_t h, uint64_t l,
                                            Py_ssize_t first, const entry_t* entry, const uint64_t* pos,
                                            const uint64_t* lo) noexcept nogil:
    """_compact_settle for 128-bit positions: step back over the points > (h, l)."""
    while k > first and (entry[k - 1] | COMPACT_OWNER) == probe and (
            pos[k - 1] > h or (pos[k - 1] == h and lo[k - 1] > l)):
        k -= 1
    return k


cdef inline Py_ssize_t _compact_find(const Compact* c, uint64_t h, uint64_t l) noexcept nogil:
    """The index of the first point > h (> (h, l) on a 128-bit ring) in the compact
    layout (``size`` wraps): the one-key form of _compact_many, for lookups whose
    plain arrays miss the cache."""
    cdef uint64_t b = h >> c.shift
    b = b if b <= c.last else c.last + 1  # above a 32-bit ring's range: empty, wraps
    cdef Py_ssize_t base = c.table[b]
    cdef Py_ssize_t end = c.table[b + 1]
    cdef entry_t probe = <entry_t>((h << (64 - c.shift)) >> ENTRY_DROP) | COMPACT_OWNER
    cdef Py_ssize_t step = (<Py_ssize_t>1) << c.depth
    cdef Py_ssize_t k
    cdef int d
    for d in range(c.depth):
        step >>= 1
        k = base + step - 1
        base += step * ((k < end) & (c.entry[k] <= probe))
    if (c.entry[base - 1] | COMPACT_OWNER) == probe:
        if c.lo == NULL:
            base = _compact_settle(base, probe, h, c.table[b], c.entry, c.pos)
        else:
            base = _compact_settle_wide(base, probe, h, l, c.table[b], c.entry, c.pos, c.lo)
    return base


cdef inline void _compact_many(const hash_t* hashes, const uint64_t* values, Py_ssize_t n,
                               int algo, uint64_t seed, const Compact* c, bint points,
                               int32_t* out) noexcept nogil:
    """out[i] = owner (or wrapped point index) of the first point > the i-th hash: of
    hashes[i], or (hashes NULL) of hash_u64(values[i]), fused so the hashes stay in
    registers. Keys go in groups of CGROUP, one step for the whole group at a time (see
    _find_many)."""
    # Locals, not c->...: the stores to out could alias the struct for the compiler.
    cdef const entry_t* entry = c.entry
    cdef const uint32_t* table = c.table
    cdef const uint64_t* pos = c.pos
    cdef uint64_t last = c.last
    cdef Py_ssize_t size = c.size
    cdef int shift = c.shift
    cdef int depth = c.depth
    cdef int up = 64 - shift
    cdef uint64_t h[CGROUP]
    cdef entry_t probe[CGROUP]
    cdef Py_ssize_t base[CGROUP]
    cdef Py_ssize_t end[CGROUP]
    cdef uint64_t b
    cdef Py_ssize_t i = 0, j, k, step, g
    cdef int d
    cdef bint fast = algo == ALGO_XXH64
    cdef int32_t tail[CGROUP]
    cdef int32_t* dest
    while i < n:
        # A tail shorter than CGROUP is searched as a full group (its first key repeated)
        # into a scratch row: every loop below has the constant trip count CGROUP.
        g = CGROUP if i + CGROUP <= n else n - i
        if hashes != NULL:
            for j in range(g):
                h[j] = hashes[i + j]
        elif fast:
            for j in range(g):
                h[j] = xxh64_u64(values[i + j], seed)
        else:
            for j in range(g):
                h[j] = hash_u64(values[i + j], algo, seed)
        for j in range(g, CGROUP):
            h[j] = h[0]
        dest = out + i if g == CGROUP else tail
        for j in range(CGROUP):
            b = h[j] >> shift
            b = b if b <= last else last + 1  # above a 32-bit ring's range: empty, wraps
            base[j] = table[b]
            end[j] = table[b + 1]
            # entry <= probe  <=>  the entry's 48 bits <= h's (any owner).
            probe[j] = <entry_t>((h[j] << up) >> ENTRY_DROP) | COMPACT_OWNER
        step = (<Py_ssize_t>1) << depth
        for d in range(depth):
            step >>= 1
            for j in range(CGROUP):
                k = base[j] + step - 1
                base[j] += step * ((k < end[j]) & (entry[k] <= probe[j]))
        for j in range(CGROUP):
            k = base[j]
            if (entry[k - 1] | COMPACT_OWNER) == probe[j]:
                b = h[j] >> shift
                k = _compact_settle(k, probe[j], h[j], table[b if b <= last else last + 1], entry, pos)
            if points:
                dest[j] = <int32_t>(k if k < size else 0)
            else:
                dest[j] = <int32_t>(entry[k] & COMPACT_OWNER)
        if g < CGROUP:
            for j in range(g):
                out[i + j] = tail[j]
        i += g


# ---------------------------------------------------------------- the index

cdef enum:
    RADIX_BITS = 8  # 256 buckets a pass: few enough write streams for the TLB and L1
    RADIX_DIGITS = 8
    RADIX_MASK = (1 << RADIX_BITS) - 1


cdef struct KeyIndex:
    uint64_t key
    uint64_t index  # a uint64 so that one element is one 16-byte store


def stable_order(const uint64_t[::1] keys):
    """The permutation that sorts ``keys`` ascending, equal keys in their given order
    (what ``numpy.argsort(keys, kind="stable")`` returns, as an intp array).

    Why not argsort: on a ring of 10,000 nodes (1.6 million points) it is most of the
    build. This is an LSD radix sort of 8-bit digits moving (key, index) pairs, so each
    pass reads in sequence and writes 256 streams; a digit every key shares is skipped
    (32-bit positions take 4 passes)."""
    cdef Py_ssize_t n = keys.shape[0]
    cdef Py_ssize_t i, d, total, slot
    cdef Py_ssize_t* counts
    cdef Py_ssize_t* cnt
    cdef KeyIndex* a
    cdef KeyIndex* b
    cdef KeyIndex* swap
    cdef uint64_t k
    cdef int shift
    if n >= 2**32:
        raise ValueError("a ring holds fewer than 2**32 points")
    out = np.empty(n, dtype=np.intp)
    cdef Py_ssize_t[::1] perm = out
    if n == 0:
        return out
    counts = <Py_ssize_t*>PyMem_Malloc(RADIX_DIGITS * (RADIX_MASK + 1) * sizeof(Py_ssize_t))
    a = <KeyIndex*>PyMem_Malloc(n * sizeof(KeyIndex))
    b = <KeyIndex*>PyMem_Malloc(n * sizeof(KeyIndex))
    try:
        if counts == NULL or a == NULL or b == NULL:
            raise MemoryError()
        with nogil:
            memset(counts, 0, RADIX_DIGITS * (RADIX_MASK + 1) * sizeof(Py_ssize_t))
            for i in range(n):  # every digit's histogram in one pass
                k = keys[i]
                a[i].key = k
                a[i].index = <uint64_t>i
                for d in range(RADIX_DIGITS):
                    counts[d * (RADIX_MASK + 1) + <Py_ssize_t>((k >> (d * RADIX_BITS)) & RADIX_MASK)] += 1
            for d in range(RADIX_DIGITS):
                shift = d * RADIX_BITS
                cnt = counts + d * (RADIX_MASK + 1)
                if cnt[<Py_ssize_t>((a[0].key >> shift) & RADIX_MASK)] == n:
                    continue  # a digit every key shares leaves the order as it is
                total = 0  # each bucket's count becomes its first output slot
                for i in range(RADIX_MASK + 1):
                    slot = cnt[i]
                    cnt[i] = total
                    total += slot
                for i in range(n):
                    slot = cnt[<Py_ssize_t>((a[i].key >> shift) & RADIX_MASK)]
                    cnt[<Py_ssize_t>((a[i].key >> shift) & RADIX_MASK)] = slot + 1
                    b[slot] = a[i]
                swap = a
                a = b
                b = swap
            for i in range(n):
                perm[i] = <Py_ssize_t>a[i].index
    finally:
        PyMem_Free(counts)
        PyMem_Free(a)
        PyMem_Free(b)
    return out


def bucket_starts(const uint64_t[::1] pos, int shift, uint32_t[::1] table):
    """Fill the prefix table: ``table[b]`` = the number of points whose ``pos >> shift``
    is below ``b``. ``pos`` must be sorted and every bucket below ``len(table)``.
    Returns the most points in one bucket."""
    cdef Py_ssize_t size = pos.shape[0]
    cdef Py_ssize_t nb = table.shape[0]
    cdef Py_ssize_t i, run = 0, most = 0
    cdef uint64_t bucket, prev = 0
    cdef bint bad_order = False, beyond = False
    if not 0 <= shift < 64:
        raise ValueError("bad shift")
    if nb < 1:
        raise ValueError("the table needs a bucket")
    if size >= 2**32:
        raise ValueError("a ring holds fewer than 2**32 points")
    # Why counts then a prefix sum, not a merge of the two arrays: the merge's exit
    # per bucket is a branch no predictor learns (0-3 points each), 4x slower.
    with nogil:
        memset(&table[0], 0, nb * sizeof(uint32_t))
        for i in range(size):
            bucket = pos[i] >> shift
            if i:
                bad_order |= pos[i] < pos[i - 1]
            run = run * (bucket == prev) + 1  # points so far in this bucket
            most = run if run > most else most
            prev = bucket
            if bucket >= <uint64_t>nb:
                beyond = True
            elif bucket + 1 < <uint64_t>nb:
                table[bucket + 1] += 1
        for i in range(1, nb):
            table[i] += table[i - 1]
    if bad_order:
        raise ValueError("positions must be sorted")
    if beyond:
        raise ValueError("a position is beyond the last bucket")
    return most


cdef class RingIndex:
    """An immutable snapshot of a ring's live points, ready for lookups.

    Parameters (all arrays C-contiguous, never written to):
    names: tuple of node names; owner values index it.
    pos: uint64[size + pad] sorted positions (high words for 128-bit rings), padded
        with UINT64_MAX; pad = 2**depth.
    lo: uint64[size + pad] low words of 128-bit positions (padded with UINT64_MAX),
        or an empty array for 64-bit rings.
    owner: int32[size + pad] node of each point; the padding repeats owner[0].
    table: uint32[2**B] index of the first point of each bucket ``h >> shift``.
    shift, depth: see the module docstring.
    mode, algo, seed: how one key is hashed (MODE_*, algorithm id, seed).
    size: the number of live points.
    """

    cdef readonly tuple names
    cdef readonly Py_ssize_t size
    cdef readonly int mode
    cdef readonly int algo
    cdef readonly uint64_t seed
    cdef readonly int shift
    cdef readonly int depth
    cdef readonly bint wide
    cdef uint64_t _last  # the last bucket (len(table) - 1)
    cdef readonly object arrays  # keeps the buffers alive; (pos, lo, owner, table)
    cdef readonly object compact  # None, or the compact layout's (entry, table)
    cdef Compact _compact  # its pointers, when compact is not None
    cdef bint _batch_compact  # batches search it too (one key does whenever it exists)
    cdef const uint64_t* _pos
    cdef const uint64_t* _lo
    cdef const int32_t* _owner
    cdef const uint32_t* _table

    def __init__(self, tuple names, const uint64_t[::1] pos, const uint64_t[::1] lo,
                 const int32_t[::1] owner, const uint32_t[::1] table, int shift, int depth,
                 int mode, int algo, uint64_t seed, Py_ssize_t size, compact=None):
        """``compact``: None builds the compact layout where it pays (one-key lookups
        from 4,096 points, batches from 131,072), True wherever it can, for both
        (tests), False never."""
        cdef Py_ssize_t pad
        cdef Py_ssize_t i, nnodes = len(names)
        cdef bint bad = False
        if self.names is not None:
            raise TypeError("a RingIndex is immutable: it cannot be initialized twice")
        if not 0 <= depth < 32:
            raise ValueError("bad depth")
        pad = (<Py_ssize_t>1) << depth
        if size < 0 or pos.shape[0] != size + pad or owner.shape[0] != size + pad:
            raise ValueError("pos and owner must hold size + 2**depth entries")
        if mode == MODE_UHASHRING and lo.shape[0] != size + pad:
            raise ValueError("a 128-bit ring needs lo with size + 2**depth entries")
        if table.shape[0] < 1 or not 0 <= shift < 64:
            raise ValueError("bad table or shift")
        if size >= 2**31:
            raise ValueError("a ring holds fewer than 2**31 points")
        # Why these checks: the kernels index the arrays with these values without
        # bounds checks (owner -> per-node arrays, table -> a start in pos).
        with nogil:
            # (An empty ring is never searched: its padding owner is not checked.)
            for i in range(size + pad if size else 0):
                if owner[i] < 0 or owner[i] >= nnodes:
                    bad = True
            for i in range(table.shape[0]):
                if table[i] > size:
                    bad = True
        if bad:
            raise ValueError("owner values must index names and table values must be <= size")
        self.names = names
        self.size = size
        self.mode = mode
        self.algo = algo
        self.seed = seed
        self.shift = shift
        self.depth = depth
        self.wide = mode == MODE_UHASHRING
        self.arrays = (pos.base, lo.base if lo.shape[0] else None, owner.base, table.base)
        # Why raw pointers are safe: self.arrays holds the exporting objects and the
        # arrays are never resized or written to after the snapshot is made.
        self._pos = &pos[0]
        self._lo = &lo[0] if lo.shape[0] else NULL
        self._owner = &owner[0]
        self._table = &table[0]
        self._last = <uint64_t>(table.shape[0] - 1)
        if compact is None:
            build, batch = size >= COMPACT_ONE_KEY_MIN_POINTS, size >= COMPACT_MIN_POINTS
        else:
            build = batch = bool(compact)
        if build and size and nnodes <= COMPACT_MAX_NODES:
            self._build_compact(pos, owner, table.shape[0])
            self._batch_compact = batch

    cdef _build_compact(self, const uint64_t[::1] pos, const int32_t[::1] owner, Py_ssize_t plain_buckets):
        cdef Py_ssize_t size = self.size
        # The positions' width: the plain table's bits plus its shift.
        cdef int keybits = self.shift + (plain_buckets - 1).bit_length()
        # 2-4 points per bucket (the plain table has 1-2 buckets per point).
        cdef int bits = max(1, min(keybits - 1, 24, size.bit_length() - 2))
        cdef int shift = keybits - bits
        cdef int up = 64 - shift
        cdef Py_ssize_t nb = (<Py_ssize_t>1) << bits
        cdef Py_ssize_t i, most = 0
        cdef uint64_t b
        table_a = np.zeros(nb + 2, dtype=np.uint32)
        cdef uint32_t[::1] t = table_a
        with nogil:
            for i in range(size):
                # (Positions are below 2**keybits; the clamp only keeps a write in bounds.)
                b = pos[i] >> shift
                t[(b if b < <uint64_t>nb else <uint64_t>(nb - 1)) + 1] += 1
            for i in range(1, nb + 1):
                if t[i] > most:
                    most = t[i]
                t[i] += t[i - 1]
            t[nb + 1] = <uint32_t>size
        cdef int depth = most.bit_length()
        cdef Py_ssize_t pad = (<Py_ssize_t>1) << depth
        cdef entry_t wrap = (<entry_t>-1 & ~(<entry_t>COMPACT_OWNER)) | <entry_t>owner[0]
        entry_a = np.full(1 + size + pad, wrap, dtype=np.uint32 if sizeof(entry_t) == 4 else np.uint64)
        cdef entry_t[::1] entry = entry_a
        with nogil:
            for i in range(size):
                entry[i + 1] = (<entry_t>((pos[i] << up) >> ENTRY_DROP) & ~(<entry_t>COMPACT_OWNER)) | <entry_t>owner[i]
        for array in (entry_a, table_a):
            array.flags.writeable = False
        self.compact = (entry_a, table_a)
        self._compact.entry = &entry[1]
        self._compact.table = &t[0]
        self._compact.pos = &pos[0]
        self._compact.lo = self._lo
        self._compact.last = <uint64_t>(nb - 1)
        self._compact.size = size
        self._compact.shift = shift
        self._compact.depth = depth

    def __reduce__(self):
        raise TypeError("RingIndex is not picklable; pickle the HashRing")

    # ------------------------------------------------------------ one key

    cdef int _hash_one(self, object key, uint64_t* h, uint64_t* l) except -1:
        cdef const char* p
        cdef Py_ssize_t n
        cdef const uint8_t* bp = NULL
        cdef size_t bn = 0
        cdef int kind
        cdef uint8_t digest[16]
        cdef uint64_t u
        cdef object text, data
        if self.mode == MODE_HASH:
            # The key contract, as the hashing kernels apply it (_keycontract.pxd).
            kind = key_fast(<PyObject*>key, &bp, &bn, &u)
            if kind == KEY_BITS:
                h[0] = hash_u64(u, self.algo, self.seed)
                return 0
            if kind == KEY_SLOW:
                data = key_slow(key, None)  # bytes, or the contract's error
                bp = <const uint8_t*>PyBytes_AS_STRING(data)
                bn = <size_t>PyBytes_GET_SIZE(data)
            h[0] = hash_bytes(bp, bn, self.algo, self.seed)
            return 0
        # Compat modes: the key is str(key), as uhashring hashes it.
        text = key if type(key) is str else str(key)
        try:
            p = PyUnicode_AsUTF8AndSize(text, &n)
        except UnicodeEncodeError:
            key_slow(text, None)  # raises the key contract's ValueError
            raise
        if self.mode == MODE_KETAMA:
            h[0] = md5_32(<const uint8_t*>p, n)
        else:
            md5_digest(<const uint8_t*>p, n, digest)
            h[0] = read_be64(digest)
            l[0] = read_be64(digest + 8)
        return 0

    cdef Py_ssize_t _entry(self, object key) except -1:
        cdef uint64_t h = 0
        cdef uint64_t l = 0
        cdef Py_ssize_t j
        if self.size == 0:
            raise LookupError("the ring has no points: add a node before looking up keys")
        self._hash_one(key, &h, &l)
        if self.compact is not None:
            j = _compact_find(&self._compact, h, l)
        elif self.wide:
            j = _find_wide(self._pos, self._lo, self._table, self._last, self.shift, self.depth, h, l)
        else:
            j = _find(self._pos, self._table, self._last, self.shift, self.depth, h)
        return j if j < self.size else 0

    cdef int32_t _owner_of(self, object key) except -1:
        """The node index owning ``key``. In the compact layout the owner is read from
        the entry the search ends on: no second array to miss in the cache."""
        cdef uint64_t h = 0
        cdef uint64_t l = 0
        if self.compact is None:
            return self._owner[self._entry(key)]
        if self.size == 0:
            raise LookupError("the ring has no points: add a node before looking up keys")
        self._hash_one(key, &h, &l)
        return <int32_t>(self._compact.entry[_compact_find(&self._compact, h, l)] & COMPACT_OWNER)

    def lookup(self, key):
        """The name of the node that owns ``key``."""
        return self.names[self._owner_of(key)]

    def entry(self, key):
        """The index of the live point that owns ``key``."""
        return self._entry(key)

    def replicas(self, key, int count):
        """The first ``count`` distinct nodes walking the ring from ``key`` (names)."""
        cdef Py_ssize_t j = self._entry(key)
        cdef Py_ssize_t steps = 0
        cdef int32_t o
        found = []
        seen = set()
        while len(found) < count:
            if steps == self.size:
                raise ValueError(f"the ring has fewer than {count} nodes with points")
            o = self._owner[j]
            if o not in seen:
                seen.add(o)
                found.append(self.names[o])
            j += 1
            if j == self.size:
                j = 0
            steps += 1
        return tuple(found)

    def owners_small(self, list keys):
        """Node indices of a short list of keys, one key at a time (no batch set-up):
        an int32 array, or None if a key is not one ``lookup`` takes (the batch path
        then names it), or if the ring is empty."""
        cdef Py_ssize_t i, n = len(keys)
        cdef int32_t* view
        if self.size == 0:
            return None
        out = new_int32(n)
        view = int32_data(out)
        try:
            for i in range(n):
                view[i] = self._owner_of(keys[i])
        except (TypeError, ValueError, OverflowError):
            return None
        return out

    # ------------------------------------------------------------ batches

    def owners(self, const hash_t[::1] hashes, int32_t[::1] out):
        """out[i] = the node owning key hash hashes[i] (64-bit/32-bit rings)."""
        return _lookup_batch(self, hashes, out, False)

    def owners_u64(self, const uint64_t[::1] values, int32_t[::1] out):
        """out[i] = the node owning integer key values[i] (its 8 little-endian bytes
        hashed with the ring's algorithm): ``owners`` with the hashing fused in."""
        cdef Py_ssize_t n = values.shape[0]
        cdef const uint64_t* pos = self._pos
        cdef const int32_t* owner = self._owner
        cdef const uint32_t* table = self._table
        cdef uint64_t last = self._last
        cdef int shift = self.shift
        cdef int depth = self.depth
        cdef int algo = self.algo
        cdef uint64_t seed = self.seed
        self._check_batch(n, out.shape[0], False)
        if self.mode != MODE_HASH:
            raise ValueError("owners_u64 hashes keys with the ring's algorithm: default mode only")
        if n == 0:
            return out
        if self._batch_compact:
            with nogil:
                _compact_many(<const uint64_t*>NULL, &values[0], n, algo, seed, &self._compact, False, &out[0])
            return out
        with nogil:
            _find_many_u64(&values[0], n, algo, seed, pos, table, last, shift, depth, owner, &out[0])
        return out

    def owners_wide(self, const uint64_t[::1] hi, const uint64_t[::1] lo, int32_t[::1] out):
        """out[i] = the node owning the 128-bit key hash (hi[i], lo[i])."""
        return _lookup_wide(self, hi, lo, out, False)

    def entries(self, const hash_t[::1] hashes, int32_t[::1] out):
        """out[i] = the index of the live point owning key hash hashes[i]."""
        return _lookup_batch(self, hashes, out, True)

    def entries_wide(self, const uint64_t[::1] hi, const uint64_t[::1] lo, int32_t[::1] out):
        """out[i] = the index of the live point owning the 128-bit hash (hi[i], lo[i])."""
        return _lookup_wide(self, hi, lo, out, True)

    def walk(self, const int32_t[::1] starts, int32_t[:, ::1] out):
        """out[i, :] = the first out.shape[1] distinct nodes from point starts[i] on.

        Returns the number of rows filled: fewer than len(starts) only if the ring has
        fewer distinct nodes with points than out.shape[1] (the caller checks first).
        """
        cdef Py_ssize_t n = starts.shape[0]
        cdef Py_ssize_t k = out.shape[1]
        cdef Py_ssize_t size = self.size
        cdef Py_ssize_t nnodes = len(self.names)
        cdef const int32_t* owner = self._owner
        cdef Py_ssize_t i, j, c, steps, filled = 0
        cdef int32_t o
        cdef int64_t* stamp
        if out.shape[0] != n:
            raise ValueError("out must have one row per start")
        self._check_starts(starts)
        if n == 0 or k == 0:
            return n
        # stamp[node] == i + 1 marks "node already taken for row i": no reset per row.
        stamp = <int64_t*>PyMem_Malloc(max(nnodes, 1) * sizeof(int64_t))
        if stamp == NULL:
            raise MemoryError()
        memset(stamp, 0, max(nnodes, 1) * sizeof(int64_t))
        with nogil:
            for i in range(n):
                j = starts[i]
                c = 0
                steps = 0
                while c < k and steps < size:
                    o = owner[j]
                    if stamp[o] != i + 1:
                        stamp[o] = i + 1
                        out[i, c] = o
                        c += 1
                    j += 1
                    if j == size:
                        j = 0
                    steps += 1
                if c < k:
                    break
                filled += 1
        PyMem_Free(stamp)
        return filled

    def bounded(self, const int32_t[::1] starts, const int64_t[::1] capacity,
                int64_t[::1] load, int32_t[::1] out):
        """Bounded-load assignment: key i takes the first node from point starts[i] on
        whose load is below its capacity; load is updated in place.

        Returns the number of keys assigned: fewer than len(starts) only if every node
        with points is full (the caller checks the capacities first).
        """
        cdef Py_ssize_t n = starts.shape[0]
        cdef Py_ssize_t size = self.size
        cdef const int32_t* owner = self._owner
        cdef Py_ssize_t i, j, steps, done = 0
        cdef int32_t o
        if out.shape[0] != n:
            raise ValueError("out must hold one node per key")
        if capacity.shape[0] != len(self.names) or load.shape[0] != len(self.names):
            raise ValueError("capacity and load must hold one value per node")
        self._check_starts(starts)
        with nogil:
            for i in range(n):
                j = starts[i]
                steps = 0
                o = owner[j]
                while load[o] >= capacity[o] and steps < size:
                    j += 1
                    if j == size:
                        j = 0
                    o = owner[j]
                    steps += 1
                if load[o] >= capacity[o]:
                    break
                load[o] += 1
                out[i] = o
                done += 1
        return done

    cdef int _check_batch(self, Py_ssize_t n, Py_ssize_t m, bint wide) except -1:
        if m != n:
            raise ValueError(f"out has length {m}, expected {n}")
        if self.size == 0 and n:
            raise LookupError("the ring has no points: add a node before looking up keys")
        if wide != self.wide:
            raise ValueError("128-bit hashes go to owners_wide/entries_wide, others to owners/entries")
        return 0

    cdef int _check_starts(self, const int32_t[::1] starts) except -1:
        cdef Py_ssize_t i
        cdef Py_ssize_t bad = -1
        cdef Py_ssize_t size = self.size
        with nogil:
            for i in range(starts.shape[0]):
                if starts[i] < 0 or starts[i] >= size:
                    bad = i
                    break
        if bad >= 0:
            raise ValueError(f"start {bad} is not a point index")
        return 0


# ---------------------------------------------------------------- batch lookups
# One body each for the owners (points=False) and the point indices (points=True)
# of a batch.

cdef _lookup_batch(RingIndex ring, const hash_t[::1] hashes, int32_t[::1] out, bint points):
    cdef Py_ssize_t n = hashes.shape[0]
    ring._check_batch(n, out.shape[0], False)
    if n == 0:
        return out
    if ring._batch_compact:
        with nogil:
            _compact_many(&hashes[0], NULL, n, 0, 0, &ring._compact, points, &out[0])
        return out
    cdef const uint64_t* pos = ring._pos
    cdef const int32_t* owner = NULL if points else ring._owner
    cdef const uint32_t* table = ring._table
    cdef uint64_t last = ring._last
    cdef int shift = ring.shift
    cdef int depth = ring.depth
    cdef Py_ssize_t size = ring.size
    with nogil:
        # The padded owner array maps "past the end" to owner[0]: no branch.
        _find_many(&hashes[0], n, pos, table, last, shift, depth, owner, size, &out[0])
    return out


cdef _lookup_wide(RingIndex ring, const uint64_t[::1] hi, const uint64_t[::1] lo, int32_t[::1] out,
                  bint points):
    cdef Py_ssize_t n = hi.shape[0]
    ring._check_batch(n, out.shape[0], True)
    if lo.shape[0] != n:
        raise ValueError("hi and lo must have the same length")
    cdef Py_ssize_t i, j
    cdef const uint64_t* pos = ring._pos
    cdef const uint64_t* low = ring._lo
    cdef const int32_t* owner = ring._owner
    cdef const uint32_t* table = ring._table
    cdef uint64_t last = ring._last
    cdef int shift = ring.shift
    cdef int depth = ring.depth
    cdef Py_ssize_t size = ring.size
    cdef const Compact* compact = &ring._compact if ring._batch_compact else NULL
    with nogil:
        for i in range(n):
            if compact == NULL:
                j = _find_wide(pos, low, table, last, shift, depth, hi[i], lo[i])
                out[i] = <int32_t>(j if j < size else 0) if points else owner[j]
            else:  # the owner is in the entry the search ends on
                j = _compact_find(compact, hi[i], lo[i])
                out[i] = <int32_t>(j if j < size else 0) if points else <int32_t>(compact.entry[j] & COMPACT_OWNER)
    return out
