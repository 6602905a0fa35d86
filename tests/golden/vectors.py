"""The golden vectors: fastring's outputs that must never change.

Every algorithm, router, sampler and system function, on fixed inputs. The answers
are stored in ``vectors.json``; ``tests/test_golden.py`` recomputes them on both twins
and compares. An output that changes is a breaking change (see the version policy in
CHANGELOG.md): the test fails until the file is regenerated on purpose::

    python tests/golden/vectors.py --write     # only for a release that says so

Values are stored as JSON integers (never as raw bytes), so the comparison is the
same on every platform and byte order.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

import fastring
from fastring import (
    HashRing,
    JumpRouter,
    Maglev,
    MementoRouter,
    Rendezvous,
    SmoothWeightedRoundRobin,
    WeightedSampler,
    assign_bounded,
    hash_keys,
    jump_hash,
    jumpback_hash,
)
from fastring import compat

PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vectors.json")

#: Keys of every kind the key contract takes, and the edges of each.
KEYS: list[Any] = [
    "", "a", "user:42", "ü€😀", "x" * 17, "y" * 100, "z" * 300,
    b"", b"\x00", b"\xff" * 9, bytearray(b"bytes"),
    0, 1, -1, 2**63 - 1, -(2**63), 2**63, 2**64 - 1, 12345678901234,
]
TEXT = [f"user:{i}" for i in range(64)]
NODES = [f"node-{i}" for i in range(7)]
HOSTS = ["10.0.0.1:11211", "10.0.0.2:11211", "10.0.0.3:11212"]


def _ints(a: Any) -> list[int]:
    return [int(v) for v in np.asarray(a).ravel().tolist()]


def _names(router: Any, indices: Any) -> list[Any]:
    nodes = router.nodes
    return [nodes[i] for i in np.asarray(indices).ravel().tolist()]


def _memento() -> MementoRouter[str]:
    m = MementoRouter(NODES)
    m.remove("node-2")
    m.remove("node-5")
    return m


def _swrr() -> list[Any]:
    s = SmoothWeightedRoundRobin({"a": 5, "b": 1, "c": 2})
    return [s.next() for _ in range(16)]


def cases() -> dict[str, Callable[[], Any]]:
    out: dict[str, Callable[[], Any]] = {}
    for algorithm in fastring.ALGORITHMS:
        out[f"hash_keys/{algorithm}"] = lambda a=algorithm: _ints(hash_keys(KEYS, a))
        if algorithm not in ("fnv1a_64", "md5_32"):
            out[f"hash_keys/{algorithm}/seed"] = lambda a=algorithm: _ints(hash_keys(KEYS, a, seed=0x9E3779B9))
    out["jump_hash/xxh64"] = lambda: _ints(jump_hash(TEXT, 11))
    out["jump_hash/ints"] = lambda: _ints(jump_hash(np.arange(64, dtype=np.uint64) * 0x9E3779B97F4A7C15, 11, algorithm=None))
    out["jumpback_hash"] = lambda: _ints(jumpback_hash(TEXT, 11))
    rings = {
        "default": lambda: HashRing(NODES),
        "weighted": lambda: HashRing({"a": 1, "b": 2.5, "c": 0.5}),
        "murmur3_32": lambda: HashRing(NODES, algorithm="murmur3_32"),
        "ketama": lambda: HashRing({"a": 1, "b": 2, "c": 3}, compat="ketama"),
        "uhashring": lambda: HashRing({"a": 1, "b": 2, "c": 3}, compat="uhashring"),
        "libmemcached": lambda: HashRing(HOSTS, compat="libmemcached"),
        "libmemcached_weighted": lambda: HashRing(dict(zip(HOSTS, [1, 3, 2])), compat="libmemcached_weighted"),
        "nginx": lambda: HashRing(HOSTS, compat="nginx"),
    }
    for name, make in rings.items():
        out[f"HashRing/{name}"] = lambda m=make: _names(m(), m().lookup_many(TEXT))
    out["HashRing/default/replicas"] = lambda: _names(HashRing(NODES), HashRing(NODES).replicas_many(TEXT[:16], 3))
    routers = {
        "Rendezvous": lambda: Rendezvous(NODES),
        "Rendezvous/weighted": lambda: Rendezvous({"a": 1, "b": 2.5, "c": 0.5}),
        "Maglev": lambda: Maglev(NODES, table_size=251),
        "MementoRouter": _memento,
        "JumpRouter": lambda: JumpRouter(NODES),
    }
    for name, make in routers.items():
        out[name] = lambda m=make: _names(m(), m().lookup_many(TEXT))
    out["Rendezvous/replicas"] = lambda: _names(Rendezvous(NODES), Rendezvous(NODES).replicas_many(TEXT[:16], 3))
    out["Maglev/table"] = lambda: _ints(Maglev(NODES, table_size=251).table)
    out["assign_bounded"] = lambda: _ints(assign_bounded(TEXT, HashRing(NODES)))
    out["WeightedSampler/sample"] = lambda: _ints(WeightedSampler({"a": 5, "b": 1, "c": 2}).sample(32, rng=7))
    out["WeightedSampler/without_replacement"] = lambda: _ints(
        WeightedSampler([5, 1, 2, 8, 3]).sample(4, rng=7, replace=False)
    )
    out["SmoothWeightedRoundRobin"] = _swrr
    systems = {
        "kafka_partition": lambda: compat.kafka_partition(TEXT, 12),
        "kafka_murmur2": lambda: compat.kafka_murmur2(TEXT),
        "redis_slot": lambda: compat.redis_slot(TEXT + ["{user1000}.following", "foo{}{bar}"]),
        "cassandra_token": lambda: compat.cassandra_token(TEXT),
        "spark_hash": lambda: compat.spark_hash(TEXT),
        "spark_hash/long": lambda: compat.spark_hash(list(range(-8, 8)), key_type="bigint"),
        "spark_xxhash64": lambda: compat.spark_xxhash64(TEXT),
        "spark_partition": lambda: compat.spark_partition(TEXT, 200),
        "iceberg_bucket": lambda: compat.iceberg_bucket(TEXT, 16),
        "elasticsearch_shard": lambda: compat.elasticsearch_shard(TEXT, 5),
        "pandas_hash": lambda: compat.pandas_hash(TEXT),
        "dask_partition": lambda: compat.dask_partition(TEXT, 8),
    }
    for name, run in systems.items():
        out[f"compat/{name}"] = lambda r=run: _ints(r())
    return out


def compute() -> dict[str, Any]:
    return {name: run() for name, run in cases().items()}


def load() -> dict[str, Any]:
    with open(PATH) as f:
        data: dict[str, Any] = json.load(f)
    return data


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python tests/golden/vectors.py --write   (changes the frozen outputs)")
    vectors = compute()
    with open(PATH, "w") as f:  # one case a line: a change shows as one line in a diff
        f.write("{\n" + ",\n".join(f"{json.dumps(k)}: {json.dumps(vectors[k])}" for k in sorted(vectors)) + "\n}\n")
    print(f"wrote {PATH}")
