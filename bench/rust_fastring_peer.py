"""Time the Rust ``fastring`` 0.2 ring (PyPI) on the same keys as ``test_bench_ring.py``.

The Rust package has the same import name as this project, so it runs in its own
virtual environment and process (it needs Python 3.13)::

    ~/.pyenv/versions/3.13.0/bin/python -m venv /tmp/rustfr
    /tmp/rustfr/bin/pip install fastring==0.2.1
    cd /tmp && /tmp/rustfr/bin/python /work/main/bench/rust_fastring_peer.py

Prints one JSON object: best and median ns/key of ``get_node_batch`` and of
``get_node`` on PERF.md's str keys (``user:<n>`` for a random permutation of n, the
same keys as ``bench/common.py``: NumPy's ``default_rng(SEED).permutation``), the build
time of a 1000-node ring, and the versions. Run it from a directory that does not
contain this project's ``fastring`` package (``cd /tmp``); ``bench/bench_ring.py``
runs it for you.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time


SEED = 20261126  # bench/common.py


def str_keys(n: int, seed: int = SEED) -> list[str]:
    """``user:<n>`` for a random permutation of range(n), as bench/common.py makes them."""
    import numpy as np

    return [f"user:{i}" for i in np.random.default_rng(seed).permutation(n).tolist()]


def timed(fn, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=10**6)
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--vnodes", type=int, default=160)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()

    import fastring  # the Rust package

    if not hasattr(fastring.HashRing, "get_node_batch"):
        sys.exit(f"{fastring.__file__} is not the Rust fastring 0.2: run from another directory")

    keys = str_keys(args.keys, args.seed)
    ring = fastring.HashRing(args.vnodes)
    for i in range(args.nodes):
        ring.add_node(f"node{i}")
    ring.get_node_batch(keys[:1000])  # warm up

    batch = timed(lambda: ring.get_node_batch(keys), args.repeat)
    some = keys[:100_000]
    get_node = ring.get_node
    single = timed(lambda: [get_node(k) for k in some], args.repeat)

    def build():
        r = fastring.HashRing(args.vnodes)
        for i in range(1000):
            r.add_node(f"node{i}")

    builds = timed(build, 3)
    print(json.dumps({
        "peer": "rust-fastring",
        "version": getattr(fastring, "__version__", "0.2.x"),
        "python": platform.python_version(),
        "keys": args.keys,
        "nodes": args.nodes,
        "vnodes": args.vnodes,
        "get_node_batch_ns_per_key": {"best": min(batch) / args.keys * 1e9,
                                      "median": statistics.median(batch) / args.keys * 1e9},
        "get_node_ns": {"best": min(single) / len(some) * 1e9,
                        "median": statistics.median(single) / len(some) * 1e9},
        "build_1000_nodes_ms": {"best": min(builds) * 1e3, "median": statistics.median(builds) * 1e3},
    }, indent=2))


if __name__ == "__main__":
    main()
