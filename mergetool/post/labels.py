"""Label computation: the commitment, and ``compute_labels`` dispatching to a backend."""

from __future__ import annotations

from collections.abc import Iterator

import blake3
import numpy as np

from mergetool._progress import ProgressCallback, no_progress
from mergetool.post.backends import DEFAULT_MEMORY_BUDGET, LabelBackend, get_backend
from mergetool.post.params import check_32_bytes, check_label_range


def commitment(node_id: bytes, commitment_atx_id: bytes) -> bytes:
    """``blake3(node_id || commitment_atx_id)``: the per-identity key of every label."""
    check_32_bytes("node id", node_id)
    check_32_bytes("commitment ATX id", commitment_atx_id)
    return blake3.blake3(node_id + commitment_atx_id).digest()


def compute_labels(
    commitment: bytes,
    start: int,
    count: int,
    *,
    scrypt_n: int,
    backend: str = "auto",
    full: bool = False,
    device: str | None = None,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    progress: ProgressCallback | None = None,
) -> np.ndarray:
    """Labels ``start .. start+count-1``: uint8 (count, 16), or the full (count, 32) output."""
    return compute_labels_with(
        get_backend(backend, device, memory_budget=memory_budget),
        commitment,
        start,
        count,
        scrypt_n=scrypt_n,
        full=full,
        progress=progress,
    )


def compute_labels_with(
    impl: LabelBackend,
    commitment: bytes,
    start: int,
    count: int,
    *,
    scrypt_n: int,
    full: bool = False,
    progress: ProgressCallback | None = None,
) -> np.ndarray:
    """``compute_labels`` on an already chosen backend object, in progress-sized chunks."""
    check_label_range(commitment, start, count)
    report = progress or no_progress
    out = np.empty((count, 32 if full else 16), dtype=np.uint8)
    for lo, labels in label_chunks(impl, commitment, start, count, scrypt_n=scrypt_n, full=full):
        out[lo : lo + len(labels)] = labels
        report(lo + len(labels), count)
    return out


def label_chunks(
    impl: LabelBackend,
    commitment: bytes,
    start: int,
    count: int,
    *,
    scrypt_n: int,
    full: bool,
) -> Iterator[tuple[int, np.ndarray]]:
    """``(offset, labels)`` for labels ``start .. start+count-1``, a backend batch at a time."""
    for lo, n in batches(impl.batch_size(scrypt_n), count):
        yield lo, impl.compute_labels(commitment, start + lo, n, scrypt_n, full)


def batches(size: int, count: int) -> Iterator[tuple[int, int]]:
    """``(offset, length)`` of the ``size``-label batches covering ``count`` labels."""
    return ((lo, min(size, count - lo)) for lo in range(0, count, size))
