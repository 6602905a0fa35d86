"""The pools row of PERF.md: KeyedExecutor's per-task overhead against the standard
library's executors, and ShardedClient.get_many against a per-key loop.

    python bench/bench_pools.py [--tasks 20000] [--repeats 5] [--keys 10000]

Executors: ``--tasks`` trivial tasks (``operator.neg``) submitted at once, timed until
every future is done, per task; 2 workers each; contenders interleaved, best of
``--repeats``. ``KeyedExecutor`` is timed keyless (``submit``) and keyed
(``submit_keyed``, every task its own key). The ShardedClient row starts three
redis-servers on loopback ports (skipped if redis-server is not installed).
Prints a table and writes bench/results/pools.json.
"""

from __future__ import annotations

import argparse
import multiprocessing
import operator
import os
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, wait

from common import write_results

from fastring import KeyedExecutor


def _per_task(make, tasks: int, keyed: bool) -> float:
    with make() as pool:
        list(pool.map(operator.neg, range(200)))  # workers up and warm
        start = time.perf_counter()
        if keyed:
            futures = [pool.submit_keyed(i, operator.neg, i) for i in range(tasks)]
        else:
            futures = [pool.submit(operator.neg, i) for i in range(tasks)]
        wait(futures)
        return (time.perf_counter() - start) / tasks


def executor_rows(tasks: int, repeats: int) -> list[dict]:
    context = multiprocessing.get_context("forkserver")
    contenders = {
        "ProcessPoolExecutor": (lambda: ProcessPoolExecutor(2, mp_context=context), False),
        "KeyedExecutor process submit": (lambda: KeyedExecutor(2, mp_context=context), False),
        "KeyedExecutor process submit_keyed": (lambda: KeyedExecutor(2, mp_context=context), True),
        "ThreadPoolExecutor": (lambda: ThreadPoolExecutor(2), False),
        "KeyedExecutor thread submit": (lambda: KeyedExecutor(2, kind="thread"), False),
        "KeyedExecutor thread submit_keyed": (lambda: KeyedExecutor(2, kind="thread"), True),
    }
    best = {name: float("inf") for name in contenders}
    for _ in range(repeats):
        for name, (make, keyed) in contenders.items():
            best[name] = min(best[name], _per_task(make, tasks, keyed))
    rows = []
    for kind, peer in (("process", "ProcessPoolExecutor"), ("thread", "ThreadPoolExecutor")):
        for call in ("submit", "submit_keyed"):
            ours = f"KeyedExecutor {kind} {call}"
            rows.append({
                "row": f"per-task overhead, {tasks:,} trivial tasks, 2 {kind} workers",
                "ns_per_key": {peer: best[peer] * 1e6, ours: best[ours] * 1e6},
                "ours": ours, "peer": peer, "ratio": best[peer] / best[ours],
                "target": "within 1.5x (ratio >= 0.67)", "unit": "us/task",
            })
    return rows


def sharded_rows(keys: int, repeats: int) -> list[dict]:
    """get_many over 3 redis-servers (replicas=2) against a per-key loop of the raw
    clients' ``get`` (each key to its own first replica), then the same reads after
    SIGKILL of one server."""
    if shutil.which("redis-server") is None:
        print("redis-server not installed: ShardedClient rows skipped")
        return []
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    from fastring import ShardedClient

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
    import servers

    started = [servers.redis() for _ in range(3)]
    try:
        clients = {
            f"redis-{i}": redis.Redis(port=s.port, socket_connect_timeout=1, retry=Retry(NoBackoff(), 0))
            for i, s in enumerate(started)
        }
        sharded = ShardedClient(clients, replicas=2)
        names = [f"user:{i}" for i in range(keys)]
        sharded.set_many({k: b"v" * 16 for k in names})
        homes = [clients[sharded.nodes_for(k)[0]] for k in names]
        best = {"get_many": float("inf"), "raw loop": float("inf"), "get loop": float("inf")}
        for _ in range(repeats):
            start = time.perf_counter()
            got = sharded.get_many(names)
            best["get_many"] = min(best["get_many"], time.perf_counter() - start)
            start = time.perf_counter()
            for k, client in zip(names, homes):
                client.get(k)
            best["raw loop"] = min(best["raw loop"], time.perf_counter() - start)
            start = time.perf_counter()
            for k in names:
                sharded.get(k)
            best["get loop"] = min(best["get loop"], time.perf_counter() - start)
        assert len(got) == keys
        started[1].kill()
        start = time.perf_counter()
        after_many = sharded.get_many(names)
        killed_many = time.perf_counter() - start
        start = time.perf_counter()
        for k in names:
            sharded.get(k)
        killed_loop = time.perf_counter() - start
        assert len(after_many) == keys
        for c in clients.values():
            c.close()
    finally:
        for s in started:
            s.stop()
    label = f"{keys:,} keys, replicas=2, 3 redis-servers"
    return [
        {"row": f"read {label}", "unit": "ms/call", "target": ">= 5x",
         "ns_per_key": {"ShardedClient.get_many": best["get_many"] * 1e3, "loop of redis.Redis.get": best["raw loop"] * 1e3,
                        "loop of ShardedClient.get": best["get loop"] * 1e3},
         "ours": "ShardedClient.get_many", "peer": "loop of redis.Redis.get", "ratio": best["raw loop"] / best["get_many"]},
        {"row": f"read {label}, after SIGKILL of one", "unit": "ms/call", "target": "loop < 3 s",
         "ns_per_key": {"ShardedClient.get_many": killed_many * 1e3, "loop of ShardedClient.get": killed_loop * 1e3},
         "ours": "ShardedClient.get_many", "peer": "loop of ShardedClient.get", "ratio": killed_loop / killed_many},
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=20000)
    parser.add_argument("--keys", type=int, default=10000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rows = executor_rows(args.tasks, args.repeats) + sharded_rows(args.keys, args.repeats)
    for row in rows:
        print(f"\n{row['row']}  (target {row['target']})")
        for name, value in row["ns_per_key"].items():
            print(f"  {name:40s} {value:10.1f} {row['unit']}")
        print(f"  ratio {row['peer']} / {row['ours']}: {row['ratio']:.2f}x")
    write_results("pools", rows)


if __name__ == "__main__":
    main()
