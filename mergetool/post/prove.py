"""Proof generation, the one engine of ``post prove`` and ``serve``: passes of ``nonces``
nonces, each the k2pow of its groups and then one scan of the data, until a nonce qualifies.

The scan itself is in ``scan.py``; where a pass runs (this process, or processes by label
span) is a :class:`~mergetool.post.passes.PassRunner` and who solves k2pow a
:class:`~mergetool.post.k2pow.K2powSolver`, both pluggable (``serve`` shares one of each
among its identities). A stop signal ends the run with ``Cancelled``; progress goes to a
:class:`ProveReporter` (no-op by default). ``prove_folder`` is the whole of ``post prove``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from mergetool._exceptions import Cancelled, InvalidParameters, ProvingFailed
from mergetool.post.compression import index_bits, pack_indices
from mergetool.post.difficulty import proving_difficulty, scaled_pow_target
from mergetool.post.k2pow import K2powSolver, LocalK2pow
from mergetool.post.metadata import PostMetadata, read_metadata
from mergetool.post.params import PostParams, check_32_bytes, check_threads
from mergetool.post.passes import InlinePasses, OwnPool, PassJob, PassRunner, passes_for
from mergetool.post.pow import MAX_GROUP, PowProgress
from mergetool.post.progress import ProveReporter
from mergetool.post.proof import Proof
from mergetool.post.reader import check_files
from mergetool.post.scan import CHUNK_LABELS, check_nonces


def _never() -> bool:
    return False


def generate_proof(
    directory: Path,
    challenge: bytes,
    *,
    k1: int,
    k2: int,
    pow_difficulty: bytes,
    nonces: int = 128,
    threads: int = 1,
    randomx_fast: bool = False,
    start_nonce: int = 0,
    chunk_labels: int = CHUNK_LABELS,
    stop: threading.Event | None = None,
    reporter: ProveReporter | None = None,
    passes: PassRunner | None = None,
    solver: K2powSolver | None = None,
    meta: PostMetadata | None = None,
) -> Proof:
    """Find a proof for ``challenge`` over the data in ``directory`` (not verified yet).

    ``meta``: the data's metadata as captured by the caller (read from the folder when
    None). ``passes``/``solver`` default to this process (``threads`` processes for a pass,
    ``threads`` RandomX VMs). Raises ``Cancelled`` once ``stop`` is set.
    """
    check_nonces(nonces)
    check_32_bytes("challenge", challenge)
    check_threads(threads)
    directory = Path(directory)
    meta = meta if meta is not None else read_metadata(directory)
    if k2 > meta.num_labels:
        raise InvalidParameters(
            f"k2 = {k2} is more than the {meta.num_labels} labels of the data: no nonce can "
            "collect that many"
        )
    check_files(directory, meta)
    report = reporter or ProveReporter()
    stopped = stop.is_set if stop is not None else _never
    difficulty = proving_difficulty(meta.num_labels, k1)
    target = scaled_pow_target(pow_difficulty, meta.num_units)
    with ExitStack() as stack:
        if passes is None:
            workers = passes_for(threads, meta.num_labels, chunk_labels)
            if workers == 1:
                passes = InlinePasses()
            else:
                passes = stack.enter_context(OwnPool(workers)).passes
        counted = solver is None  # our own solver reports groups and hashes itself
        if solver is None:
            solver = LocalK2pow(threads=threads, fast=randomx_fast, on_pow=report.k2pow)
        start = start_nonce - start_nonce % 16
        while True:
            groups = [g for g in range(start // 16, (start + nonces) // 16) if g <= MAX_GROUP]
            if not groups:
                raise ProvingFailed(
                    f"{directory}: no proof found with nonces {start_nonce} .. {start - 1}"
                )
            report.pass_started(start, 16 * (groups[-1] + 1))
            pows = _k2pow(
                solver,
                meta.node_id,
                groups,
                challenge,
                target,
                None if counted else report,
                stopped,
            )
            job = PassJob(directory, meta, challenge, pows, difficulty, k2, chunk_labels)
            found = passes.run(job, report.scanned, stopped)
            if found is not None:
                nonce, indices = found
                packed = pack_indices(indices, index_bits(meta.num_labels))
                return Proof(nonce=nonce, indices=packed, pow=pows[nonce // 16])
            start += nonces


def _k2pow(
    solver: K2powSolver, node_id: bytes, groups: list[int], challenge: bytes, target: bytes,
    report: ProveReporter | None, stopped: Callable[[], bool],
) -> dict[int, int]:  # fmt: skip
    """The k2pow of a pass's groups; ``report`` (when the solver does not) sees each group."""
    started, done = time.monotonic(), [0]

    def on_group(group: int, pow_value: int) -> None:
        done[0] += 1
        seconds = time.monotonic() - started
        if report is not None:
            report.k2pow(PowProgress(done[0], len(groups), 0, seconds))

    if report is not None:
        report.k2pow(PowProgress(0, len(groups), 0, 0.0))
    if stopped():
        raise Cancelled("proving was stopped")
    pows = solver.solve_groups(
        node_id, groups, challenge, target, cancelled=stopped, on_group=on_group
    )
    if stopped():
        raise Cancelled("proving was stopped")
    return pows


def prove_folder(
    directory: Path,
    challenge: bytes,
    params: PostParams,
    *,
    nonces: int = 128,
    threads: int = 1,
    randomx_fast: bool = False,
    stop: threading.Event | None = None,
    reporter: ProveReporter | None = None,
) -> Proof:
    """``post prove``: lock the folder, check it fits ``params``, prove, verify the proof
    with all k2 indices; the verified Proof (FolderLocked while another prover holds it)."""
    from mergetool._lock import lock_folder
    from mergetool.post.fitness import check_data
    from mergetool.post.verification import verify_own_proof

    directory = Path(directory)
    # One prover per identity: a folder a `serve` (or another prove) is using is refused.
    with lock_folder(directory):
        meta = check_data(directory, params)
        proof = generate_proof(
            directory, challenge, k1=params.k1, k2=params.k2,
            pow_difficulty=params.pow_difficulty, nonces=nonces, threads=threads,
            randomx_fast=randomx_fast, stop=stop, reporter=reporter, meta=meta,
        )  # fmt: skip
        verify_own_proof(
            proof, meta, challenge, k1=params.k1, k2=params.k2,
            pow_difficulty=params.pow_difficulty, scrypt_n=params.scrypt_n,
            randomx_fast=randomx_fast,
        )  # fmt: skip
    return proof
