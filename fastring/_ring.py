"""Selector: the ring kernels of the twin that ``FASTRING_IMPLEMENTATION`` asks for."""

from typing import TYPE_CHECKING

from ._implementation import IMPLEMENTATION

if TYPE_CHECKING or IMPLEMENTATION == "python":
    from ._ring_py import RING_MODES, RingIndex, bucket_starts, stable_order
else:
    from ._ring_c import RING_MODES, RingIndex, bucket_starts, stable_order  # type: ignore[no-redef]

__all__ = ["RING_MODES", "RingIndex", "bucket_starts", "stable_order"]
