"""Per-call rows of PERF.md (issue 10): one key, one pick, one lease, short batches.

    python bench/bench_calls.py [--calls 20000] [--repeats 7]

Each contender makes ``--calls`` calls in a plain ``for`` loop (the loop's own cost is
in both sides of every ratio, so ratios are a little closer to 1 than the calls
alone). Prints a table and writes bench/results/calls.json. The Rust ``fastring`` 0.2
rows need its venv (see bench/README.md); without it they are skipped.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import subprocess
import threading
import time

import jump
import numpy as np
import pyarrow as pa
import xxhash
from common import run_cases

from fastring import HashRing, Maglev, MementoRouter, RoundRobin, WeightedSampler, hash_key, hash_keys, jump_hash

NODES = [f"node-{i}" for i in range(100)]
RUST_PYTHON = os.environ.get("FASTRING_RUST_PYTHON", "/tmp/rustfr/bin/python")

_RUST_SCRIPT = """
import json, sys, time, fastring
ring = fastring.HashRing()
for i in range(100):
    ring.add_node(f"node-{i}")
calls, repeats = int(sys.argv[1]), int(sys.argv[2])
out = {}
for n in (1, 10, 100):
    keys = [f"user:{i}" for i in range(n)]
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            ring.get_node_batch(keys)
        best = min(best, time.perf_counter() - start)
    out[n] = best / calls * 1e9
print(json.dumps(out))
"""


def rust_batch_ns(calls: int, repeats: int) -> dict | None:
    """ns per get_node_batch call of the Rust fastring 0.2 ring (its own process)."""
    if not os.path.exists(RUST_PYTHON):
        return None
    done = subprocess.run([RUST_PYTHON, "-c", _RUST_SCRIPT, str(calls), str(repeats)],
                          capture_output=True, text=True, cwd="/", check=False)
    if done.returncode:
        return None
    return {int(k): v for k, v in json.loads(done.stdout).items()}


def looped(fn, arg, calls):
    def run():
        for _ in range(calls):
            fn(arg)

    return run


def cases(calls: int, repeats: int):
    s = "user:42"
    ring, maglev, memento = HashRing(NODES), Maglev(NODES), MementoRouter(NODES)
    yield ("hash_key(str), one call", {
        "fastring hash_key": (looped(hash_key, s, calls), calls),
        "xxhash.xxh64_intdigest(s.encode())": (looped(lambda k: xxhash.xxh64_intdigest(k.encode()), s, calls), calls),
    }, ("fastring hash_key", "xxhash.xxh64_intdigest(s.encode())"), "≥ 1.0×")
    yield ("hash_key(int), one call", {
        "fastring hash_key": (looped(hash_key, 4242, calls), calls),
        "xxhash on int.to_bytes(8, 'little')": (looped(lambda k: xxhash.xxh64_intdigest(k.to_bytes(8, "little")), 4242, calls), calls),
    }, ("fastring hash_key", "xxhash on int.to_bytes(8, 'little')"), "≥ 1.0×")
    yield ("jump_hash(int, 100, algorithm=None), one call", {
        "fastring jump_hash": (looped(lambda k: jump_hash(k, 100, algorithm=None), 4242, calls), calls),
        "jump.hash": (looped(lambda k: jump.hash(k, 100), 4242, calls), calls),
    }, ("fastring jump_hash", "jump.hash"), "≥ 0.59× (within 1.7×)")
    yield ("Maglev.lookup vs HashRing.lookup, 100 nodes, one str key", {
        "Maglev.lookup": (looped(maglev.lookup, s, calls), calls),
        "HashRing.lookup": (looped(ring.lookup, s, calls), calls),
    }, ("Maglev.lookup", "HashRing.lookup"), "≥ 0.8× (within 1.25×)")
    yield ("MementoRouter.lookup vs HashRing.lookup, 100 nodes, one str key", {
        "MementoRouter.lookup": (looped(memento.lookup, s, calls), calls),
        "HashRing.lookup": (looped(ring.lookup, s, calls), calls),
    }, ("MementoRouter.lookup", "HashRing.lookup"), "≥ 0.71× (within 1.4×)")
    sampler = WeightedSampler({f"n{i}": i + 1 for i in range(10)})
    gen = np.random.default_rng(1)
    population, cumulative = list(range(10)), list(itertools.accumulate(range(1, 11)))
    yield ("WeightedSampler.pick, 10 weights", {
        "fastring pick": (looped(sampler.pick, gen, calls), calls),
        "random.choices(cum_weights=)": (looped(lambda _: random.choices(population, cum_weights=cumulative), None, calls), calls),
    }, ("fastring pick", "random.choices(cum_weights=)"), "≥ 2×")
    balancer = RoundRobin(NODES[:10])
    lock, cycle = threading.Lock(), itertools.cycle(NODES[:10])

    def lease(_):
        with balancer.acquire():
            pass

    def by_hand(_):
        with lock:
            node = next(cycle)
        start = time.monotonic()
        with lock:
            time.monotonic() - start
        return node

    yield ("RoundRobin acquire + release, 10 nodes", {
        "fastring acquire/release": (looped(lease, None, calls), calls),
        "lock + itertools.cycle + clock": (looped(by_hand, None, calls), calls),
    }, ("fastring acquire/release", "lock + itertools.cycle + clock"), "≥ 0.67× (within 1.5×)")
    words = [f"user:{i}" for i in range(10)]
    arrow = pa.array(words)
    yield ("hash_keys of 10 keys: Arrow array vs list", {
        "Arrow array": (looped(hash_keys, arrow, calls), calls),
        "list": (looped(hash_keys, words, calls), calls),
    }, ("Arrow array", "list"), "≥ 0.71× (within 1.4×)")
    rust = rust_batch_ns(calls, repeats)
    for n in (1, 10, 100):
        keys = [f"user:{i}" for i in range(n)]
        contenders = {"HashRing.lookup_many": (looped(ring.lookup_many, keys, calls), calls)}
        if rust is None:
            continue
        # The Rust peer runs in its own process; it enters as a constant contender.
        seconds = rust[n] * 1e-9 * calls
        contenders["Rust fastring 0.2 get_node_batch"] = (lambda seconds=seconds: time.sleep(0) or _spin(seconds), calls)
        yield (f"lookup_many of {n} str keys, 100 nodes", contenders,
               ("HashRing.lookup_many", "Rust fastring 0.2 get_node_batch"), "≥ 1.0×")


def _spin(seconds: float) -> None:
    """Stand in for a contender timed in another process: take exactly its time."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    run_cases("calls", cases(args.calls, args.repeats), args.repeats, unit="ns/call")


if __name__ == "__main__":
    main()
