"""``fastring simulate``: a discrete-event comparison of the online balancers.

Requests arrive as a Poisson stream at servers of different speeds; each server runs
``concurrency`` requests at a time and queues the rest (FIFO). Halfway through, one
server slows down. Every balancer sees the same arrivals, keys and amounts of work
(common random numbers), and runs as the real class with the simulation's clock, so
in-flight counts, latency tracking and bounded loads behave as in production.

The run is deterministic: the same arguments print the same table.
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import sys
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._cmdio import int_in, real_in, require_matplotlib
from .balance import (
    ConsistentBalancer,
    LeastConnections,
    PeakEWMA,
    PowerOfTwoChoices,
    RandomChoice,
    RoundRobin,
)

BALANCERS = ("round-robin", "random", "least-connections", "p2c", "peak-ewma", "consistent")
DEFAULT_SPEEDS = (2.0, 1.5, 1.0, 1.0, 0.75)


@dataclass(frozen=True)
class Scenario:
    """What is simulated. Times are in seconds."""

    speeds: tuple[float, ...] = DEFAULT_SPEEDS
    requests: int = 20_000
    load: float = 0.6  # arrival rate / total capacity before the slowdown
    concurrency: int = 4
    service: float = 0.010  # mean work of a request on a speed-1 server
    slow_server: int | None = 0
    slow_factor: float = 8.0
    slow_at: float = 0.5  # fraction of the arrivals after which the server slows
    keys: int = 1_000  # distinct keys (for the consistent balancer)
    seed: int = 1

    @property
    def capacity(self) -> float:
        """Requests per second all servers finish at full speed."""
        return sum(self.speeds) * self.concurrency / self.service

    @property
    def rate(self) -> float:
        return self.load * self.capacity


@dataclass
class Result:
    balancer: str
    latency: np.ndarray  # per request, in arrival order
    arrival: np.ndarray
    server: np.ndarray  # server index per request
    busy: np.ndarray  # worker-seconds per server
    end: float  # time of the last completion
    slow_time: float  # when the slowdown started (inf: never)
    concurrency: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def throughput(self) -> float:
        return len(self.latency) / (self.end - self.arrival[0]) if self.end > self.arrival[0] else math.nan

    @property
    def utilization(self) -> np.ndarray:
        return np.asarray(self.busy / (self.concurrency * (self.end - self.arrival[0])))

    @property
    def share(self) -> np.ndarray:
        return np.bincount(self.server, minlength=len(self.busy)) / len(self.server)

    def percentile(self, q: float, phase: str = "all") -> float:
        values = self.latency
        if phase == "before":
            values = values[self.arrival < self.slow_time]
        elif phase == "after":
            values = values[self.arrival >= self.slow_time]
        return float(np.percentile(values, q)) if len(values) else math.nan


def _hash_ring(names: list[str]) -> Any:
    try:
        from .ring import HashRing
    except ImportError:  # pragma: no cover - the ring module ships with fastring
        return None
    return HashRing(names)


def make_balancer(name: str, servers: list[str], clock: Any, seed: int) -> Any:
    """The balancer called ``name`` over ``servers``, on ``clock``, seeded with ``seed``."""
    health = {"clock": clock, "max_fails": 0}  # the simulated servers never fail
    if name == "round-robin":
        return RoundRobin(servers, **health)
    if name == "random":
        return RandomChoice(servers, rng=seed, **health)
    if name == "least-connections":
        return LeastConnections(servers, **health)
    if name == "p2c":
        return PowerOfTwoChoices(servers, rng=seed, **health)
    if name == "peak-ewma":
        return PeakEWMA(servers, rng=seed, **health)
    if name == "consistent":
        ring = _hash_ring(servers)
        if ring is None:
            raise ValueError("the consistent balancer needs fastring.ring.HashRing")
        return ConsistentBalancer(ring, load_factor=1.25, **health)
    raise ValueError(f"unknown balancer {name!r}; choose from {', '.join(BALANCERS)}")


def _workload(scenario: Scenario) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Arrival times, unit work (mean 1) and key ids: the same for every balancer."""
    rng = np.random.default_rng(scenario.seed)
    gaps = rng.exponential(1.0 / scenario.rate, scenario.requests)
    arrival = np.cumsum(gaps)
    work = rng.exponential(1.0, scenario.requests)
    keys = rng.integers(0, scenario.keys, scenario.requests)
    return arrival, work, keys


def simulate(scenario: Scenario, balancer: str) -> Result:
    """Run ``scenario`` through one balancer."""
    arrival, work, keys = _workload(scenario)
    n_servers = len(scenario.speeds)
    names = [f"s{j}" for j in range(n_servers)]
    slow_time = math.inf
    if scenario.slow_server is not None:
        slow_time = float(arrival[min(int(scenario.slow_at * scenario.requests), scenario.requests - 1)])
    now = [0.0]
    lb = make_balancer(balancer, names, lambda: now[0], scenario.seed)
    index = {name: j for j, name in enumerate(names)}
    key_names = [f"user:{k}" for k in range(scenario.keys)]

    free = [scenario.concurrency] * n_servers
    queues: list[deque[Any]] = [deque() for _ in range(n_servers)]
    busy = np.zeros(n_servers)
    done = np.empty(scenario.requests)
    server_of = np.empty(scenario.requests, dtype=np.int64)
    leases: list[Any] = [None] * scenario.requests
    events: list[tuple[float, int, int]] = []  # (completion time, request, server)

    def start(request: int, server: int) -> None:
        t = now[0]
        mean = scenario.service / scenario.speeds[server]
        if server == scenario.slow_server and t >= slow_time:
            mean *= scenario.slow_factor
        duration = work[request] * mean
        busy[server] += duration
        heapq.heappush(events, (t + duration, request, server))

    def complete(t: float, request: int, server: int) -> None:
        now[0] = t
        done[request] = t
        leases[request].release()
        leases[request] = None
        if queues[server]:
            start(queues[server].popleft(), server)
        else:
            free[server] += 1

    for request in range(scenario.requests):
        t = float(arrival[request])
        while events and events[0][0] <= t:
            complete(*heapq.heappop(events))
        now[0] = t
        lease = lb.acquire(key_names[keys[request]])
        server = index[lease.node]
        leases[request] = lease
        server_of[request] = server
        if free[server]:
            free[server] -= 1
            start(request, server)
        else:
            queues[server].append(request)
    while events:
        complete(*heapq.heappop(events))

    end = float(done.max())
    # Work started before `end` but the busy time is all inside [0, end].
    return Result(balancer, done - arrival, arrival, server_of, busy, end, slow_time, scenario.concurrency)


def format_table(scenario: Scenario, results: list[Result]) -> str:
    """The comparison as a plain-text table plus a verdict against round robin."""
    servers = len(scenario.speeds)
    lines = []
    slow = (
        f"s{scenario.slow_server} slows {scenario.slow_factor:g}x after {scenario.slow_at:.0%} of the requests"
        if scenario.slow_server is not None
        else "no slowdown"
    )
    lines.append(
        f"{scenario.requests} requests, Poisson at {scenario.rate:,.0f}/s ({scenario.load:.0%} of capacity), "
        f"{servers} servers x {scenario.concurrency} workers, speeds "
        + " ".join(f"s{j}={s:g}" for j, s in enumerate(scenario.speeds))
        + f", mean work {scenario.service * 1e3:g} ms at speed 1; {slow}; seed {scenario.seed}"
    )
    lines.append("")
    util_head = " ".join(f"{f's{j}':>4}" for j in range(servers))
    header = (
        f"{'balancer':<18} {'mean ms':>8} {'p50 ms':>8} {'p99 ms':>9} {'p99 before':>10} {'p99 after':>10} "
        f"{'req/s':>7}  utilization % {util_head}"
    )
    lines.append(header)
    lines.append("-" * len(header))
    def ms(seconds: float, width: int) -> str:
        return f"{seconds * 1e3:{width}.1f}" if math.isfinite(seconds) else f"{'-':>{width}}"

    for r in results:
        util = " ".join(f"{u * 100:4.0f}" for u in r.utilization)
        lines.append(
            f"{r.balancer:<18} {ms(r.latency.mean(), 8)} {ms(r.percentile(50), 8)} {ms(r.percentile(99), 9)} "
            f"{ms(r.percentile(99, 'before'), 10)} {ms(r.percentile(99, 'after'), 10)} "
            f"{r.throughput:7.0f}  {'':>13} {util}"
        )
    by_name = {r.balancer: r for r in results}
    rr = by_name.get("round-robin")
    if rr is not None:
        lines.append("")
        for r in results:
            if r.balancer == "round-robin":
                continue
            ratio_all = _ratio(rr.percentile(99), r.percentile(99))
            ratio_mean = _ratio(rr.latency.mean(), r.latency.mean())
            # Within 5% is a draw: the runs are finite samples.
            verdict = "beats" if ratio_all > 1.05 else "loses to" if ratio_all < 1 / 1.05 else "matches"
            lines.append(
                f"{r.balancer} {verdict} round-robin: p99 {r.percentile(99) * 1e3:.1f} vs "
                f"{rr.percentile(99) * 1e3:.1f} ms ({ratio_all:.2f}x), mean {ratio_mean:.2f}x"
            )
    return "\n".join(lines)


def plot(results: list[Result], path: str) -> None:
    """Latency over time and p99 per balancer, saved to ``path`` (needs matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_time, ax_bar) = plt.subplots(1, 2, figsize=(13, 4.8), gridspec_kw={"width_ratios": [2, 1]})
    for r in results:
        edges = np.linspace(r.arrival[0], r.arrival[-1], 61)
        which = np.clip(np.searchsorted(edges, r.arrival, side="right") - 1, 0, 59)
        p99 = [np.percentile(r.latency[which == b], 99) * 1e3 if np.any(which == b) else np.nan for b in range(60)]
        ax_time.plot((edges[:-1] + edges[1:]) / 2, p99, label=r.balancer)
    if results and math.isfinite(results[0].slow_time):
        ax_time.axvline(results[0].slow_time, color="grey", linestyle="--", label="slowdown")
    ax_time.set_yscale("log")
    ax_time.set_xlabel("time (s)")
    ax_time.set_ylabel("p99 latency per window (ms)")
    ax_time.legend(fontsize="small")
    names = [r.balancer for r in results]
    ax_bar.barh(names, [r.percentile(99) * 1e3 for r in results])
    ax_bar.set_xscale("log")
    ax_bar.set_xlabel("p99 latency, whole run (ms)")
    ax_bar.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


#: Speeds, loads, work and slow-downs outside these ranges make event times overflow
#: or underflow a double (and the table meaningless), so they are refused up front.
_SPEED = real_in(1e-6, 1e6)
_LOAD = real_in(1e-6, 1e3)
_SERVICE_MS = real_in(1e-6, 1e9)
_SLOW_FACTOR = real_in(1e-6, 1e6)


def _ratio(a: float, b: float) -> float:
    """a / b, where a zero latency (all work done instantly) compares as infinitely better."""
    if b > 0:
        return a / b
    return 1.0 if a == b else math.inf


def _speeds(text: str) -> tuple[float, ...]:
    try:
        return tuple(_SPEED(s) for s in text.split(","))
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(f"--servers takes comma-separated speeds, e.g. 2,1,1,0.5: {exc}") from None


COLUMNS = """\
columns:
  mean ms, p50 ms, p99 ms   latency of every request: time queued plus time worked
  p99 before, p99 after     p99 of the requests that arrived before / after the slowdown
  req/s                     requests completed per second
  utilization %             how busy each server's workers were (s0, s1, ...)
A balancer "beats" round-robin when its p99 is more than 5% lower (the runs are samples).
"""


def register(commands: Any) -> None:
    p = commands.add_parser(
        "simulate",
        help="compare the balancers in a deterministic discrete-event simulation",
        description=__doc__.split("\n\n")[1].replace("\n", " ").replace("``", ""),
        epilog=COLUMNS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--servers", type=_speeds, default=DEFAULT_SPEEDS, metavar="SPEEDS",
                   help="comma-separated server speeds (default %(default)s)".replace("%(default)s", ",".join(f"{s:g}" for s in DEFAULT_SPEEDS)))
    p.add_argument("--balancer", "-b", action="append", choices=BALANCERS, metavar="NAME",
                   help=f"balancer to run (repeatable; default all: {', '.join(BALANCERS)})")
    p.add_argument("--requests", "-n", type=int_in(1, 10**8), default=Scenario.requests, help="requests per balancer (default %(default)s)")
    p.add_argument("--load", type=_LOAD, default=Scenario.load, help="arrival rate / total capacity (default %(default)s)")
    p.add_argument("--concurrency", type=int_in(1, 10**6), default=Scenario.concurrency, help="workers per server (default %(default)s)")
    p.add_argument("--service-ms", type=_SERVICE_MS, default=Scenario.service * 1e3, help="mean work of a request at speed 1, in ms (default %(default)s)")
    p.add_argument("--slow-server", type=int, default=Scenario.slow_server,
                   help="index of the server that slows down; -1 for none (default %(default)s)")
    p.add_argument("--slow-factor", type=_SLOW_FACTOR, default=Scenario.slow_factor, help="how many times slower it gets (default %(default)s)")
    p.add_argument("--slow-at", type=float, default=Scenario.slow_at, help="fraction of the requests before the slowdown (default %(default)s)")
    p.add_argument("--seed", type=int, default=Scenario.seed, help="seed of arrivals, work, keys and balancers (default %(default)s)")
    p.add_argument("--plot", metavar="FILE", help="also draw the results into FILE (PNG, SVG, PDF; needs matplotlib)")
    p.add_argument("--json", action="store_true", help="print the results as JSON instead of the table")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.plot:
        require_matplotlib()
    slow = None if args.slow_server is not None and args.slow_server < 0 else args.slow_server
    if slow is not None and slow >= len(args.servers):
        raise ValueError(f"--slow-server {slow} does not exist: there are {len(args.servers)} servers")
    if not 0 <= args.slow_at <= 1:
        raise ValueError(f"--slow-at must be in [0, 1], got {args.slow_at}")
    scenario = Scenario(
        speeds=args.servers,
        requests=args.requests,
        load=args.load,
        concurrency=args.concurrency,
        service=args.service_ms / 1e3,
        slow_server=slow,
        slow_factor=args.slow_factor,
        slow_at=args.slow_at,
        seed=args.seed,
    )
    names = list(dict.fromkeys(args.balancer or BALANCERS))
    results = [simulate(scenario, name) for name in names]
    if args.json:
        json.dump(summary(scenario, results), sys.stdout, indent=2)
        print()
    else:
        print(format_table(scenario, results))
    if args.plot:
        plot(results, args.plot)
        print(f"wrote {args.plot}", file=sys.stderr if args.json else sys.stdout)
    return 0


def summary(scenario: Scenario, results: list[Result]) -> dict[str, Any]:
    """The table's numbers as JSON-ready values (milliseconds; None where undefined)."""

    def ms(seconds: float) -> float | None:
        return seconds * 1e3 if math.isfinite(seconds) else None

    return {
        "scenario": {"speeds": list(scenario.speeds), "requests": scenario.requests, "load": scenario.load,
                     "concurrency": scenario.concurrency, "service_ms": scenario.service * 1e3,
                     "slow_server": scenario.slow_server, "slow_factor": scenario.slow_factor,
                     "slow_at": scenario.slow_at, "seed": scenario.seed},
        "balancers": [
            {"balancer": r.balancer, "mean_ms": ms(float(r.latency.mean())), "p50_ms": ms(r.percentile(50)),
             "p99_ms": ms(r.percentile(99)), "p99_before_ms": ms(r.percentile(99, "before")),
             "p99_after_ms": ms(r.percentile(99, "after")), "requests_per_s": r.throughput,
             "utilization": r.utilization.tolist(), "share": r.share.tolist()}
            for r in results
        ],
    }
