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

from common import machine, write_results

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
    for name, seconds in best.items():
        peer = "ProcessPoolExecutor" if "process" in name or name.startswith("Process") else "ThreadPoolExecutor"
        rows.append({"contender": name, "us_per_task": seconds * 1e6, "vs": peer, "ratio": seconds / best[peer]})
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
    label = f"({keys} keys, replicas=2, 3 redis)"
    return [
        {"contender": f"ShardedClient.get_many {label}", "seconds": best["get_many"],
         "vs": "a loop of redis.Redis.get", "peer_seconds": best["raw loop"], "speedup": best["raw loop"] / best["get_many"]},
        {"contender": f"loop of ShardedClient.get {label}", "seconds": best["get loop"],
         "vs": "a loop of redis.Redis.get", "peer_seconds": best["raw loop"], "speedup": best["raw loop"] / best["get loop"]},
        {"contender": "get_many after SIGKILL of one server", "seconds": killed_many},
        {"contender": "loop of get after SIGKILL of one server", "seconds": killed_loop},
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=20000)
    parser.add_argument("--keys", type=int, default=10000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rows = executor_rows(args.tasks, args.repeats)
    for row in rows:
        print(f"{row['contender']:40s} {row['us_per_task']:8.1f} us/task   {row['ratio']:.2f}x {row['vs']}")
    sharded = sharded_rows(args.keys, args.repeats)
    for row in sharded:
        versus = f"   {row['speedup']:.1f}x {row['vs']}" if "vs" in row else ""
        print(f"{row['contender']:52s} {row['seconds'] * 1e3:8.1f} ms{versus}")
    write_results("pools", [{"machine": machine()}, *rows, *sharded])


if __name__ == "__main__":
    main()
