"""KeyedExecutor on real worker processes and threads: key affinity and order, the
least-loaded choice, exceptions, shutdown, and a worker killed with SIGKILL."""

from __future__ import annotations

import functools
import operator
import os
import pickle
import signal
import threading
import time
from concurrent.futures import CancelledError, wait

import pytest

from fastring import HashRing, KeyedExecutor, Maglev, Rendezvous, WorkerLost

KINDS = ["process", "thread"]


# Task functions live at module level: worker processes import them by name.


def whoami(key, i):
    """(worker id, key, i, start time): the worker is the process, or the thread."""
    worker = os.getpid() if threading.current_thread() is threading.main_thread() else threading.get_ident()
    return worker, key, i, time.monotonic_ns()


def nap(seconds, value=None):
    time.sleep(seconds)
    return value


def nap_then_clock(seconds):
    """Sleep, then return the time it ended (ns, time.monotonic_ns)."""
    time.sleep(seconds)
    return time.monotonic_ns()


def nap_by_key(key):
    time.sleep(0.5 if key == "slow" else 0)
    return key


def fail(message):
    raise ValueError(message)


def write_pid_then_sleep(path, seconds):
    with open(path, "w") as f:
        f.write(str(os.getpid()))
    time.sleep(seconds)
    return os.getpid()


def wait_for_file(path, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path) and os.path.getsize(path):
            with open(path) as f:
                return int(f.read())
        time.sleep(0.01)
    raise AssertionError(f"{path} was not written")


class Unpicklable:
    def __reduce__(self):
        raise TypeError("not today")


def check_affinity_and_order(results, keys_of_task):
    """Every key ran on one worker, its tasks in submission order; keys on both workers."""
    workers, starts = {}, {}
    for (worker, key, i, start), expected_key in zip(results, keys_of_task):
        assert key == expected_key
        workers.setdefault(key, set()).add(worker)
        starts.setdefault(key, []).append((i, start))
    assert all(len(w) == 1 for w in workers.values()), workers
    for key, runs in starts.items():
        assert [s for _, s in runs] == sorted(s for _, s in runs), key  # in order
    used = {next(iter(w)) for w in workers.values()}
    assert len(used) == 2  # the keys spread over both workers
    return {key: next(iter(w)) for key, w in workers.items()}


@pytest.mark.parametrize("kind", KINDS)
def test_same_key_same_worker_in_order(twin, kind):
    """The issue's test: 2 workers, 200 tasks over 10 keys."""
    keys = [f"key-{i % 10}" for i in range(200)]
    with KeyedExecutor(2, kind=kind) as pool:
        futures = [pool.submit_keyed(k, whoami, k, i) for i, k in enumerate(keys)]
        results = [f.result(timeout=30) for f in futures]
        homes = check_affinity_and_order(results, keys)
    # Each key's worker is the default router's (Rendezvous) choice over the names.
    names = Rendezvous(["worker-0", "worker-1"])
    by_slot = {}
    for key, worker in homes.items():
        by_slot.setdefault(names.lookup(key), set()).add(worker)
    assert all(len(w) == 1 for w in by_slot.values()) and len(by_slot) == 2


@pytest.mark.parametrize("kind", KINDS)
def test_a_slow_key_does_not_run_twice_at_once(kind):
    """One at a time per key: a key's second task starts after its first ends."""
    with KeyedExecutor(2, kind=kind) as pool:
        first = pool.submit_keyed("k", nap_then_clock, 0.2)
        second = pool.submit_keyed("k", whoami, "k", 1)
        first_ended = first.result(timeout=30)
        # CLOCK_MONOTONIC is one clock for every process of the machine.
        assert second.result(timeout=30)[3] >= first_ended
        assert not first.running() and first.done()


@pytest.mark.parametrize("router", [HashRing, functools.partial(Maglev, table_size=251)])
def test_any_router_factory(router):
    keys = [f"key-{i % 10}" for i in range(100)]
    with KeyedExecutor(2, kind="thread", router=router) as pool:
        results = [f.result(timeout=30) for f in [pool.submit_keyed(k, whoami, k, i) for i, k in enumerate(keys)]]
        check_affinity_and_order(results, keys)
        assert {pool.worker_of(k) for k in keys} == set(pool.workers)
        assert all(pool.worker_of(k) == router(pool.workers).lookup(k) for k in keys)


@pytest.mark.parametrize("kind", KINDS)
def test_keyless_tasks_go_to_the_less_loaded_worker(kind):
    with KeyedExecutor(2, kind=kind, seed=1) as pool:
        # One worker is busy with a long task; keyless tasks, one at a time, avoid it.
        busy = pool.submit_keyed("busy", nap, 1.0)
        workers = {pool.submit(whoami, None, i).result(timeout=30)[0] for i in range(20)}
        assert not busy.done()  # all 20 ran elsewhere meanwhile
        assert len(workers) == 1
        busy.result(timeout=30)
        # A burst spreads: queued work counts, so both workers take some.
        blocker = pool.submit_keyed("busy", nap, 0.3)
        burst = [pool.submit(whoami, None, i) for i in range(40)]
        assert len({f.result(timeout=30)[0] for f in burst}) == 2
        blocker.result(timeout=30)


@pytest.mark.parametrize("kind", KINDS)
def test_map_and_map_keyed(kind):
    with KeyedExecutor(2, kind=kind) as pool:
        assert list(pool.map(operator.neg, range(50))) == [-i for i in range(50)]
        assert list(pool.map_keyed(operator.add, ["a", "b", "c"], ["1", "2", "3"])) == ["a1", "b2", "c3"]
        assert list(pool.map_keyed(str.upper, [])) == []
        slow = pool.map_keyed(nap_by_key, ["slow", "fast"], timeout=0.05)
        with pytest.raises(TimeoutError):
            list(slow)


@pytest.mark.parametrize("kind", KINDS)
def test_exceptions_reach_their_futures(kind):
    with KeyedExecutor(2, kind=kind) as pool:
        future = pool.submit_keyed("k", fail, "boom")
        with pytest.raises(ValueError, match="boom"):
            future.result(timeout=30)
        if kind == "process":
            assert "fail" in str(future.exception().__cause__)  # the worker's traceback
        assert pool.submit_keyed("k", operator.neg, 3).result(timeout=30) == -3  # the key goes on


def test_unpicklable_results_and_exceptions_are_errors_not_hangs():
    with KeyedExecutor(1) as pool:
        with pytest.raises(RuntimeError, match="cannot be pickled"):
            pool.submit(Unpicklable).result(timeout=30)
        assert pool.submit(operator.neg, 1).result(timeout=30) == -1


def test_unpicklable_task_is_refused_at_submit():
    with KeyedExecutor(1) as pool:
        with pytest.raises(TypeError, match="cannot be sent to a worker process.*kind='thread'"):
            pool.submit(lambda: 1)
        with pytest.raises(TypeError, match="cannot be sent"):
            pool.submit_keyed("k", operator.neg, Unpicklable())
        assert pool.submit_keyed("k", operator.neg, 2).result(timeout=30) == -2
    with KeyedExecutor(1, kind="thread") as pool:
        assert pool.submit(lambda: 1).result(timeout=30) == 1  # threads need no pickling


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("key, error", [(1.5, TypeError), (None, TypeError), (-(2**63) - 1, OverflowError),
                                        (object(), TypeError)])
def test_a_key_that_cannot_be_routed(kind, key, error):
    with KeyedExecutor(1, kind=kind) as pool:
        with pytest.raises(error):
            pool.submit_keyed(key, operator.neg, 1)
        assert pool._homes == {} and all(not s.tasks for s in pool._slots)  # nothing left behind
        assert pool.submit_keyed(b"ok", operator.neg, 1).result(timeout=30) == -1
        assert pool.submit_keyed(bytearray(b"ok"), operator.neg, 1).result(timeout=30) == -1


@pytest.mark.parametrize("kind", KINDS)
def test_a_look_alike_of_a_busy_key_is_still_checked(kind):
    """A key with unfinished tasks skips the router; a float or bool equal to it must
    not ride along (1.0 == 1), and an unhashable non-key is refused too."""
    with KeyedExecutor(1, kind=kind) as pool:
        busy = pool.submit_keyed(1, nap, 0.3)
        with pytest.raises(TypeError, match="float"):
            pool.submit_keyed(1.0, operator.neg, 1)
        with pytest.raises(TypeError, match="list"):
            pool.submit_keyed([1, 2], operator.neg, 1)
        with pytest.raises(TypeError, match="dict"):
            pool.submit_keyed({}, operator.neg, 1)
        assert pool.submit_keyed(True, operator.neg, 1).result(timeout=30) == -1  # bool is an int key
        busy.result(timeout=30)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"kind": "fiber"}, ValueError, "kind must be"),
        ({"max_workers": 0}, ValueError, "max_workers"),
        ({"max_workers": 2.0}, TypeError, "max_workers"),
        ({"retries": -1}, ValueError, "retries"),
        ({"router": "rendezvous"}, TypeError, "router must be a callable"),
        ({"router": lambda names: names}, TypeError, "has no lookup"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        KeyedExecutor(**{"max_workers": 1, "kind": "thread", **kwargs})


def test_submit_checks_fn():
    with KeyedExecutor(1, kind="thread") as pool:
        with pytest.raises(TypeError, match="fn must be callable"):
            pool.submit(42)


@pytest.mark.parametrize("kind", KINDS)
def test_shutdown(kind):
    pool = KeyedExecutor(1, kind=kind)
    running = pool.submit(nap, 0.3, "ran")
    queued = [pool.submit(operator.neg, i) for i in range(5)]
    pool.shutdown(wait=True)
    assert running.result() == "ran" and [f.result() for f in queued] == [0, -1, -2, -3, -4]
    with pytest.raises(RuntimeError, match="after shutdown"):
        pool.submit(operator.neg, 1)
    pool.shutdown()  # again: nothing to do

    pool = KeyedExecutor(1, kind=kind)
    running = pool.submit(nap, 0.3, "ran")
    time.sleep(0.1)
    queued = [pool.submit_keyed("k", operator.neg, i) for i in range(5)]
    pool.shutdown(wait=True, cancel_futures=True)
    assert running.result() == "ran"
    assert all(f.cancelled() for f in queued)
    with pytest.raises(CancelledError):
        queued[0].result()
    assert pool._homes == {}


@pytest.mark.parametrize("kind", KINDS)
def test_shutdown_without_wait_still_runs_everything(kind):
    pool = KeyedExecutor(2, kind=kind)
    futures = [pool.submit_keyed(i % 3, operator.neg, i) for i in range(30)]
    pool.shutdown(wait=False)
    assert [f.result(timeout=30) for f in futures] == [-i for i in range(30)]


def test_a_cancelled_task_does_not_run():
    with KeyedExecutor(1, kind="thread") as pool:
        blocker = pool.submit(nap, 0.2)
        victim = pool.submit_keyed("k", fail, "must not run")
        assert victim.cancel()
        after = pool.submit_keyed("k", operator.neg, 5)
        assert after.result(timeout=30) == -5 and victim.cancelled()
        blocker.result(timeout=30)


def test_the_executor_does_not_pickle():
    with KeyedExecutor(1, kind="thread") as pool:
        with pytest.raises(TypeError, match="cannot be pickled"):
            pickle.dumps(pool)
        assert "1 thread workers, running" in repr(pool)


# --------------------------------------------------------------------------- killed workers


def test_sigkill_mid_run_every_future_resolves(tmp_path):
    """The issue's test: kill a worker mid-run; at most its running task is lost, the
    rest run (in order per key), only the dead worker's keys move, and it is replaced."""
    keys = [f"key-{i % 10}" for i in range(200)]
    with KeyedExecutor(2) as pool:
        futures = [pool.submit_keyed(k, nap, 0.005, (k, i)) for i, k in enumerate(keys)]
        victim_slot = pool._slots[0]
        victim = victim_slot.process.pid
        survivor = pool._slots[1].process.pid
        homes_before = {k: pool.worker_of(k) for k in set(keys)}
        time.sleep(0.25)  # some done, some running, most queued
        os.kill(victim, signal.SIGKILL)
        done, pending = wait(futures, timeout=60)
        assert not pending
        lost = [f for f in futures if f.exception() is not None]
        assert len(lost) <= 1
        for f in lost:
            error = f.exception()
            assert isinstance(error, WorkerLost) and error.worker == "worker-0" and error.exitcode == -signal.SIGKILL
        assert all(f.result() == (k, i) for i, (k, f) in enumerate(zip(keys, futures)) if f not in lost)
        # A replacement runs in the slot; the survivor was never touched.
        assert victim_slot.alive and victim_slot.process.pid != victim
        assert pool._slots[1].process.pid == survivor
        after = [pool.submit_keyed(k, whoami, k, i) for i, k in enumerate(sorted(set(keys)))]
        ran_on = {r[1]: r[0] for r in (f.result(timeout=30) for f in after)}
        for key, slot in homes_before.items():
            if slot == "worker-1":
                assert ran_on[key] == survivor  # its keys stayed
            else:
                assert ran_on[key] == victim_slot.process.pid  # back to the replacement


def test_the_running_task_fails_with_worker_lost(tmp_path):
    marker = tmp_path / "pid"
    with KeyedExecutor(2) as pool:
        doomed = pool.submit_keyed("k", write_pid_then_sleep, str(marker), 30)
        later = [pool.submit_keyed("k", whoami, "k", i) for i in range(5)]
        pid = wait_for_file(marker)
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(WorkerLost, match="died .*exit code -9"):
            doomed.result(timeout=30)
        results = [f.result(timeout=30) for f in later]  # moved to the survivor, in order
        assert len({r[0] for r in results}) == 1 and results[0][0] != pid
        assert [r[3] for r in results] == sorted(r[3] for r in results)


def test_retries_run_the_task_again(tmp_path):
    marker = tmp_path / "pid"
    with KeyedExecutor(2, retries=1) as pool:
        task = pool.submit_keyed("k", write_pid_then_sleep, str(marker), 0.5)
        first = wait_for_file(marker)
        marker.unlink()
        os.kill(first, signal.SIGKILL)
        assert task.result(timeout=30) not in (first, None)  # ran again, elsewhere
        marker.unlink()

        # retries are per task: killed twice, it is lost.
        task = pool.submit_keyed("k", write_pid_then_sleep, str(marker), 30)
        for _ in range(2):
            pid = wait_for_file(marker)
            marker.unlink()
            os.kill(pid, signal.SIGKILL)
        with pytest.raises(WorkerLost):
            task.result(timeout=30)


def test_a_task_that_kills_its_worker_every_time_does_not_loop_forever():
    with KeyedExecutor(1, retries=2) as pool:
        with pytest.raises(WorkerLost):
            pool.submit(os._exit, 3).result(timeout=60)
        assert pool.submit(operator.neg, 1).result(timeout=30) == -1


def test_workers_that_cannot_start_break_the_pool_with_clear_errors():
    class Broken:
        """A context whose processes exit at once, before they say they are ready."""

        def Process(self, target, args, name, daemon):  # noqa: N802 - the context API
            import multiprocessing

            return multiprocessing.get_context("spawn").Process(target=os._exit, args=(7,), daemon=True)

    pool = KeyedExecutor(1, mp_context=Broken())
    queued = pool.submit_keyed("k", operator.neg, 1)  # before the pool knows
    with pytest.raises(WorkerLost, match="broken"):
        queued.result(timeout=30)
    deadline = time.monotonic() + 30
    while pool._broken is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pool._broken is not None and "exit code 7" in pool._broken
    with pytest.raises(RuntimeError, match="broken"):
        pool.submit(operator.neg, 1)
    pool.shutdown()
