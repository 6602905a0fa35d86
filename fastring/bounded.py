"""Consistent hashing with bounded loads (Mirrokni, Thorup & Zadimoghaddam, SODA 2018),
for any router that joins the protocol.

A router joins by having ``weights`` (aligned with ``nodes``) and a method
``_assign_bounded(keys, capacities) -> int32 node per key`` that sends each key, in
order, to its first choice among the nodes still below their capacity. HashRing walks
the ring, Rendezvous takes the next best score. This module owns what is router
neutral: the load factor, the exact capacities, the checks.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sized
from fractions import Fraction
from typing import Any

import numpy as np

from ._keys import as_key_batch
from ._params import check_real

__all__ = ["assign_bounded"]


def assign_bounded(keys: Any, router: Any, *, load_factor: float = 1.25) -> np.ndarray:
    """Consistent hashing with bounded loads (Mirrokni, Thorup, Zadimoghaddam 2018).

    Keys are taken in order; each goes to the first node in its preference order
    (walking the ring for :class:`HashRing`, by score for ``Rendezvous``) whose load
    is below its capacity ``ceil(load_factor * len(keys) * w_i / sum(w))``. No node
    exceeds its capacity and every key is placed. Capacities are computed exactly,
    with floats taken as the decimals they print as (``1.05`` is 21/20).

    Parameters
    ----------
    keys : key container
        Anything the router's ``lookup_many`` accepts (one-shot iterators are read once).
    router
        A router implementing the bounded-load protocol: ``nodes``, ``weights`` (floats
        aligned with ``nodes``) and ``_assign_bounded(keys, capacities)`` returning one
        int32 node index per key.
    load_factor : float
        ``c >= 1``: the peak load allowed relative to the weighted mean (``1.25``: at most
        25% above a node's fair share, rounded up).

    Returns
    -------
    numpy.ndarray
        int32 node index (into ``router.nodes``) of every key.

    Examples
    --------
    >>> import numpy as np
    >>> from fastring import HashRing, assign_bounded
    >>> ring = HashRing(["a", "b", "c", "d"])
    >>> nodes = assign_bounded(np.arange(1000), ring, load_factor=1.1)
    >>> int(np.bincount(nodes).max()) <= 275  # ceil(1.1 * 1000 / 4)
    True
    """
    method = getattr(router, "_assign_bounded", None)
    if method is None or not callable(method):
        raise TypeError(
            f"{type(router).__name__} does not support bounded loads "
            "(it has no _assign_bounded method); use a HashRing or a Rendezvous"
        )
    check_real(load_factor, "load_factor", 1)
    if isinstance(keys, (str, bytes, bytearray)):
        raise TypeError(f"keys must be a collection of keys, not a single {type(keys).__name__}")
    if not isinstance(keys, Sized) and isinstance(keys, Iterable) and not hasattr(keys, "__arrow_c_stream__"):
        keys = list(keys)  # a one-shot iterator: count it and hash it from one list
    m = len(keys) if isinstance(keys, Sized) else len(as_key_batch(keys))
    weights = tuple(router.weights)
    if m and not weights:
        raise ValueError("the router has no nodes")
    capacities = np.array(_capacities(load_factor, m, weights), dtype=np.int64)
    out = np.asarray(method(keys, capacities))
    if out.shape != (m,):  # pragma: no cover - a router bug
        raise RuntimeError(f"{type(router).__name__}._assign_bounded returned shape {out.shape}")
    return out


def _capacities(load_factor: float, m: int, weights: tuple[Any, ...]) -> list[int]:
    """min(m, ceil(load_factor * m * w_i / sum(w))) in exact rational arithmetic.

    Floats count as the decimal they print as (``1.05`` is 21/20, not the binary
    double just above it), so ``load_factor=1.05`` on 50 equal nodes and 50,000 keys
    gives 1050, not 1051. No node can take more than the ``m`` keys there are, so a
    huge load factor (no bound at all) caps at ``m``.
    """
    if not weights:
        return []
    c = _exact(load_factor) * m
    if all(w == weights[0] for w in weights):
        cap = min(m, math.ceil(c / len(weights)))
        return [cap] * len(weights)
    exact = [_exact(w) for w in weights]
    total = sum(exact)
    return [min(m, math.ceil(c * w / total)) for w in exact]


def _exact(x: float) -> Fraction:
    if isinstance(x, numbers.Integral):
        return Fraction(int(x))
    return Fraction(repr(float(x)))
