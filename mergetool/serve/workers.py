"""The CPU work of ``serve``, run in worker processes (never on the event loop).

Two pools, both started with ``spawn`` (the parent runs gRPC threads, which must not be
forked):

- the **RandomX host**: one process holding the one RandomX cache (light) or dataset (fast)
  of the whole service; it solves k2pow for every identity in turn (``--threads`` VMs over
  the shared dataset) and verifies finished proofs. Started when the first proof of a round
  is requested, shut down (its memory returned) once no identity needs it.
- the **pass pool**: processes that scan spans of the data for a pass.

Cancellation crosses the process boundary through shared per-slot generation counters: a
job runs while its slot's generation is the one it was started with; a newer job for the
slot, or a cancel, bumps it and stops the job at its next chunk (passes) or candidate
(k2pow). This is also the one module that
imports ``mergetool.post`` internals, so they can be re-pointed in one place.
"""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from mergetool._exceptions import ProvingFailed

_gen: Any = None  # per-slot job generation (bumped to cancel)
_count: Any = None  # per-slot progress: bytes read (passes) or groups done (k2pow)


class Cancelled(Exception):
    """The job's slot moved on to a newer generation: its result is no longer wanted."""


def _init(gen: Any, count: Any) -> None:
    global _gen, _count
    _gen, _count = gen, count


def _warm_up() -> None:
    import numpy  # noqa: F401 - imported once per worker, before the first timed job


class SlotPool:
    """A spawn process pool whose jobs each hold a slot: a cancel generation and a counter.

    Every job gets a slot of its own (``begin``/``end``), so stopping a stale job can never
    touch a newer one, even for the same identity.
    """

    def __init__(self, workers: int, slots: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.gen = ctx.Array("q", slots)
        self.count = ctx.Array("Q", slots)
        self._free = list(range(slots))
        self._lock = threading.Lock()
        self.pool = ProcessPoolExecutor(
            workers, mp_context=ctx, initializer=_init, initargs=(self.gen, self.count)
        )

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
        """The job is over: stop it if it still runs, and free its slot."""
        self.cancel(slot, gen)
        with self._lock:
            self._free.append(slot)

    def cancel(self, slot: int, gen: int | None = None) -> None:
        """Stop ``slot``'s job (only if it is still generation ``gen``, when given)."""
        with self.gen.get_lock():
            if gen is None or self.gen[slot] == gen:
                self.gen[slot] += 1

    def progress(self, slot: int) -> int:
        return int(self.count[slot])

    def shutdown(self) -> None:
        """Stop every job and the processes now (a job in flight is abandoned)."""
        for slot in range(len(self.gen)):
            self.cancel(slot)
        processes = list(getattr(self.pool, "_processes", {}).values())
        self.pool.shutdown(wait=False, cancel_futures=True)
        for proc in processes:
            proc.join(2)
            if proc.is_alive():
                proc.terminate()


def _live(slot: int, gen: int) -> bool:
    return _gen[slot] == gen


def _add(slot: int, n: int) -> None:
    with _count.get_lock():
        _count[slot] += n


# --- passes -------------------------------------------------------------------------------


def scan_span(
    slot: int,
    gen: int,
    directory: Path,
    challenge: bytes,
    pows: dict[int, int],
    k1: int,
    k2: int,
    span: tuple[int, int],
) -> dict[int, list[int]]:
    """Per nonce, the first k2 counting labels in ``span`` (scan.scan_range in a worker)."""
    from mergetool.post.difficulty import proving_difficulty
    from mergetool.post.metadata import read_metadata
    from mergetool.post.scan import CHUNK_LABELS, scan_range

    if not _live(slot, gen):
        raise Cancelled
    meta = read_metadata(directory)

    def on_read(n: int) -> None:
        _add(slot, n)
        if not _live(slot, gen):
            raise Cancelled

    difficulty = proving_difficulty(meta.num_labels, k1)
    return scan_range(directory, meta, challenge, pows, difficulty, k2, span, CHUNK_LABELS, on_read)


def spans(num_labels: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` contiguous label ranges covering the data (fewer for tiny data)."""
    parts = max(1, min(parts, num_labels // 65536 or 1))
    cuts = [num_labels * i // parts for i in range(parts + 1)]
    return list(zip(cuts, cuts[1:], strict=False))


def make_proof(
    parts: list[dict[int, list[int]]], pows: dict[int, int], k2: int, num_labels: int
) -> Any:
    """The proof from a pass's per-span results, or None when no nonce collected k2 labels."""
    from mergetool.post.compression import index_bits, pack_indices
    from mergetool.post.prove import Proof
    from mergetool.post.scan import pick_winner

    found = pick_winner(parts, k2)
    if found is None:
        return None
    nonce, indices = found
    packed = pack_indices(indices, index_bits(num_labels))
    return Proof(nonce=nonce, indices=packed, pow=pows[nonce // 16])


# --- the RandomX host -----------------------------------------------------------------------


def solve_k2pow(
    slot: int,
    gen: int,
    node_id: bytes,
    groups: list[int],
    challenge: bytes,
    target: bytes,
    threads: int,
    fast: bool,
) -> dict[int, int]:
    """k2pow for each group with the host's shared RandomX VMs; progress counts groups."""
    from mergetool.post.pow import find_pow

    pows = {}
    for group in groups:
        if not _live(slot, gen):
            raise Cancelled
        pows[group] = find_pow(
            group, challenge, node_id, target, threads=threads, fast=fast,
            cancelled=lambda: not _live(slot, gen),
        )  # fmt: skip
        if not _live(slot, gen):
            raise Cancelled
        _add(slot, 1)
    return pows


def verify(
    directory: Path,
    proof: Any,
    challenge: bytes,
    *,
    k1: int,
    k2: int,
    pow_difficulty: bytes,
    scrypt_n: int,
    fast: bool,
) -> str | None:
    """None when ``proof`` passes with all k2 indices against the data's metadata; else why."""
    from mergetool.post.metadata import read_metadata
    from mergetool.post.verification import verify_own_proof

    try:
        verify_own_proof(
            proof, read_metadata(directory), challenge, k1=k1, k2=k2,
            pow_difficulty=pow_difficulty, scrypt_n=scrypt_n, randomx_fast=fast,
        )  # fmt: skip
    except ProvingFailed as exc:
        return exc.message
    return None


def scaled_target(pow_difficulty: bytes, num_units: int) -> bytes:
    from mergetool.post.difficulty import scaled_pow_target

    return scaled_pow_target(pow_difficulty, num_units)


def max_group() -> int:
    from mergetool.post.pow import MAX_GROUP

    return MAX_GROUP
