"""Hashing rows of PERF.md: interleaved best-of-N, ratios against the peers.

    python bench/bench_hashing.py [--keys 1000000] [--repeats 7]

Prints a table and writes bench/results/hashing.json (docs/benchmarks.md is made
from it by bench/report.py).
"""

from __future__ import annotations

import argparse

import mmh3
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import xxhash
from common import on_pure_twin, run_cases, str_keys, uint64_keys

from fastring import hash_keys


def cases(n: int, pure_n: int):
    """(row, {contender: (callable, keys hashed)}, (ours, peer), target ratio)."""
    ints = uint64_keys(n)
    strs = str_keys(n)
    objects = np.array(strs, dtype=object)
    arrow = pa.array(strs)
    pure_ints, pure_strs = ints[:pure_n], strs[:pure_n]

    yield (
        "hash_keys uint64 array, xxh64",
        {
            "fastring": (lambda: hash_keys(ints), n),
            "pandas.util.hash_array": (lambda: pd.util.hash_array(ints), n),
            "xxhash per-key loop": (
                lambda: np.fromiter((xxhash.xxh64_intdigest(v.to_bytes(8, "little")) for v in pure_ints.tolist()), np.uint64, pure_n),
                pure_n,
            ),
            "fastring pure twin": (on_pure_twin(hash_keys, pure_ints), pure_n),
        },
        ("fastring", "pandas.util.hash_array"),
        "≤ 1.0× the time (ratio ≥ 1.0)",
    )
    yield (
        "hash_keys list of str, murmur3_32",
        {
            "fastring": (lambda: hash_keys(strs, "murmur3_32"), n),
            "np.fromiter(map(mmh3.hash))": (lambda: np.fromiter(map(mmh3.hash, strs), np.int64, n), n),
            "fastring pure twin": (on_pure_twin(hash_keys, pure_strs, "murmur3_32"), pure_n),
        },
        ("fastring", "np.fromiter(map(mmh3.hash))"),
        "≥ 8×",
    )
    yield (
        "hash_keys list of str, xxh64",
        {
            "fastring": (lambda: hash_keys(strs), n),
            "xxhash.xxh64_intdigest(s.encode()) loop": (
                lambda: np.fromiter((xxhash.xxh64_intdigest(s.encode()) for s in strs), np.uint64, n),
                n,
            ),
            "fastring pure twin": (on_pure_twin(hash_keys, pure_strs), pure_n),
        },
        ("fastring", "xxhash.xxh64_intdigest(s.encode()) loop"),
        "≥ 10×",
    )
    scattered = list(strs)
    np.random.default_rng(1).shuffle(scattered)  # objects no longer in memory order
    yield (
        "hash_keys list of str scattered in memory, xxh64",
        {
            "fastring": (lambda: hash_keys(scattered), n),
            "xxhash.xxh64_intdigest(s.encode()) loop": (
                lambda: np.fromiter((xxhash.xxh64_intdigest(s.encode()) for s in scattered), np.uint64, n),
                n,
            ),
        },
        ("fastring", "xxhash.xxh64_intdigest(s.encode()) loop"),
        "(no target: keys whose objects are not in list order)",
    )
    yield (
        "hash_keys object array of str, xxh64",
        {
            "fastring": (lambda: hash_keys(objects), n),
            "pandas hash_array(categorize=False)": (lambda: pd.util.hash_array(objects, categorize=False), n),
        },
        ("fastring", "pandas hash_array(categorize=False)"),
        "(no target; peer row of PERF.md)",
    )
    yield (
        "hash_keys Arrow string array, xxh64",
        {
            "fastring Arrow": (lambda: hash_keys(arrow), n),
            "fastring list of str": (lambda: hash_keys(strs), n),
        },
        ("fastring Arrow", "fastring list of str"),
        "≥ 1.5×",
    )
    polars_keys = pl.Series(strs)  # Utf8View: 16-byte views into data buffers
    yield (
        "hash_keys polars str Series, xxh64",
        {
            "fastring polars": (lambda: hash_keys(polars_keys), n),
            "fastring list of str": (lambda: hash_keys(strs), n),
            "polars Series.hash()": (lambda: polars_keys.hash(), n),
        },
        ("fastring polars", "fastring list of str"),
        "(no target; polars' own hash is a different function, shown for scale)",
    )
    big = uint64_keys(8 * n)
    yield (
        "hash_keys uint64 array, xxh64, threads=2 vs 1 (8× keys)",
        {
            "fastring threads=2": (lambda: hash_keys(big, threads=2), 8 * n),
            "fastring threads=1": (lambda: hash_keys(big), 8 * n),
        },
        ("fastring threads=2", "fastring threads=1"),
        "≥ 1.7×",
    )
    yield (
        "hash_keys Arrow string array, xxh64, threads=2 vs 1",
        {
            "fastring threads=2": (lambda: hash_keys(arrow, threads=2), n),
            "fastring threads=1": (lambda: hash_keys(arrow), n),
        },
        ("fastring threads=2", "fastring threads=1"),
        "≥ 1.7×",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--pure-keys", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    run_cases("hashing", cases(args.keys, args.pure_keys), args.repeats)


if __name__ == "__main__":
    main()
