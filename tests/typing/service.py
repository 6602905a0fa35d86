"""A typed service's use of fastring: checked by ``mypy --strict`` (tests/test_typing.py),
never run. ``assert_type`` fails the check when an inferred type is not the one written."""

from __future__ import annotations

from dataclasses import dataclass
from typing import assert_type

import numpy as np
from numpy.typing import NDArray

from fastring import (
    ConsistentBalancer, HashRing, Maglev, MementoRouter, Node, PeakEWMA, RoundRobin, SmoothWeightedRoundRobin,
    WeightedSampler, hash_keys,
)
from fastring.balance import Lease


@dataclass(frozen=True)
class Backend:
    host: str
    port: int


def pick(lb: RoundRobin[Backend]) -> Backend:
    with lb.acquire() as node:
        return node  # Lease.__exit__ returns None: no "missing return"


def main() -> None:
    ring = HashRing(["a", "b", "c"])
    assert_type(ring, HashRing[str])
    assert_type(ring.lookup("user:1"), str)
    assert_type(ring.lookup_many(["x", "y"]), NDArray[np.int32])
    assert_type(ring.replicas("k", 2), tuple[str, ...])
    assert_type(ring.nodes, tuple[str, ...])
    weighted = HashRing({"a": 1, "b": 2})
    assert_type(weighted.lookup("k"), str)
    assert_type(Maglev({"a": 1.5}).lookup(3), str)
    assert_type(MementoRouter([1, 2, 3]).lookup("k"), int)

    backends = [Backend("10.0.0.1", 80), Backend("10.0.0.2", 80)]
    lb = RoundRobin(backends)
    assert_type(lb, RoundRobin[Backend])
    assert_type(pick(lb), Backend)
    lease = PeakEWMA({"a": 2, "b": 1}).acquire()
    assert_type(lease, Lease[str])
    lease.release(failed=True)
    sticky = ConsistentBalancer[str](ring)
    with sticky.acquire("user:1") as host:
        assert_type(host, str)

    shards = HashRing([Node("cache1", Backend("10.0.0.1", 6379)), Node("cache2", Backend("10.0.0.2", 6379))])
    assert_type(shards.lookup("user:1"), Node[Backend])
    assert_type(shards.lookup("user:1").value.port, int)

    counts: dict[str, int] = {"a": 3, "b": 1}
    WeightedSampler(counts).sample(10)
    SmoothWeightedRoundRobin(counts).next()
    assert_type(hash_keys(["a", "b"]), np.ndarray)


if __name__ == "__main__":
    main()
