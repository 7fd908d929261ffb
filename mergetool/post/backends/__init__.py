"""Label backends: ``numpy`` (reference, always there) and ``opencl`` (optional extra).

A backend is a :class:`LabelBackend`: labels by range or at given indices, as uint8 arrays
of shape (count, 16) or (count, 32), in batches of ``batch_size`` labels.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Sequence
from typing import Any, Protocol

from mergetool._exceptions import BackendUnavailable

BACKENDS = ("auto", "numpy", "opencl")
# Bytes of host memory the numpy backend may use unless told otherwise (--memory-budget).
DEFAULT_MEMORY_BUDGET = 1 << 30

log = logging.getLogger("mergetool.post")


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
    import numpy as np

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


def _opencl_available() -> bool:
    try:
        return bool(importlib.import_module("mergetool.post.backends.opencl").is_available())
    except Exception:  # noqa: BLE001 - any failure to probe means "use numpy"
        return False


def get_backend(
    name: str | LabelBackend,
    device: str | None = None,
    *,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
) -> LabelBackend:
    """The backend called ``name`` ("auto" picks OpenCL when a device is usable, else numpy).

    A backend object passed instead of a name is returned as it is.
    """
    if not isinstance(name, str):
        return name
    if name == "auto":
        name = "opencl" if _opencl_available() else "numpy"
        log.info("label backend 'auto' chose %s", name)
    if name == "numpy":
        from mergetool.post.backends.numpy_backend import NumpyBackend

        return NumpyBackend(memory_budget=memory_budget)
    if name == "opencl":
        try:
            from mergetool.post.backends.opencl import OpenCLBackend
        except ImportError as exc:
            raise BackendUnavailable(
                f"the OpenCL backend is not available ({exc})",
                hint="Install it with: pip install 'mergetool[opencl]'",
            ) from exc
        try:
            return OpenCLBackend(device=device)
        except BackendUnavailable:
            raise
        except Exception as exc:
            raise BackendUnavailable(f"cannot open OpenCL device {device!r}: {exc}") from exc
    raise BackendUnavailable(
        f"unknown label backend {name!r}", hint=f"Choose one of: {', '.join(BACKENDS)}."
    )
