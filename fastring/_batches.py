"""Key batches: what every kernel reads, whatever container the keys came in.

Integer keys as a ``uint64`` array, byte keys as packed data plus offsets (or
fixed-width NumPy ``S`` records, or Arrow views), Python objects as a list,
dictionary-encoded keys as a dictionary batch plus indices, and chunked data as a
list of batches. ``fastring._keys`` and ``fastring._arrow`` make them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

import numpy as np


@dataclass
class IntKeys:
    """Integer keys as their uint64 bits (C-contiguous).

    ``dtype`` is the column's own integer (or bool) dtype, which systems with several
    integer widths need (``fastring.compat``); None when the keys had no dtype.
    """

    values: np.ndarray
    dtype: np.dtype | None = None

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
    buffers: list[Any]  # 1-d uint8 arrays the long views point into

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

    items: list[Any] | np.ndarray  # a list, or a 1-d C-contiguous object array

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

    chunks: list[Any]

    def __len__(self) -> int:
        return sum(len(c) for c in self.chunks)


KeyBatch = Union[IntKeys, PackedKeys, ViewKeys, FixedKeys, ObjectKeys, DictKeys, ChunkedKeys]


def integers_as_uint64(values: np.ndarray) -> np.ndarray:
    """Integer or bool array -> C-contiguous uint64 holding each value's 64-bit pattern."""
    kind = values.dtype.kind
    if kind == "u" or kind == "b":
        return np.ascontiguousarray(values, dtype=np.uint64)
    # Signed: widen to int64 first so negative values keep their two's complement bits.
    return np.ascontiguousarray(values, dtype=np.int64).view(np.uint64)
