"""fastring.compat rows of PERF.md: each system's function on 10^6 ``user:<n>`` keys
against a loop over the system's own Python client.

    python bench/bench_compat.py [--keys 1000000] [--repeats 7]

Prints a table and writes bench/results/compat.json. The peers (confluent-kafka,
kafka-python, redis-py, cassandra-driver, pandas) come with ``pip install -e ".[test]"``.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import pandas as pd
from common import run_cases

from fastring import compat

KAFKA_PYTHON_KEYS = 100_000  # ~1.5 us per key: a sample is plenty


def cases(n: int, pure_n: int):
    """(row, {contender: (callable, keys handled)}, (ours, peer), target)."""
    from cassandra.murmur3 import murmur3
    from confluent_kafka import murmur2 as confluent_partition
    from redis.crc import key_slot

    with warnings.catch_warnings():  # kafka-python 3 uses a deprecated importlib call
        warnings.simplefilter("ignore", DeprecationWarning)
        from kafka.partitioner.default import murmur2

    strs = [f"user:{i}" for i in range(n)]
    raw = [s.encode() for s in strs]
    arrow = None
    try:
        import pyarrow as pa

        arrow = pa.array(strs)
    except ImportError:  # pragma: no cover - pyarrow is a test dependency
        pass
    sample = raw[:KAFKA_PYTHON_KEYS]

    yield (
        "kafka_partition, 10^6 str keys, 12 partitions vs confluent_kafka.murmur2 loop",
        {
            "fastring kafka_partition": (lambda: compat.kafka_partition(strs, 12), n),
            "confluent_kafka.murmur2 loop": (lambda: [confluent_partition(k, 12) for k in raw], n),
        },
        ("fastring kafka_partition", "confluent_kafka.murmur2 loop"),
        "≥ 8×",
    )
    yield (
        "kafka_partition, str keys vs kafka-python (murmur2 & 0x7fffffff) % n loop",
        {
            "fastring kafka_partition": (lambda: compat.kafka_partition(strs, 12), n),
            "kafka-python loop": (lambda: [(murmur2(k) & 0x7FFFFFFF) % 12 for k in sample], len(sample)),
        },
        ("fastring kafka_partition", "kafka-python loop"),
        "≥ 100×",
    )
    if arrow is not None:
        yield (
            "kafka_partition, Arrow string column vs confluent_kafka.murmur2 loop",
            {
                "fastring kafka_partition (Arrow)": (lambda: compat.kafka_partition(arrow, 12), n),
                "confluent_kafka.murmur2 loop": (lambda: [confluent_partition(k, 12) for k in raw], n),
            },
            ("fastring kafka_partition (Arrow)", "confluent_kafka.murmur2 loop"),
            "(no target: the columnar case)",
        )
    yield (
        "redis_slot, 10^6 str keys vs redis.crc.key_slot loop",
        {
            "fastring redis_slot": (lambda: compat.redis_slot(strs), n),
            "redis.crc.key_slot loop": (lambda: [key_slot(k) for k in raw], n),
        },
        ("fastring redis_slot", "redis.crc.key_slot loop"),
        "≥ 10×",
    )
    yield (
        "cassandra_token, 10^6 str keys vs cassandra-driver murmur3 loop",
        {
            "fastring cassandra_token": (lambda: compat.cassandra_token(strs), n),
            "cassandra.murmur3 loop": (lambda: [murmur3(k) for k in raw], n),
        },
        ("fastring cassandra_token", "cassandra.murmur3 loop"),
        "≥ 8×",
    )
    objects = np.array(strs, dtype=object)
    yield (
        "pandas_hash, 10^6 str keys vs pandas.util.hash_array(categorize=False)",
        {
            "fastring pandas_hash": (lambda: compat.pandas_hash(strs), n),
            "pandas hash_array": (lambda: pd.util.hash_array(objects, categorize=False), n),
        },
        ("fastring pandas_hash", "pandas hash_array"),
        "≥ 3×",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--pure-keys", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    run_cases("compat", cases(args.keys, args.pure_keys), args.repeats)


if __name__ == "__main__":
    main()
