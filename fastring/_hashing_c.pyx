"""Compiled hashing kernels: array in, array out.

Same names, signatures and results as the pure twin ``_hashing_py``. The
Python layer (``fastring.hashing``) validates algorithm names, seeds and dtypes;
these kernels still refuse an unknown algorithm id, a wrong ``out`` and
inconsistent offsets, because a mistake there would read or write out of bounds.

``out`` is a 1-D C-contiguous writable array: uint64 for the 64-bit algorithms,
uint32 for murmur3_32 and md5_32 (anything else is a ValueError). The array
kernels (uint64, packed, views, fixed, vnodes) hash without the GIL;
``hash_objects`` hashes each key while it holds the GIL and writes straight into
``out`` (see the note above ``_list_objects`` for why one pass beats two).
Python objects become bytes by the key contract (``_keycontract.pxd``).
"""

cimport cython

from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.string cimport memcpy
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.buffer cimport PyBUF_C_CONTIGUOUS, PyBUF_FORMAT, PyBuffer_Release, PyObject_GetBuffer

from cpython.object cimport PyObject
from cpython.pycapsule cimport PyCapsule_GetPointer

cimport numpy as cnp
import numpy as np

cnp.import_array()  # the NumPy C API (Arrow views, offsets' dtype) needs it once per module

from fastring._keycontract cimport (
    PyUnicode_CheckExact,
    PyLong_AsLongLongAndOverflow,
    PyLong_CheckExact,
    KEY_BITS,
    KEY_BYTES,
    KEY_SLOW,
    PyBytes_AS_STRING,
    PyBytes_CheckExact,
    PyBytes_GET_SIZE,
    PyErr_Clear,
    PyUnicode_AsUTF8AndSize,
    key_fast,
    key_slow,
)
from fastring._hashfuncs cimport (
    ALGO_CASSANDRA_TOKEN,
    ALGO_COUNT,
    ALGO_KAFKA_MURMUR2,
    ALGO_MURMUR3_UTF16,
    ALGO_ONE_AT_A_TIME,
    ALGO_CRC32,
    ALGO_PANDAS_SIPHASH,
    ALGO_REDIS_SLOT,
    ALGO_SPARK_MURMUR3,
    ALGO_FNV1A_64,
    ALGO_MD5_32,
    ALGO_MURMUR3_32,
    ALGO_MURMUR3_64,
    ALGO_XXH3_64,
    ALGO_XXH64,
    algo_is_32bit,
    algo_takes_text,
    fnv1a_64,
    fnv1a_64_u64,
    hash_bytes as _c_hash_bytes,
    hash_u64,
    md5_32,
    md5_32_u64,
    md5_digest,
    read_be64,
    murmur3_32,
    murmur3_32_u64,
    murmur3_64,
    murmur3_64_u64,
    xxh3_64_gt16,
    xxh3_64_le16,
    xxh3_64_u64,
    xxh64,
    xxh64_lt32,
    xxh64_u64,
)

# Raw-pointer spellings of the C API used in the object pass: declared on
# PyObject* so that Cython adds no reference counting around them.
cdef extern from "Python.h":
    PyObject* PyList_GET_ITEM(PyObject* lst, Py_ssize_t i)
    Py_ssize_t PyList_GET_SIZE(PyObject* lst)


ctypedef fused off_t:
    int32_t
    int64_t


__all__ = [
    "ALGORITHM_TABLE",
    "TEXT_ONLY_ALGORITHMS",
    "arrow_flat",
    "first_non_text",
    "hash_bytes",
    "hash_fixed",
    "hash_key",
    "hash_objects",
    "hash_packed",
    "hash_uint64",
    "hash_views",
    "md5_strings",
    "point_hashes",
    "vnode_hashes",
    "vnode_md5",
]

cdef const uint8_t* _EMPTY = <const uint8_t*>b""

#: ``(name, id, output bits, seed bits)`` of every algorithm, in id order (ids from
#: the ALGO_* enum of _hashfuncs.pxd). The pure twin's copy is _hashfuncs_py's;
#: tests/test_tables.py checks that the two agree.
ALGORITHM_TABLE = (
    ("xxh64", ALGO_XXH64, 64, 64),
    ("xxh3_64", ALGO_XXH3_64, 64, 64),
    ("murmur3_32", ALGO_MURMUR3_32, 32, 32),
    ("murmur3_64", ALGO_MURMUR3_64, 64, 32),
    ("fnv1a_64", ALGO_FNV1A_64, 64, 0),
    ("md5_32", ALGO_MD5_32, 32, 0),
    ("kafka:murmur2", ALGO_KAFKA_MURMUR2, 32, 0),
    ("redis:slot", ALGO_REDIS_SLOT, 32, 0),
    ("cassandra:token", ALGO_CASSANDRA_TOKEN, 64, 0),
    ("spark:murmur3", ALGO_SPARK_MURMUR3, 32, 32),
    ("elasticsearch:murmur3_utf16", ALGO_MURMUR3_UTF16, 32, 32),
    ("pandas:siphash", ALGO_PANDAS_SIPHASH, 64, 0),
    ("libmemcached:one_at_a_time", ALGO_ONE_AT_A_TIME, 32, 0),
    ("nginx:crc32", ALGO_CRC32, 32, 0),
)

#: Ids of the systems' hashes of text (``algo_takes_text``): hash_objects refuses an
#: integer key for them. The pure twin's copy must equal it (tests/test_tables.py).
TEXT_ONLY_ALGORITHMS = tuple(range(ALGO_KAFKA_MURMUR2, ALGO_PANDAS_SIPHASH + 1))


# ---------------------------------------------------------------- validation

cdef int _check_algo(int algo) except -1:
    if algo < 0 or algo >= ALGO_COUNT:
        raise ValueError(f"unknown hash algorithm id: {algo!r}")
    return 0


ctypedef fused word_t:
    uint32_t
    uint64_t


cdef word_t[::1] _out(object out, Py_ssize_t n, word_t width):
    """``out`` as a writable view of length n of the type of ``width`` (its value is
    unused: it picks the specialization), or ValueError."""
    cdef word_t[::1] view
    try:
        view = out
    except (ValueError, TypeError, BufferError) as exc:
        dtype = "uint32" if word_t is uint32_t else "uint64"
        raise ValueError(
            f"out must be a writable 1-D C-contiguous {dtype} array ({exc})") from None
    if view.shape[0] != n:
        raise ValueError(f"out has length {view.shape[0]}, expected {n}")
    return view


# ---------------------------------------------------------------- hash_key

# The public fastring.hash_key is this function when the compiled twin is live: a
# Python wrapper around it would cost more than the hash. Exact str/bytes/int keys
# with a public algorithm and an in-range int seed are hashed here; everything else
# (other key types, bad keys, bad algorithms or seeds) takes the pure twin's path
# with the compiled hash, which gives the same answer or the same error.

cdef dict _FAST_IDS = {}
cdef int _SEED_BITS[64]
for _name, _algo, _bits, _seed_bits in ALGORITHM_TABLE:
    _SEED_BITS[_algo] = _seed_bits
    if ":" not in _name:
        _FAST_IDS[_name] = _algo

#: While use_twin("python") runs with this twin live, the pure twin answers instead.
cdef object _twin = None


def _delegate_to(module):
    """Make this twin's public fast functions call ``module``'s (None: answer here)."""
    global _twin
    _twin = module


def hash_key(key, algorithm="xxh64", *, seed=0):
    cdef const uint8_t* p = NULL
    cdef size_t n = 0
    cdef uint64_t bits = 0
    cdef long long s
    cdef int overflow = 0
    cdef int algo, kind
    if _twin is not None:
        return _twin.hash_key(key, algorithm, seed=seed)
    found = _FAST_IDS.get(algorithm) if PyUnicode_CheckExact(<PyObject*>algorithm) else None
    if found is None or not PyLong_CheckExact(<PyObject*>seed):
        return _hash_key_checked(key, algorithm, seed)
    algo = found
    s = PyLong_AsLongLongAndOverflow(<PyObject*>seed, &overflow)
    if overflow or s < 0 or (_SEED_BITS[algo] < 63 and (s >> _SEED_BITS[algo]) != 0):
        return _hash_key_checked(key, algorithm, seed)  # out of range, or >= 2**63
    kind = key_fast(<PyObject*>key, &p, &n, &bits)
    if kind == KEY_BYTES:
        return _c_hash_bytes(p, n, algo, <uint64_t>s)
    if kind == KEY_BITS:
        return hash_u64(bits, algo, <uint64_t>s)
    return _hash_key_checked(key, algorithm, seed)


cdef object _hash_key_checked(key, algorithm, seed):
    from fastring._algorithms import resolve_algorithm
    from fastring._keycontract_py import key_bytes

    algo, _, checked = resolve_algorithm(algorithm, seed)
    return hash_bytes(key_bytes(key), algo, checked)


# ---------------------------------------------------------------- hash_bytes

def hash_bytes(data, int algo, uint64_t seed):
    """Hash one bytes-like ``data`` with algorithm id ``algo``; returns an int."""
    cdef const uint8_t[::1] view
    cdef const uint8_t* p
    cdef Py_ssize_t n
    _check_algo(algo)
    if PyBytes_CheckExact(<PyObject*>data):
        # Why no view: exact bytes are immutable and ``data`` holds them.
        p = <const uint8_t*>PyBytes_AS_STRING(<PyObject*>data)
        n = PyBytes_GET_SIZE(<PyObject*>data)
        return _c_hash_bytes(p, <size_t>n, algo, seed)
    try:
        view = data
    except (ValueError, TypeError, BufferError):
        # Not a 1-D uint8 buffer (e.g. another format or ndim): its raw bytes,
        # exactly as the pure twin's ``bytes(data)``.
        data = bytes(data)
        p = <const uint8_t*>PyBytes_AS_STRING(<PyObject*>data)
        n = PyBytes_GET_SIZE(<PyObject*>data)
        return _c_hash_bytes(p, <size_t>n, algo, seed)
    n = view.shape[0]
    p = &view[0] if n > 0 else _EMPTY
    return _c_hash_bytes(p, <size_t>n, algo, seed)


# ---------------------------------------------------------------- hash_uint64

# Kernels come in two widths: uint64 output for the 64-bit algorithms and
# uint32 output for the 32-bit ones. One loop per algorithm, so that each hash
# can inline into its own loop (and no loop is compiled for a pairing of
# algorithm and output width that cannot happen).

cdef void _k_uint64_64(const uint64_t* v, Py_ssize_t n, int algo, uint64_t seed,
                       uint64_t* out) noexcept nogil:
    cdef Py_ssize_t i
    cdef uint32_t s32 = <uint32_t>seed
    if algo == ALGO_XXH64:
        for i in range(n):
            out[i] = xxh64_u64(v[i], seed)
    elif algo == ALGO_XXH3_64:
        for i in range(n):
            out[i] = xxh3_64_u64(v[i], seed)
    elif algo == ALGO_MURMUR3_64:
        for i in range(n):
            out[i] = murmur3_64_u64(v[i], s32)
    elif algo == ALGO_FNV1A_64:
        for i in range(n):
            out[i] = fnv1a_64_u64(v[i])
    else:
        for i in range(n):
            out[i] = hash_u64(v[i], algo, seed)


cdef void _k_uint64_32(const uint64_t* v, Py_ssize_t n, int algo, uint64_t seed,
                       uint32_t* out) noexcept nogil:
    cdef Py_ssize_t i
    cdef uint32_t s32 = <uint32_t>seed
    if algo == ALGO_MURMUR3_32:
        for i in range(n):
            out[i] = murmur3_32_u64(v[i], s32)
    elif algo == ALGO_MD5_32:
        for i in range(n):
            out[i] = md5_32_u64(v[i])
    else:
        for i in range(n):
            out[i] = <uint32_t>hash_u64(v[i], algo, seed)


def hash_uint64(const uint64_t[::1] values, int algo, uint64_t seed, out):
    """Hash each value as its 8 little-endian bytes into ``out``."""
    cdef Py_ssize_t n = values.shape[0]
    cdef uint64_t[::1] o64
    cdef uint32_t[::1] o32
    cdef const uint64_t* v
    _check_algo(algo)
    if algo_is_32bit(algo):
        o32 = _out(out, n, <uint32_t>0)
    else:
        o64 = _out(out, n, <uint64_t>0)
    if n == 0:
        return
    v = &values[0]
    if algo_is_32bit(algo):
        with nogil:
            _k_uint64_32(v, n, algo, seed, &o32[0])
    else:
        with nogil:
            _k_uint64_64(v, n, algo, seed, &o64[0])


# ---------------------------------------------------------------- byte-key kernels
# Packed and fixed-width keys are turned into spans (pointer, length) a chunk
# at a time, and one kernel per output width hashes the spans. Why: one call
# site per hash function keeps the compiled code small enough that the
# compiler inlines the short-key paths into these loops (with a loop per
# input layout it ran out of its inlining budget and called them instead).

cdef struct _Span:
    const uint8_t* p
    size_t n


cdef enum:
    _SPANS = 256  # spans per chunk: 4 KiB, stays in L1


cdef void _k_spans64(const _Span* sp, Py_ssize_t m, int algo, uint64_t seed,
                     uint64_t* out) noexcept nogil:
    cdef Py_ssize_t i
    cdef uint32_t s32 = <uint32_t>seed
    # Short keys take the small paths; see xxh3_64 in _hashfuncs.pxd.
    if algo == ALGO_XXH64:
        for i in range(m):
            if sp[i].n < 32:
                out[i] = xxh64_lt32(sp[i].p, sp[i].n, seed)
            else:
                out[i] = xxh64(sp[i].p, sp[i].n, seed)
    elif algo == ALGO_XXH3_64:
        for i in range(m):
            if sp[i].n <= 16:
                out[i] = xxh3_64_le16(sp[i].p, sp[i].n, seed)
            else:
                out[i] = xxh3_64_gt16(sp[i].p, sp[i].n, seed)
    elif algo == ALGO_MURMUR3_64:
        for i in range(m):
            out[i] = murmur3_64(sp[i].p, sp[i].n, s32)
    elif algo == ALGO_FNV1A_64:
        for i in range(m):
            out[i] = fnv1a_64(sp[i].p, sp[i].n)
    else:  # the systems' hashes (fastring.compat) through the dispatcher
        for i in range(m):
            out[i] = _c_hash_bytes(sp[i].p, sp[i].n, algo, seed)


cdef void _k_spans32(const _Span* sp, Py_ssize_t m, int algo, uint64_t seed,
                     uint32_t* out) noexcept nogil:
    cdef Py_ssize_t i
    cdef uint32_t s32 = <uint32_t>seed
    if algo == ALGO_MURMUR3_32:
        for i in range(m):
            out[i] = murmur3_32(sp[i].p, sp[i].n, s32)
    elif algo == ALGO_MD5_32:
        for i in range(m):
            out[i] = md5_32(sp[i].p, sp[i].n)
    else:
        for i in range(m):
            out[i] = <uint32_t>_c_hash_bytes(sp[i].p, sp[i].n, algo, seed)


cdef inline void _k_spans(const _Span* sp, Py_ssize_t m, int algo, uint64_t seed,
                          uint64_t* out64, uint32_t* out32) noexcept nogil:
    if out32 != NULL:
        _k_spans32(sp, m, algo, seed, out32)
    else:
        _k_spans64(sp, m, algo, seed, out64)


# ---------------------------------------------------------------- hash_packed

cdef Py_ssize_t _k_packed(const uint8_t* d, Py_ssize_t size, const off_t* off, Py_ssize_t n,
                          int algo, uint64_t seed, uint64_t* out64, uint32_t* out32) noexcept nogil:
    """Hash the packed keys; returns -1, or the position of the first key whose span
    is not within ``data`` (nothing from it on is written).

    Why each span is checked where it is made: the offsets may be a zero-copy Arrow
    buffer that another thread can write. Each offset is read once into a local, the
    span is checked on those values and only that checked span is hashed, so no write
    elsewhere can send a read outside ``data`` (a separate validation pass could be
    made stale before the hashing pass).
    """
    cdef _Span sp[_SPANS]
    cdef Py_ssize_t start, m, j
    cdef int64_t a, b
    start = 0
    b = off[0]
    while start < n:
        m = min(<Py_ssize_t>_SPANS, n - start)
        for j in range(m):
            a = b
            b = off[start + j + 1]
            if a < 0 or b < a or b > size:
                return start + j
            sp[j].p = d + a
            sp[j].n = <size_t>(b - a)
        _k_spans(sp, m, algo, seed,
                 out64 + start if out64 != NULL else NULL,
                 out32 + start if out32 != NULL else NULL)
        start += m
    return -1


cdef int _packed(const uint8_t[::1] data, const off_t[::1] offsets, int algo,
                 uint64_t seed, object out) except -1:
    cdef Py_ssize_t n = offsets.shape[0] - 1
    cdef Py_ssize_t size = data.shape[0]
    cdef uint64_t[::1] o64
    cdef uint32_t[::1] o32
    cdef const off_t* off
    cdef const uint8_t* d
    cdef Py_ssize_t bad
    if n < 0:
        raise ValueError("offsets must be a non-empty 1-D int32 or int64 array")
    if algo_is_32bit(algo):
        o32 = _out(out, n, <uint32_t>0)
    else:
        o64 = _out(out, n, <uint64_t>0)
    off = &offsets[0]
    d = &data[0] if size > 0 else _EMPTY
    if n == 0:
        if off[0] < 0 or off[0] > size:
            raise ValueError("offsets must be non-decreasing and within data")
        return 0
    if algo_is_32bit(algo):
        with nogil:
            bad = _k_packed(d, size, off, n, algo, seed, NULL, &o32[0])
    else:
        with nogil:
            bad = _k_packed(d, size, off, n, algo, seed, &o64[0], NULL)
    if bad >= 0:
        raise ValueError(f"offsets must be non-decreasing and within data (key at position {bad})")
    return 0


def hash_packed(const uint8_t[::1] data, offsets, int algo, uint64_t seed, out):
    """Hash ``data[offsets[i]:offsets[i+1]]`` for each i (offsets int32 or int64, n+1 long)."""
    cdef const int64_t[::1] off64
    cdef const int32_t[::1] off32
    _check_algo(algo)
    if cnp.PyArray_Check(offsets) and cnp.PyArray_TYPE(<cnp.ndarray>offsets) == cnp.NPY_INT32:
        off32 = offsets  # Arrow's string offsets: no failed int64 view first
        _packed(data, off32, algo, seed, out)
        return
    try:
        off64 = offsets
    except (ValueError, TypeError, BufferError):
        try:
            off32 = offsets
        except (ValueError, TypeError, BufferError):
            raise ValueError(
                "offsets must be a non-empty 1-D int32 or int64 array") from None
        _packed(data, off32, algo, seed, out)
        return
    _packed(data, off64, algo, seed, out)


# ---------------------------------------------------------------- hash_views
# Arrow string_view / binary_view: 16 bytes per key, ``length:int32`` then either
# the bytes inline (length <= 12) or ``prefix:4, buffer_index:int32, offset:int32``
# into one of the variadic data buffers. Hashed where the bytes are, with no copy.

cdef inline int32_t _rd_i32(const uint8_t* p) noexcept nogil:
    return <int32_t>(<uint32_t>p[0] | (<uint32_t>p[1] << 8) | (<uint32_t>p[2] << 16) | (<uint32_t>p[3] << 24))


cdef Py_ssize_t _k_views(const uint8_t* v, Py_ssize_t n, const uint8_t** bufs,
                         const int64_t* sizes, Py_ssize_t nbuf, int algo, uint64_t seed,
                         uint64_t* out64, uint32_t* out32) noexcept nogil:
    """Hash the view keys; returns -1, or the position of the first view that points
    outside its buffer (nothing from it on is written). Each view is read once and
    checked where its span is made: see ``_k_packed`` for why."""
    cdef _Span sp[_SPANS]
    cdef Py_ssize_t start, m, j
    cdef const uint8_t* view
    cdef int32_t ln, b, off
    start = 0
    while start < n:
        m = min(<Py_ssize_t>_SPANS, n - start)
        for j in range(m):
            view = v + 16 * (start + j)
            ln = _rd_i32(view)
            if ln < 0:
                return start + j
            sp[j].n = <size_t>ln
            if ln <= 12:
                sp[j].p = view + 4
            else:
                b = _rd_i32(view + 8)
                off = _rd_i32(view + 12)
                if b < 0 or b >= nbuf or off < 0 or <int64_t>off + ln > sizes[b]:
                    return start + j
                sp[j].p = bufs[b] + off
        _k_spans(sp, m, algo, seed,
                 out64 + start if out64 != NULL else NULL,
                 out32 + start if out32 != NULL else NULL)
        start += m
    return -1


def hash_views(const uint8_t[::1] views, list buffers not None, int algo, uint64_t seed, out):
    """Hash Arrow string_view/binary_view keys: ``views`` holds 16 bytes per key,
    ``buffers`` the variadic data buffers (1-d uint8 arrays)."""
    cdef Py_ssize_t n = views.shape[0] // 16
    cdef Py_ssize_t nbuf = len(buffers), k, bad
    cdef uint64_t[::1] o64
    cdef uint32_t[::1] o32
    cdef const uint8_t[::1] buf
    cdef const uint8_t** bufs = NULL
    cdef int64_t* sizes = NULL
    cdef const uint8_t* v
    _check_algo(algo)
    if views.shape[0] % 16:
        raise ValueError("views must hold 16 bytes per key")
    if algo_is_32bit(algo):
        o32 = _out(out, n, <uint32_t>0)
    else:
        o64 = _out(out, n, <uint64_t>0)
    if n == 0:
        return
    v = &views[0]
    bufs = <const uint8_t**>PyMem_Malloc((nbuf + 1) * sizeof(uint8_t*))
    sizes = <int64_t*>PyMem_Malloc((nbuf + 1) * sizeof(int64_t))
    try:
        if bufs == NULL or sizes == NULL:
            raise MemoryError()
        # ``buffers`` (held by the caller) keeps every buffer alive while we read it.
        for k in range(nbuf):
            buf = buffers[k]
            bufs[k] = &buf[0] if buf.shape[0] > 0 else _EMPTY
            sizes[k] = buf.shape[0]
        if algo_is_32bit(algo):
            with nogil:
                bad = _k_views(v, n, bufs, sizes, nbuf, algo, seed, NULL, &o32[0])
        else:
            with nogil:
                bad = _k_views(v, n, bufs, sizes, nbuf, algo, seed, &o64[0], NULL)
        if bad >= 0:
            raise ValueError(f"malformed Arrow view at position {bad}: it points outside its data buffer")
    finally:
        PyMem_Free(bufs)
        PyMem_Free(sizes)


# ---------------------------------------------------------------- hash_fixed

cdef inline size_t _strip_nul(const uint8_t* rec, size_t w) noexcept nogil:
    """Length of the record without its trailing NUL bytes (NumPy's ``S`` rule)."""
    while w > 0 and rec[w - 1] == 0:
        w -= 1
    return w


cdef void _k_fixed(const uint8_t* d, size_t w, Py_ssize_t n, int algo,
                   uint64_t seed, uint64_t* out64, uint32_t* out32) noexcept nogil:
    cdef _Span sp[_SPANS]
    cdef Py_ssize_t start, m, j
    cdef const uint8_t* r
    start = 0
    while start < n:
        m = min(<Py_ssize_t>_SPANS, n - start)
        for j in range(m):
            r = d + <size_t>(start + j) * w
            sp[j].p = r
            sp[j].n = _strip_nul(r, w)
        _k_spans(sp, m, algo, seed,
                 out64 + start if out64 != NULL else NULL,
                 out32 + start if out32 != NULL else NULL)
        start += m


def hash_fixed(const uint8_t[::1] data, Py_ssize_t itemsize, int algo, uint64_t seed, out):
    """Hash the fixed-width records of ``data`` (NumPy ``S`` items, trailing NULs dropped)."""
    cdef Py_ssize_t n
    cdef uint64_t[::1] o64
    cdef uint32_t[::1] o32
    cdef const uint8_t* d
    _check_algo(algo)
    if itemsize < 1:
        raise ValueError("itemsize must be at least 1")
    if data.shape[0] % itemsize:
        raise ValueError("data length is not a multiple of itemsize")
    n = data.shape[0] // itemsize
    if algo_is_32bit(algo):
        o32 = _out(out, n, <uint32_t>0)
    else:
        o64 = _out(out, n, <uint64_t>0)
    if n == 0:
        return
    d = &data[0]
    if algo_is_32bit(algo):
        with nogil:
            _k_fixed(d, <size_t>itemsize, n, algo, seed, NULL, &o32[0])
    else:
        with nogil:
            _k_fixed(d, <size_t>itemsize, n, algo, seed, &o64[0], NULL)


# ---------------------------------------------------------------- hash_objects

cdef inline uint64_t _hash_short_first(const uint8_t* p, size_t n, int algo,
                                       uint64_t seed) noexcept nogil:
    """hash_bytes with the short-key paths spelled out, so they inline here
    (typical keys are short; see the note on the byte-key kernels)."""
    if algo == ALGO_XXH64:
        if n < 32:
            return xxh64_lt32(p, n, seed)
        return xxh64(p, n, seed)
    if algo == ALGO_XXH3_64:
        if n <= 16:
            return xxh3_64_le16(p, n, seed)
        return xxh3_64_gt16(p, n, seed)
    if algo == ALGO_MURMUR3_32:
        return murmur3_32(p, n, <uint32_t>seed)
    return _c_hash_bytes(p, n, algo, seed)


def _integer_for_text(i, key):
    """The error for a key that is not text where the algorithm hashes text only."""
    from fastring._keycontract_py import at_position

    kind = type(key).__name__
    return at_position(TypeError(f"key at position {i} has type {kind}: this system hashes text (str or bytes)"), i)


cdef inline int _hash_object(PyObject* o, Py_ssize_t i, int algo, uint64_t seed,
                             uint64_t* h) except -1:
    """Convert key ``o`` (at position i) by the key contract and hash it into h[0].

    The contract's fast paths (``_keycontract.pxd``) need no Python object; any other
    key, and any failure, goes through ``key_slow``, which returns the bytes or raises
    the error naming position i.
    """
    cdef const uint8_t* p = NULL
    cdef size_t n = 0
    cdef uint64_t bits = 0
    cdef object held
    cdef int kind = key_fast(o, &p, &n, &bits)
    if kind == KEY_BITS:
        if algo_takes_text(algo):
            raise _integer_for_text(i, <object>o)
        h[0] = hash_u64(bits, algo, seed)
        return 0
    if kind == KEY_SLOW:
        if algo_takes_text(algo) and not isinstance(<object>o, (str, bytes, bytearray, memoryview)):
            raise _integer_for_text(i, <object>o)  # NumPy integers, bools, ...
        # <object>o holds its own reference during the call (which may run Python
        # code), and ``held`` keeps the returned bytes alive while they are hashed.
        held = key_slow(<object>o, i)
        p = <const uint8_t*>PyBytes_AS_STRING(<PyObject*>held)
        n = <size_t>PyBytes_GET_SIZE(<PyObject*>held)
    h[0] = _hash_short_first(p, n, algo, seed)
    return 0


# Why one pass under the GIL (and not "collect pointers, then hash without the
# GIL"): for a list the cost is the cache misses on the objects; hashing each
# key right after its header arrives hides the hash behind those misses, while
# a separate hashing pass adds its full compute on top (measured ~9 vs ~14
# ns/key on 10^6 short str). It is also simpler to keep safe: every pointer is
# used at once, while the container (or ``res``) holds the object, so no
# references need to be taken and released.

cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    #define FR_PREFETCH(p) __builtin_prefetch(p)
    #else
    #define FR_PREFETCH(p) ((void)0)
    #endif
    """
    void FR_PREFETCH(const void* p) noexcept nogil


# How far ahead to prefetch object headers: far enough to cover a cache miss,
# near enough that the lines are still in L1 when their key is read.
cdef enum:
    _PREFETCH_AHEAD = 8


cdef int _list_objects(list items, Py_ssize_t start, Py_ssize_t n, int algo, uint64_t seed,
                       uint64_t* out64, uint32_t* out32) except -1:
    """items[start:start + n] into out[0:n]; errors name a key's position in items."""
    cdef Py_ssize_t i, total = PyList_GET_SIZE(<PyObject*>items), stop = start + n
    cdef uint64_t h
    # Free-threaded builds: lock the list so no other thread mutates it under
    # the borrowed references (a no-op with the GIL).
    with cython.critical_section(items):
        for i in range(start, stop):
            if i + _PREFETCH_AHEAD < stop:
                FR_PREFETCH(PyList_GET_ITEM(<PyObject*>items, i + _PREFETCH_AHEAD))
            # Borrowed, and read afresh each time: key_bytes may run Python code.
            _hash_object(PyList_GET_ITEM(<PyObject*>items, i), i, algo, seed, &h)
            if PyList_GET_SIZE(<PyObject*>items) != total:
                raise RuntimeError("list changed size during hashing")
            if out32 != NULL:
                out32[i - start] = <uint32_t>h
            else:
                out64[i - start] = h
    return 0


cdef int _array_objects(PyObject** items, Py_ssize_t start, Py_ssize_t n, int algo, uint64_t seed,
                        uint64_t* out64, uint32_t* out32) except -1:
    """An object ndarray's element pointers, items[start:start + n]. The caller holds
    the array's buffer, so it cannot be resized under us, and the array owns a
    reference to each element."""
    cdef Py_ssize_t i, stop = start + n
    cdef uint64_t h
    for i in range(start, stop):
        if i + _PREFETCH_AHEAD < stop:
            FR_PREFETCH(items[i + _PREFETCH_AHEAD])
        _hash_object(items[i], i, algo, seed, &h)
        if out32 != NULL:
            out32[i - start] = <uint32_t>h
        else:
            out64[i - start] = h
    return 0


def first_non_text(items not None):
    """The position of the first key of ``items`` (a list or a 1-d object sequence)
    that is not str, bytes, bytearray or memoryview; -1 if there is none. The systems
    that hash text (fastring.compat) refuse integers, which hash_objects accepts."""
    cdef Py_ssize_t i, n = len(items)
    cdef PyObject* o
    if type(items) is not list:
        items = list(items)
    for i in range(n):
        if PyList_GET_SIZE(<PyObject*>items) != n:
            raise RuntimeError("list changed size during the check")
        o = PyList_GET_ITEM(<PyObject*>items, i)
        if PyUnicode_CheckExact(o) or PyBytes_CheckExact(o):
            continue
        item = <object>o  # a strong reference: isinstance may run Python code
        if not isinstance(item, (str, bytes, bytearray, memoryview)):
            return i
    return -1


def hash_objects(items not None, int algo, uint64_t seed, out, Py_ssize_t start=0, stop=None):
    """Hash each key of ``items[start:stop]`` (default: all of ``items``, a list or a
    1-d C-contiguous object ndarray) into ``out`` (str, bytes, int inline; anything else
    through ``fastring._keycontract_py.key_bytes``). An error names the key's
    position in ``items``: a batch hashed in chunks needs no copy of its keys.

    Results are written as keys are read, so an error leaves ``out`` partly
    written: ``hash_keys`` hands a caller's ``out`` over only after success.
    (A private scratch buffer here cost ~8 ns/key in page faults and copying.)
    """
    cdef Py_ssize_t n, total
    cdef uint64_t[::1] o64
    cdef uint32_t[::1] o32
    cdef uint64_t* out64 = NULL
    cdef uint32_t* out32 = NULL
    cdef Py_buffer view
    cdef bint is_list = type(items) is list
    _check_algo(algo)
    if is_list:
        total = len(items)
    else:
        # An object array read in place: no list, no extra pass over the keys.
        try:
            PyObject_GetBuffer(items, &view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT)
        except (TypeError, BufferError, ValueError):
            raise TypeError("items must be a list or a 1-d C-contiguous object array") from None
        if view.ndim != 1 or view.format == NULL or view.format[0] != b"O" or view.format[1] != 0:
            PyBuffer_Release(&view)
            raise TypeError("items must be a list or a 1-d C-contiguous object array")
        total = view.shape[0]
    try:
        n = (total if stop is None else stop) - start
        if start < 0 or n < 0 or start + n > total:
            raise ValueError(f"keys {start}:{start + n} are not within the {total} items")
        if algo_is_32bit(algo):
            o32 = _out(out, n, <uint32_t>0)
            if n:
                out32 = &o32[0]
        else:
            o64 = _out(out, n, <uint64_t>0)
            if n:
                out64 = &o64[0]
        if n == 0:
            return
        if is_list:
            _list_objects(items, start, n, algo, seed, out64, out32)
        else:
            _array_objects(<PyObject**>view.buf, start, n, algo, seed, out64, out32)
    finally:
        if not is_list:
            PyBuffer_Release(&view)


# ---------------------------------------------------------------- ring points
# The texts a ring hashes for its points: ``prefix + str(v)`` for a node's vnodes v.

cdef inline Py_ssize_t _decimal(uint8_t* p, uint64_t v) noexcept nogil:
    """Write v in decimal at p (no sign, no NUL); return the digit count (at most 20)."""
    cdef uint8_t tmp[24]
    cdef Py_ssize_t k = 0
    cdef Py_ssize_t i
    while True:
        tmp[k] = <uint8_t>(48 + v % 10)
        k += 1
        v //= 10
        if v == 0:
            break
    for i in range(k):
        p[i] = tmp[k - 1 - i]
    return k


@cython.final
cdef class _Prefixes:
    """C pointers to a list of bytes prefixes (held here, so they stay alive while the
    GIL is released) and a scratch buffer for any prefix plus a vnode's 20 digits."""
    cdef tuple held
    cdef Py_ssize_t count
    cdef const char** ptrs
    cdef Py_ssize_t* lens
    cdef uint8_t* buf

    def __cinit__(self, list prefixes):
        cdef Py_ssize_t k, longest = 0
        self.held = tuple(prefixes)
        self.count = len(self.held)
        self.ptrs = <const char**>PyMem_Malloc((self.count + 1) * sizeof(char*))
        self.lens = <Py_ssize_t*>PyMem_Malloc((self.count + 1) * sizeof(Py_ssize_t))
        if self.ptrs == NULL or self.lens == NULL:
            raise MemoryError()
        for k in range(self.count):
            prefix = self.held[k]
            if type(prefix) is not bytes:
                raise TypeError(f"prefix {k} is not bytes")
            self.ptrs[k] = PyBytes_AS_STRING(<PyObject*>prefix)
            self.lens[k] = PyBytes_GET_SIZE(<PyObject*>prefix)
            longest = max(longest, self.lens[k])
        self.buf = <uint8_t*>PyMem_Malloc(longest + 24)
        if self.buf == NULL:
            raise MemoryError()

    def __dealloc__(self):
        PyMem_Free(self.buf)
        PyMem_Free(self.ptrs)
        PyMem_Free(self.lens)

    cdef inline Py_ssize_t put_prefix(self, Py_ssize_t k) noexcept nogil:
        """Write prefix k at the start of buf; return its length."""
        memcpy(self.buf, self.ptrs[k], self.lens[k])
        return self.lens[k]

    cdef inline Py_ssize_t text(self, Py_ssize_t k, uint64_t vnode) noexcept nogil:
        """Write prefix k and str(vnode) into buf; return the length."""
        cdef Py_ssize_t plen = self.put_prefix(k)
        return plen + _decimal(self.buf + plen, vnode)


cdef Py_ssize_t _vnodes(list prefixes, const int64_t[::1] starts, const int64_t[::1] stops,
                        int algo, uint64_t seed, uint64_t* hashes, uint8_t* digests,
                        Py_ssize_t out_items) except -1:
    """Hash (``hashes``) or md5-digest (``digests``, 16 bytes each) ``prefixes[k] +
    str(v)`` for v in range(starts[k], stops[k]), every k in order. ``out_items`` is
    the room in the output; the vnode count must equal it."""
    cdef Py_ssize_t m = len(prefixes)
    cdef Py_ssize_t total = 0, k, plen, w, i = 0
    cdef uint8_t* buf
    if starts.shape[0] != m or stops.shape[0] != m:
        raise ValueError("starts and stops must hold one value per prefix")
    cdef _Prefixes texts = _Prefixes(prefixes)
    for k in range(m):
        if not 0 <= starts[k] <= stops[k]:
            raise ValueError(f"vnode range {k} is not 0 <= start <= stop")
        total += stops[k] - starts[k]
    if total != out_items:
        raise ValueError(f"out must hold {total} results")
    buf = texts.buf
    with nogil:
        for k in range(m):
            plen = texts.put_prefix(k)  # it stays in buf: only the digits change
            for w in range(starts[k], stops[k]):
                if digests != NULL:
                    md5_digest(buf, plen + _decimal(buf + plen, <uint64_t>w), digests + 16 * i)
                else:
                    hashes[i] = _c_hash_bytes(buf, plen + _decimal(buf + plen, <uint64_t>w), algo, seed)
                i += 1
    return 0


def vnode_hashes(list prefixes not None, const int64_t[::1] starts, const int64_t[::1] stops,
                 int algo, uint64_t seed, uint64_t[::1] out):
    """Hash ``prefixes[k] + str(v)`` (UTF-8) for v in range(starts[k], stops[k]), for
    every k in order, into ``out`` (one hash per vnode, concatenated)."""
    _check_algo(algo)
    _vnodes(prefixes, starts, stops, algo, seed, &out[0] if out.shape[0] else NULL, NULL, out.shape[0])
    return out


def point_hashes(list prefixes not None, const int32_t[::1] owner, const int32_t[::1] vnode,
                 int algo, uint64_t seed, uint64_t[::1] out):
    """``out[i]`` = the hash of ``prefixes[owner[i]] + str(vnode[i])`` (UTF-8): the
    points of a ring in any order, such as a pickled ring's own (sorted) order, which
    a check can then compare in one pass instead of gathering across the arrays."""
    cdef Py_ssize_t m = len(prefixes)
    cdef Py_ssize_t n = owner.shape[0]
    cdef Py_ssize_t i
    _check_algo(algo)
    if vnode.shape[0] != n or out.shape[0] != n:
        raise ValueError("owner, vnode and out must have the same length")
    with nogil:
        for i in range(n):
            if owner[i] < 0 or owner[i] >= m or vnode[i] < 0:
                break
        else:
            i = -1
    if i >= 0:
        raise ValueError(f"point {i}: owner {owner[i]} or vnode {vnode[i]} out of range")
    cdef _Prefixes texts = _Prefixes(prefixes)
    with nogil:
        for i in range(n):
            out[i] = _c_hash_bytes(texts.buf, texts.text(owner[i], <uint64_t>vnode[i]), algo, seed)
    return out


def vnode_md5(list prefixes not None, const int64_t[::1] starts, const int64_t[::1] stops,
              uint8_t[::1] out):
    """The 16-byte md5 digest of ``prefixes[k] + str(v)`` (UTF-8) for v in
    range(starts[k], stops[k]), for every k in order, into ``out`` (concatenated)."""
    cdef uint8_t scratch[16]
    if out.shape[0] % 16:
        raise ValueError("out must hold 16 bytes per vnode")
    _vnodes(prefixes, starts, stops, 0, 0, NULL, &out[0] if out.shape[0] else scratch, out.shape[0] // 16)
    return out


def md5_strings(list items not None, uint64_t[::1] hi, uint64_t[::1] lo):
    """hi[i], lo[i] = md5(items[i].encode()) read as one big-endian 128-bit integer.

    ``items`` holds only ``str`` (uhashring hashes ``str(key)``).
    """
    cdef Py_ssize_t n = len(items)
    cdef Py_ssize_t i
    cdef Py_ssize_t length
    cdef const char* p
    cdef const char** ptrs
    cdef Py_ssize_t* lens
    cdef uint8_t digest[16]
    cdef tuple held
    if hi.shape[0] != n or lo.shape[0] != n:
        raise ValueError("hi and lo must hold one word per item")
    # Why a tuple: it holds a reference to every str, so the UTF-8 buffers we point
    # at stay alive while the GIL is released, even if the caller's list changes.
    held = tuple(items)
    ptrs = <const char**>PyMem_Malloc((n + 1) * sizeof(char*))
    lens = <Py_ssize_t*>PyMem_Malloc((n + 1) * sizeof(Py_ssize_t))
    if ptrs == NULL or lens == NULL:
        PyMem_Free(ptrs)
        PyMem_Free(lens)
        raise MemoryError()
    try:
        for i in range(n):
            item = held[i]
            if type(item) is not str:
                raise TypeError(f"item {i} is not a str")
            p = PyUnicode_AsUTF8AndSize(<PyObject*>item, &length)
            if p == NULL:
                PyErr_Clear()
                key_slow(item, i)  # raises the key contract's error naming position i
            ptrs[i] = p
            lens[i] = length
        with nogil:
            for i in range(n):
                md5_digest(<const uint8_t*>ptrs[i], lens[i], digest)
                hi[i] = read_be64(digest)
                lo[i] = read_be64(digest + 8)
    finally:
        PyMem_Free(ptrs)
        PyMem_Free(lens)
    return hi, lo


# ---------------------------------------------------------------- Arrow, the short way
# fastring._arrow reads every Arrow array through ctypes, with every check and message;
# that costs microseconds per call, more than hashing a few keys. The common case (a
# flat string, binary or 64-bit integer array without nulls, dictionary or metadata)
# is read here from the C data interface structs directly.
# Spec: https://arrow.apache.org/docs/format/CDataInterface.html

from fastring._batches import IntKeys, PackedKeys

cdef extern from *:
    """
    struct FrArrowSchema {
        const char* format; const char* name; const char* metadata; int64_t flags;
        int64_t n_children; struct FrArrowSchema** children; struct FrArrowSchema* dictionary;
        void (*release)(struct FrArrowSchema*); void* private_data;
    };
    struct FrArrowArray {
        int64_t length; int64_t null_count; int64_t offset; int64_t n_buffers;
        int64_t n_children; const void** buffers; struct FrArrowArray** children;
        struct FrArrowArray* dictionary; void (*release)(struct FrArrowArray*); void* private_data;
    };
    """
    ctypedef struct FrArrowSchema "struct FrArrowSchema":
        const char* format
        const char* metadata
        void* dictionary
    ctypedef struct FrArrowArray "struct FrArrowArray":
        int64_t length
        int64_t null_count
        int64_t offset
        int64_t n_buffers
        const void** buffers
        void* dictionary

_INT64 = np.dtype(np.int64)
_UINT64 = np.dtype(np.uint64)


cdef object _arrow_view(const void* data, Py_ssize_t count, int typenum, object owner):
    """A read-only 1-d NumPy view of ``count`` items at ``data`` that keeps ``owner`` alive."""
    cdef cnp.npy_intp dims = count
    cdef cnp.ndarray view = cnp.PyArray_SimpleNewFromData(1, &dims, typenum, <void*>data)
    cnp.PyArray_CLEARFLAGS(view, cnp.NPY_ARRAY_WRITEABLE)
    cnp.set_array_base(view, owner)
    return view


def arrow_flat(schema_capsule, array_capsule):
    """The key batch of a flat Arrow array from its C data interface capsules; None if
    the array is not one this short way reads (empty, nulls, a dictionary, metadata,
    another format): then the general reader takes it, with its checks and messages."""
    cdef FrArrowSchema* schema = <FrArrowSchema*>PyCapsule_GetPointer(schema_capsule, "arrow_schema")
    cdef FrArrowArray* array = <FrArrowArray*>PyCapsule_GetPointer(array_capsule, "arrow_array")
    cdef const char* fmt = schema.format
    cdef int64_t n = array.length
    cdef int64_t offset = array.offset
    cdef int64_t last
    cdef const void* data
    if (fmt == NULL or fmt[0] == 0 or fmt[1] != 0 or schema.metadata != NULL or schema.dictionary != NULL
            or array.dictionary != NULL or n <= 0 or offset < 0 or array.null_count != 0
            or array.buffers == NULL):
        return None
    owner = (schema_capsule, array_capsule)  # the capsules release the memory when they die
    if fmt[0] == b"l" or fmt[0] == b"L":
        if array.n_buffers != 2 or array.buffers[1] == NULL:
            return None
        data = <const char*>array.buffers[1] + 8 * offset
        if fmt[0] == b"l":
            values = _arrow_view(data, n, cnp.NPY_INT64, owner)
            return IntKeys(values.view(_UINT64), _INT64)
        return IntKeys(_arrow_view(data, n, cnp.NPY_UINT64, owner), _UINT64)
    if fmt[0] == b"u" or fmt[0] == b"z":
        if array.n_buffers != 3 or array.buffers[1] == NULL:
            return None
        offsets = _arrow_view(<const int32_t*>array.buffers[1] + offset, n + 1, cnp.NPY_INT32, owner)
        last = (<const int32_t*>array.buffers[1])[offset + n]
    elif fmt[0] == b"U" or fmt[0] == b"Z":
        if array.n_buffers != 3 or array.buffers[1] == NULL:
            return None
        offsets = _arrow_view(<const int64_t*>array.buffers[1] + offset, n + 1, cnp.NPY_INT64, owner)
        last = (<const int64_t*>array.buffers[1])[offset + n]
    else:
        return None
    if last <= 0 or array.buffers[2] == NULL:
        return None  # (all keys empty, or a malformed array: the general reader decides)
    # The kernels check every key's span against the data's size.
    return PackedKeys(_arrow_view(array.buffers[2], last, cnp.NPY_UINT8, owner), offsets)
