"""The one place that turns any key container into a key batch.

A *key batch* is what every kernel reads: integer keys as a ``uint64`` array, byte
keys as packed data plus offsets (or fixed-width NumPy ``S`` records), Python objects
as a list, dictionary-encoded keys as a dictionary batch plus indices, and Arrow
chunked data as a list of batches. The key contract itself (how one key becomes
bytes) lives in :func:`key_bytes`, which both twins call for every key they do not
convert on a fast path, so there is one source of truth for conversions and errors.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Union

import numpy as np

UINT64_MASK = 0xFFFFFFFFFFFFFFFF
KEY_MIN = -(2**63)
KEY_LIMIT = 2**64  # exclusive

_KEY_TYPES_HINT = "keys must be str, bytes, bytearray, contiguous memoryview or int"


def at_position(error: Exception, position: int | None) -> Exception:
    """``error`` with ``error.position`` set: which key it is about (None: one key).

    Callers that feed keys in batches (``fastring route``) turn it into a line number."""
    error.position = position  # type: ignore[attr-defined]
    return error


def _where(position: int | None) -> str:
    return "key" if position is None else f"key at position {position}"


def key_type_error(position: int | None, key: Any) -> TypeError:
    kind = type(key)
    name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    hint = ""
    if isinstance(key, (float, np.floating)):
        hint = " (floats are never keys: convert them explicitly, e.g. with int() or str())"
    return at_position(TypeError(f"{_where(position)} has unsupported type {name}: {_KEY_TYPES_HINT}{hint}"), position)


class MissingKeyError(ValueError):
    """A null (Arrow null, pandas NA) where a key is needed."""


def missing_key_error(position: int) -> MissingKeyError:
    return at_position(MissingKeyError(f"{_where(position)} is null/missing; nulls cannot be routed"), position)


def int_key_bytes(value: int, position: int | None = None) -> bytes:
    """The 8 little-endian bytes of an integer key (two's complement / uint64 bits)."""
    if not KEY_MIN <= value < KEY_LIMIT:
        raise at_position(
            OverflowError(f"{_where(position)} is {value}, outside the integer key range [-2**63, 2**64)"),
            position,
        )
    return (value & UINT64_MASK).to_bytes(8, "little")


def key_bytes(key: Any, position: int | None = None) -> bytes:
    """Return the bytes that represent ``key`` under the key contract, or raise.

    ``position`` only goes into error messages (and their ``position`` attribute).
    """
    if isinstance(key, str):
        try:
            return key.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise at_position(
                ValueError(
                    f"{_where(position)} is a str that is not valid Unicode "
                    f"({exc.reason} at index {exc.start}): it has no UTF-8 encoding"
                ),
                position,
            ) from None
    if isinstance(key, (bytes, bytearray)):
        return bytes(key)
    if isinstance(key, memoryview):
        if not key.contiguous:
            raise at_position(
                ValueError(f"{_where(position)} is a non-contiguous memoryview; pass a contiguous one"), position
            )
        return key.tobytes("A")
    if isinstance(key, (int, np.integer, np.bool_)):
        return int_key_bytes(int(key), position)
    raise key_type_error(position, key)


# --------------------------------------------------------------------------- batches


@dataclass
class IntKeys:
    """Integer keys as their uint64 bits (C-contiguous)."""

    values: np.ndarray

    def __len__(self) -> int:
        return len(self.values)


@dataclass
class PackedKeys:
    """Byte keys ``data[offsets[i]:offsets[i+1]]``; offsets int32 or int64."""

    data: np.ndarray
    offsets: np.ndarray

    def __len__(self) -> int:
        return len(self.offsets) - 1


@dataclass
class ViewKeys:
    """Arrow string_view/binary_view keys: 16-byte views plus the data buffers."""

    views: np.ndarray  # uint8, 16 bytes per key
    buffers: list  # 1-d uint8 arrays the long views point into

    def __len__(self) -> int:
        return len(self.views) // 16


@dataclass
class FixedKeys:
    """NumPy ``S`` records: ``itemsize`` bytes each, trailing NULs dropped."""

    data: np.ndarray
    itemsize: int

    def __len__(self) -> int:
        return len(self.data) // self.itemsize if self.itemsize else 0


@dataclass
class ObjectKeys:
    """Python objects, converted one by one by the kernels (fast paths + key_bytes)."""

    items: list | np.ndarray  # a list, or a 1-d C-contiguous object array

    def __len__(self) -> int:
        return len(self.items)


@dataclass
class DictKeys:
    """Dictionary-encoded keys: hash ``dictionary`` once, then gather by ``indices``."""

    dictionary: "KeyBatch"
    indices: np.ndarray  # intp, validated to lie in [0, len(dictionary))

    def __len__(self) -> int:
        return len(self.indices)


@dataclass
class ChunkedKeys:
    """Consecutive chunks (Arrow chunked arrays and streams)."""

    chunks: list

    def __len__(self) -> int:
        return sum(len(c) for c in self.chunks)


KeyBatch = Union[IntKeys, PackedKeys, ViewKeys, FixedKeys, ObjectKeys, DictKeys, ChunkedKeys]


# --------------------------------------------------------------------------- conversion


def as_key_batch(keys: Any) -> KeyBatch:
    """Turn a key container into a key batch, or raise a clear error."""
    if isinstance(keys, (str, bytes, bytearray)):
        raise TypeError(
            f"keys must be a collection of keys, not a single {type(keys).__name__}; "
            "use hash_key() for one key or wrap it in a list"
        )
    if isinstance(keys, np.ndarray):
        return from_numpy(keys)
    if isinstance(keys, memoryview):
        return from_numpy(np.asarray(keys))
    if _is_pandas(keys):
        return from_pandas(keys)
    if hasattr(keys, "__arrow_c_stream__") or hasattr(keys, "__arrow_c_array__"):
        from . import _arrow

        return _arrow.from_arrow(keys)
    if isinstance(keys, list):
        # Passed as it is: the kernels hold their own reference to every key whose
        # bytes they read without the GIL (see _hashing_c.hash_objects).
        return ObjectKeys(keys)
    if isinstance(keys, tuple):
        return ObjectKeys(list(keys))
    if isinstance(keys, Mapping):
        raise TypeError(
            f"a mapping ({type(keys).__name__}) is not a key container; pass its .keys() or .values()"
        )
    if isinstance(keys, Iterable):
        return ObjectKeys(list(keys))
    raise TypeError(
        f"keys must be an iterable of keys, a NumPy array, a pandas/polars/Arrow column; "
        f"got {type(keys).__name__}"
    )


def integers_as_uint64(values: np.ndarray) -> np.ndarray:
    """Integer or bool array -> C-contiguous uint64 holding each value's 64-bit pattern."""
    kind = values.dtype.kind
    if kind == "u" or kind == "b":
        return np.ascontiguousarray(values, dtype=np.uint64)
    # Signed: widen to int64 first so negative values keep their two's complement bits.
    return np.ascontiguousarray(values, dtype=np.int64).view(np.uint64)


def from_numpy(array: np.ndarray) -> KeyBatch:
    if array.ndim == 0:
        raise TypeError("a 0-d array is a single key: use hash_key(), or pass a 1-d array")
    if array.ndim != 1:
        raise ValueError(f"key arrays must be one-dimensional, got shape {array.shape}")
    kind = array.dtype.kind
    if kind in "iub":
        return IntKeys(integers_as_uint64(array))
    if kind == "S":
        itemsize = array.dtype.itemsize
        data = np.ascontiguousarray(array).view(np.uint8).reshape(-1)
        return FixedKeys(data, itemsize)
    if kind == "O":
        # Read in place by the kernels (a strided array is made contiguous first).
        return ObjectKeys(np.ascontiguousarray(array))
    if kind == "U":
        return ObjectKeys(array.tolist())  # each element as a str
    raise TypeError(
        f"key at position 0 has unsupported type: NumPy dtype {array.dtype} "
        f"({_KEY_TYPES_HINT}; integer, S, U and object arrays are accepted)"
    )


# --------------------------------------------------------------------------- pandas


def _is_pandas(keys: Any) -> bool:
    module = type(keys).__module__
    return module.startswith("pandas") and "pandas" in sys.modules and hasattr(keys, "dtype")


def from_pandas(keys: Any) -> KeyBatch:
    pd = sys.modules["pandas"]
    if isinstance(keys, pd.DataFrame):
        raise TypeError(
            "a whole DataFrame is not a key column; pass one column, e.g. df['user_id']"
        )
    if not isinstance(keys, (pd.Series, pd.Index)):
        raise TypeError(f"unsupported pandas container {type(keys).__name__}; pass a Series or Index")
    dtype = keys.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        codes = np.asarray(keys.codes if isinstance(keys, pd.Index) else keys.cat.codes)
        missing = np.flatnonzero(codes < 0)
        if len(missing):
            raise missing_key_error(int(missing[0]))
        categories = keys.categories if isinstance(keys, pd.Index) else keys.cat.categories
        try:
            dictionary = from_pandas(categories)
        except TypeError:
            # Categories share one dtype, so the first key is as bad as any: name it.
            if len(codes):
                raise key_type_error(0, categories[codes[0]]) from None
            raise
        return DictKeys(dictionary, codes.astype(np.intp))
    if isinstance(dtype, np.dtype):
        return from_numpy(keys.to_numpy())
    # Extension dtypes (str/string, nullable integers, Arrow-backed ...): missing values
    # are nulls, and nulls are refused by position.
    if dtype.kind in "OSU" and not _is_text_dtype(pd, dtype):
        # Period, Interval and other extension types: their Arrow storage (ordinals,
        # structs) is not the key, and their objects are not keys either.
        raise TypeError(
            f"key at position 0 has unsupported type: pandas dtype {dtype} "
            f"({_KEY_TYPES_HINT}; convert the column with .astype(str) or to integers)"
        )
    missing = np.flatnonzero(np.asarray(keys.isna()))
    if len(missing):
        raise missing_key_error(int(missing[0]))
    if dtype.kind in "iub":
        return from_numpy(keys.to_numpy(dtype=np.uint64 if dtype.kind == "u" else np.int64))
    if isinstance(keys, pd.Index):
        keys = keys.to_series()
    if dtype.kind in "OSU" and hasattr(keys, "__arrow_c_stream__"):
        # Arrow-backed strings are read from their buffers without a per-key object.
        from . import _arrow

        return _arrow.from_arrow(keys)
    return ObjectKeys(keys.to_numpy(dtype=object).tolist())


_ARROW_TEXT_TYPES = frozenset(
    ("string", "large_string", "string_view", "binary", "large_binary", "binary_view")
)


def _is_text_dtype(pd: Any, dtype: Any) -> bool:
    """pandas' string dtypes and Arrow-backed string/binary dtypes."""
    if isinstance(dtype, pd.StringDtype):
        return True
    arrow_dtype = getattr(pd, "ArrowDtype", None)
    return arrow_dtype is not None and isinstance(dtype, arrow_dtype) and str(dtype.pyarrow_dtype) in _ARROW_TEXT_TYPES
