"""Progress reporting: the library calls ``progress(done, total)``; the CLI draws the bar."""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[int, int], None]


def no_progress(done: int, total: int) -> None:
    """The default reporter: ignores every update."""
