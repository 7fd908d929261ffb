"""The engine's worker processes: a spawn pool whose jobs can be stopped, and never orphaned.

Passes (``post prove --threads``, every pass of ``serve``) and ``serve``'s RandomX host run
their CPU work in a :class:`WorkerPool`. Processes are started with ``spawn``: the parent may
run gRPC or HTTP threads, which must not be forked.

Stopping crosses the process boundary through shared per-slot generation counters: a job
runs while its slot's generation is the one it started with; a stop bumps it and the job
ends at its next chunk (a pass) or candidate (k2pow). A worker never outlives the process
that started it, however that one dies: on Linux the kernel sends it SIGKILL
(``PR_SET_PDEATHSIG``), and everywhere a thread watches multiprocessing's parent sentinel, a
pipe that closes when the parent is gone.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from mergetool._exceptions import Cancelled

_PR_SET_PDEATHSIG = 1
_STOP_GRACE_S = 3.0  # how long ``shutdown`` lets jobs notice the stop before killing them

_gen: Any = None  # per-slot job generation (bumped to stop)
_count: Any = None  # per-slot progress: bytes read by a pass
_SPAWNING = threading.Lock()  # one pool at a time starts its processes (see WorkerPool)


def _die_with_parent(parent_pid: int) -> None:
    """Make this worker end when ``parent_pid`` does (see the module's docstring)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)
    parent = multiprocessing.parent_process()
    if parent is not None and parent.sentinel is not None:
        sentinel = parent.sentinel

        def watch() -> None:
            multiprocessing.connection.wait([sentinel])
            os._exit(1)

        threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _init(parent_pid: int, gen: Any, count: Any) -> None:
    global _gen, _count
    _die_with_parent(parent_pid)
    _gen, _count = gen, count
    import numpy  # noqa: F401 - imported once per worker, before the first timed job


def _ready() -> int:
    return os.getpid()


def live(slot: int, gen: int) -> bool:
    """In a worker: whether the job of ``slot`` started as ``gen`` is still wanted."""
    return bool(_gen[slot] == gen)


def check_live(slot: int, gen: int) -> None:
    if _gen[slot] != gen:
        raise Cancelled("the job was stopped")


def add_progress(slot: int, n: int) -> None:
    with _count.get_lock():
        _count[slot] += n


class WorkerPool:
    """``workers`` spawn processes, started now; every job holds a slot of its own.

    A slot (``begin``/``end``) carries the job's stop generation and progress counter, so
    stopping a stale job can never touch a newer one, even for the same identity.
    """

    def __init__(self, workers: int, slots: int, *, wait: bool = True) -> None:
        self._ctx = multiprocessing.get_context("spawn")
        self.workers = workers
        self.gen = self._ctx.Array("q", slots)
        self.count = self._ctx.Array("Q", slots)
        self._free = list(range(slots))
        self._lock = threading.Lock()
        self._healing = threading.Lock()
        self._start()
        if wait:
            try:
                self.wait_ready()
            except BaseException:
                self.shutdown()
                raise

    def _start(self) -> None:
        # Every worker is started now, from this thread (the one a parent-death signal
        # watches): a job that started one later would pay the spawn and the imports in its
        # own time. The processes are known from the start, so a worker stuck before it
        # could even arm its parent-death signal can still be killed by ``shutdown``.
        with _SPAWNING:  # (other pools of this process spawn theirs in other threads)
            before = {child.pid for child in multiprocessing.active_children()}
            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=self._ctx, initializer=_init,
                initargs=(os.getpid(), self.gen, self.count),
            )  # fmt: skip
            self._ready = [self._pool.submit(_ready) for _ in range(self.workers)]
            self._processes = [
                child for child in multiprocessing.active_children() if child.pid not in before
            ]

    def heal(self) -> None:
        """Start new processes if a worker died (the OOM killer, a stray kill): its death
        breaks the pool for every job, so each job that saw it calls this, and the first
        one replaces them. Jobs already running are lost; the next ones run."""
        with self._healing:
            try:  # (a broken pool refuses new jobs at once)
                self._pool.submit(_ready).cancel()
                return  # healthy: another job has healed it already
            except BrokenProcessPool:
                pass
            old = (self._pool, self._processes)
            self._start()
            self.wait_ready()
        _end(*old)

    def wait_ready(self, stop: Callable[[], bool] = lambda: False) -> None:
        """Wait until every worker has started (Cancelled once ``stop()``; a worker that
        failed to start raises here, and the pool is of no use then)."""
        for future in self._ready:
            self.wait(future, stop)

    def begin(self) -> tuple[int, int]:
        """A free slot for a new job and the job's generation (its progress starts at 0)."""
        with self._lock:
            if not self._free:
                raise RuntimeError("no free job slot")  # sized so that this cannot happen
            slot = self._free.pop()
        with self.gen.get_lock():
            self.gen[slot] += 1
            gen = int(self.gen[slot])
        with self.count.get_lock():
            self.count[slot] = 0
        return slot, gen

    def end(self, slot: int, gen: int) -> None:
        """The job is over: stop what still runs of it, and free its slot."""
        self.stop(slot, gen)
        with self._lock:
            self._free.append(slot)

    def stop(self, slot: int, gen: int | None = None) -> None:
        """Stop ``slot``'s job (only if it is still generation ``gen``, when given)."""
        with self.gen.get_lock():
            if gen is None or self.gen[slot] == gen:
                self.gen[slot] += 1

    def progress(self, slot: int) -> int:
        return int(self.count[slot])

    def submit(self, fn: Callable[..., Any], *args: Any, **kw: Any) -> Future[Any]:
        return self._pool.submit(fn, *args, **kw)

    def wait(self, future: Future[Any], stop: Callable[[], bool], tick: float = 0.05) -> Any:
        """``future``'s result, polling ``stop`` (Cancelled once it is true)."""
        while True:
            try:
                return future.result(timeout=tick)
            except TimeoutError:
                if stop():
                    raise Cancelled("stopped while waiting for a worker") from None

    def shutdown(self, grace_s: float = _STOP_GRACE_S) -> None:
        """Stop every job and end the processes: those that do not end within ``grace_s``
        (a RandomX dataset being built, a read stuck on a bad disk) are killed."""
        for slot in range(len(self.gen)):
            self.stop(slot)
        _end(self._pool, self._processes, grace_s)

    def pids(self) -> list[int]:
        """The worker processes' ids (for tests and benchmarks)."""
        return [process.pid for process in self._processes if process.pid is not None]


def _end(executor: ProcessPoolExecutor, processes: list[Any], grace_s: float = 0.0) -> None:
    """Shut ``executor`` down, killing the ``processes`` still running after ``grace_s``."""
    closing = threading.Thread(target=_close, args=(executor,), name="pool-shutdown", daemon=True)
    closing.start()
    closing.join(grace_s)
    if closing.is_alive():
        for process in processes:
            with contextlib.suppress(OSError, ValueError):  # (gone, or closed)
                process.kill()
        closing.join(2.0)


def _close(executor: ProcessPoolExecutor) -> None:
    # When ``shutdown`` kills a stuck worker, the executor's own thread finds its pool broken
    # and closes the queues too; the second close is EBADF, not news worth a traceback.
    with contextlib.suppress(OSError, ValueError):
        executor.shutdown(wait=True, cancel_futures=True)


def spans(num_labels: int, parts: int, chunk_labels: int) -> list[tuple[int, int]]:
    """``parts`` contiguous label ranges covering the data (fewer when the data is small)."""
    parts = max(1, min(parts, num_labels // max(1, chunk_labels) or 1))
    cuts = [num_labels * i // parts for i in range(parts + 1)]
    return list(zip(cuts, cuts[1:], strict=False))
