"""A k2pow-service speaking post-rs's HTTP API, computing with our RandomX k2pow.

``GET /`` answers 200 (health). ``GET /job/…`` (see :mod:`mergetool.k2pow.job`) answers
201 when it starts a job or the job is still running, 429 when every worker is busy, 200
with the pow once done, and 500 with a message for a bad request or a failed job. Results
are kept in memory only, as post-rs's service does.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mergetool._exceptions import InvalidParameters, MergetoolError
from mergetool._http import HttpServer, Request, Response, text_response
from mergetool.k2pow.job import JOB_PATTERN, Job, is_job_path, parse_job_path
from mergetool.post.difficulty import scaled_pow_target
from mergetool.post.params import MAX_NUM_UNITS, MAX_THREADS, PRESETS

#: Finished results kept for clients that come back for them; the oldest go first.
MAX_RESULTS = 65536
#: The hardest target a network asks: mainnet's difficulty for the most units a proof may have.
#: A job asking for less (zero: no hash is below it) would hold a worker until the service stops.
HARDEST_TARGET = scaled_pow_target(PRESETS["mainnet"].pow_difficulty, MAX_NUM_UNITS)
#: How long ``stop()`` waits for running jobs to notice the stop.
STOP_WAIT_S = 5.0
#: A job still unsolved after this long is given up (500 with the reason): a proof later than
#: the 12-hour cycle gap earns nothing, and a worker must not be held for ever.
JOB_DEADLINE_S = 12 * 3600.0


@dataclass(frozen=True)
class K2powEvent:
    """Something the service did: ``kind`` is "created", "done" or "failed"."""

    kind: str
    job: Job
    pow: int | None = None
    seconds: float = 0.0
    error: str = ""


@dataclass
class _Running:
    slot: int
    thread: threading.Thread


class K2powService:
    """The HTTP service: ``cores`` workers, each solving one job at a time.

    Use as a context manager (or ``start()``/``stop()``); ``address`` is the bound
    (host, port), so ``127.0.0.1:0`` picks a free port. ``http_limits`` go to the
    HTTP server (``idle_timeout_s``, ``max_connections``).
    """

    def __init__(
        self,
        bind_address: str = "127.0.0.1:0",
        *,
        cores: int = 1,
        fast: bool = False,
        on_event: Callable[[K2powEvent], None] | None = None,
        job_deadline_s: float = JOB_DEADLINE_S,
        **http_limits: Any,
    ) -> None:
        if not 1 <= cores <= MAX_THREADS:
            raise InvalidParameters(f"cores must be within 1 .. {MAX_THREADS}, got {cores}")
        if not job_deadline_s > 0:
            raise InvalidParameters(f"job deadline must be positive, got {job_deadline_s}")
        self.cores = cores
        self.fast = fast
        self.job_deadline_s = job_deadline_s
        self._on_event = on_event or (lambda event: None)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._free_slots = list(range(cores))
        self._running: dict[Job, _Running] = {}
        self._results: OrderedDict[Job, int] = OrderedDict()
        self._failures: dict[Job, str] = {}
        self._http = HttpServer(bind_address, self._route, what="bind address", **http_limits)

    @property
    def address(self) -> tuple[str, int]:
        """The bound (host, port)."""
        return self._http.address

    def start(self) -> K2powService:
        """Build RandomX for every worker (fast: the 2 GiB dataset), then serve requests."""
        from mergetool.post.pow import randomx_vm

        for slot in range(self.cores):
            randomx_vm(fast=self.fast, slot=slot)
        self._http.start()
        return self

    def stop(self) -> list[Job]:
        """Stop answering, cancel running jobs and wait (a bounded time) for them to end.

        Returns the jobs that were cancelled (their clients will have to ask again elsewhere).
        """
        with self._lock:  # (no job can start or end between the snapshot and the stop)
            running = dict(self._running)
            self._stopping.set()
        self._http.stop()
        deadline = time.monotonic() + STOP_WAIT_S
        for entry in running.values():
            entry.thread.join(max(0.0, deadline - time.monotonic()))
        return list(running)

    def __enter__(self) -> K2powService:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _route(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return text_response("only GET is served", 405)
        status, text = self.answer(request.path)
        return text_response(text, status)

    def answer(self, path: str) -> tuple[int, str]:
        """The (status, body) for a GET of ``path``; starts a job when it can."""
        if path.split("?", 1)[0].strip("/") == "":
            return 200, "ok"
        if not is_job_path(path):
            return 404, f"not found: the API has GET / and GET {JOB_PATTERN}"
        try:
            job = parse_job_path(path)
        except InvalidParameters as exc:
            return 500, exc.message
        if job.target < HARDEST_TARGET:  # (32 bytes big-endian: bytes order is number order)
            return 500, (
                f"difficulty {job.target.hex()} is harder than any network asks (the hardest, "
                f"mainnet's for {MAX_NUM_UNITS} units, is {HARDEST_TARGET.hex()}): "
                "the job would never finish"
            )
        with self._lock:
            if job in self._results:
                return 200, str(self._results[job])
            if job in self._failures:  # reported once; asking again starts afresh
                return 500, self._failures.pop(job)
            if job in self._running:
                return 201, "job is running"
            if not self._free_slots or self._stopping.is_set():
                return 429, "all workers are busy"
            slot = self._free_slots.pop()
            thread = threading.Thread(
                target=self._work, args=(job, slot), name=f"k2pow-{slot}", daemon=True
            )
            self._running[job] = _Running(slot, thread)
        self._on_event(K2powEvent("created", job))
        thread.start()
        return 201, "job created"

    def _work(self, job: Job, slot: int) -> None:
        from mergetool.post.pow import find_pow

        started = time.monotonic()
        deadline = started + self.job_deadline_s
        value: int | None = None
        error = ""

        def give_up() -> bool:
            return self._stopping.is_set() or time.monotonic() > deadline

        try:
            value = find_pow(
                job.group,
                job.challenge8,
                job.miner,
                job.target,
                fast=self.fast,
                cancelled=give_up,
                first_slot=slot,
            )
        except MergetoolError as exc:
            error = exc.message
        except Exception as exc:  # noqa: BLE001 - a worker must report, never die silently
            error = f"{type(exc).__name__}: {exc}"
        seconds = time.monotonic() - started
        if value is None and time.monotonic() > deadline:
            error = (
                f"no pow for nonce group {job.group} below difficulty {job.target.hex()} within "
                f"the job deadline of {self.job_deadline_s:g} s: the worker was freed; "
                "ask again to start afresh, or check the difficulty the service was given"
            )
        with self._lock:
            del self._running[job]
            self._free_slots.append(slot)
            if self._stopping.is_set():
                return
            if value is not None:
                self._results[job] = value
                while len(self._results) > MAX_RESULTS:
                    self._results.popitem(last=False)
            else:
                self._failures[job] = error
        if value is not None:
            self._on_event(K2powEvent("done", job, pow=value, seconds=seconds))
        else:
            self._on_event(K2powEvent("failed", job, seconds=seconds, error=error))
