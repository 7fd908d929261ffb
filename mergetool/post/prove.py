"""Proof generation: scan the PoST data once per pass of nonces, AES-encrypting every label.

The scan itself (AES + compare per nonce group, streamed in chunks) is in ``scan.py``;
``--threads`` spreads it over processes by label span and the k2pow over RandomX VMs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from mergetool._exceptions import InvalidParameters, ProvingFailed
from mergetool._progress import ProgressCallback
from mergetool.post.compression import index_bits, pack_indices
from mergetool.post.difficulty import proving_difficulty, scaled_pow_target
from mergetool.post.metadata import read_metadata
from mergetool.post.params import check_32_bytes, check_threads
from mergetool.post.pow import MAX_GROUP, PowProgress, find_pow
from mergetool.post.proof import Proof
from mergetool.post.reader import check_files
from mergetool.post.scan import CHUNK_LABELS, PassRunner, check_nonces

PassStarted = Callable[[int, int], None]
PowReport = Callable[[PowProgress], None]

log = logging.getLogger("mergetool.post")


def _find_pows(
    groups: list[int], challenge: bytes, node_id: bytes, target: bytes, *, threads: int,
    fast: bool, on_pow: PowReport | None,
) -> dict[int, int]:  # fmt: skip
    """The k2pow of each group of a pass, reporting groups done and hashes as it goes."""
    start, hashes, pows = time.monotonic(), 0, {}

    def report(done: int, more: int) -> None:
        if on_pow is not None:
            on_pow(PowProgress(done, len(groups), hashes + more, time.monotonic() - start))

    report(0, 0)
    for n, group in enumerate(groups):
        tried = [0]

        def on_hashes(count: int, n: int = n, tried: list[int] = tried) -> None:
            tried[0] = count
            report(n, count)

        pows[group] = find_pow(
            group, challenge, node_id, target, threads=threads, fast=fast, on_hashes=on_hashes
        )
        hashes += tried[0]
        report(n + 1, 0)
        seconds = time.monotonic() - start
        log.info(
            "k2pow: group %d done (%d of %d), %d hashes in %.1f s (%.0f hashes/s)",
            group, n + 1, len(groups), hashes, seconds, hashes / seconds if seconds else 0,
        )  # fmt: skip
    return pows


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
    progress: ProgressCallback | None = None,
    on_pass: PassStarted | None = None,
    on_pow: PowReport | None = None,
) -> Proof:
    """Find a proof for ``challenge`` over the data in ``directory`` (passes of ``nonces``).

    Per pass: ``on_pass(start, end)``, then the k2pow of its groups (``on_pow`` reports how
    far it got), then the scan (``progress(bytes read, bytes in all)``).
    """
    check_nonces(nonces)
    check_32_bytes("challenge", challenge)
    directory = Path(directory)
    meta = read_metadata(directory)
    difficulty = proving_difficulty(meta.num_labels, k1)
    if k2 > meta.num_labels:
        raise InvalidParameters(
            f"k2 = {k2} is more than the {meta.num_labels} labels of the data: no nonce can "
            "collect that many"
        )
    target = scaled_pow_target(pow_difficulty, meta.num_units)
    check_files(directory, meta)
    check_threads(threads)
    start = start_nonce - start_nonce % 16
    with PassRunner(directory, meta, challenge, difficulty, k2, threads, chunk_labels) as runner:
        while True:
            groups = list(range(start // 16, (start + nonces) // 16))
            if groups[0] > MAX_GROUP:
                raise ProvingFailed(f"no proof found with nonces {start_nonce} .. {start - 1}")
            groups = [g for g in groups if g <= MAX_GROUP]
            if on_pass:
                on_pass(start, start + 16 * len(groups))
            pows = _find_pows(
                groups, challenge, meta.node_id, target, threads=threads, fast=randomx_fast,
                on_pow=on_pow,
            )  # fmt: skip
            found = runner.run(pows, progress)
            if found is not None:
                nonce, indices = found
                bits = index_bits(meta.num_labels)
                return Proof(
                    nonce=nonce, indices=pack_indices(indices, bits), pow=pows[nonce // 16]
                )
            start += nonces
