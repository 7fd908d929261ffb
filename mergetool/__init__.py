"""mergetool: merge Spacemesh node data folders safely; check and exercise PoST data.

The public API is re-exported here and imported lazily, so that ``merge-nodes --help``
stays fast. See README.md for a tour.
"""

from __future__ import annotations

import importlib
from typing import Any

from mergetool._version import __version__

_EXPORTS: dict[str, str] = {
    # filled as the library grows: name -> module
}

__all__ = sorted(["__version__", *_EXPORTS])


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mergetool' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return __all__
