"""fastring.compat.uhashring against uhashring 2.x: the issue 11 rows.

    python bench/bench_uhashring.py [--calls 2000] [--repeats 7]

Per-call rows look up ``--calls`` different keys in a plain loop on rings of 10, 100
and 1,000 nodes (160 points each);
build rows build the whole ring once per call. Prints a table and writes
bench/results/uhashring.json.
"""

from __future__ import annotations

import argparse
import itertools

import uhashring
from common import run_cases

from fastring.compat import uhashring as compat



def conf(n: int) -> dict:
    """``n`` memcached servers as uhashring configuration dicts."""
    names = [f"10.0.{i // 250}.{i % 250}:11211" for i in range(n)]
    return {name: {"hostname": name.split(":")[0], "port": 11211, "instance": f"client-{name}"} for name in names}



def looped(method, keys):
    def run():
        for key in keys:
            method(key)

    return run


def cases(calls: int):
    keys = [f"session:{i}" for i in range(calls)]
    big = conf(1000)
    for (label, kwargs), size in itertools.product((("md5", {}), ("ketama", {"hash_fn": "ketama"})), (10, 100, 1000)):
        ours, theirs = compat.HashRing(conf(size), **kwargs), uhashring.HashRing(conf(size), **kwargs)
        for method in ("get_node", "get_node_instance", "get"):
            target = "≥ 8×" if method == "get_node" else "(no target)"
            yield (f"{method}, one call, {size:,} nodes, {label}", {
                "fastring.compat.uhashring": (looped(getattr(ours, method), keys), calls),
                "uhashring": (looped(getattr(theirs, method), keys), calls),
            }, ("fastring.compat.uhashring", "uhashring"), target)
        yield (f"range(key, 3), one call, {size:,} nodes, {label}", {
            "fastring.compat.uhashring": (looped(lambda k: list(ours.range(k, 3)), keys[:200]), 200),
            "uhashring": (looped(lambda k: list(theirs.range(k, 3)), keys[:200]), 200),
        }, ("fastring.compat.uhashring", "uhashring"), "(no target)")
        if size != 1000:
            continue
        yield (f"build 1,000 nodes, {label}", {
            "fastring.compat.uhashring": (lambda: compat.HashRing(big, **kwargs), 1),
            "uhashring": (lambda: uhashring.HashRing(big, **kwargs), 1),
        }, ("fastring.compat.uhashring", "uhashring"), "≥ 30×" if label == "md5" else "(no target)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    run_cases("uhashring", cases(args.calls), args.repeats, unit="ns/call")


if __name__ == "__main__":
    main()
