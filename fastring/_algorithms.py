"""The algorithm names: which kernel id, output dtype and seed range each one means.

One owner for resolving ``algorithm=`` and ``seed=``, importable by both twins (it
reads the pure twin's table; tests/test_tables.py checks that the compiled one is the
same), so that neither twin imports the public modules.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ._hashfuncs_py import ALGORITHM_TABLE
from ._params import is_int

__all__ = ["ALGORITHMS", "output_dtype", "resolve_algorithm"]


class _Algorithm(NamedTuple):
    id: int  # the kernels' algorithm number
    dtype: np.dtype  # output dtype of hash_keys
    seed_limit: int  # seeds lie in [0, seed_limit)


# From the one table (name, id, output bits, seed bits): adding an
# algorithm touches that table in each twin, and nothing here.
_ALGORITHMS = {
    name: _Algorithm(algo, np.dtype(np.uint64 if bits == 64 else np.uint32), 2**seed_bits)
    for name, algo, bits, seed_bits in ALGORITHM_TABLE
}

_DTYPE_OF_ID = {spec.id: spec.dtype for spec in _ALGORITHMS.values()}


def output_dtype(algo: int) -> np.dtype:
    """The output dtype of kernel algorithm ``algo`` (an id from resolve_algorithm)."""
    return _DTYPE_OF_ID[algo]


#: The names :func:`hash_key` and :func:`hash_keys` accept. Names with a ":" are the
#: systems' own hashes, reached through :mod:`fastring.compat`.
ALGORITHMS: tuple[str, ...] = tuple(name for name in _ALGORITHMS if ":" not in name)


def resolve_algorithm(algorithm: str, seed: Any = 0) -> tuple[int, np.dtype, int]:
    """Validate ``algorithm`` and ``seed``; return (kernel id, output dtype, seed)."""
    try:
        spec = _ALGORITHMS[algorithm]
    except (KeyError, TypeError):
        raise ValueError(f"unknown algorithm {algorithm!r}; choose one of {', '.join(ALGORITHMS)}") from None
    if not is_int(seed):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    seed = int(seed)
    if not 0 <= seed < spec.seed_limit:
        if spec.seed_limit == 1:  # seed bits 0: FNV-1a and ketama's md5 take no seed
            raise ValueError(f"{algorithm} takes no seed; seed must be 0, got {seed}")
        bits = spec.seed_limit.bit_length() - 1
        raise ValueError(f"seed for {algorithm} must be in [0, 2**{bits}), got {seed}")
    return spec.id, spec.dtype, seed
