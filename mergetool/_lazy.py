"""Lazy re-exports: a package names its public API without importing the heavy modules behind it."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str], eager: Mapping[str, Any] | None = None
) -> tuple[list[str], Callable[[str], Any], Callable[[], list[str]]]:
    """``__all__``, ``__getattr__`` and ``__dir__`` for ``package`` re-exporting ``exports``.

    ``exports`` maps each public name to the module defining it; ``eager`` lists names the
    package already holds (they only join ``__all__``).
    """
    names = sorted([*exports, *(eager or {})])

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module), name)

    def __dir__() -> list[str]:
        return names

    return names, __getattr__, __dir__
