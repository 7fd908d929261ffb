"""One proving run for one identity: the engine's ``generate_proof`` in a thread, then the check.

``serve`` plugs into the one engine (``mergetool.post.prove``) what it shares among
identities: the pass processes (``PoolPasses``, behind a wait for the identity's disk, see
``scheduler.py``, so one identity's k2pow overlaps another one's pass) and the k2pow solver
(the RandomX host, or a remote k2pow-service). The proof is checked against the identity as
captured when the run began, never against what the folder holds by then.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from mergetool._exceptions import Cancelled, MergetoolError, ProvingFailed, ServeError
from mergetool._progress import ProgressCallback as OnRead
from mergetool.post.k2pow import K2powSolver
from mergetool.post.metadata import PostMetadata, read_metadata
from mergetool.post.params import PostParams
from mergetool.post.passes import PassJob, PoolPasses, Stop
from mergetool.post.pool import WorkerPool
from mergetool.post.pow import PowProgress
from mergetool.post.progress import ProveReporter
from mergetool.post.prove import generate_proof
from mergetool.serve.config import IdentityConfig, ServeConfig
from mergetool.serve.k2pow import RandomxHost
from mergetool.serve.scheduler import DiskScheduler
from mergetool.serve.state import Clock, Progress

_TICK_S = 0.05  # how often a thread waiting for its disk looks at the stop signal


def captured_metadata(ident: IdentityConfig) -> PostMetadata:
    """The identity ``serve`` was started for, as the engine reads it."""
    return PostMetadata(
        node_id=ident.node_id, commitment_atx_id=ident.commitment_atx_id,
        labels_per_unit=ident.labels_per_unit, num_units=ident.num_units,
        max_file_size=ident.max_file_size, nonce=ident.vrf_nonce,
    )  # fmt: skip


def check_unchanged(ident: IdentityConfig) -> None:
    """ProvingFailed naming the folder when its metadata is no longer the identity served."""
    try:
        now = read_metadata(ident.folder)
    except MergetoolError as exc:
        raise ProvingFailed(
            f"{ident.folder}: the data folder changed under serve ({exc.message})",
            hint="Restore the folder serve was started with, or restart serve.",
        ) from exc
    was = captured_metadata(ident)
    fields = ("node_id", "commitment_atx_id", "labels_per_unit", "num_units", "max_file_size")
    differ = [f for f in fields if getattr(now, f) != getattr(was, f)]
    if now.nonce != was.nonce:
        differ.append("nonce")
    if differ:
        raise ProvingFailed(
            f"{ident.folder}: the data folder changed under serve ({', '.join(differ)} "
            f"no longer match identity {ident.node_id.hex()})",
            hint="Restore the folder serve was started with, or restart serve for the new data.",
        )


@dataclass(frozen=True)
class ProveSettings:
    params: PostParams
    nonces: int
    threads: int


class _DiskPasses:
    """The shared PoolPasses, entered only once the identity's disk is free (a PassRunner)."""

    def __init__(self, prover: Prover, ident: IdentityConfig, reporter: _Reporter) -> None:
        self.prover, self.ident, self.reporter = prover, ident, reporter

    def run(self, job: PassJob, progress: OnRead | None, stop: Stop) -> Any:
        loop, scheduler = self.prover.loop, self.prover.scheduler
        got = threading.Event()

        async def hold() -> None:
            async with scheduler.disk(self.ident.device):
                got.set()
                await asyncio.Event().wait()  # until cancelled: the pass is over

        self.reporter.phase("waiting-for-disk")
        holding = asyncio.run_coroutine_threadsafe(hold(), loop)
        try:
            while not got.wait(_TICK_S):
                if stop():
                    raise Cancelled("stopped while waiting for the disk")
            self.reporter.phase("reading")
            found = self.prover.passes.run(job, progress, stop)
            self.prover.on_measure(self.ident, "pass_bytes", job.total_bytes)
            return found
        finally:  # give the disk back, whether it was got or still awaited
            with contextlib.suppress(RuntimeError):  # (the loop has closed)
                holding.cancel()


class _Reporter(ProveReporter):
    """Turns the engine's reports (from its thread) into the identity's Progress, on the loop."""

    def __init__(self, prover: Prover, ident: IdentityConfig, challenge: bytes) -> None:
        self.prover, self.ident, self.challenge = prover, ident, challenge
        self.number, self.span = 0, (0, 0)
        self.now: Progress = Progress("k2pow")
        self.k2pow_started = prover.clock()
        self.read_started = prover.clock()

    def _show(self, progress: Progress) -> None:
        self.now = progress
        with contextlib.suppress(RuntimeError):  # (the loop has closed: serve has stopped)
            self.prover.loop.call_soon_threadsafe(
                self.prover.on_progress, self.ident, self.challenge, progress
            )

    def pass_started(self, start: int, end: int) -> None:
        self.number, self.span = self.number + 1, (start, end)
        self.k2pow_started = self.prover.clock()

    def k2pow(self, progress: PowProgress) -> None:
        if progress.groups_done == progress.groups_total and progress.groups_total:
            seconds = self.prover.clock() - self.k2pow_started
            self.prover.on_measure(self.ident, "k2pow_seconds", seconds)
        self._show(Progress(
            "k2pow", self.number, self.span, k2pow_groups_done=progress.groups_done,
            k2pow_groups_total=progress.groups_total, bytes_total=self.ident.data_bytes,
        ))  # fmt: skip

    def phase(self, name: str) -> None:
        self.read_started = self.prover.clock()
        self._show(Progress(name, self.number, self.span, 0, self.ident.data_bytes))  # type: ignore[arg-type]

    def scanned(self, done: int, total: int) -> None:
        elapsed = self.prover.clock() - self.read_started
        rate = done / elapsed if elapsed > 0 and done else None
        eta = (total - done) / rate if rate else None
        self._show(Progress("reading", self.number, self.span, done, total, rate, eta))


class Prover:
    """Carries out proving runs: ``on_progress`` gets each Progress of a run (on the loop),
    ``on_measure`` each finished step (``"k2pow_seconds"``, ``"pass_bytes"``) for the metrics."""

    def __init__(
        self,
        settings: ProveSettings,
        solver: K2powSolver,
        host: RandomxHost,
        scheduler: DiskScheduler,
        passes: PoolPasses,
        *,
        clock: Clock,
        threads: ThreadPoolExecutor,
        on_progress: Callable[[IdentityConfig, bytes, Progress], None],
        on_measure: Callable[[IdentityConfig, str, float], None],
    ) -> None:
        self.settings, self.solver, self.host = settings, solver, host
        self.scheduler, self.passes, self.clock, self.threads = scheduler, passes, clock, threads
        self.on_progress, self.on_measure = on_progress, on_measure
        self.loop = asyncio.get_running_loop()

    async def _in_thread(self, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        return await self.loop.run_in_executor(self.threads, functools.partial(fn, *args, **kw))

    async def prove(self, ident: IdentityConfig, challenge: bytes, stop: threading.Event) -> Any:
        """The engine's proof for ``challenge``, unverified; ``Cancelled`` once ``stop``."""
        params, meta = self.settings.params, captured_metadata(ident)
        await self._in_thread(check_unchanged, ident)
        reporter = _Reporter(self, ident, challenge)
        return await self._in_thread(
            generate_proof, ident.folder, challenge, k1=params.k1, k2=params.k2,
            pow_difficulty=params.pow_difficulty, nonces=self.settings.nonces,
            threads=self.settings.threads, stop=stop, reporter=reporter,
            passes=_DiskPasses(self, ident, reporter), solver=self.solver, meta=meta,
        )  # fmt: skip

    async def check(self, ident: IdentityConfig, proof: Any, challenge: bytes, stop: Stop) -> None:
        """ProvingFailed (naming the folder) unless ``proof`` passes with all k2 indices
        against the identity captured at start-up (in the host's verifier process);
        Cancelled once ``stop()``."""
        params = self.settings.params
        why = await self._in_thread(
            self.host.verify, captured_metadata(ident), proof, challenge, k1=params.k1,
            k2=params.k2, pow_difficulty=params.pow_difficulty, scrypt_n=params.scrypt_n,
            cancelled=stop,
        )  # fmt: skip
        if why is not None:
            raise ProvingFailed(
                f"{ident.folder}: {why}",
                hint=f"Check the data with `mergetool post verify-data --dir {ident.folder}` "
                "(and that --scrypt-n / --preset match the data).",
            )


async def start_prover(
    config: ServeConfig,
    identities: list[IdentityConfig],
    solver: K2powSolver,
    host: RandomxHost,
    *,
    clock: Clock,
    on_progress: Callable[[IdentityConfig, bytes, Progress], None],
    on_measure: Callable[[IdentityConfig, str, float], None],
) -> tuple[Prover, WorkerPool, ThreadPoolExecutor]:
    """The engine serve runs: the pass worker processes (as many as passes may run at once,
    times ``--threads``), one thread per running proof and the ``Prover`` over them. The
    caller shuts the pool and the threads down."""
    n = len(identities)
    per_device = collections.Counter(i.device for i in identities)
    passes_at_once = sum(min(config.passes_per_disk, c) for c in per_device.values())
    try:
        pool = await asyncio.to_thread(WorkerPool, passes_at_once * config.threads, 4 * n + 4)
    except OSError as exc:  # (shared memory in /dev/shm, process limits)
        raise ServeError(
            f"cannot start the pass worker processes: {exc.strerror or exc}",
            hint="Check the free space of /dev/shm and the process limits (ulimit -u).",
        ) from exc
    # One thread per running proof (they mostly wait on worker processes), never the
    # loop's default executor: that one is small and keeps fsyncs and file reads moving.
    threads = ThreadPoolExecutor(2 * n + 2, thread_name_prefix="serve-prove")
    settings = ProveSettings(config.params, config.nonces, config.threads)
    prover = Prover(
        settings, solver, host, DiskScheduler(config.passes_per_disk),
        PoolPasses(pool, config.threads), clock=clock, threads=threads,
        on_progress=on_progress, on_measure=on_measure,
    )  # fmt: skip
    return prover, pool, threads
