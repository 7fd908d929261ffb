"""The backend contract: what a label backend provides, and the helpers backends share.

Kept apart from ``backends/__init__.py`` (which picks a backend and imports it lazily) so
that a backend module never imports the package that imports it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

BACKENDS = ("auto", "numpy", "opencl")
# Bytes of host memory the numpy backend may use unless told otherwise (--memory-budget).
DEFAULT_MEMORY_BUDGET = 1 << 30


class LabelBackend(Protocol):
    """What initialization and verification need from a label backend."""

    name: str

    def batch_size(self, scrypt_n: int) -> int:
        """Labels per call that fit the backend's memory."""
        ...

    def compute_labels(
        self, commitment: bytes, start: int, count: int, scrypt_n: int, full: bool
    ) -> Any:
        """Labels ``start .. start+count-1``."""
        ...

    def compute_labels_at(
        self, commitment: bytes, indices: Sequence[int] | Any, scrypt_n: int, full: bool
    ) -> Any:
        """Labels at arbitrary indices (verification samples)."""
        ...

    def compute_labels_and_vrf(
        self, commitment: bytes, start: int, count: int, scrypt_n: int, difficulty: bytes
    ) -> tuple[Any, tuple[int, bytes] | None]:
        """16-byte labels ``start .. start+count-1`` and the VRF candidate among them: the
        index whose full 32-byte output is the smallest one strictly below ``difficulty``
        (ties: lowest index) with that output, or None when no output is below."""
        ...


def smallest_below(full: Any, indices: Any, difficulty: bytes) -> tuple[int, bytes] | None:
    """``(index, output)`` of the smallest row of the (B, 32) uint8 ``full`` strictly below
    ``difficulty`` (ties: the lowest of ``indices``, the label index of each row); or None."""
    import numpy as np  # here, not at the top: the CLI imports this package for its --help

    if len(full) == 0:
        return None
    keys = np.ascontiguousarray(full, dtype=np.uint8).view(">u8")  # compare like the bytes
    idx = np.asarray(indices, dtype=np.uint64)
    # lexsort's last key is the primary one: bytes first, the label index breaks ties.
    row = int(np.lexsort((idx, *(keys[:, k] for k in range(3, -1, -1))))[0])
    value = full[row].tobytes()
    if value < difficulty:
        return int(idx[row]), value
    return None
