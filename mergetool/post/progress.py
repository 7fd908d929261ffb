"""Progress reporting: the library calls ``progress(done, total)``; the CLI draws the bar.

:data:`Progress` is the one callback type. A job of several stages (a merge: rows, then
keys) takes a :data:`StageProgress`, which names the stage first; :func:`for_stage` turns
it into the :data:`Progress` of one stage.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[int, int], None]
StageProgress = Callable[[str, int, int], None]


def no_progress(done: int, total: int) -> None:
    """The default reporter: ignores every update."""


def for_stage(progress: StageProgress | None, stage: str) -> Progress | None:
    """The :data:`Progress` of ``stage`` reported through ``progress`` (None stays None)."""
    if progress is None:
        return None
    return lambda done, total: progress(stage, done, total)
