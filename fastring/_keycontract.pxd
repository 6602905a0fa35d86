"""The key contract for one key, compiled: the fast paths every compiled kernel uses.

The pure twin is ``_keycontract_py.py``. Exact ``str`` (its UTF-8 bytes), exact
``bytes`` and ``bytearray`` (as they are), exact ``int`` in [-2**63, 2**64) and
``bool`` (their uint64 bits) are converted here, with no Python object made; every
other key, and every key that fails (a lone surrogate, an int out of range), goes to
``key_slow``, which calls ``_keycontract_py.key_bytes``: the same bytes, or the one
error message that names the key's position.

Use (under the GIL; the pointer is valid while the caller holds the key)::

    kind = key_fast(o, &p, &n, &bits)
    if kind == KEY_SLOW:
        held = key_slow(<object>o, position)   # bytes, or raises
        p, n = PyBytes_AS_STRING(held), PyBytes_GET_SIZE(held)
        kind = KEY_BYTES
"""

from cpython.bytes cimport PyBytes_Check
from cpython.object cimport PyObject
from libc.stdint cimport uint8_t, uint64_t


cdef extern from "Python.h":
    bint PyUnicode_CheckExact(PyObject* o)
    bint PyUnicode_IS_COMPACT_ASCII(PyObject* o)
    void* PyUnicode_DATA(PyObject* o)
    Py_ssize_t PyUnicode_GET_LENGTH(PyObject* o)
    const char* PyUnicode_AsUTF8AndSize(PyObject* o, Py_ssize_t* size)
    bint PyBytes_CheckExact(PyObject* o)
    char* PyBytes_AS_STRING(PyObject* o)
    Py_ssize_t PyBytes_GET_SIZE(PyObject* o)
    bint PyLong_CheckExact(PyObject* o)
    bint PyBool_Check(PyObject* o)
    long long PyLong_AsLongLongAndOverflow(PyObject* o, int* overflow)
    unsigned long long PyLong_AsUnsignedLongLong(PyObject* o)
    PyObject* Py_True
    PyObject* PyErr_Occurred()
    void PyErr_Clear()


cdef enum:
    KEY_BYTES = 0  # the key is the bytes p[0:n]
    KEY_BITS = 1   # the key is an integer: its uint64 bits (hashed as 8 LE bytes)
    KEY_SLOW = 2   # neither on a fast path: call key_slow


cdef inline int key_fast(PyObject* o, const uint8_t** p, size_t* n, uint64_t* bits) noexcept:
    """Convert key ``o`` on a fast path; KEY_SLOW (with no error set) otherwise."""
    cdef Py_ssize_t size
    cdef const char* s
    cdef long long sv
    cdef unsigned long long uv
    cdef int ovf
    if PyUnicode_CheckExact(o):
        if PyUnicode_IS_COMPACT_ASCII(o):
            # ASCII is its own UTF-8: the str's data, in place.
            p[0] = <const uint8_t*>PyUnicode_DATA(o)
            n[0] = <size_t>PyUnicode_GET_LENGTH(o)
            return KEY_BYTES
        # The UTF-8 form is cached in the str and lives as long as it.
        s = PyUnicode_AsUTF8AndSize(o, &size)
        if s != NULL:
            p[0] = <const uint8_t*>s
            n[0] = <size_t>size
            return KEY_BYTES
        PyErr_Clear()  # a lone surrogate: key_slow raises the proper error
        return KEY_SLOW
    if PyBytes_CheckExact(o):
        p[0] = <const uint8_t*>PyBytes_AS_STRING(o)
        n[0] = <size_t>PyBytes_GET_SIZE(o)
        return KEY_BYTES
    if PyLong_CheckExact(o):
        sv = PyLong_AsLongLongAndOverflow(o, &ovf)
        if ovf == 0:
            bits[0] = <uint64_t>sv  # two's complement bits
            return KEY_BITS
        if ovf > 0:
            uv = PyLong_AsUnsignedLongLong(o)
            if not (uv == <unsigned long long>-1 and PyErr_Occurred() != NULL):
                bits[0] = <uint64_t>uv  # [2**63, 2**64): uint64 bits
                return KEY_BITS
            PyErr_Clear()  # >= 2**64: key_slow raises OverflowError
        return KEY_SLOW  # < -2**63 too
    if PyBool_Check(o):
        bits[0] = 1 if o == Py_True else 0
        return KEY_BITS
    return KEY_SLOW


cdef inline object key_slow(object key, object position):
    """``_keycontract_py.key_bytes(key, position)``: the key's bytes, or its error."""
    from fastring._keycontract_py import key_bytes  # cached by the import system

    res = key_bytes(key, position)
    if not PyBytes_Check(res):
        raise TypeError(f"key_bytes returned {type(res).__name__}, expected bytes")
    return res
