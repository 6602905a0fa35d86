"""The one place that checks the parameters every area takes, with one set of messages.

Node lists (names, optional weights), weights, integer and real parameters, replica
counts, node labels and ``rng``. An area module calls these; it does not re-write them.
Every check accepts Python and NumPy scalars alike and refuses ``bool`` where a number
is meant (``True`` is an int to Python, never a count or a weight to us).

One rule for nodes, everywhere (routers, balancers, SmoothWeightedRoundRobin,
WeightedSampler):

- a mapping is name -> weight;
- an int ``n`` is the nodes ``0 .. n-1``, weight 1 each (as ``jump_hash`` takes a count);
- any other iterable is names, weight 1 each; WeightedSampler alone also reads a
  sequence or array of numbers as the weights of indices ``0 .. n-1``;
- an object that can gain nodes later (a router; a ConsistentBalancer, through its
  router) may start empty and raises LookupError until it has one; one that cannot
  (the other balancers, SmoothWeightedRoundRobin, WeightedSampler) needs a node.
"""

from __future__ import annotations

import math
import numbers
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

import numpy as np

#: Weights of routers and balancers lie in this range: every derived quantity (ranks,
#: shares, vnode counts) then stays a normal, finite double.
WEIGHT_MIN = 1e-100
WEIGHT_MAX = 1e100

#: Node indices are int32 in every kernel.
MAX_NODES = 2**31 - 1

_MISSING = object()


# --------------------------------------------------------------------------- scalars


def is_int(value: Any) -> bool:
    """An integer that is not a bool (Python or NumPy)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def is_real(value: Any) -> bool:
    """A real number that is not a bool (Python or NumPy)."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _bound(value: int) -> str:
    """``2**31 - 1`` reads better than 2147483647 in a message."""
    for base in (2**k for k in range(16, 65)):
        if value in (base, base - 1):
            exp = base.bit_length() - 1
            return f"2**{exp}" if value == base else f"2**{exp} - 1"
    return str(value)


def check_int(value: Any, what: str, minimum: int | None = None, maximum: int | None = None) -> int:
    """``value`` as an int in ``[minimum, maximum]``, or TypeError / ValueError."""
    if not is_int(value):
        raise TypeError(f"{what} must be an int, got {type(value).__name__}")
    value = int(value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        if maximum is None:
            raise ValueError(f"{what} must be at least {minimum}, got {value}")
        if minimum == 1:
            raise ValueError(f"{what} must be positive and at most {_bound(maximum)}, got {value}")
        if minimum is None:
            raise ValueError(f"{what} must be at most {_bound(maximum)}, got {value}")
        raise ValueError(f"{what} must be in [{_bound(minimum)}, {_bound(maximum)}], got {value}")
    return int(value)


def check_real(
    value: Any,
    what: str,
    minimum: float,
    maximum: float = math.inf,
    *,
    open_min: bool = False,
    open_max: bool = True,
) -> float:
    """``value`` as a float in the interval given, or TypeError / ValueError.

    NaN is always refused; an infinite value only if the interval excludes it.
    """
    if not is_real(value):
        raise TypeError(f"{what} must be a real number, got {type(value).__name__}")
    number = float(value)
    low_ok = number > minimum if open_min else number >= minimum
    high_ok = number < maximum if open_max else number <= maximum
    if math.isnan(number) or not (low_ok and high_ok):
        interval = f"{'(' if open_min else '['}{minimum:g}, {maximum:g}{')' if open_max else ']'}"
        raise ValueError(f"{what} must be a number in {interval}, got {value!r}")
    return number


# --------------------------------------------------------------------------- weights


def check_weight(name: Any, weight: Any, *, integer: bool = False) -> int | float:
    """A node's weight: a real in ``[WEIGHT_MIN, WEIGHT_MAX]``, or an int >= 1 if ``integer``.

    Integers stay ints (exact arithmetic downstream), other reals become floats; with
    ``integer`` a float with an integral value is accepted as that int.
    """
    if type(weight) is int and 1 <= weight <= WEIGHT_MAX:  # the common case, without the ABC checks
        return weight
    if not is_real(weight):
        raise TypeError(f"weight of node {name!r} must be a real number, got {type(weight).__name__}")
    if integer:
        if isinstance(weight, numbers.Integral):
            value: int | float = int(weight)
        elif math.isfinite(weight) and float(weight).is_integer():
            value = int(weight)
        else:
            raise ValueError(f"weight of node {name!r} is {weight!r}; this needs integer weights")
        if not 1 <= value <= WEIGHT_MAX:
            raise ValueError(f"weight of node {name!r} is {weight!r}; integer weights must be positive, at most 1e100")
        return value
    value = int(weight) if isinstance(weight, numbers.Integral) else float(weight)
    if not (WEIGHT_MIN <= value <= WEIGHT_MAX):  # also refuses NaN and infinities
        raise ValueError(
            f"weight of node {name!r} is {weight!r}; weights must be positive and finite, in [1e-100, 1e100]"
        )
    return value


def parse_weights(weights: Any, what: str = "weights") -> tuple[tuple[Any, ...], list[Any]]:
    """``(names, values)`` of a mapping name -> weight, a sequence of weights (the
    names are then the indices), or nodes as :func:`parse_nodes` reads them (a count,
    or names that are not numbers). Values are real numbers (not bool, not str); their
    range is the caller's (a sampler allows zero weights, a router does not)."""
    if is_int(weights):
        return parse_nodes(weights, allow_empty=False)  # the nodes 0 .. n-1, weight 1 each
    if isinstance(weights, Mapping):
        names = tuple(weights.keys())
        values = list(weights.values())
    elif isinstance(weights, np.ndarray):
        if weights.ndim != 1:
            raise ValueError(f"{what} must be one-dimensional, got shape {weights.shape}")
        if weights.dtype.kind not in "iuf":
            raise TypeError(f"{what} must be numbers, got an array of dtype {weights.dtype}")
        values = weights.tolist()
        names = tuple(range(len(values)))
    elif isinstance(weights, (str, bytes)) or not isinstance(weights, Iterable):
        raise TypeError(
            f"{what} must be a sequence of numbers or a mapping name -> number, got {type(weights).__name__}"
        )
    else:
        values = list(weights)
        names = tuple(range(len(values)))
        if values and not any(is_real(v) for v in values):
            return parse_nodes(values, allow_empty=False)  # names, weight 1 each
    if not values:
        raise ValueError(f"{what} are empty")
    for name, value in zip(names, values):
        if not is_real(value):
            raise TypeError(
                f"weight of {name!r} must be a real number, got {type(value).__name__} (a list is either "
                "weights, all numbers, or names, none of them numbers)"
            )
    return names, values


# --------------------------------------------------------------------------- node names


def node_label(name: Any) -> str:
    """The text a node name is hashed as (``f"{name}"``, UTF-8); every router uses it."""
    try:
        hash(name)
    except TypeError:
        raise TypeError(f"node names must be hashable, got {type(name).__name__}") from None
    label = f"{name}"
    try:
        label.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"node name {name!r} is not valid Unicode: it has no UTF-8 encoding") from None
    return label


def _same_as(name: Any, other: Any) -> str:
    if name == other and type(name) is type(other):
        return ""
    return f" (same as {other!r}: equal names, or names hashed as the same text)"


def check_new_node(name: Any, names: tuple[Any, ...], labels: tuple[Any, ...] | None = None, kind: str = "router") -> str:
    """The label of a node about to join ``names``; ValueError if it is already there."""
    label = node_label(name)
    for other, other_label in zip(names, labels if labels is not None else map(node_label, names)):
        if other_label == label or other == name:
            raise ValueError(f"node {name!r} is already in the {kind}{_same_as(name, other)}")
    return label


def parse_nodes(
    nodes: Any, *, weighted: bool = True, integer: bool = False, allow_empty: bool = True
) -> tuple[tuple[Any, ...], list[Any]]:
    """``(names, weights)`` of an iterable of names (weight 1 each) or a mapping name -> weight.

    ``weighted=False`` refuses a mapping. Names must be hashable with distinct labels
    (:func:`node_label`): two names printing as the same text would hash the same.
    """
    hint = "an iterable of names or a mapping name -> weight" if weighted else "an iterable of names"
    if isinstance(nodes, (str, bytes, bytearray)):
        raise TypeError(f"nodes must be {hint}, not a single {type(nodes).__name__}; wrap it in a list")
    if is_int(nodes):
        names = tuple(range(check_int(nodes, "the node count", 0, MAX_NODES)))
        weights: list[Any] = [1] * len(names)
    elif isinstance(nodes, Mapping):
        if not weighted:
            raise TypeError("this router takes node names only, not a mapping of weights")
        names = tuple(nodes.keys())
        weights = [check_weight(name, w, integer=integer) for name, w in nodes.items()]
    elif isinstance(nodes, Iterable):
        names = tuple(nodes)
        weights = [1] * len(names)
    else:
        raise TypeError(f"nodes must be {hint}, got {type(nodes).__name__}")
    if not names and not allow_empty:
        raise ValueError("no nodes: give at least one (only routers, which can add nodes later, start empty)")
    if len(names) > MAX_NODES:
        raise ValueError(f"at most 2**31 - 1 nodes, got {len(names)}")
    seen: dict[str, Any] = {}
    equal: dict[Any, Any] = {}
    for name in names:
        label = node_label(name)
        other = seen.get(label, equal.get(name, _MISSING))
        if other is not _MISSING:
            raise ValueError(f"duplicate node name {name!r}{_same_as(name, other)}")
        seen[label] = equal[name] = name
    return names, weights


def parse_node_pairs(pairs: Any, *, integer: bool = False) -> tuple[tuple[Any, ...], list[Any]]:
    """``(names, weights)`` of a pickled ``[(name, weight), ...]`` list, checked as
    :func:`parse_nodes` checks a mapping (a pickle is input like any other)."""
    if not isinstance(pairs, (list, tuple)) or not all(
        isinstance(pair, (list, tuple)) and len(pair) == 2 for pair in pairs
    ):
        raise ValueError("corrupt state: nodes must be a list of (name, weight) pairs")
    names = [name for name, _ in pairs]
    try:
        distinct = len(set(names)) == len(names)
    except TypeError:
        raise ValueError("corrupt state: node names must be hashable") from None
    if not distinct:
        raise ValueError("corrupt state: a node name appears twice")
    return parse_nodes(dict(pairs), integer=integer)


def check_count(n: Any, available: int, what: str = "router") -> int:
    """A replica count in ``[1, available]``."""
    count = check_int(n, "n", 1)
    if count > available:
        raise ValueError(f"asked for {count} replicas but the {what} has only {available} nodes")
    return count


def empty_router_error(kind: str) -> LookupError:
    return LookupError(f"the {kind} has no nodes: add a node before looking up keys")


def check_health_params(max_fails: Any, fail_timeout: Any) -> tuple[int, float]:
    """nginx's ``max_fails`` (an int >= 0) and ``fail_timeout`` (seconds, positive)."""
    max_fails = check_int(max_fails, "max_fails", 0)
    fail_timeout = check_real(fail_timeout, "fail_timeout", 0, 1e9, open_min=True)
    return max_fails, fail_timeout


def check_clock(clock: Any) -> Callable[[], float]:
    """``None`` -> :func:`time.monotonic`; else a callable returning seconds."""
    if clock is None:
        return time.monotonic
    if not callable(clock):
        raise TypeError(f"clock must be callable, got {type(clock).__name__}")
    return cast("Callable[[], float]", clock)


def construct(cls: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``cls(*args, **kwargs)``: how objects that pickle as their configuration load
    (balancers, SmoothWeightedRoundRobin); the constructor checks it as any input."""
    return cls(*args, **kwargs)


def frozen(array: np.ndarray) -> np.ndarray:
    """``array``, made read-only (states are immutable; a lookup may hold an old one)."""
    array.flags.writeable = False
    return array


# --------------------------------------------------------------------------- randomness

_default_rng: np.random.Generator | None = None
_default_rng_lock = threading.Lock()


def _reset_default_rng() -> None:
    global _default_rng
    _default_rng = None


if hasattr(os, "register_at_fork"):
    # A forked child must not replay its parent's stream.
    os.register_at_fork(after_in_child=_reset_default_rng)


def resolve_rng(rng: Any) -> np.random.Generator:
    """``None`` -> the process-wide generator, ``int`` -> ``default_rng(seed)``, a Generator -> itself."""
    global _default_rng
    if rng is None:
        gen = _default_rng
        if gen is None:
            with _default_rng_lock:
                if _default_rng is None:
                    _default_rng = np.random.default_rng()
                gen = _default_rng
        return gen
    if isinstance(rng, np.random.Generator):
        return rng
    if is_int(rng):
        return np.random.default_rng(int(rng))
    raise TypeError(f"rng must be None, an int seed or a numpy.random.Generator, got {type(rng).__name__}")


def draw_word(gen: np.random.Generator) -> int:
    """One full-range 64-bit word (``integers`` over ``[0, 2**64)`` returns the bit
    generator's ``next_uint64`` as it is; ``random_raw`` would not, for MT19937)."""
    return int(gen.integers(0, 2**64, dtype=np.uint64))
