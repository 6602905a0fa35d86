"""Read Arrow columns from any producer through the Arrow PyCapsule interface.

No pyarrow import: the C data interface structs are read with ``ctypes`` and every
buffer is viewed in place as a NumPy array (zero-copy). Each view holds a reference
to the object that owns the Arrow memory (the capsule, or our released-on-collect
wrapper of a stream chunk), so the memory lives as long as any view of it.

Spec: https://arrow.apache.org/docs/format/CDataInterface.html and
https://arrow.apache.org/docs/format/CDataInterface/PyCapsuleInterface.html
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np

from . import _hashing
from ._batches import ChunkedKeys, DictKeys, IntKeys, KeyBatch, PackedKeys, ViewKeys, integers_as_uint64
from ._keycontract_py import MissingKeyError, missing_key_error


class ArrowSchema(ctypes.Structure):
    pass


ArrowSchema._fields_ = [
    ("format", ctypes.c_char_p),
    ("name", ctypes.c_char_p),
    ("metadata", ctypes.c_void_p),
    ("flags", ctypes.c_int64),
    ("n_children", ctypes.c_int64),
    ("children", ctypes.POINTER(ctypes.POINTER(ArrowSchema))),
    ("dictionary", ctypes.POINTER(ArrowSchema)),
    ("release", ctypes.CFUNCTYPE(None, ctypes.POINTER(ArrowSchema))),
    ("private_data", ctypes.c_void_p),
]


class ArrowArray(ctypes.Structure):
    pass


ArrowArray._fields_ = [
    ("length", ctypes.c_int64),
    ("null_count", ctypes.c_int64),
    ("offset", ctypes.c_int64),
    ("n_buffers", ctypes.c_int64),
    ("n_children", ctypes.c_int64),
    ("buffers", ctypes.POINTER(ctypes.c_void_p)),
    ("children", ctypes.POINTER(ctypes.POINTER(ArrowArray))),
    ("dictionary", ctypes.POINTER(ArrowArray)),
    ("release", ctypes.CFUNCTYPE(None, ctypes.POINTER(ArrowArray))),
    ("private_data", ctypes.c_void_p),
]


class ArrowArrayStream(ctypes.Structure):
    pass


ArrowArrayStream._fields_ = [
    ("get_schema", ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ArrowArrayStream), ctypes.POINTER(ArrowSchema))),
    ("get_next", ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ArrowArrayStream), ctypes.POINTER(ArrowArray))),
    ("get_last_error", ctypes.CFUNCTYPE(ctypes.c_char_p, ctypes.POINTER(ArrowArrayStream))),
    ("release", ctypes.CFUNCTYPE(None, ctypes.POINTER(ArrowArrayStream))),
    ("private_data", ctypes.c_void_p),
]

_capsule_get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_capsule_get_pointer.restype = ctypes.c_void_p
_capsule_get_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]

_INTEGER_FORMATS = {
    "c": np.int8, "C": np.uint8, "s": np.int16, "S": np.uint16,
    "i": np.int32, "I": np.uint32, "l": np.int64, "L": np.uint64,
}  # fmt: skip
_BINARY_FORMATS = {"u": np.int32, "z": np.int32, "U": np.int64, "Z": np.int64}
_VIEW_FORMATS = ("vu", "vz")
_FORMAT_NAMES = {
    "n": "null", "b": "bool", "e": "float16", "f": "float32", "g": "float64",
    "w": "fixed_size_binary", "d": "decimal", "tdD": "date32", "tdm": "date64",
    "+l": "list", "+L": "large_list", "+s": "struct", "+m": "map",
}  # fmt: skip


class _OwnedArray:
    """An ArrowArray we imported from a stream; released when the last view dies."""

    def __init__(self) -> None:
        self.struct = ArrowArray()

    def __del__(self) -> None:
        release = self.struct.release
        if release:
            release(ctypes.byref(self.struct))


class _OwnedSchema:
    def __init__(self) -> None:
        self.struct = ArrowSchema()

    def __del__(self) -> None:
        release = self.struct.release
        if release:
            release(ctypes.byref(self.struct))


def _view(address: int | None, dtype: Any, count: int, owner: Any) -> np.ndarray:
    """A NumPy view of ``count`` items at ``address`` that keeps ``owner`` alive."""
    dtype = np.dtype(dtype)
    if count <= 0:
        return np.empty(0, dtype)
    if not address:
        raise ValueError("malformed Arrow array: a required buffer is missing")
    raw = (ctypes.c_uint8 * (count * dtype.itemsize)).from_address(address)
    raw.owner = owner  # the NumPy view references raw, raw references the owner
    return np.frombuffer(raw, dtype=dtype)


def _buffer(array: ArrowArray, k: int, fmt: str) -> int | None:
    """The address of buffer ``k``, which the producer must have declared: reading
    ``buffers[k]`` past ``n_buffers`` reads memory the producer never wrote."""
    if not 0 <= k < array.n_buffers:
        raise ValueError(
            f"malformed Arrow array: format {fmt!r} needs buffer {k}, but the producer declared "
            f"{array.n_buffers} buffer(s)"
        )
    address: int | None = array.buffers[k]
    return address


def _check_shape(array: ArrowArray) -> None:
    if array.length < 0 or array.offset < 0:
        raise ValueError(
            f"malformed Arrow array: negative length ({array.length}) or offset ({array.offset})"
        )
    if array.n_buffers < 0 or (array.n_buffers and not array.buffers):
        raise ValueError("malformed Arrow array: its buffer list is missing")


def _extension_name(schema: ArrowSchema) -> str | None:
    """The ``ARROW:extension:name`` of a field's metadata, if it has one.

    Metadata is int32 pair count, then per pair int32 length + key bytes, int32 length
    + value bytes (native byte order, as the C data interface specifies)."""
    if not schema.metadata:
        return None
    count = ctypes.c_int32.from_address(schema.metadata).value
    at = schema.metadata + 4
    for _ in range(max(0, min(count, 10_000))):  # bounded: the count is the producer's
        parts = []
        for _ in range(2):
            size = ctypes.c_int32.from_address(at).value
            if size < 0:
                return None
            parts.append(ctypes.string_at(at + 4, size))
            at += 4 + size
        if parts[0] == b"ARROW:extension:name":
            return parts[1].decode("utf-8", "replace")
    return None


def _check_no_nulls(array: ArrowArray, owner: Any, base: int) -> None:
    """Raise ValueError naming the first null (absolute position ``base + i``)."""
    if array.null_count == 0 or array.length == 0:
        return
    validity = array.buffers[0] if array.n_buffers > 0 else None
    if not validity:
        if array.null_count > 0:
            raise ValueError("malformed Arrow array: null_count > 0 but no validity bitmap")
        return
    start, length = array.offset, array.length
    nbytes = (start + length + 7) // 8
    bits = np.unpackbits(_view(validity, np.uint8, nbytes, owner), bitorder="little")
    nulls = np.flatnonzero(bits[start : start + length] == 0)
    if len(nulls):
        raise missing_key_error(base + int(nulls[0]))


def _format_name(fmt: str) -> str:
    name = _FORMAT_NAMES.get(fmt) or _FORMAT_NAMES.get(fmt[:3]) or _FORMAT_NAMES.get(fmt[:2])
    if fmt.startswith("ts"):
        name = "timestamp"
    return f"{fmt!r} ({name})" if name else repr(fmt)


def _import_array(schema: ArrowSchema, array: ArrowArray, owner: Any, base: int) -> KeyBatch:
    """One Arrow array -> key batch. ``base`` is its position in the whole column."""
    fmt = schema.format.decode("utf-8")
    _check_shape(array)
    extension = _extension_name(schema)
    if extension is not None:
        # An extension type gives its storage a meaning we do not know (a pandas Period
        # is an int64 of ordinals whose unit lives in the metadata): never guess.
        raise TypeError(
            f"key at position {base} has unsupported type: Arrow extension type {extension!r} "
            f"(storage {_format_name(fmt)}); convert the column to strings or integers first"
        )
    if schema.dictionary:
        return _import_dictionary(schema, array, owner, base)
    if fmt == "+s":
        # A table and a struct column export the same way: one message for both.
        raise TypeError(
            f"key at position {base} has unsupported type: Arrow format {_format_name(fmt)}: "
            "a whole table (or a struct column) is not a key column; pass one column, "
            "e.g. table['user_id'] or df['user_id'] (or route the whole table with "
            "fastring.split(table, router, on='user_id'))"
        )
    if not (fmt in _INTEGER_FORMATS or fmt in _BINARY_FORMATS or fmt in _VIEW_FORMATS or fmt == "b"):
        raise TypeError(
            f"key at position {base} has unsupported type: Arrow format {_format_name(fmt)}; "
            "string, binary (large and view variants), integer, bool and dictionary columns are accepted"
        )
    _check_no_nulls(array, owner, base)
    n, offset = array.length, array.offset
    if fmt in _INTEGER_FORMATS:
        values = _view(_buffer(array, 1, fmt), _INTEGER_FORMATS[fmt], offset + n, owner)[offset:]
        return IntKeys(integers_as_uint64(values), values.dtype)
    if fmt == "b":
        packed = _view(_buffer(array, 1, fmt), np.uint8, (offset + n + 7) // 8, owner)
        bits = np.unpackbits(packed, bitorder="little")[offset : offset + n]
        return IntKeys(bits.astype(np.uint64), np.dtype(bool))
    if fmt in _BINARY_FORMATS:
        if n == 0:  # (an empty slice's one offset need not be 0: nothing to read)
            return PackedKeys(np.empty(0, np.uint8), np.zeros(1, _BINARY_FORMATS[fmt]))
        offsets = _view(_buffer(array, 1, fmt), _BINARY_FORMATS[fmt], offset + n + 1, owner)[offset:]
        # The data size is read once here; the kernel checks every span against it.
        size = max(0, int(offsets[-1])) if n else 0
        data = _view(_buffer(array, 2, fmt), np.uint8, size, owner)
        return PackedKeys(data, offsets)
    if fmt in _VIEW_FORMATS:
        views = _view(_buffer(array, 1, fmt), np.uint8, 16 * (offset + n), owner)[16 * offset :]
        # validity, views, data buffers..., variadic sizes
        n_data = array.n_buffers - 3
        if n_data < 0:
            _buffer(array, 2, fmt)  # raises: the sizes buffer is missing
        sizes = _view(_buffer(array, array.n_buffers - 1, fmt), np.int64, n_data, owner).copy()
        if (sizes < 0).any():
            raise ValueError("malformed Arrow array: a negative variadic buffer size")
        buffers = [_view(_buffer(array, 2 + k, fmt), np.uint8, int(sizes[k]), owner) for k in range(n_data)]
        return ViewKeys(np.ascontiguousarray(views), buffers)
    raise AssertionError(f"unhandled Arrow format {fmt!r}")  # pragma: no cover


def _import_dictionary(schema: ArrowSchema, array: ArrowArray, owner: Any, base: int) -> KeyBatch:
    fmt = schema.format.decode("utf-8")
    if fmt not in _INTEGER_FORMATS:
        raise TypeError(f"malformed Arrow dictionary: index format {fmt!r}")
    _check_no_nulls(array, owner, base)
    n, offset = array.length, array.offset
    indices = _view(_buffer(array, 1, fmt), _INTEGER_FORMATS[fmt], offset + n, owner)[offset:]
    indices = indices.astype(np.intp)  # a copy: checked below, then used as checked
    if not array.dictionary:
        raise ValueError("malformed Arrow dictionary array: its dictionary is missing")
    dict_array = array.dictionary.contents
    _check_shape(dict_array)
    size = dict_array.length
    if n and (indices.min() < 0 or indices.max() >= size):
        raise ValueError("malformed Arrow dictionary array: an index is out of range")
    dict_schema = schema.dictionary.contents
    try:
        dictionary = _import_array(dict_schema, dict_array, owner, 0)
    except MissingKeyError:
        # A null dictionary entry matters only if a key refers to it: name that key.
        validity = _view(_buffer(dict_array, 0, "dictionary"), np.uint8, (dict_array.offset + size + 7) // 8, owner)
        is_null = np.unpackbits(validity, bitorder="little")[dict_array.offset : dict_array.offset + size] == 0
        bad = np.flatnonzero(is_null[indices])
        if len(bad):
            raise missing_key_error(base + int(bad[0])) from None
        # Unreferenced nulls: hash their (valid but meaningless) slots, never gathered.
        null_count, dict_array.null_count = dict_array.null_count, 0
        try:
            dictionary = _import_array(dict_schema, dict_array, owner, 0)
        finally:
            dict_array.null_count = null_count
    return DictKeys(dictionary, indices)


def flat_batch(exported: tuple[Any, ...]) -> KeyBatch | None:
    """The key batch of an ``__arrow_c_array__`` export (schema and array capsules) of a
    flat column (strings, binary, 64-bit integers; no nulls, dictionary or metadata),
    read by the compiled twin without ctypes; None for anything else (and on the
    pure twin)."""
    return _hashing.arrow_flat(*exported)


def from_arrow(obj: Any, exported: tuple[Any, ...] | None = None) -> KeyBatch:
    """Import ``obj`` through ``__arrow_c_array__`` or ``__arrow_c_stream__``.

    ``exported``: ``obj``'s array export, already offered to :func:`flat_batch`."""
    if exported is not None or hasattr(obj, "__arrow_c_array__"):
        if exported is None:
            exported = obj.__arrow_c_array__()
            flat = flat_batch(exported)  # the common case, in C
            if flat is not None:
                return flat
        schema_capsule, array_capsule = exported
        schema = ArrowSchema.from_address(_capsule_get_pointer(schema_capsule, b"arrow_schema"))
        array = ArrowArray.from_address(_capsule_get_pointer(array_capsule, b"arrow_array"))
        # The capsules release the Arrow memory when they die: the views keep them.
        owner = (schema_capsule, array_capsule)
        return ChunkedKeys([_import_array(schema, array, owner, 0)])
    stream_capsule = obj.__arrow_c_stream__()
    stream = ArrowArrayStream.from_address(_capsule_get_pointer(stream_capsule, b"arrow_array_stream"))
    owned_schema = _OwnedSchema()
    if stream.get_schema(ctypes.byref(stream), ctypes.byref(owned_schema.struct)) != 0:
        raise ValueError(f"Arrow stream error: {_last_error(stream)}")
    chunks: list[KeyBatch] = []
    base = 0
    while True:
        chunk = _OwnedArray()
        if stream.get_next(ctypes.byref(stream), ctypes.byref(chunk.struct)) != 0:
            raise ValueError(f"Arrow stream error: {_last_error(stream)}")
        if not chunk.struct.release:  # end of stream
            break
        chunks.append(_import_array(owned_schema.struct, chunk.struct, (chunk, stream_capsule), base))
        base += chunk.struct.length
    return ChunkedKeys(chunks)


def _last_error(stream: ArrowArrayStream) -> str:
    message = stream.get_last_error(ctypes.byref(stream)) if stream.get_last_error else None
    return message.decode("utf-8", "replace") if message else "unknown error"
