"""The reference label backend: scrypt-jane in vectorized numpy, bounded by a memory budget."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mergetool._exceptions import InvalidParameters
from mergetool.post.backends.base import DEFAULT_MEMORY_BUDGET, smallest_below
from mergetool.post.params import check_32_bytes
from mergetool.post.scrypt import PACKED_MAX_BATCH, check_n, scrypt_labels

# Per-label working memory besides V: a few (32,)/(16,) uint32 rows and the PBKDF2 buffers.
_OVERHEAD_PER_LABEL = 4096
# Upper bound of the packed ROMix's V per label and per unit of N (measured ~630 at B = 1).
_PACKED_BYTES_PER_N = 704


def label_passwords(commitment: bytes, indices: np.ndarray) -> np.ndarray:
    """The 72-byte scrypt passwords ``commitment || u64le(i) || 32 zero bytes`` -> (B, 72)."""
    passwords = np.zeros((len(indices), 72), dtype=np.uint8)
    passwords[:, :32] = np.frombuffer(commitment, dtype=np.uint8)
    passwords[:, 32:40] = np.asarray(indices, dtype="<u8").reshape(-1, 1).view(np.uint8)
    return passwords


def batch_size(scrypt_n: int, memory_budget: int) -> int:
    """How many labels one ROMix batch may hold without exceeding ``memory_budget`` bytes."""
    per_label = 128 * scrypt_n + _OVERHEAD_PER_LABEL
    size = memory_budget // per_label
    if size <= PACKED_MAX_BATCH:
        # Small batches run the packed-integer ROMix, whose V costs up to ~5x more per label
        # (Python int headers); size the batch for that so the budget still holds.
        per_label = _PACKED_BYTES_PER_N * scrypt_n + _OVERHEAD_PER_LABEL
        size = memory_budget // per_label
    if size < 1:
        raise InvalidParameters(
            f"memory budget {memory_budget} bytes is too small for one label at scrypt N="
            f"{scrypt_n} (needs {per_label} bytes)"
        )
    return int(size)


class NumpyBackend:
    """CPU labels with numpy; the reference every other backend is tested against."""

    name = "numpy"

    def __init__(self, memory_budget: int = DEFAULT_MEMORY_BUDGET) -> None:
        self.memory_budget = memory_budget

    def batch_size(self, scrypt_n: int) -> int:
        """Labels per call that fit the memory budget."""
        return batch_size(scrypt_n, self.memory_budget)

    def compute_labels(
        self, commitment: bytes, start: int, count: int, scrypt_n: int, full: bool
    ) -> np.ndarray:
        """Labels ``start .. start+count-1`` as (count, 16) uint8, or (count, 32) when full."""
        return self.compute_labels_at(
            commitment, np.arange(start, start + count, dtype=np.uint64), scrypt_n, full
        )

    def compute_labels_at(
        self, commitment: bytes, indices: Sequence[int] | np.ndarray, scrypt_n: int, full: bool
    ) -> np.ndarray:
        """Labels at arbitrary indices (for verification and sampling), same shapes."""
        check_n(scrypt_n)
        idx = np.asarray(indices, dtype=np.uint64)
        width = 32 if full else 16
        out = np.empty((len(idx), width), dtype=np.uint8)
        step = self.batch_size(scrypt_n)
        for lo in range(0, len(idx), step):
            part = idx[lo : lo + step]
            out[lo : lo + len(part)] = scrypt_labels(
                label_passwords(commitment, part), scrypt_n, 32
            )[:, :width]
        return out

    def compute_labels_and_vrf(
        self, commitment: bytes, start: int, count: int, scrypt_n: int, difficulty: bytes
    ) -> tuple[np.ndarray, tuple[int, bytes] | None]:
        """(count, 16) labels and the smallest full output below ``difficulty`` among them
        (ties: lowest index) as ``(index, output)``, or None: full labels, reduced here."""
        check_32_bytes("VRF difficulty", difficulty)
        full = self.compute_labels(commitment, start, count, scrypt_n, full=True)
        indices = np.arange(start, start + count, dtype=np.uint64)
        return full[:, :16].copy(), smallest_below(full, indices, difficulty)
