"""NumPy arrays made through the C API: no Python call, no dtype parsing.

For outputs of a few keys, where ``np.empty`` would cost more than the work.
"""

cimport numpy as cnp
from libc.stdint cimport int32_t


cdef inline object new_int32(Py_ssize_t n):
    """An uninitialized 1-d int32 array of ``n`` elements."""
    cdef cnp.npy_intp dims = n
    return cnp.PyArray_EMPTY(1, &dims, cnp.NPY_INT32, 0)


cdef inline int32_t* int32_data(object array):
    """The data of an array made by new_int32 (C-contiguous int32: no buffer view
    needed, and none of a typed memoryview's set-up)."""
    return <int32_t*>cnp.PyArray_DATA(<cnp.ndarray>array)
