"""Label backends: ``numpy`` (reference, always there) and ``opencl`` (optional extra).

A backend is a :class:`LabelBackend`: labels by range or at given indices, as uint8 arrays
of shape (count, 16) or (count, 32), in batches of ``batch_size`` labels.
"""

from __future__ import annotations

import importlib
import logging

from mergetool._exceptions import BackendUnavailable
from mergetool.post.backends.base import (
    BACKENDS,
    DEFAULT_MEMORY_BUDGET,
    LabelBackend,
    smallest_below,
)

__all__ = ["BACKENDS", "DEFAULT_MEMORY_BUDGET", "LabelBackend", "get_backend", "smallest_below"]

log = logging.getLogger("mergetool.post")


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
