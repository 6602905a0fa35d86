"""The one place that turns any key container into a key batch (``_batches``).

Python containers and NumPy arrays here, pandas here or through Arrow, Arrow through
``_arrow``. How one key becomes bytes is the key contract (``_keycontract_py``),
which every conversion here and in both twins' kernels defers to.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from . import _arrow
from ._batches import (
    ChunkedKeys,
    DictKeys,
    FixedKeys,
    IntKeys,
    KeyBatch,
    ObjectKeys,
    integers_as_uint64,
)
from ._keycontract_py import (
    KEY_TYPES_HINT,
    at_position,
    int_key_bits,
    key_type_error,
    missing_key_error,
)


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
    exported = None
    if hasattr(keys, "__arrow_c_array__"):
        # A flat column (never a table: those export a struct) goes straight in; a few
        # keys would otherwise cost more in the checks below than in hashing.
        exported = keys.__arrow_c_array__()
        flat = _arrow.flat_batch(exported)
        if flat is not None:
            return flat
    check_column(keys)
    if _is_pandas(keys):
        return from_pandas(keys)
    if exported is not None or hasattr(keys, "__arrow_c_stream__"):
        return _arrow.from_arrow(keys, exported)
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


def from_numpy(array: np.ndarray) -> KeyBatch:
    if array.ndim == 0:
        raise TypeError("a 0-d array is a single key: use hash_key(), or pass a 1-d array")
    if array.ndim != 1:
        raise ValueError(f"key arrays must be one-dimensional, got shape {array.shape}")
    kind = array.dtype.kind
    if kind in "iub":
        return IntKeys(integers_as_uint64(array), array.dtype)
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
        f"({KEY_TYPES_HINT}; integer, S, U and object arrays are accepted)"
    )


# --------------------------------------------------------------------------- pandas


_TABLE_NAMES = {
    "pandas": "pandas DataFrame",
    "arrow": "pyarrow table",
    "polars": "polars DataFrame",
    "dask": "Dask collection",
}


def table_kind(data: Any) -> str | None:
    """"pandas", "arrow" or "polars" for a table of that library, "dask" for a Dask
    DataFrame or Series (routed by :mod:`fastring.dask`), else None (a column)."""
    module = type(data).__module__
    if module.startswith("dask") and hasattr(data, "npartitions"):
        return "dask"
    if module.startswith("pandas") and "pandas" in sys.modules:
        if isinstance(data, sys.modules["pandas"].DataFrame):
            return "pandas"
    elif module.startswith("pyarrow") and "pyarrow" in sys.modules:
        pa = sys.modules["pyarrow"]
        if isinstance(data, (pa.Table, pa.RecordBatch)):
            return "arrow"
    elif module.startswith("polars") and "polars" in sys.modules:
        if isinstance(data, sys.modules["polars"].DataFrame):
            return "polars"
    return None


def check_column(keys: Any) -> None:
    """Refuse a whole table where a key column belongs, saying what to pass instead."""
    kind = table_kind(keys)
    if kind is None:
        return
    if kind == "dask":
        raise TypeError(
            f"a {_TABLE_NAMES[kind]} ({type(keys).__name__}) is routed on its workers: use "
            "fastring.dask.assign(ddf, router, on='user_id') or fastring.dask.shard(...)"
        )
    raise TypeError(
        f"a whole {_TABLE_NAMES[kind]} ({type(keys).__name__}) is not a key column; pass a column, "
        "e.g. data['user_id'] (or route the whole table with fastring.split(data, router, on='user_id'))"
    )


def _is_pandas(keys: Any) -> bool:
    module = type(keys).__module__
    return module.startswith("pandas") and "pandas" in sys.modules and hasattr(keys, "dtype")


def from_pandas(keys: Any) -> KeyBatch:
    pd = sys.modules["pandas"]
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
            f"({KEY_TYPES_HINT}; convert the column with .astype(str) or to integers)"
        )
    missing = np.flatnonzero(np.asarray(keys.isna()))
    if len(missing):
        raise missing_key_error(int(missing[0]))
    if dtype.kind in "iub":
        batch = from_numpy(keys.to_numpy(dtype=np.uint64 if dtype.kind == "u" else np.int64))
        assert isinstance(batch, IntKeys)
        # Nullable Int32 etc.: keep the column's own width (fastring.compat needs it).
        batch.dtype = np.dtype(getattr(dtype, "numpy_dtype", batch.dtype))
        return batch
    if isinstance(keys, pd.Index):
        keys = keys.to_series()
    if dtype.kind in "OSU" and hasattr(keys, "__arrow_c_stream__"):
        # Arrow-backed strings are read from their buffers without a per-key object.
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


# --------------------------------------------------------------------------- integer keys


def integer_keys(keys: Any) -> np.ndarray:
    """Integer keys as their uint64 bits (``algorithm=None``), from any key container."""
    return _batch_integers(as_key_batch(keys), 0)


def _batch_integers(batch: KeyBatch, offset: int) -> np.ndarray:
    if isinstance(batch, IntKeys):
        return batch.values
    if isinstance(batch, ObjectKeys):
        return _object_integers(batch.items, offset)
    if isinstance(batch, DictKeys):
        table = _batch_integers(batch.dictionary, 0) if len(batch.dictionary) else np.empty(0, np.uint64)
        return np.asarray(table[batch.indices])
    if isinstance(batch, ChunkedKeys):
        parts, start = [], offset
        for chunk in batch.chunks:
            parts.append(_batch_integers(chunk, start))
            start += len(chunk)
        return np.concatenate(parts) if parts else np.empty(0, np.uint64)
    raise at_position(
        TypeError(
            f"key at position {offset} is text or binary data, not an integer; "
            "with algorithm=None keys must be integers"
        ),
        offset,
    )


def _object_integers(items: list[Any] | np.ndarray, offset: int) -> np.ndarray:
    if len(items) == 0:
        return np.empty(0, dtype=np.uint64)
    try:
        array = np.asarray(items.tolist() if isinstance(items, np.ndarray) else items)
    except (OverflowError, ValueError, TypeError):
        array = None
    if array is not None and array.ndim == 1 and array.dtype.kind in "iub":
        return integers_as_uint64(array)
    return np.fromiter(
        (int_key_bits(item, offset + i) for i, item in enumerate(items)), dtype=np.uint64, count=len(items)
    )


def signed_integers(batch: KeyBatch, bits: int, type_name: str, offset: int = 0) -> np.ndarray:
    """The keys of a batch as int64 values of a signed ``bits``-bit type (``type_name``
    in messages); a key that is not an integer, or does not fit, raises an error naming
    its position (counted from ``offset``)."""
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1

    def out_of_range(i: int, value: int) -> OverflowError:
        message = f"key at position {offset + i} is {value}, outside the range of a {type_name}"
        return at_position(OverflowError(message), offset + i)

    if isinstance(batch, IntKeys):
        kind = batch.dtype.kind if batch.dtype is not None else "i"
        if kind == "b":
            raise at_position(TypeError(f"key at position {offset} is a bool, not a {type_name}"), offset)
        values, signed = batch.values, batch.values.view(np.int64)
        bad = np.flatnonzero(values > np.uint64(hi) if kind == "u" else (signed < lo) | (signed > hi))
        if len(bad):
            i = int(bad[0])
            raise out_of_range(i, int(values[i]) if kind == "u" else int(signed[i]))
        return signed
    if isinstance(batch, ObjectKeys):
        items = batch.items.tolist() if isinstance(batch.items, np.ndarray) else batch.items
        out = np.empty(len(items), dtype=np.int64)
        for i, item in enumerate(items):
            if isinstance(item, (bool, np.bool_)) or not isinstance(item, (int, np.integer)):
                message = f"key at position {offset + i} has type {type(item).__name__}, not an integer ({type_name})"
                raise at_position(TypeError(message), offset + i)
            value = int(item)
            if not lo <= value <= hi:
                raise out_of_range(i, value)
            out[i] = value
        return out
    if isinstance(batch, DictKeys):
        return np.asarray(signed_integers(batch.dictionary, bits, type_name)[batch.indices])
    if isinstance(batch, ChunkedKeys):
        parts, start = [], offset
        for chunk in batch.chunks:
            parts.append(signed_integers(chunk, bits, type_name, start))
            start += len(chunk)
        return np.concatenate(parts) if parts else np.empty(0, np.int64)
    message = f"key at position {offset} is text or binary data, not a {type_name}"
    raise at_position(TypeError(message), offset)
