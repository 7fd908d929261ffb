"""Progress reporting: the library calls ``progress(done, total)``; the CLI draws the bar.

:data:`Progress` is the one callback type. A job of several stages (a merge: rows, then
keys) takes a :data:`StageProgress`, which names the stage first; :func:`for_stage` turns
it into the :data:`Progress` of one stage.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mergetool.post.pow import PowProgress

Progress = Callable[[int, int], None]
StageProgress = Callable[[str, int, int], None]


def no_progress(done: int, total: int) -> None:
    """The default reporter: ignores every update."""


def for_stage(progress: StageProgress | None, stage: str) -> Progress | None:
    """The :data:`Progress` of ``stage`` reported through ``progress`` (None stays None)."""
    if progress is None:
        return None
    return lambda done, total: progress(stage, done, total)


class ProveReporter:
    """Where a proving run is (``generate_proof``); every method a no-op here: override what
    you show."""

    def pass_started(self, start: int, end: int) -> None:
        """A pass of nonces ``start .. end - 1`` begins (with its k2pow)."""

    def k2pow(self, progress: PowProgress) -> None:
        """k2pow of the pass: groups done, hashes tried."""

    def scanned(self, done: int, total: int) -> None:
        """The scan of the pass: bytes read of all."""
