"""Running one pass of the scan: in this process, or spread by label span over a WorkerPool.

A :class:`PassRunner` is what ``generate_proof`` plugs in for its passes: ``InlinePasses``
for one thread, ``PoolPasses`` for several (``post prove --threads``, and ``serve``, whose
one pool is shared by every identity). Both stop at the next chunk once ``stop()`` is true,
raising ``Cancelled``.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from mergetool._exceptions import Cancelled, ProvingFailed
from mergetool._progress import ProgressCallback as Progress
from mergetool.post import pool as workers
from mergetool.post.difficulty import Difficulty
from mergetool.post.metadata import LABEL_SIZE, PostMetadata
from mergetool.post.scan import CHUNK_LABELS, Found, pick_winner, scan_range

Winner = tuple[int, list[int]]
Stop = Callable[[], bool]

_TICK_S = 0.1  # how often a pass spread over processes reports progress and polls stop


@dataclass(frozen=True)
class PassJob:
    """One pass: the data (``meta`` as captured when proving began), the challenge and the
    k2pow of each nonce group of the pass."""

    directory: Path
    meta: PostMetadata
    challenge: bytes
    pows: dict[int, int]
    difficulty: Difficulty
    k2: int
    chunk_labels: int = CHUNK_LABELS

    @property
    def total_bytes(self) -> int:
        return self.meta.num_labels * LABEL_SIZE


class PassRunner(Protocol):
    def run(self, job: PassJob, progress: Progress | None, stop: Stop) -> Winner | None:
        """The nonce whose k2-th counting label comes first, with its labels; None when no
        nonce of the pass collects k2; Cancelled once ``stop()``."""
        ...


def _scan(job: PassJob, span: tuple[int, int], on_read: Callable[[int], None]) -> Found:
    return scan_range(
        job.directory, job.meta, job.challenge, job.pows, job.difficulty, job.k2, span,
        job.chunk_labels, on_read,
    )  # fmt: skip


class InlinePasses:
    """Passes in the calling thread (one worker: no process to start)."""

    def run(self, job: PassJob, progress: Progress | None, stop: Stop) -> Winner | None:
        position, total = 0, job.total_bytes

        def on_read(n: int) -> None:
            nonlocal position
            position += n
            if stop():
                raise Cancelled("the pass was stopped")
            if progress:
                progress(position, total)

        return pick_winner([_scan(job, (0, job.meta.num_labels), on_read)], job.k2)


def _scan_span(slot: int, gen: int, job: PassJob, span: tuple[int, int]) -> Found:
    """In a worker: scan one span, counting bytes read in the slot, stopping when it moves on."""
    workers.check_live(slot, gen)

    def on_read(n: int) -> None:
        workers.add_progress(slot, n)
        workers.check_live(slot, gen)

    return _scan(job, span, on_read)


class PoolPasses:
    """Passes split into ``parts`` label spans, scanned at once in ``pool``'s processes."""

    def __init__(self, pool: workers.WorkerPool, parts: int) -> None:
        self.pool, self.parts = pool, parts

    def run(self, job: PassJob, progress: Progress | None, stop: Stop) -> Winner | None:
        """As PassRunner; a worker that died (the OOM killer) costs the pass one retry on
        new processes; dying again is ProvingFailed (the pool is healed for the next run)."""
        try:
            return self._run(job, progress, stop)
        except BrokenProcessPool:
            self.pool.heal()
        try:
            return self._run(job, progress, stop)
        except BrokenProcessPool as exc:
            self.pool.heal()
            raise ProvingFailed(
                f"{job.directory}: a pass worker process died twice in a row",
                hint="Was it killed for lack of memory? See `dmesg` for the OOM killer.",
            ) from exc

    def _run(self, job: PassJob, progress: Progress | None, stop: Stop) -> Winner | None:
        slot, gen = self.pool.begin()
        try:
            spans = workers.spans(job.meta.num_labels, self.parts, job.chunk_labels)
            futures = [self.pool.submit(_scan_span, slot, gen, job, span) for span in spans]
            found = []
            for future in futures:
                while True:
                    try:
                        found.append(future.result(timeout=_TICK_S))
                        break
                    except TimeoutError:
                        if stop():
                            raise Cancelled("the pass was stopped") from None
                        if progress:
                            progress(self.pool.progress(slot), job.total_bytes)
            if progress:
                progress(self.pool.progress(slot), job.total_bytes)
        finally:
            self.pool.end(slot, gen)  # stops the spans still running (a stopped pass)
        return pick_winner(found, job.k2)


class OwnPool(AbstractContextManager["OwnPool"]):
    """A ``PoolPasses`` over a pool of its own, ended with the ``with`` block (``post prove``)."""

    def __init__(self, workers_: int) -> None:
        self.pool = workers.WorkerPool(workers_, 2)
        self.passes = PoolPasses(self.pool, workers_)

    def __exit__(self, *exc: object) -> None:
        self.pool.shutdown()


def passes_for(threads: int, num_labels: int, chunk_labels: int) -> int:
    """How many processes a pass over ``num_labels`` can use with ``threads`` (1 = inline)."""
    return max(1, min(threads, num_labels // max(1, chunk_labels) or 1))
