"""Running a GIL-free batch kernel over consecutive slices in threads.

One owner for ``threads=``: its check, the smallest slice worth a thread, and the
pool. Every kernel given to :func:`run_sliced` must release the GIL, or the threads
only take turns.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

__all__ = ["MIN_KEYS_PER_THREAD", "SMALL_BATCH", "check_threads", "slices", "run_sliced"]

#: Below this many keys per thread, starting threads costs more than it saves.
MIN_KEYS_PER_THREAD = 50_000

#: Lists up to this long are routed a key at a time: setting up a batch (container
#: checks, a key batch, a hash array) costs more than the keys themselves. (Measured
#: crossover: ~300 str keys on a 100-node HashRing, beyond 800 on Maglev.)
SMALL_BATCH = 256


def check_threads(threads: Any) -> int:
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise ValueError(f"threads must be a positive int, got {threads!r}")
    return int(threads)


def slices(n: int, threads: int) -> list[tuple[int, int]]:
    """At most ``threads`` consecutive (start, stop) covering ``range(n)``, each of at
    least :data:`MIN_KEYS_PER_THREAD` keys (one slice when ``n`` is small)."""
    parts = max(1, min(threads, n // MIN_KEYS_PER_THREAD))
    bounds = [n * i // parts for i in range(parts + 1)]
    return list(zip(bounds[:-1], bounds[1:]))


def run_sliced(n: int, threads: int, work: Callable[[int, int], None]) -> None:
    """``work(start, stop)`` for each slice of ``range(n)``, in parallel when there is
    more than one; the first exception (in slice order) is raised after all finish."""
    if threads < 2 or n < 2 * MIN_KEYS_PER_THREAD:  # one slice: no pool, no planning
        work(0, n)
        return
    pieces = slices(n, threads)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(pieces)) as pool:
        futures = [pool.submit(work, a, b) for a, b in pieces]
    for future in futures:
        future.result()
