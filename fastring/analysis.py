"""Measure assignments: balance, disruption on node changes, memory.

These work on what every router returns (``lookup_many`` node indices) and on node
names, so any two routers, or one router before and after a change, compare fairly.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["LoadStats", "ideal_moved_fraction", "load_stats", "moved_fraction", "router_memory"]


@dataclass(frozen=True)
class LoadStats:
    """Load of an assignment of keys to nodes.

    ``peak_to_mean`` and ``stddev_to_mean`` compare each node's count with its fair
    share (``weight_i / sum(weights)`` of the keys), so 1.0 and 0.0 are perfect.

    Examples
    --------
    >>> from fastring.analysis import load_stats
    >>> stats = load_stats([0, 0, 1, 1], num_nodes=2)
    >>> stats.counts.tolist(), stats.peak_to_mean, stats.empty_nodes
    ([2, 2], 1.0, 0)
    """

    counts: np.ndarray  # keys per node (int64), aligned with the router's nodes
    expected: np.ndarray  # fair share per node (float64)
    peak_to_mean: float  # max(count / expected)
    stddev_to_mean: float  # std(count / expected)
    empty_nodes: int  # nodes that got no key although they have weight


def load_stats(assignment: Any, num_nodes: int, weights: Sequence[float] | None = None) -> LoadStats:
    """Per-node counts and balance of ``assignment`` (node index per key).

    Examples
    --------
    >>> stats = load_stats([0, 1, 1, 2], 3)
    >>> stats.counts.tolist(), round(stats.peak_to_mean, 3)
    ([1, 2, 1], 1.5)
    >>> round(load_stats([0, 1, 1, 1], 2, weights=[1, 3]).stddev_to_mean, 3)
    0.0
    """
    indices = np.asarray(assignment)
    if indices.ndim != 1:
        raise ValueError(f"assignment must be one-dimensional, got shape {indices.shape}")
    if num_nodes <= 0:
        raise ValueError(f"num_nodes must be positive, got {num_nodes}")
    if len(indices) and (indices.min() < 0 or indices.max() >= num_nodes):
        raise ValueError(f"assignment has node indices outside [0, {num_nodes})")
    counts = np.bincount(indices.astype(np.intp, copy=False), minlength=num_nodes).astype(np.int64)
    share = np.ones(num_nodes) if weights is None else np.asarray(weights, dtype=np.float64)
    if share.shape != (num_nodes,) or not np.all(np.isfinite(share)) or (share < 0).any() or share.sum() <= 0:
        raise ValueError("weights must be num_nodes finite non-negative numbers with a positive sum")
    expected = share / share.sum() * len(indices)
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(expected > 0, counts / expected, np.nan)
    relative = relative[expected > 0]
    if len(indices) == 0:
        return LoadStats(counts, expected, math.nan, math.nan, 0)
    return LoadStats(
        counts=counts,
        expected=expected,
        peak_to_mean=float(relative.max()),
        stddev_to_mean=float(relative.std()),
        empty_nodes=int(((counts == 0) & (expected > 0)).sum()),
    )


def moved_fraction(
    before: Any,
    after: Any,
    before_nodes: Sequence[Any] | None = None,
    after_nodes: Sequence[Any] | None = None,
) -> float:
    """Fraction of keys whose node changed between two assignments of the same keys.

    Node indices are compared by name when ``before_nodes``/``after_nodes`` are
    given (a removal renumbers the nodes after it), else as they are.

    Examples
    --------
    >>> moved_fraction([0, 1, 2, 2], [0, 1, 1, 1], ["a", "b", "c"], ["a", "b"])
    0.5
    """
    a, b = np.asarray(before), np.asarray(after)
    if a.shape != b.shape:
        raise ValueError(f"assignments differ in length: {a.shape} vs {b.shape}")
    if len(a) == 0:
        return 0.0
    if (before_nodes is None) != (after_nodes is None):
        raise ValueError("give both before_nodes and after_nodes, or neither")
    if before_nodes is not None and after_nodes is not None:
        names = {name: i for i, name in enumerate(dict.fromkeys([*before_nodes, *after_nodes]))}
        a = np.array([names[n] for n in before_nodes], dtype=np.int64)[a]
        b = np.array([names[n] for n in after_nodes], dtype=np.int64)[b]
    return float(np.count_nonzero(a != b) / len(a))


def ideal_moved_fraction(before: dict[Any, float], after: dict[Any, float]) -> float:
    """The least fraction of keys any router must move for this change of nodes.

    ``before`` and ``after`` map node name -> weight. Each node's fair share changes
    from ``w / sum(before)`` to ``w / sum(after)``; the keys that must move are the
    total of the shares that shrink (total variation distance).

    Examples
    --------
    >>> ideal_moved_fraction({"a": 1, "b": 1, "c": 1, "d": 1}, {"a": 1, "b": 1, "c": 1})
    0.25
    >>> round(ideal_moved_fraction({"a": 1, "b": 1}, {"a": 1, "b": 1, "c": 1}), 4)
    0.3333
    """
    total_before, total_after = sum(before.values()), sum(after.values())
    if total_before <= 0 or total_after <= 0:
        raise ValueError("both node sets need a positive total weight")
    names = set(before) | set(after)
    return float(
        sum(max(0.0, before.get(n, 0.0) / total_before - after.get(n, 0.0) / total_after) for n in names)
    )


def router_memory(router: Any) -> int:
    """Approximate bytes held by a router: its arrays plus its Python objects.

    Walks the router's attributes (``__dict__`` and ``__slots__``, and the ``arrays``
    and ``compact`` layout a compiled index exposes for the buffers it reads),
    containers and NumPy arrays (counted by ``nbytes``), each object once. An
    estimate for comparing routers, not an exact accounting of the allocator.

    Examples
    --------
    >>> from fastring import HashRing, Maglev
    >>> from fastring.analysis import router_memory
    >>> router_memory(Maglev(["a", "b"], table_size=65537)) > 65537 * 4   # its int32 table at least
    True
    """
    seen: set[int] = set()
    total = 0
    stack = [router]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, type):
            continue
        seen.add(id(obj))
        if isinstance(obj, np.ndarray):
            total += obj.nbytes + sys.getsizeof(np.empty(0))
            if obj.base is not None and isinstance(obj.base, np.ndarray):
                seen.add(id(obj.base))
            continue
        total += sys.getsizeof(obj)
        if isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            stack.extend(obj)
        elif isinstance(obj, (str, bytes, int, float, bool)) or obj is None:
            continue
        else:
            stack.extend(getattr(obj, "__dict__", {}).values())
            for cls in type(obj).__mro__:
                slots = cls.__dict__.get("__slots__", ())
                for slot in (slots,) if isinstance(slots, str) else slots:
                    if slot not in ("__dict__", "__weakref__") and hasattr(obj, slot):
                        stack.append(getattr(obj, slot))
            for held in (getattr(obj, "arrays", None), getattr(obj, "compact", None)):
                if isinstance(held, tuple):  # a compiled index's buffers
                    stack.extend(held)
    return total
