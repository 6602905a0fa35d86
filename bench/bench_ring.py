"""HashRing rows of PERF.md: interleaved best-of-N, ratios against the peers.

    python bench/bench_ring.py [--keys 1000000] [--repeats 7] [--rust-python PATH]

Contenders side by side in this process: fastring (compiled twin), the pure twin,
uhashring and the NumPy composite (``pandas.util.hash_array`` + ``np.searchsorted``
over the same ring points). The Rust ``fastring`` 0.2 on PyPI has the same import name,
so it runs in its own Python 3.13 venv and process (``rust_fastring_peer.py``), before
and after our timings; its best and median are compared with ours::

    ~/.pyenv/versions/3.13.0/bin/python -m venv /tmp/rustfr
    /tmp/rustfr/bin/pip install fastring==0.2.1 numpy

Prints a table and writes bench/results/ring.json (bench/report.py makes the docs).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import uhashring
from common import SEED, on_pure_twin, str_keys, uint64_keys, use_twin, write_results

from fastring.ring import HashRing

NODES = [f"node{i}" for i in range(100)]
BIG = [f"node{i}" for i in range(1000)]
RUST_PYTHON = os.environ.get("FASTRING_RUST_PYTHON", "/tmp/rustfr/bin/python")


def composite(ring: HashRing):
    """The NumPy composite: hash_array the keys, searchsorted the ring's points."""
    position, node = ring.points()
    position, node = np.ascontiguousarray(position), np.ascontiguousarray(node)

    def lookup_many(keys):
        hashes = pd.util.hash_array(keys, categorize=False)
        i = np.searchsorted(position, hashes, side="right")
        i[i == len(position)] = 0
        return node[i]

    return lookup_many


def _plain_layout(ring: HashRing):
    """The compiled index of ``ring`` rebuilt without the compact layout of big rings."""
    from fastring._ring_c import RingIndex

    index = ring._state.index
    pos, lo, owner, table = index.arrays
    return RingIndex(index.names, pos, np.empty(0, dtype=np.uint64), owner, table, index.shift,
                     index.depth, index.mode, index.algo, index.seed, index.size, compact=False)


def cases(n: int, pure_n: int):
    """(row, {contender: (callable, keys per call)}, [(ours, peer, target)])."""
    strs = str_keys(n)
    objects = np.array(strs, dtype=object)
    ints = uint64_keys(n)
    few = strs[:pure_n]
    ring = HashRing(NODES)
    ref = uhashring.HashRing(NODES)
    ketama = HashRing(NODES, compat="ketama")
    ref_ketama = uhashring.HashRing(NODES, hash_fn="ketama")
    with use_twin("python"):
        pure_ring = HashRing(NODES)
        pure_compat = HashRing(NODES, compat="uhashring")
    numpy_ring = composite(ring)
    get_node = ref.get_node
    lookup = ring.lookup
    pure_lookup = pure_ring.lookup
    pure_compat_lookup = pure_compat.lookup

    yield (
        "HashRing.lookup_many, 100 nodes x 160 vnodes, str keys",
        {
            "fastring": (lambda: ring.lookup_many(strs), n),
            "NumPy composite (object array)": (lambda: numpy_ring(objects), n),
            "uhashring get_node loop": (lambda: [get_node(k) for k in few], pure_n),
            "fastring pure twin": (on_pure_twin(lambda: pure_ring.lookup_many(few)), pure_n),
        },
        [
            ("fastring", "Rust fastring 0.2 get_node_batch", "≥ 5×"),
            ("fastring", "uhashring get_node loop", "≥ 60×"),
            ("fastring", "NumPy composite (object array)", "(peer row of PERF.md)"),
        ],
    )
    yield (
        "HashRing.lookup_many, 100 nodes x 160 vnodes, uint64 keys",
        {
            "fastring": (lambda: ring.lookup_many(ints), n),
            "NumPy composite": (lambda: numpy_ring(ints), n),
            "fastring pure twin": (on_pure_twin(lambda: pure_ring.lookup_many(ints[:pure_n])), pure_n),
        },
        [("fastring", "NumPy composite", "≥ 7×")],
    )
    by_size = {size: HashRing([f"node{i}" for i in range(size)]) for size in (1000, 10_000)}
    plain_10k = _plain_layout(by_size[10_000])
    out = np.empty(n, dtype=np.int32)
    yield (
        "HashRing.lookup_many by ring size, uint64 keys (160 vnodes per node)",
        {
            "100 nodes": (lambda: ring.lookup_many(ints), n),
            "1,000 nodes": (lambda: by_size[1000].lookup_many(ints), n),
            "10,000 nodes": (lambda: by_size[10_000].lookup_many(ints), n),
            "10,000 nodes, plain layout kernel": (lambda: plain_10k.owners_u64(ints, out), n),
        },
        [
            ("1,000 nodes", "100 nodes", "≥ 0.5× (at most 2× slower)"),
            ("10,000 nodes", "100 nodes", "≥ 0.29× (at most 3.5× slower)"),
            ("10,000 nodes", "10,000 nodes, plain layout kernel", "(compact vs plain layout)"),
        ],
    )
    yield (
        "HashRing.lookup, one str key",
        {
            "fastring": (lambda: [lookup(k) for k in few], pure_n),
            "uhashring get_node": (lambda: [get_node(k) for k in few], pure_n),
            "fastring pure twin": (on_pure_twin(lambda: [pure_lookup(k) for k in few]), pure_n),
            "fastring pure twin, compat=uhashring": (on_pure_twin(lambda: [pure_compat_lookup(k) for k in few]), pure_n),
        },
        [
            ("fastring", "uhashring get_node", "≥ 10×"),
            ("fastring pure twin", "uhashring get_node", "≥ 1× (no slower)"),
            ("fastring pure twin, compat=uhashring", "uhashring get_node", "(same hash as uhashring)"),
            ("fastring", "Rust fastring 0.2 get_node", "(no target)"),
        ],
    )
    yield (
        "HashRing.lookup_many, compat modes, str keys (md5 of str(key))",
        {
            "fastring compat=ketama": (lambda: ketama.lookup_many(strs[: n // 4]), n // 4),
            "uhashring ketama get_node loop": (lambda: [ref_ketama.get_node(k) for k in few], pure_n),
        },
        [("fastring compat=ketama", "uhashring ketama get_node loop", "(no target)")],
    )
    yield (
        "HashRing build, 1000 nodes (ms per ring)",
        {
            "fastring compat=ketama": (lambda: HashRing(BIG, compat="ketama"), 1),
            "uhashring ketama": (lambda: uhashring.HashRing(BIG, hash_fn="ketama"), 1),
            "fastring default (160 vnodes)": (lambda: HashRing(BIG), 1),
            "fastring compat=uhashring": (lambda: HashRing(BIG, compat="uhashring"), 1),
            "uhashring default": (lambda: uhashring.HashRing(BIG), 1),
        },
        [
            ("fastring compat=ketama", "uhashring ketama", "≥ 50×"),
            ("fastring default (160 vnodes)", "Rust fastring 0.2 build", "(no target)"),
        ],
    )
    ten_k = [f"node{i}" for i in range(10_000)]
    pickled = {mode: pickle.dumps(HashRing(ten_k, compat=mode)) for mode in (None, "uhashring")}
    yield (
        "HashRing pickle load vs build, 10,000 nodes (ms per ring)",
        {
            "load (checks every point)": (lambda: pickle.loads(pickled[None]), 1),
            "build": (lambda: HashRing(ten_k), 1),
            "load, compat=uhashring": (lambda: pickle.loads(pickled["uhashring"]), 1),
            "build, compat=uhashring": (lambda: HashRing(ten_k, compat="uhashring"), 1),
        },
        [
            ("load (checks every point)", "build", "≥ 5×"),
            ("load, compat=uhashring", "build, compat=uhashring", "(no target)"),
        ],
    )


def rust_peer(n: int, repeats: int, python: str) -> dict | None:
    """Run rust_fastring_peer.py in its own venv; None if that venv is missing."""
    if not os.path.exists(python):
        print(f"(Rust fastring peer skipped: {python} not found; see the module docstring)")
        return None
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rust_fastring_peer.py")
    # Neither the working directory nor PYTHONPATH may put this project's fastring
    # ahead of the Rust one in the peer's process.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run(
        [python, script, "--keys", str(n), "--repeat", str(repeats), "--seed", str(SEED)],
        capture_output=True, text=True, cwd="/", env=env,
    )
    if out.returncode:
        raise RuntimeError(f"the Rust fastring peer failed:\n{out.stderr}")
    return json.loads(out.stdout)


def best_and_median(run, repeats: int) -> tuple[float, float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--pure-keys", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--rust-python", default=RUST_PYTHON)
    args = parser.parse_args()

    runs = [r for r in [rust_peer(args.keys, args.repeats, args.rust_python)] if r]
    rows = []
    for row, contenders, comparisons in cases(args.keys, args.pure_keys):
        best = {name: float("inf") for name in contenders}
        samples = {name: [] for name in contenders}
        for _ in range(args.repeats):  # interleaved rounds
            for name, (fn, count) in contenders.items():
                start = time.perf_counter()
                fn()
                elapsed = time.perf_counter() - start
                best[name] = min(best[name], elapsed)
                samples[name].append(elapsed)
        scale = 1e3 if "build" in row else 1e9  # ms per ring, or ns per key
        ns = {name: best[name] / count * scale for name, (_, count) in contenders.items()}
        median = {name: statistics.median(samples[name]) / count * scale for name, (_, count) in contenders.items()}
        if runs:
            rows.append((row, ns, median, comparisons))
        else:
            rows.append((row, ns, median, [c for c in comparisons if not c[1].startswith("Rust")]))
    runs += [r for r in [rust_peer(args.keys, args.repeats, args.rust_python)] if r]

    results = []
    for row, ns, median, comparisons in rows:
        if runs:  # Rust figures: the best run's best, the median of its medians
            rust = {
                "Rust fastring 0.2 get_node_batch": "get_node_batch_ns_per_key",
                "Rust fastring 0.2 get_node": "get_node_ns",
                "Rust fastring 0.2 build": "build_1000_nodes_ms",
            }
            for name, field in rust.items():
                if any(peer == name for _, peer, _ in comparisons):
                    ns[name] = min(r[field]["best"] for r in runs)
                    median[name] = statistics.median(r[field]["median"] for r in runs)
        unit = "ms" if "build" in row else "ns/key"
        print(f"\n{row}")
        for name in ns:
            print(f"  {name:<45} best {ns[name]:10.2f}  median {median[name]:10.2f} {unit}")
        for ours, peer, target in comparisons:
            ratio = ns[peer] / ns[ours]
            ratio_median = median[peer] / median[ours]
            print(f"  ratio {peer} / {ours}: {ratio:.2f}× (medians {ratio_median:.2f}×)  target {target}")
            results.append({
                "row": row if (ours, peer) == comparisons[0][:2] else f"{row} [{ours} vs {peer}]",
                "ns_per_key": {k: ns[k] for k in (ours, peer)} if (ours, peer) != comparisons[0][:2] else ns,
                "median_ns_per_key": median,
                "ours": ours,
                "peer": peer,
                "ratio": ratio,
                "ratio_of_medians": ratio_median,
                "target": target,
                "unit": unit,
            })
    print("\nwrote", write_results("ring", results))
    if runs:
        print("Rust peer:", runs[0]["python"], runs[0]["version"])


if __name__ == "__main__":
    sys.exit(main())
