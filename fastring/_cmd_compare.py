"""``fastring compare`` (every router on the same keys) and ``fastring route``."""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from collections.abc import Callable
from typing import Any

from . import IMPLEMENTATION, __version__
from .analysis import ideal_moved_fraction, load_stats, moved_fraction, router_memory
from ._cmdio import (
    CommandError, add_node_arguments, batch_error, int_in, read_key_lines, read_nodes, require_matplotlib, sample_keys,
)


def _factories() -> dict[str, Callable[[list[str]], Any]]:
    from .ring import HashRing
    from .routers import JumpRouter, Maglev, MementoRouter, Rendezvous

    return {
        "ring": lambda nodes: HashRing(nodes),
        "ring-ketama": lambda nodes: HashRing(nodes, compat="ketama"),
        "jump": JumpRouter,
        "memento": MementoRouter,
        "rendezvous": Rendezvous,
        "maglev": Maglev,
    }


#: Routers for ``fastring route`` (ketama is reached with ``--router ring --compat ketama``).
ROUTE_CHOICES = ("ring", "jump", "rendezvous", "maglev", "memento")


def _best_time(run: Callable[[], Any], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def _changed(make: Callable[[list[str]], Any], names: list[str], *, remove: str | None = None, add: str | None = None) -> Any:
    """The router after one change, made the way its users would make it: with its
    own ``remove``/``add`` where they can (Memento must remember what it lost), else
    by building it anew from the changed names (Jump, which removes only its last
    node, renumbers the buckets after a middle one)."""
    router = make(names)
    if remove is not None:
        try:
            router.remove(remove)
            return router
        except ValueError:
            return make([n for n in names if n != remove])
    assert add is not None
    if hasattr(router, "add"):
        router.add(add)
        return router
    return make([*names, add])


def compare_routers(num_nodes: int, num_keys: int, *, seed: int = 0, repeats: int = 3, progress: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """Run every router on the same sample keys; one dict of measurements each."""
    if num_nodes < 2:
        raise ValueError("compare needs at least 2 nodes (one is removed)")
    if num_keys < 1:
        raise ValueError("compare needs at least 1 key")
    keys = sample_keys(num_keys, seed)
    names = [f"node-{i:04d}" for i in range(num_nodes)]
    removed = names[num_nodes // 2]  # a node in the middle: jump cannot drop it cleanly
    fewer = [n for n in names if n != removed]
    more = [*names, f"node-{num_nodes:04d}"]
    uniform = dict.fromkeys(names, 1.0)
    ideal_remove = ideal_moved_fraction(uniform, dict.fromkeys(fewer, 1.0))
    ideal_add = ideal_moved_fraction(uniform, dict.fromkeys(more, 1.0))
    rows = []
    factories = _factories()
    for step, (label, make) in enumerate(factories.items(), 1):
        if progress:
            progress(f"[{step}/{len(factories)}] {label}: build, lookup {num_keys:,} keys, remove, add")
        build = _best_time(functools.partial(make, names), 1 if num_nodes >= 1000 else repeats)
        router = make(names)
        lookup = _best_time(functools.partial(router.lookup_many, keys), repeats)
        assignment = router.lookup_many(keys)
        stats = load_stats(assignment, num_nodes)
        after_remove = _changed(make, names, remove=removed)
        after_add = _changed(make, names, add=more[-1])
        rows.append(
            {
                "router": label,
                "ns_per_key": lookup / num_keys * 1e9,
                "peak_to_mean": stats.peak_to_mean,
                "stddev_to_mean": stats.stddev_to_mean,
                "moved_remove": moved_fraction(assignment, after_remove.lookup_many(keys), names, after_remove.nodes),
                "ideal_remove": ideal_remove,
                "moved_add": moved_fraction(assignment, after_add.lookup_many(keys), names, after_add.nodes),
                "ideal_add": ideal_add,
                "build_ms": build * 1e3,
                "memory_kib": router_memory(router) / 1024,
            }
        )
    return rows


COLUMNS = """\
columns:
  ns/key            lookup_many time per key (lower is faster)
  peak/mean         keys on the busiest node / keys per node on average (1.000 = perfect)
  std/mean          standard deviation of the keys per node / the mean (0 = perfect)
  moved -1 (ideal)  keys that change node when one node in the middle leaves, and in
                    brackets the least any router can move (the leaving node's share)
  moved +1 (ideal)  the same when one node joins
  build ms          time to build the router over all the nodes
  memory KiB        the router's own arrays and tables

why jump moves half the keys when a middle node leaves: jump hash numbers its buckets
0..n-1 and can only drop the last one. Removing a node from the middle renumbers every
bucket after it, so the keys of all those nodes move. memento (jump with removals)
remembers the gap and moves only the leaving node's keys.
"""


def format_table(rows: list[dict[str, Any]]) -> str:
    header = (
        f"{'router':<12} {'ns/key':>8} {'peak/mean':>9} {'std/mean':>8} "
        f"{'moved -1 (ideal)':>17} {'moved +1 (ideal)':>17} {'build ms':>9} {'memory KiB':>10}"
    )
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r['router']:<12} {r['ns_per_key']:>8.1f} {r['peak_to_mean']:>9.3f} {r['stddev_to_mean']:>8.3f} "
            f"{r['moved_remove']:>8.2%} ({r['ideal_remove']:>6.2%}) {r['moved_add']:>8.2%} ({r['ideal_add']:>6.2%}) "
            f"{r['build_ms']:>9.2f} {r['memory_kib']:>10.1f}"
        )
    return "\n".join(lines)


#: Bytes each node and each key cost ``compare`` at its peak (every router is built
#: three times: as is, one node fewer, one more). Measured: about 46 KiB per node
#: between 1,000 and 5,000 nodes; 80 KiB leaves room. Runs estimated above
#: ``--max-memory`` are refused before anything is built.
_BYTES_PER_NODE = 80 * 1024
_BYTES_PER_KEY = 400


def estimated_memory(num_nodes: int, num_keys: int) -> int:
    """The peak memory ``compare`` needs, in bytes (an upper estimate)."""
    return num_nodes * _BYTES_PER_NODE + num_keys * _BYTES_PER_KEY + 64 * 2**20


def cmd_compare(args: argparse.Namespace) -> int:
    need = estimated_memory(args.nodes, args.keys)
    if need > args.max_memory * 2**30:
        raise CommandError(
            f"{args.nodes:,} nodes and {args.keys:,} keys need about {need / 2**30:.1f} GiB, more than "
            f"--max-memory {args.max_memory:g} GiB; use fewer nodes or keys, or raise --max-memory"
        )
    long_run = args.keys * max(args.nodes, 1) >= 10**8 or args.keys >= 10**6
    progress = (lambda message: print(message, file=sys.stderr, flush=True)) if (long_run or args.progress) else None
    if args.plot:
        require_matplotlib()
    rows = compare_routers(args.nodes, args.keys, seed=args.seed, progress=progress)
    if args.json:
        summary = {"fastring": __version__, "implementation": IMPLEMENTATION, "nodes": args.nodes,
                   "keys": args.keys, "seed": args.seed, "routers": rows}
        json.dump(summary, sys.stdout, indent=2)
        print()
    else:
        print(
            f"fastring {__version__} ({IMPLEMENTATION}): {args.nodes} nodes, {args.keys:,} sample keys "
            f"(user:<n>), one node removed from the middle / one added"
        )
        print(format_table(rows))
    if args.plot:
        plot_comparison(rows, args.nodes, args.plot)
        print(f"wrote {args.plot}", file=sys.stderr if args.json else sys.stdout)
    return 0


def plot_comparison(rows: list[dict[str, Any]], num_nodes: int, path: str) -> None:
    """Speed, balance and disruption of every router, side by side, saved to ``path``."""
    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r["router"] for r in rows]
    fig, (speed, balance, moved) = plt.subplots(1, 3, figsize=(14, 4.2))
    speed.barh(names, [r["ns_per_key"] for r in rows], color="tab:blue")
    speed.set_xlabel("lookup, ns per key (lower is faster)")
    speed.invert_yaxis()
    balance.barh(names, [r["peak_to_mean"] - 1 for r in rows], color="tab:orange", left=1)
    balance.axvline(1, color="grey", linewidth=0.8)
    balance.set_xlabel("busiest node / mean (1 = perfect balance)")
    balance.invert_yaxis()
    y = np.arange(len(rows))
    moved.barh(y - 0.2, [r["moved_remove"] * 100 for r in rows], height=0.4, label="a middle node leaves")
    moved.barh(y + 0.2, [r["moved_add"] * 100 for r in rows], height=0.4, label="a node joins")
    moved.axvline(rows[0]["ideal_remove"] * 100, color="tab:blue", linestyle=":", label="ideal (leave)")
    moved.axvline(rows[0]["ideal_add"] * 100, color="tab:orange", linestyle=":", label="ideal (join)")
    moved.set_yticks(y, names)
    moved.set_xlabel("keys moved, %")
    moved.legend(fontsize="small", loc="lower right")
    moved.invert_yaxis()
    fig.suptitle(f"fastring compare: {num_nodes} nodes")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def make_router(kind: str, names: list[str], compat: str | None = None) -> Any:
    """The router of ``--router KIND [--compat MODE]`` over ``names``."""
    if compat and kind != "ring":
        raise CommandError("--compat goes with --router ring")
    if kind == "ring":
        from .ring import HashRing

        return HashRing(names, compat=compat)
    return _factories()[kind](names)


def add_router_arguments(parser: argparse.ArgumentParser) -> None:
    """``--router``, ``--compat`` and the node list."""
    parser.add_argument("--router", choices=ROUTE_CHOICES, default="ring", help="the router (default ring)")
    add_node_arguments(parser)
    parser.add_argument("--compat", choices=("ketama", "uhashring"), help="with --router ring: uhashring-exact mode")


def cmd_route(args: argparse.Namespace) -> int:
    router = make_router(args.router, read_nodes(args.nodes, args.nodes_file), args.compat)
    written = 0
    for first, lines in read_key_lines(args.file):
        keys: list[bytes] | list[str] = lines
        if args.compat:
            keys = [k.decode("utf-8", "surrogateescape") for k in lines]  # uhashring hashes str(key)
        try:
            indices = router.lookup_many(keys).tolist()
        except (TypeError, ValueError, OverflowError) as exc:
            # A whole batch is routed before any of it is written: the lines before
            # the bad one's batch are out, none after.
            raise batch_error(exc, first, len(keys), written) from None
        nodes = router.nodes
        if args.json:  # JSON Lines: one object per key, streamed
            dumps = json.dumps
            sys.stdout.write("".join(
                dumps({"key": k.decode("utf-8", "backslashreplace"), "node": nodes[i]}) + "\n"
                for k, i in zip(lines, indices)
            ))
        else:
            sys.stdout.write("".join(f"{nodes[i]}\n" for i in indices))
        written += len(indices)
    return 0


def register(commands: Any) -> None:
    compare = commands.add_parser(
        "compare",
        help="run every router on the same keys and compare them",
        description="Run every router on the same sample keys (user:<n>) and compare speed, balance, "
                    "disruption, build time and memory.",
        epilog=COLUMNS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    compare.add_argument("--nodes", type=int_in(2, 10**7), default=100, help="number of nodes (default 100)")
    compare.add_argument("--keys", type=int_in(1, 10**9), default=200_000, help="number of sample keys (default 200000)")
    compare.add_argument("--max-memory", type=float, default=4.0, metavar="GIB",
                         help="refuse runs estimated to need more memory than this (default 4 GiB)")
    compare.add_argument("--seed", type=int, default=0, help="seed of the sample key permutation")
    compare.add_argument("--progress", action="store_true", help="show progress (automatic for long runs)")
    compare.add_argument("--json", action="store_true", help="print the measurements as JSON instead of the table")
    compare.add_argument("--plot", metavar="FILE", help="also draw the comparison into FILE (PNG, SVG, PDF; needs matplotlib)")
    compare.set_defaults(run=cmd_compare)

    route = commands.add_parser(
        "route",
        help="print the node for each input line",
        description="Print the node for each input line. A key that cannot be routed stops the "
        "run with its line number; lines are routed in batches of about 1 MiB, and the batches "
        "before the one with the bad line have been written.",
    )
    route.add_argument("file", nargs="?", default="-", help="file of keys, one per line ('-' = stdin)")
    add_router_arguments(route)
    route.add_argument("--json", action="store_true", help='JSON Lines: {"key": ..., "node": ...} per line')
    route.set_defaults(run=cmd_route)
