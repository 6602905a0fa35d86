# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Compiled hashing kernels: array in, array out, the hashing loop without the GIL.

Same names, signatures and results as the pure twin ``_hashing_py``.  The
Python layer (``fastring.hashing``) validates algorithm names, seeds and dtypes;
these kernels still refuse an unknown algorithm id, a wrong ``out`` and
inconsistent offsets, because a mistake there would read or write out of bounds.

``out`` is a 1-D C-contiguous writable array: uint64 for the 64-bit algorithms,
uint32 for murmur3_32 and md5_32.
"""

from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.string cimport memcpy
from cpython.mem cimport PyMem_Free, PyMem_Malloc

from fastring._hashfuncs cimport (
    ALGO_COUNT,
    ALGO_FNV1A_64,
    ALGO_MD5_32,
    ALGO_MURMUR3_32,
    ALGO_MURMUR3_64,
    ALGO_XXH3_64,
    ALGO_XXH64,
    algo_is_32bit,
    fnv1a_64,
    fnv1a_64_u64,
    hash_bytes as _c_hash_bytes,
    md5_32,
    md5_32_u64,
    murmur3_32,
    murmur3_32_u64,
    murmur3_64,
    murmur3_64_u64,
    xxh3_64,
    xxh3_64_u64,
    xxh64,
    xxh64_u64,
)

# Raw-pointer spellings of the C API used in the object pass: declared on
# PyObject* so that Cython adds no reference counting around them.
cdef extern from "Python.h":
    ctypedef struct PyObject
    bint PyUnicode_CheckExact(PyObject* o)
    bint PyUnicode_IS_COMPACT_ASCII(PyObject* o)
    void* PyUnicode_DATA(PyObject* o)
    Py_ssize_t PyUnicode_GET_LENGTH(PyObject* o)
    const char* PyUnicode_AsUTF8AndSize(PyObject* o, Py_ssize_t* size)
    bint PyBytes_CheckExact(PyObject* o)
    bint PyBytes_Check(PyObject* o)
    char* PyBytes_AS_STRING(PyObject* o)
    Py_ssize_t PyBytes_GET_SIZE(PyObject* o)
    bint PyLong_CheckExact(PyObject* o)
    bint PyBool_Check(PyObject* o)
    long long PyLong_AsLongLongAndOverflow(PyObject* o, int* overflow)
    unsigned long long PyLong_AsUnsignedLongLong(PyObject* o)
    PyObject* Py_True
    PyObject* PyErr_Occurred()
    void PyErr_Clear()
    void Py_INCREF(PyObject* o)
    void Py_XDECREF(PyObject* o)
    PyObject* PyList_GET_ITEM(PyObject* lst, Py_ssize_t i)
    Py_ssize_t PyList_GET_SIZE(PyObject* lst)
    void* PyMem_Calloc(size_t nelem, size_t elsize)


ctypedef fused out_t:
    uint32_t
    uint64_t

ctypedef fused off_t:
    int32_t
    int64_t


cdef const uint8_t* _EMPTY = <const uint8_t*>b""


# ---------------------------------------------------------------- validation

cdef int _check_algo(int algo) except -1:
    if algo < 0 or algo >= ALGO_COUNT:
        raise ValueError(f"unknown hash algorithm id: {algo!r}")
    return 0


cdef uint64_t[::1] _out64(object out, Py_ssize_t n):
    """``out`` as a writable uint64 view of length n, or ValueError."""
    cdef uint64_t[::1] view
    try:
        view = out
    except (ValueError, TypeError, BufferError) as exc:
        raise ValueError(
            f"out must be a writable 1-D C-contiguous uint64 array ({exc})") from None
    if view.shape[0] != n:
        raise ValueError(f"out has length {view.shape[0]}, expected {n}")
    return view


cdef uint32_t[::1] _out32(object out, Py_ssize_t n):
    """``out`` as a writable uint32 view of length n, or ValueError."""
    cdef uint32_t[::1] view
    try:
        view = out
    except (ValueError, TypeError, BufferError) as exc:
        raise ValueError(
            f"out must be a writable 1-D C-contiguous uint32 array ({exc})") from None
    if view.shape[0] != n:
        raise ValueError(f"out has length {view.shape[0]}, expected {n}")
    return view


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

cdef void _k_uint64(const uint64_t* v, Py_ssize_t n, int algo, uint64_t seed,
                    out_t* out) noexcept nogil:
    # One loop per algorithm, so that each hash inlines into its own loop.
    cdef Py_ssize_t i
    cdef uint32_t s32 = <uint32_t>seed
    if algo == ALGO_XXH64:
        for i in range(n):
            out[i] = <out_t>xxh64_u64(v[i], seed)
    elif algo == ALGO_XXH3_64:
        for i in range(n):
            out[i] = <out_t>xxh3_64_u64(v[i], seed)
    elif algo == ALGO_MURMUR3_32:
        for i in range(n):
            out[i] = <out_t>murmur3_32_u64(v[i], s32)
    elif algo == ALGO_MURMUR3_64:
        for i in range(n):
            out[i] = <out_t>murmur3_64_u64(v[i], s32)
    elif algo == ALGO_FNV1A_64:
        for i in range(n):
            out[i] = <out_t>fnv1a_64_u64(v[i])
    elif algo == ALGO_MD5_32:
        for i in range(n):
            out[i] = <out_t>md5_32_u64(v[i])


def hash_uint64(const uint64_t[::1] values, int algo, uint64_t seed, out):
    """Hash each value as its 8 little-endian bytes into ``out``."""
    cdef Py_ssize_t n = values.shape[0]
    cdef uint64_t[::1] o64
    cdef uint32_t[::1] o32
    cdef const uint64_t* v
    _check_algo(algo)
    if algo_is_32bit(algo):
        o32 = _out32(out, n)
    else:
        o64 = _out64(out, n)
    if n == 0:
        return
    v = &values[0]
    if algo_is_32bit(algo):
        with nogil:
            _k_uint64(v, n, algo, seed, &o32[0])
    else:
        with nogil:
            _k_uint64(v, n, algo, seed, &o64[0])


# ---------------------------------------------------------------- hash_packed

cdef void _k_packed(const uint8_t* d, const off_t* off, Py_ssize_t n, int algo,
                    uint64_t seed, out_t* out) noexcept nogil:
    cdef Py_ssize_t i
    cdef uint32_t s32 = <uint32_t>seed
    if algo == ALGO_XXH64:
        for i in range(n):
            out[i] = <out_t>xxh64(d + off[i], <size_t>(off[i + 1] - off[i]), seed)
    elif algo == ALGO_XXH3_64:
        for i in range(n):
            out[i] = <out_t>xxh3_64(d + off[i], <size_t>(off[i + 1] - off[i]), seed)
    elif algo == ALGO_MURMUR3_32:
        for i in range(n):
            out[i] = <out_t>murmur3_32(d + off[i], <size_t>(off[i + 1] - off[i]), s32)
    elif algo == ALGO_MURMUR3_64:
        for i in range(n):
            out[i] = <out_t>murmur3_64(d + off[i], <size_t>(off[i + 1] - off[i]), s32)
    elif algo == ALGO_FNV1A_64:
        for i in range(n):
            out[i] = <out_t>fnv1a_64(d + off[i], <size_t>(off[i + 1] - off[i]))
    elif algo == ALGO_MD5_32:
        for i in range(n):
            out[i] = <out_t>md5_32(d + off[i], <size_t>(off[i + 1] - off[i]))


cdef bint _offsets_ok(const off_t* off, Py_ssize_t n, Py_ssize_t size) noexcept nogil:
    """offsets[0] >= 0, non-decreasing, offsets[n] <= size (else reads go out of bounds)."""
    cdef Py_ssize_t i
    cdef bint ok = off[0] >= 0 and off[n] <= size
    for i in range(n):  # branch-free accumulation: vectorizes
        ok &= off[i] <= off[i + 1]
    return ok


cdef int _packed(const uint8_t[::1] data, const off_t[::1] offsets, int algo,
                 uint64_t seed, object out) except -1:
    cdef Py_ssize_t n = offsets.shape[0] - 1
    cdef Py_ssize_t size = data.shape[0]
    cdef uint64_t[::1] o64
    cdef uint32_t[::1] o32
    cdef const off_t* off
    cdef const uint8_t* d
    cdef bint ok
    if n < 0:
        raise ValueError("offsets must be a non-empty 1-D int32 or int64 array")
    if algo_is_32bit(algo):
        o32 = _out32(out, n)
    else:
        o64 = _out64(out, n)
    off = &offsets[0]
    d = &data[0] if size > 0 else _EMPTY
    with nogil:
        ok = _offsets_ok(off, n, size)
    if not ok:
        raise ValueError("offsets must be non-decreasing and within data")
    if n == 0:
        return 0
    if algo_is_32bit(algo):
        with nogil:
            _k_packed(d, off, n, algo, seed, &o32[0])
    else:
        with nogil:
            _k_packed(d, off, n, algo, seed, &o64[0])
    return 0


def hash_packed(const uint8_t[::1] data, offsets, int algo, uint64_t seed, out):
    """Hash ``data[offsets[i]:offsets[i+1]]`` for each i (offsets int32 or int64, n+1 long)."""
    cdef const int64_t[::1] off64
    cdef const int32_t[::1] off32
    _check_algo(algo)
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


# ---------------------------------------------------------------- hash_fixed

cdef inline size_t _strip_nul(const uint8_t* rec, size_t w) noexcept nogil:
    """Length of the record without its trailing NUL bytes (NumPy's ``S`` rule)."""
    while w > 0 and rec[w - 1] == 0:
        w -= 1
    return w


cdef void _k_fixed(const uint8_t* d, size_t w, Py_ssize_t n, int algo,
                   uint64_t seed, out_t* out) noexcept nogil:
    cdef Py_ssize_t i
    cdef const uint8_t* r
    cdef uint32_t s32 = <uint32_t>seed
    if algo == ALGO_XXH64:
        for i in range(n):
            r = d + <size_t>i * w
            out[i] = <out_t>xxh64(r, _strip_nul(r, w), seed)
    elif algo == ALGO_XXH3_64:
        for i in range(n):
            r = d + <size_t>i * w
            out[i] = <out_t>xxh3_64(r, _strip_nul(r, w), seed)
    elif algo == ALGO_MURMUR3_32:
        for i in range(n):
            r = d + <size_t>i * w
            out[i] = <out_t>murmur3_32(r, _strip_nul(r, w), s32)
    elif algo == ALGO_MURMUR3_64:
        for i in range(n):
            r = d + <size_t>i * w
            out[i] = <out_t>murmur3_64(r, _strip_nul(r, w), s32)
    elif algo == ALGO_FNV1A_64:
        for i in range(n):
            r = d + <size_t>i * w
            out[i] = <out_t>fnv1a_64(r, _strip_nul(r, w))
    elif algo == ALGO_MD5_32:
        for i in range(n):
            r = d + <size_t>i * w
            out[i] = <out_t>md5_32(r, _strip_nul(r, w))


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
        o32 = _out32(out, n)
    else:
        o64 = _out64(out, n)
    if n == 0:
        return
    d = &data[0]
    if algo_is_32bit(algo):
        with nogil:
            _k_fixed(d, <size_t>itemsize, n, algo, seed, &o32[0])
    else:
        with nogil:
            _k_fixed(d, <size_t>itemsize, n, algo, seed, &o64[0])


# ---------------------------------------------------------------- hash_objects

cdef struct _Key:
    const uint8_t* p    # the key's bytes; NULL for an int key
    uint64_t v          # byte length, or (p == NULL) the int key's uint64 bits


cdef object _key_bytes = None


cdef object _fallback(object obj, Py_ssize_t position):
    """``fastring._keys.key_bytes(obj, position)``: bytes, or the proper error."""
    global _key_bytes
    if _key_bytes is None:
        # Imported on first use: _keys may import the hashing selector.
        from fastring._keys import key_bytes
        _key_bytes = key_bytes
    res = _key_bytes(obj, position)
    if not PyBytes_Check(<PyObject*>res):
        raise TypeError(f"key_bytes returned {type(res).__name__}, expected bytes")
    return res


cdef int _collect(list items, Py_ssize_t start, Py_ssize_t m, Py_ssize_t n,
                  _Key* keys, PyObject** refs) except -1:
    """Pass 1 (GIL held) over items[start:start+m]: each key's (pointer, length)
    or int bits into keys[0:m].

    Lifetimes: every str/bytes whose buffer is recorded gets a strong reference
    in refs[j] (released by the caller after pass 2), so nothing can free a
    buffer while pass 2 reads it without the GIL -- not another thread mutating
    ``items``, nor Python code run by ``key_bytes``. A str's cached UTF-8 lives as
    long as the str. Int keys need no reference (their bits are copied).
    """
    cdef Py_ssize_t i, j, size
    cdef PyObject* o
    cdef const char* s
    cdef long long sv
    cdef unsigned long long uv
    cdef int ovf
    cdef bint done
    cdef object res
    if PyList_GET_SIZE(<PyObject*>items) != n:  # mutated while the GIL was released
        raise RuntimeError("list changed size during hashing")
    for j in range(m):
        i = start + j
        o = PyList_GET_ITEM(<PyObject*>items, i)
        done = True
        if PyUnicode_CheckExact(o):
            if PyUnicode_IS_COMPACT_ASCII(o):
                # ASCII is its own UTF-8: read the str's data in place.
                keys[j].p = <const uint8_t*>PyUnicode_DATA(o)
                keys[j].v = <uint64_t>PyUnicode_GET_LENGTH(o)
            else:
                s = PyUnicode_AsUTF8AndSize(o, &size)
                if s == NULL:  # a lone surrogate: key_bytes raises the proper error
                    PyErr_Clear()
                    done = False
                else:
                    keys[j].p = <const uint8_t*>s
                    keys[j].v = <uint64_t>size
            if done:
                Py_INCREF(o)
                refs[j] = o
        elif PyBytes_CheckExact(o):
            keys[j].p = <const uint8_t*>PyBytes_AS_STRING(o)
            keys[j].v = <uint64_t>PyBytes_GET_SIZE(o)
            Py_INCREF(o)
            refs[j] = o
        elif PyLong_CheckExact(o):
            sv = PyLong_AsLongLongAndOverflow(o, &ovf)
            if ovf == 0:
                keys[j].p = NULL
                keys[j].v = <uint64_t>sv  # two's complement bits
            elif ovf > 0:
                uv = PyLong_AsUnsignedLongLong(o)
                if uv == <unsigned long long>-1 and PyErr_Occurred() != NULL:
                    PyErr_Clear()  # >= 2**64: key_bytes raises OverflowError
                    done = False
                else:
                    keys[j].p = NULL
                    keys[j].v = <uint64_t>uv
            else:
                done = False  # < -2**63
        elif PyBool_Check(o):
            keys[j].p = NULL
            keys[j].v = 1 if o == Py_True else 0
        else:
            done = False
        if not done:
            # <object>o holds its own reference during the call, so a list
            # mutation inside key_bytes cannot free it under us.
            res = _fallback(<object>o, i)
            keys[j].p = <const uint8_t*>PyBytes_AS_STRING(<PyObject*>res)
            keys[j].v = <uint64_t>PyBytes_GET_SIZE(<PyObject*>res)
            Py_INCREF(<PyObject*>res)
            refs[j] = <PyObject*>res
            if PyList_GET_SIZE(<PyObject*>items) != n:
                raise RuntimeError("list changed size during hashing")
    return 0


cdef inline void _release(PyObject** refs, Py_ssize_t m) noexcept:
    """Drop the references taken by _collect (GIL held)."""
    cdef Py_ssize_t j
    for j in range(m):
        Py_XDECREF(refs[j])
        refs[j] = NULL


cdef void _k_objects(const _Key* k, Py_ssize_t n, int algo, uint64_t seed,
                     out_t* out) noexcept nogil:
    cdef Py_ssize_t i
    cdef uint32_t s32 = <uint32_t>seed
    if algo == ALGO_XXH64:
        for i in range(n):
            if k[i].p != NULL:
                out[i] = <out_t>xxh64(k[i].p, k[i].v, seed)
            else:
                out[i] = <out_t>xxh64_u64(k[i].v, seed)
    elif algo == ALGO_XXH3_64:
        for i in range(n):
            if k[i].p != NULL:
                out[i] = <out_t>xxh3_64(k[i].p, k[i].v, seed)
            else:
                out[i] = <out_t>xxh3_64_u64(k[i].v, seed)
    elif algo == ALGO_MURMUR3_32:
        for i in range(n):
            if k[i].p != NULL:
                out[i] = <out_t>murmur3_32(k[i].p, k[i].v, s32)
            else:
                out[i] = <out_t>murmur3_32_u64(k[i].v, s32)
    elif algo == ALGO_MURMUR3_64:
        for i in range(n):
            if k[i].p != NULL:
                out[i] = <out_t>murmur3_64(k[i].p, k[i].v, s32)
            else:
                out[i] = <out_t>murmur3_64_u64(k[i].v, s32)
    elif algo == ALGO_FNV1A_64:
        for i in range(n):
            if k[i].p != NULL:
                out[i] = <out_t>fnv1a_64(k[i].p, k[i].v)
            else:
                out[i] = <out_t>fnv1a_64_u64(k[i].v)
    elif algo == ALGO_MD5_32:
        for i in range(n):
            if k[i].p != NULL:
                out[i] = <out_t>md5_32(k[i].p, k[i].v)
            else:
                out[i] = <out_t>md5_32_u64(k[i].v)


# Keys per chunk: pass 1, pass 2 and the reference release of one chunk run
# while its str objects are still in cache (a whole-list pass 1 followed by a
# whole-list decref pass streams every object from memory three times).
cdef enum:
    _CHUNK = 2048


cdef int _objects(list items, Py_ssize_t n, int algo, uint64_t seed,
                  out_t* out) except -1:
    cdef _Key* keys = NULL
    cdef PyObject** refs = NULL
    cdef out_t* scratch = NULL
    cdef Py_ssize_t start, m
    keys = <_Key*>PyMem_Malloc(_CHUNK * sizeof(_Key))
    refs = <PyObject**>PyMem_Calloc(_CHUNK, sizeof(PyObject*))
    # Results go to scratch first: an error in a later chunk must leave out
    # untouched, so out is written only after every key converted.
    scratch = <out_t*>PyMem_Malloc(<size_t>n * sizeof(out_t))
    try:
        if keys == NULL or refs == NULL or scratch == NULL:
            raise MemoryError()
        start = 0
        while start < n:
            m = min(<Py_ssize_t>_CHUNK, n - start)
            try:
                _collect(items, start, m, n, keys, refs)  # may raise
                with nogil:
                    _k_objects(keys, m, algo, seed, scratch + start)
            finally:
                _release(refs, m)
            start += m
        with nogil:
            memcpy(out, scratch, <size_t>n * sizeof(out_t))
    finally:
        PyMem_Free(scratch)
        PyMem_Free(refs)
        PyMem_Free(keys)
    return 0


def hash_objects(list items not None, int algo, uint64_t seed, out):
    """Hash each key of the list ``items`` into ``out`` (str, bytes, int inline;
    anything else through ``fastring._keys.key_bytes``).

    Every key is converted before anything is written, so an error leaves
    ``out`` untouched.
    """
    cdef Py_ssize_t n = len(items)
    cdef uint64_t[::1] o64
    cdef uint32_t[::1] o32
    _check_algo(algo)
    if algo_is_32bit(algo):
        o32 = _out32(out, n)
    else:
        o64 = _out64(out, n)
    if n == 0:
        return
    if algo_is_32bit(algo):
        _objects(items, n, algo, seed, &o32[0])
    else:
        _objects(items, n, algo, seed, &o64[0])
