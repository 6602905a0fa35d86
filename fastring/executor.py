"""``KeyedExecutor``: a process or thread pool where tasks with the same key run on the
same worker, one at a time, in the order they were submitted.

How it works (one owner per piece):

- Every worker is a *slot* named ``worker-0`` ... ``worker-{n-1}``. A router over the
  live slot names (a fastring router, :class:`~fastring.Rendezvous` by default) maps a
  key to its slot, so different keys spread over the workers and each worker keeps its
  own keys (warm per-key caches).
- Each slot runs its tasks in order. A key whose tasks are still unfinished stays on the
  slot that has them (``_homes``), so a key never runs on two workers at once, even
  while the slots change.
- A keyless task goes to the less loaded of two random slots (power of two choices on
  the number of unfinished tasks).
- A process worker reads tasks from its own pipe, fed by its own thread (a send never
  blocks the caller), and writes results back in order; one thread in the parent reads
  every result and watches every process. When a process dies, its results already
  written are read first; then its first unfinished task is the one it was running: it
  fails with :class:`WorkerLost` (or is run again, ``retries`` times); the rest move, in
  order, to the surviving workers (only the dead slot's keys move), and a replacement
  process is started in the slot. No future is left pending.

Guarantees: a task whose worker died runs at most once, unless ``retries`` is set
(then at least once, at most ``retries + 1`` times); every future resolves (a result,
the task's exception, :class:`WorkerLost`, or cancelled).
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import pickle
import queue
import random
import struct
import threading
import traceback
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future
from multiprocessing.connection import Connection, wait
from typing import Any, ParamSpec, TypeVar

from ._keycontract_py import key_type_error
from ._params import check_int


__all__ = ["KeyedExecutor", "WorkerLost"]

T = TypeVar("T")
P = ParamSpec("P")

_HEADER = struct.Struct("<Q")  # every message starts with its task id
_READY = b"ready"  # a process worker's first message
_STOP = b""  # tells a process worker to exit
#: A replacement that dies before it is ready this many times in a row breaks the pool.
_MAX_FAILED_STARTS = 3


class WorkerLost(RuntimeError):
    """The worker running a task died (a process killed or crashed) before the task
    finished. The task ran at most once; pass ``retries=`` to run it again instead.

    Attributes
    ----------
    worker : str or None
        The slot name (``"worker-0"`` ...).
    exitcode : int or None
        The process's exit code (negative: killed by that signal), when known.

    Examples
    --------
    A future whose worker was killed (``kill -9``) raises one like this:

    >>> from fastring import WorkerLost
    >>> error = WorkerLost("the worker process worker-1 died (exit code -9)", "worker-1", -9)
    >>> isinstance(error, RuntimeError), error.worker, error.exitcode
    (True, 'worker-1', -9)
    """

    def __init__(self, message: str, worker: str | None = None, exitcode: int | None = None) -> None:
        super().__init__(message)
        self.worker = worker
        self.exitcode = exitcode


class _RemoteTraceback(Exception):
    """The traceback of an exception raised in a worker process (its ``__cause__``)."""

    def __init__(self, tb: str) -> None:
        super().__init__(tb)
        self.tb = tb

    def __str__(self) -> str:
        return self.tb


# --------------------------------------------------------------------------- tasks


class _Task:
    __slots__ = ("id", "future", "fn", "args", "kwargs", "key", "identity", "payload", "tries", "sent")

    def __init__(
        self, task_id: int, future: Future[Any], fn: Callable[..., Any], args: tuple[Any, ...],
        kwargs: dict[str, Any], key: Any, identity: Any, payload: bytes | None, tries: int,
    ) -> None:
        self.id = task_id
        self.future = future
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.key = key  # what the router routes
        self.identity = identity  # the key in _homes, or _KEYLESS
        self.payload = payload  # the pickled task (process workers)
        self.tries = tries  # runs left after this one if its worker dies
        self.sent = False  # in the current process's pipe (it is running or will run)


_KEYLESS = object()  # the identity of a task without a key


def _key_identity(key: Any) -> Any:
    """A hashable stand-in for ``key`` in the table of keys with unfinished tasks.

    The type is part of it: a key found there skips the router, so ``1.0`` must not
    pass as the home of ``1`` (a float is no key; the router refuses it when it first
    routes it). An unhashable key (bytearray, memoryview) stands as its bytes."""
    try:
        hash(key)
    except TypeError:
        pass
    else:
        return (type(key), key)
    try:
        return (type(key), bytes(key))
    except (TypeError, ValueError):
        raise key_type_error(None, key) from None


# --------------------------------------------------------------------------- workers


def _process_worker(conn: Connection) -> None:
    """A process worker's loop: run each task it is sent, in order; send back results."""
    conn.send_bytes(_READY)
    loads, dumps = pickle.loads, pickle.dumps
    while True:
        try:
            message = conn.recv_bytes()
        except (EOFError, OSError):
            return
        if message == _STOP:
            return
        task_id = message[:8]
        try:
            fn, args, kwargs = loads(message[8:])
            result = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - the task's exception is its result
            reply = _pickled_error(exc)
        else:
            try:
                reply = dumps((True, result), pickle.HIGHEST_PROTOCOL)
            except Exception as exc:  # noqa: BLE001 - pickling raises many types
                reply = _pickled_error(RuntimeError(
                    f"the task's result, a {type(result).__name__}, cannot be pickled: {exc!r}"
                ))
            del result
        try:
            conn.send_bytes(task_id + reply)
        except (EOFError, OSError):
            return


def _pickled_error(exc: BaseException) -> bytes:
    """``exc`` for the parent, with the worker's traceback as its cause; a stand-in
    RuntimeError if ``exc`` itself cannot be pickled."""
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    try:
        return pickle.dumps((False, exc, tb), pickle.HIGHEST_PROTOCOL)
    except Exception:  # noqa: BLE001
        stand_in = RuntimeError(f"the task raised {type(exc).__name__}, which cannot be pickled: {exc!r}")
        return pickle.dumps((False, stand_in, tb), pickle.HIGHEST_PROTOCOL)


class _Slot:
    """One worker position: its worker, and its unfinished tasks in order (the first
    one sent to a process is the one it is running)."""

    __slots__ = ("name", "tasks", "process", "conn", "feed", "thread", "ready", "alive", "closed")

    def __init__(self, name: str) -> None:
        self.name = name
        self.tasks: OrderedDict[int, _Task] = OrderedDict()
        self.process: Any = None
        self.conn: Connection | None = None
        self.feed: queue.SimpleQueue[_Task | None] = queue.SimpleQueue()
        self.thread: threading.Thread | None = None  # the worker thread, or the feeder
        self.ready = False  # the process has said it runs
        self.alive = True
        self.closed = False  # told to stop (at shutdown, once it has no tasks)


def _default_context() -> Any:
    # forkserver where there is one: fork is unsafe in a process with threads (and
    # deprecated there since Python 3.12); spawn elsewhere.
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


# --------------------------------------------------------------------------- the executor


class KeyedExecutor(Executor):
    """A ``concurrent.futures.Executor`` whose tasks can carry a key: tasks with the
    same key run on the same worker, one at a time, in submission order.

    Parameters
    ----------
    max_workers : int, optional
        Number of workers (default: ``os.cpu_count()``; for threads that plus 4, at
        most 32, as ``ThreadPoolExecutor``).
    kind : {"process", "thread"}
        Worker processes (tasks and results are pickled; a dead process is replaced)
        or threads.
    router : callable, optional
        Makes the router from a list of worker names, e.g. :class:`fastring.Rendezvous`
        (the default), :class:`fastring.HashRing`, or
        ``functools.partial(fastring.Maglev, table_size=251)``. It is called again with
        the live names when a worker dies and with all names when it is replaced; a
        consistent-hashing router moves only the dead worker's keys.
    retries : int
        Times a task is run again when its worker process dies while running it
        (default 0: the task fails with :class:`WorkerLost`).
    mp_context : multiprocessing context, optional
        For ``kind="process"`` (default: ``forkserver`` where available, else ``spawn``).
    seed : int, optional
        Seeds the random choices of keyless tasks (for reproducible placement).

    Examples
    --------
    >>> from operator import add
    >>> from fastring import KeyedExecutor
    >>> with KeyedExecutor(2, kind="thread") as pool:
    ...     futures = [pool.submit_keyed(f"user:{i % 3}", add, i, 1) for i in range(6)]
    ...     [f.result() for f in futures]
    [1, 2, 3, 4, 5, 6]
    >>> with KeyedExecutor(2, kind="thread") as pool:
    ...     list(pool.map_keyed(str.upper, ["a", "b", "c"]))
    ['A', 'B', 'C']
    """

    def __init__(
        self,
        max_workers: int | None = None,
        *,
        kind: str = "process",
        router: Callable[[list[str]], Any] | None = None,
        retries: int = 0,
        mp_context: Any = None,
        seed: int | None = None,
    ) -> None:
        if kind not in ("process", "thread"):
            raise ValueError(f"kind must be 'process' or 'thread', got {kind!r}")
        if max_workers is None:
            max_workers = os.cpu_count() or 1
            if kind == "thread":
                max_workers = min(32, max_workers + 4)
        self._n = check_int(max_workers, "max_workers", 1, 1024)
        self._retries = check_int(retries, "retries", 0, 1000)
        if router is None:
            from .routers import Rendezvous

            router = Rendezvous
        if not callable(router):
            raise TypeError(
                f"router must be a callable that makes a router from worker names (e.g. fastring.Rendezvous), "
                f"got {type(router).__name__}"
            )
        self._kind = kind
        self._make_router = router
        self._context = (mp_context or _default_context()) if kind == "process" else None
        self._random = random.Random(seed)
        self._ids = itertools.count()
        # Never held while a future resolves: a done callback may submit.
        self._lock = threading.Lock()
        self._slots = [_Slot(f"worker-{i}") for i in range(self._n)]
        self._where = {slot.name: slot for slot in self._slots}
        self._homes: dict[Any, list[Any]] = {}  # key identity -> [slot, its unfinished tasks]
        self._shutdown = False
        self._broken: str | None = None
        self._failed_starts = 0
        self._router = self._routed([s.name for s in self._slots])
        self._open = list(self._slots)
        self._wakeup_r: Connection | None = None
        self._wakeup_w: Connection | None = None
        self._reader: threading.Thread | None = None
        if kind == "process":
            self._wakeup_r, self._wakeup_w = multiprocessing.Pipe(duplex=False)
            for slot in self._slots:
                self._start_process(slot)
            self._reader = threading.Thread(target=self._read_results, name="KeyedExecutor-reader", daemon=True)
            self._reader.start()
        else:
            for slot in self._slots:
                slot.thread = threading.Thread(
                    target=self._thread_worker, args=(slot,), name=f"KeyedExecutor-{slot.name}", daemon=True
                )
                slot.thread.start()

    def _routed(self, names: list[str]) -> Any:
        router = self._make_router(names)
        if not hasattr(router, "lookup"):
            raise TypeError(f"router({names!r}) made a {type(router).__name__}, which has no lookup(key)")
        return router

    @property
    def workers(self) -> list[str]:
        """The worker (slot) names."""
        return [slot.name for slot in self._slots]

    def worker_of(self, key: Any) -> str:
        """The worker ``key``'s tasks run on now (its current home, else its route).

        Examples
        --------
        >>> from fastring import KeyedExecutor, Rendezvous
        >>> with KeyedExecutor(3, kind="thread") as pool:
        ...     pool.worker_of("user:1") == Rendezvous(pool.workers).lookup("user:1")
        True
        """
        with self._lock:
            home = self._homes.get(_key_identity(key))
            name: str = home[0].name if home is not None else self._router.lookup(key)
            return name

    # ------------------------------------------------------------------ submitting

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """Run ``fn(*args, **kwargs)`` on the less loaded of two random workers.

        Examples
        --------
        >>> from operator import neg
        >>> from fastring import KeyedExecutor
        >>> with KeyedExecutor(2, kind="thread") as pool:
        ...     pool.submit(neg, 5).result()
        -5
        """
        return self._submit(None, _KEYLESS, fn, args, kwargs)

    def submit_keyed(self, key: Any, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        """Run ``fn(*args, **kwargs)`` on ``key``'s worker, after every task submitted
        earlier with the same key (``key``: any key the router takes: str, bytes, int).

        Raises
        ------
        TypeError, ValueError, OverflowError
            ``key`` is not a key (the router's key contract), or the task cannot be
            pickled for a worker process.
        RuntimeError
            After :meth:`shutdown`, or when the pool is broken.

        Examples
        --------
        >>> from operator import neg
        >>> from fastring import KeyedExecutor
        >>> log = []
        >>> with KeyedExecutor(2, kind="thread") as pool:
        ...     for i in range(4):
        ...         _ = pool.submit_keyed("account:7", log.append, i)   # one at a time, in order
        >>> log
        [0, 1, 2, 3]
        """
        return self._submit(key, _key_identity(key), fn, args, kwargs)

    def _submit(
        self, key: Any, identity: Any, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Future[Any]:
        if not callable(fn):
            raise TypeError(f"fn must be callable, got {type(fn).__name__}")
        payload = None
        if self._kind == "process":
            try:
                payload = pickle.dumps((fn, args, kwargs), pickle.HIGHEST_PROTOCOL)
            except Exception as exc:  # noqa: BLE001 - pickling raises many types
                name = getattr(fn, "__qualname__", type(fn).__name__)
                raise TypeError(
                    f"the task {name} cannot be sent to a worker process ({type(exc).__name__}: {exc}); "
                    "use a module-level function and picklable arguments, or kind='thread'"
                ) from exc
        future: Future[Any] = Future()
        task = _Task(next(self._ids), future, fn, args, kwargs, key, identity, payload, self._retries)
        with self._lock:
            if self._broken is not None:
                raise RuntimeError(f"the KeyedExecutor is broken: {self._broken}")
            if self._shutdown:
                raise RuntimeError("cannot submit after shutdown")
            self._place(task)
        return future

    def _open_slots(self) -> list[_Slot]:
        """The slots that take tasks; kept in ``_open`` (under the lock)."""
        self._open = [s for s in self._slots if s.alive and not s.closed]
        return self._open

    def _place(self, task: _Task) -> None:
        """Queue ``task`` on a slot (under the lock): its key's home, else the router's
        choice; a keyless task on the less loaded of two random slots."""
        if task.identity is _KEYLESS:
            open_slots = self._open
            n = len(open_slots)
            if n == 1:
                slot = open_slots[0]
            else:
                draw = self._random.random
                i = int(draw() * n)
                j = int(draw() * (n - 1))
                a, b = open_slots[i], open_slots[j + (j >= i)]
                slot = a if len(a.tasks) <= len(b.tasks) else b
        else:
            home = self._homes.get(task.identity)
            if home is None:
                slot = self._where[self._router.lookup(task.key)]  # raises for a bad key
                self._homes[task.identity] = home = [slot, 0]
            slot = home[0]
            home[1] += 1
        slot.tasks[task.id] = task
        slot.feed.put(task)

    def map(
        self, fn: Callable[..., T], *iterables: Iterable[Any], timeout: float | None = None, chunksize: int = 1
    ) -> Iterator[T]:
        """``map(fn, *iterables)`` on the workers as keyless tasks, results in order (as
        ``concurrent.futures.Executor.map``; ``chunksize`` is accepted and ignored).

        Examples
        --------
        >>> from operator import neg
        >>> from fastring import KeyedExecutor
        >>> with KeyedExecutor(2, kind="thread") as pool:
        ...     list(pool.map(neg, [1, 2, 3]))
        [-1, -2, -3]
        """
        return super().map(fn, *iterables, timeout=timeout, chunksize=chunksize)

    def map_keyed(
        self, fn: Callable[..., T], keys: Iterable[Any], *iterables: Iterable[Any], timeout: float | None = None
    ) -> Iterator[T]:
        """``map(fn, keys, *iterables)``, each call routed by its key (the first
        argument): results in the order of the keys, as :meth:`map` gives them.

        Examples
        --------
        >>> from fastring import KeyedExecutor
        >>> with KeyedExecutor(2, kind="thread") as pool:
        ...     list(pool.map_keyed(lambda key, n: f"{key}x{n}", ["a", "b"], [1, 2]))
        ['ax1', 'bx2']
        """
        futures = [self.submit_keyed(key, fn, key, *items) for key, *items in zip(keys, *iterables)]
        return _results(futures, timeout)

    # ------------------------------------------------------------------ finishing

    def _finished(self, slot: _Slot, task: _Task) -> None:
        """Forget a finished or cancelled task (under the lock)."""
        del slot.tasks[task.id]
        if task.identity is not _KEYLESS:
            home = self._homes[task.identity]
            home[1] -= 1
            if home[1] == 0:
                del self._homes[task.identity]
        if self._shutdown and not slot.tasks and not slot.closed:
            self._close(slot)

    def _close(self, slot: _Slot) -> None:
        """At shutdown, once a slot has no tasks: its worker exits."""
        slot.closed = True
        slot.feed.put(None)
        self._open_slots()

    def _start(self, slot: _Slot, task: _Task) -> bool:
        """Mark ``task`` running (under the lock); False if it was cancelled (then it
        is forgotten). A task moved from a dead worker is running already."""
        future = task.future
        if future.running() or future.set_running_or_notify_cancel():
            return True
        self._finished(slot, task)
        return False

    def _thread_worker(self, slot: _Slot) -> None:
        while True:
            task = slot.feed.get()
            if task is None:
                return
            # Marking it running needs no lock; forgetting a cancelled one does.
            if task.future.set_running_or_notify_cancel():
                try:
                    result = task.fn(*task.args, **task.kwargs)
                except BaseException as exc:  # noqa: BLE001 - as ThreadPoolExecutor
                    with self._lock:
                        self._finished(slot, task)
                    task.future.set_exception(exc)
                else:
                    with self._lock:
                        self._finished(slot, task)
                    task.future.set_result(result)
            else:
                with self._lock:
                    self._finished(slot, task)
            del task  # no reference kept while waiting for the next

    # ------------------------------------------------------------------ processes

    def _start_process(self, slot: _Slot) -> None:
        """A new process in ``slot`` (under the lock, or before the reader runs)."""
        assert self._context is not None
        parent, child = multiprocessing.Pipe()
        process = self._context.Process(
            target=_process_worker, args=(child,), name=f"KeyedExecutor-{slot.name}", daemon=True
        )
        process.start()
        child.close()
        slot.process, slot.conn, slot.ready, slot.alive = process, parent, False, True
        feed: queue.SimpleQueue[_Task | None] = queue.SimpleQueue()
        slot.feed = feed
        slot.thread = threading.Thread(
            target=self._feed, args=(slot, feed, parent), name=f"KeyedExecutor-feed-{slot.name}", daemon=True
        )
        slot.thread.start()
        if self._wakeup_w is not None:
            self._wakeup_w.send_bytes(b"x")  # the reader watches the new process

    def _feed(self, slot: _Slot, feed: queue.SimpleQueue[_Task | None], conn: Connection) -> None:
        """Send the slot's tasks to its process in order. Only this thread blocks on a
        full pipe: submitting never does, and the reader never writes."""
        header = _HEADER.pack
        while True:
            task = feed.get()
            if task is None:
                try:
                    conn.send_bytes(_STOP)
                except OSError:
                    pass
                return
            with self._lock:
                if feed is not slot.feed:  # the process died: its tasks were moved
                    return
                if not self._start(slot, task):
                    continue
                task.sent = True
            payload = task.payload
            assert payload is not None
            try:
                conn.send_bytes(header(task.id) + payload)
            except OSError:
                return  # the process died; the reader moves its tasks
            del task

    def _read_results(self) -> None:
        """The parent's one reader: every process's results, and their exits."""
        wakeup = self._wakeup_r
        assert wakeup is not None
        while True:
            with self._lock:
                live = [slot for slot in self._slots if slot.alive]
                if not live:
                    return  # every worker exited (shutdown) or the pool is broken
                conns = {slot.conn: slot for slot in live if slot.conn is not None}
                sentinels = {slot.process.sentinel: slot for slot in live}
            for item in wait([wakeup, *conns, *sentinels]):
                if item is wakeup:
                    wakeup.recv_bytes()
                elif item in conns:
                    self._drain(conns[item])
                else:
                    slot = sentinels[item]
                    self._drain(slot)
                    self._exited(slot)

    def _drain(self, slot: _Slot) -> None:
        """Read every message the slot's process has written (its results come
        before its death is handled)."""
        conn = slot.conn
        if conn is None or not slot.alive:
            return
        try:
            while conn.poll():
                message = conn.recv_bytes()
                if message == _READY:
                    slot.ready = True
                    with self._lock:
                        self._failed_starts = 0
                else:
                    self._resolve(slot, _HEADER.unpack_from(message)[0], message[8:])
        except (EOFError, OSError):
            self._exited(slot)

    def _resolve(self, slot: _Slot, task_id: int, body: bytes) -> None:
        with self._lock:
            task = slot.tasks.get(task_id)
            if task is None:  # pragma: no cover - never sent by this slot
                return
            self._finished(slot, task)
        future = task.future
        try:
            reply = pickle.loads(body)
        except Exception as exc:  # noqa: BLE001 - e.g. a result class the parent lacks
            future.set_exception(RuntimeError(f"the task's result cannot be unpickled: {exc!r}"))
            return
        if reply[0]:
            future.set_result(reply[1])
        else:
            _, error, tb = reply
            error.__cause__ = _RemoteTraceback(tb)
            future.set_exception(error)

    def _exited(self, slot: _Slot) -> None:
        """The slot's process exited. At shutdown with nothing to do, that is all.
        Otherwise it died: its running task fails (or is retried), the rest move in
        order to the surviving workers, and a replacement starts in the slot."""
        process = slot.process
        process.join(timeout=5)
        exitcode = process.exitcode
        lost: _Task | None = None
        orphans: list[_Task] = []
        with self._lock:
            if not slot.alive:
                return
            slot.alive = False
            if slot.conn is not None:
                slot.conn.close()
            old_feed, slot.feed = slot.feed, queue.SimpleQueue()
            old_feed.put(None)  # its feeder stops (it sees the new feed)
            if slot.closed and not slot.tasks:
                return
            tasks = list(slot.tasks.values())
            slot.tasks.clear()
            for task in tasks:
                if task.identity is not _KEYLESS:
                    self._homes.pop(task.identity, None)  # all of these keys' tasks are here
            moved: list[_Task] = []
            for task in tasks:
                # The first sent task is the one it was running, unless it never said it
                # was ready (it reads no task before that).
                if task.sent and slot.ready and lost is None and not moved:
                    if task.tries > 0:
                        task.tries -= 1  # run again, before the key's later tasks
                    else:
                        lost = task
                        continue
                task.sent = False
                moved.append(task)
            if not slot.ready:
                self._failed_starts += 1
                if self._failed_starts >= _MAX_FAILED_STARTS:
                    self._broken = (
                        f"{_MAX_FAILED_STARTS} worker processes in a row exited before they started "
                        f"(last exit code {exitcode})"
                    )
            if self._broken is not None:
                orphans = moved + [t for s in self._slots for t in s.tasks.values()]
                for s in self._slots:
                    s.tasks.clear()
                self._homes.clear()
            else:
                survivors = self._open_slots()
                if survivors:
                    self._router = self._routed([s.name for s in survivors])
                    for task in moved:
                        self._place(task)
                if not self._shutdown or not survivors:
                    self._start_process(slot)
                    self._router = self._routed([s.name for s in self._open_slots()])
                    if not survivors:  # nobody else: the replacement takes them
                        for task in moved:
                            self._place(task)
                    if self._shutdown and not slot.tasks:
                        self._close(slot)
                elif self._shutdown:
                    slot.closed = True
                self._open_slots()
        if lost is not None:
            lost.future.set_exception(WorkerLost(
                f"the worker process {slot.name} died (exit code {exitcode}) while running this task",
                slot.name, exitcode,
            ))
        for task in orphans:  # the pool is broken: nothing can run them
            if task.future.running() or task.future.set_running_or_notify_cancel():
                task.future.set_exception(WorkerLost(f"the KeyedExecutor is broken: {self._broken}", slot.name, exitcode))

    # ------------------------------------------------------------------ shutdown

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop taking tasks; the queued ones still run (``cancel_futures=True``:
        those not yet running are cancelled); each worker exits when it has none
        left. With ``wait``, return when every worker has exited.

        Examples
        --------
        >>> from operator import neg
        >>> from fastring import KeyedExecutor
        >>> pool = KeyedExecutor(1, kind="thread")
        >>> future = pool.submit(neg, 1)
        >>> pool.shutdown()            # the queued task still runs
        >>> future.result()
        -1
        """
        with self._lock:
            self._shutdown = True
            queued = [t.future for s in self._slots for t in s.tasks.values()] if cancel_futures else []
        for future in queued:
            future.cancel()  # fails if running; a cancelled one is forgotten when its worker reaches it
        with self._lock:
            for slot in self._slots:
                if slot.alive and not slot.tasks and not slot.closed:
                    self._close(slot)
        if wait:
            for slot in self._slots:
                if slot.thread is not None:
                    slot.thread.join()
            if self._reader is not None:
                self._reader.join()

    def __repr__(self) -> str:
        state = "shut down" if self._shutdown else "broken" if self._broken else "running"
        return f"KeyedExecutor({self._n} {self._kind} workers, {state})"

    def __reduce__(self) -> Any:
        raise TypeError("a KeyedExecutor cannot be pickled: it owns its workers")


def _results(futures: list[Future[T]], timeout: float | None) -> Iterator[T]:
    """Results in order, as ``Executor.map`` yields them (the rest cancelled on error)."""
    import time

    end = None if timeout is None else time.monotonic() + timeout

    def generate() -> Iterator[T]:
        try:
            futures.reverse()
            while futures:
                future = futures.pop()
                if end is None:
                    yield future.result()
                else:
                    yield future.result(end - time.monotonic())
        finally:
            for future in futures:
                future.cancel()

    return generate()
