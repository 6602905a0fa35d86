"""Jump, JumpBack, Memento, Rendezvous and Maglev rows of PERF.md: interleaved
best-of-N, ratios against the peers (jump.hash, clandestined).

    python bench/bench_routers.py [--keys 1000000] [--repeats 7]

Prints a table and writes bench/results/routers.json (docs/benchmarks.md is made
from it by bench/report.py). clandestined comes with ``pip install -e ".[bench]"``;
without it its rows are skipped.
"""

from __future__ import annotations

import argparse

import jump
import numpy as np
from common import on_pure_twin, run_cases, str_keys, uint64_keys

from fastring import Maglev, MementoRouter, Rendezvous, hash_keys, jump_hash, jumpback_hash

try:
    from clandestined import RendezvousHash
except ImportError:  # pragma: no cover - optional peer
    RendezvousHash = None

NODES = [f"node-{i}" for i in range(100)]
CLANDESTINED_KEYS = 2_000  # ~16-80 us per key: a sample is plenty


def cases(n: int, pure_n: int):
    """(row, {contender: (callable, keys handled)}, (ours, peer), target)."""
    ints = uint64_keys(n)
    int_list = ints.tolist()
    strs = str_keys(n)
    pure_ints, pure_strs = ints[:pure_n], strs[:pure_n]
    jh = jump.hash

    yield (
        "jump_hash uint64 keys, 100 buckets",
        {
            "fastring jump_hash(algorithm=None)": (lambda: jump_hash(ints, 100, algorithm=None), n),
            "jump.hash loop over a list": (lambda: [jh(k, 100) for k in int_list], n),
            "fastring jump_hash (xxh64 first)": (lambda: jump_hash(ints, 100), n),
            "fastring jumpback_hash(algorithm=None)": (lambda: jumpback_hash(ints, 100, algorithm=None), n),
            "jump.py_hash loop": (lambda: [jump.py_hash(k, 100) for k in int_list[:pure_n]], pure_n),
            "fastring pure twin": (on_pure_twin(jump_hash, pure_ints, 100, algorithm=None), pure_n),
        },
        ("fastring jump_hash(algorithm=None)", "jump.hash loop over a list"),
        "≥ 2.5×",
    )
    yield (
        "jump vs jumpback, 100,000 buckets",
        {
            "fastring jumpback_hash(algorithm=None)": (lambda: jumpback_hash(ints, 100_000, algorithm=None), n),
            "fastring jump_hash(algorithm=None)": (lambda: jump_hash(ints, 100_000, algorithm=None), n),
            "jump.hash loop over a list": (lambda: [jh(k, 100_000) for k in int_list], n),
        },
        ("fastring jumpback_hash(algorithm=None)", "jump.hash loop over a list"),
        "(no target: JumpBackHash is O(1), jump O(log n))",
    )

    rdv = Rendezvous(NODES)
    weighted = Rendezvous({name: 1 + i % 4 for i, name in enumerate(NODES)})
    contenders = {
        "fastring Rendezvous.lookup_many": (lambda: rdv.lookup_many(strs), n),
        "fastring weighted (1-4)": (lambda: weighted.lookup_many(strs), n),
        "fastring uint64 keys": (lambda: rdv.lookup_many(ints), n),
        "fastring pure twin": (on_pure_twin(rdv.lookup_many, pure_strs[: pure_n // 10]), pure_n // 10),
    }
    if RendezvousHash is not None:
        peer = RendezvousHash(nodes=list(NODES))
        sample = strs[:CLANDESTINED_KEYS]
        contenders["clandestined find_node loop"] = (lambda: [peer.find_node(k) for k in sample], len(sample))
        yield (
            "Rendezvous.lookup_many, 100 nodes, str keys",
            contenders,
            ("fastring Rendezvous.lookup_many", "clandestined find_node loop"),
            "≥ 100×",
        )

    memento = MementoRouter(NODES)
    removed = MementoRouter(NODES)
    for name in NODES[::10]:
        removed.remove(name)
    yield (
        "MementoRouter.lookup_many, 100 nodes, uint64 keys",
        {
            "fastring MementoRouter (none removed)": (lambda: memento.lookup_many(ints), n),
            "fastring MementoRouter (10 removed)": (lambda: removed.lookup_many(ints), n),
            "fastring jump_hash (xxh64 first)": (lambda: jump_hash(ints, 100), n),
            "fastring pure twin (10 removed)": (on_pure_twin(removed.lookup_many, pure_ints), pure_n),
        },
        ("fastring MementoRouter (10 removed)", "fastring jump_hash (xxh64 first)"),
        "(no target: cost relative to plain jump)",
    )

    maglev = Maglev(NODES)
    table = maglev.table
    yield (
        "Maglev.lookup_many, 100 nodes, M=65537, uint64 keys",
        {
            "fastring Maglev.lookup_many": (lambda: maglev.lookup_many(ints), n),
            "NumPy composite (hash_keys + take)": (lambda: np.take(table, hash_keys(ints) % np.uint64(65537)), n),
            "fastring pure twin": (on_pure_twin(maglev.lookup_many, pure_ints), pure_n),
        },
        ("fastring Maglev.lookup_many", "NumPy composite (hash_keys + take)"),
        "(no target)",
    )
    for count in (100, 1000):
        names = [f"node-{i}" for i in range(count)]
        yield (
            f"Maglev build, {count} nodes, M=65537 (ns per build)",
            {
                "fastring compiled": (lambda names=names: Maglev(names), 1),
                "fastring pure twin": (on_pure_twin(Maglev, names), 1),
            },
            ("fastring compiled", "fastring pure twin"),
            "(no target: report the build time)",
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--pure-keys", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    run_cases("routers", cases(args.keys, args.pure_keys), args.repeats)


if __name__ == "__main__":
    main()
