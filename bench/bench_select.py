"""Selection rows of PERF.md: interleaved best-of-N, ratios against the peers.

    python bench/bench_select.py [--draws 1000000] [--repeats 7]

Prints a table and writes bench/results/select.json (docs/benchmarks.md is made
from it by bench/report.py).
"""

from __future__ import annotations

import argparse
import itertools
import random
import threading

import numpy as np
from common import SEED, on_pure_twin, run_cases, use_twin

from fastring import (
    ConsistentBalancer,
    LeastConnections,
    PeakEWMA,
    PowerOfTwoChoices,
    RandomChoice,
    RoundRobin,
    SmoothWeightedRoundRobin,
    WeightedSampler,
)

WEIGHTS = 1000


def numpy_alias(sampler: WeightedSampler):
    """A NumPy-vectorized alias sampler on the same table: one double per draw."""
    n = len(sampler)
    keep = np.where(sampler._alias == np.arange(n), 1.0, sampler._threshold / 2.0**64)
    alias = sampler._alias.copy()

    def sample(size: int, rng: np.random.Generator) -> np.ndarray:
        u = rng.random(size) * n
        col = u.astype(np.int64)
        return np.where(u - col < keep[col], col, alias[col])

    return sample


def nginx_loop(weights: list[int], size: int) -> list[int]:
    """ngx_http_upstream_get_peer in plain Python (no health checks): the peer."""
    n = len(weights)
    current = [0] * n
    effective = list(weights)
    out = []
    for _ in range(size):
        best = -1
        total = 0
        for i in range(n):
            current[i] += effective[i]
            total += effective[i]
            if effective[i] < weights[i]:
                effective[i] += 1
            if best == -1 or current[i] > current[best]:
                best = i
        current[best] -= total
        out.append(best)
    return out


class LockedCycle:
    """The floor of a thread-safe Python balancer: a lock around itertools.cycle."""

    def __init__(self, nodes):
        self._cycle = itertools.cycle(nodes)
        self._lock = threading.Lock()
        self.in_flight = dict.fromkeys(nodes, 0)

    def acquire_release(self):
        with self._lock:
            node = next(self._cycle)
            self.in_flight[node] += 1
        with self._lock:
            self.in_flight[node] -= 1


class _Router:
    def __init__(self, nodes):
        self.nodes = tuple(nodes)

    def lookup(self, key):
        return self.nodes[hash(key) % len(self.nodes)]

    def replicas(self, key, n):
        i = hash(key) % len(self.nodes)
        return [self.nodes[(i + j) % len(self.nodes)] for j in range(n)]


def _router(nodes):
    try:
        from fastring.ring import HashRing

        return HashRing(nodes)
    except ImportError:
        return _Router(nodes)


BALANCERS = {
    "RoundRobin": lambda nodes: RoundRobin(nodes),
    "RandomChoice (weighted)": lambda nodes: RandomChoice({n: 1 + i % 3 for i, n in enumerate(nodes)}, rng=SEED),
    "LeastConnections": lambda nodes: LeastConnections(nodes),
    "PowerOfTwoChoices": lambda nodes: PowerOfTwoChoices(nodes, rng=SEED),
    "PeakEWMA": lambda nodes: PeakEWMA(nodes, rng=SEED),
    "ConsistentBalancer": lambda nodes: ConsistentBalancer(_router(nodes)),
}


def cases(n: int, pure_n: int, calls: int):
    """(row, {contender: (callable, items)}, (ours, peer), target ratio)."""
    weights = np.random.default_rng(SEED).pareto(1.5, WEIGHTS) + 0.01
    p = weights / weights.sum()
    sampler = WeightedSampler(weights)
    alias_np = numpy_alias(sampler)
    gen = np.random.default_rng(SEED)
    weights_list = weights.tolist()
    population = range(WEIGHTS)

    def compiled(fn, *args, **kw):
        def run():
            with use_twin("cython"):
                fn(*args, **kw)

        return run

    sample = {
        "fastring sample": (compiled(sampler.sample, n, rng=gen), n),
        "Generator.choice(p=)": (lambda: gen.choice(WEIGHTS, size=n, p=p), n),
        "NumPy alias (vectorized)": (lambda: alias_np(n, gen), n),
        "random.choices": (lambda: random.choices(population, weights_list, k=pure_n), pure_n),
        "fastring pure twin": (on_pure_twin(sampler.sample, n, rng=gen), n),
    }
    yield ("WeightedSampler.sample 1000 weights vs Generator.choice(p=)", sample,
           ("fastring sample", "Generator.choice(p=)"), "≥ 20×")
    yield ("WeightedSampler.sample 1000 weights vs NumPy alias",
           {k: sample[k] for k in ("fastring sample", "NumPy alias (vectorized)")},
           ("fastring sample", "NumPy alias (vectorized)"), "≥ 3×")

    swrr_weights = [5, 1, 1, 3, 2, 8, 1, 1, 4, 2]
    rr = SmoothWeightedRoundRobin(dict(enumerate(swrr_weights)))
    yield (
        "SmoothWeightedRoundRobin.next_many, 10 peers",
        {
            "fastring next_many": (compiled(rr.next_many, n), n),
            "pure-Python nginx loop": (lambda: nginx_loop(swrr_weights, pure_n), pure_n),
            "fastring pure twin": (on_pure_twin(rr.next_many, pure_n), pure_n),
        },
        ("fastring next_many", "pure-Python nginx loop"),
        "(no target; the peer is a plain-Python transcription)",
    )

    nodes = [f"node{i}" for i in range(10)]
    floor = LockedCycle(nodes)

    def loop_floor():
        for _ in range(calls):
            floor.acquire_release()

    for name, make in BALANCERS.items():
        contenders = {}
        for twin in ("cython", "python"):
            lb = make(nodes)

            def loop(lb=lb, twin=twin):
                with use_twin(twin):
                    for i in range(calls):
                        with lb.acquire(i):
                            pass

            contenders[f"fastring {twin}"] = (loop, calls)
        contenders["lock + itertools.cycle floor"] = (loop_floor, calls)
        yield (f"{name} acquire/release, 10 nodes", contenders, ("fastring cython", "fastring python"),
               "(no target; ns per acquire+release)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1_000_000)
    parser.add_argument("--pure-draws", type=int, default=20_000)
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    run_cases("select", cases(args.draws, args.pure_draws, args.calls), args.repeats, unit="ns/item")


if __name__ == "__main__":
    main()
