"""Progress reporting: the library calls ``progress(done, total)``; the CLI draws the bar.

:data:`ProgressCallback` is the one callback type, shared by every wing (merge, post). A job
of several stages (a merge: rows, then keys) takes a :data:`StageProgressCallback`, which
names the stage first; :func:`for_stage` turns it into the :data:`ProgressCallback` of one
stage. (A value saying how far a job has got is another thing, e.g. ``serve``'s
``Progress`` or ``post.pow.PowProgress``.)
"""

from __future__ import annotations

from collections.abc import Callable

ProgressCallback = Callable[[int, int], None]
StageProgressCallback = Callable[[str, int, int], None]


def no_progress(done: int, total: int) -> None:
    """The default reporter: ignores every update."""


def no_stage_progress(stage: str, done: int, total: int) -> None:
    """The default reporter of a job of several stages: ignores every update."""


def for_stage(progress: StageProgressCallback | None, stage: str) -> ProgressCallback | None:
    """The :data:`ProgressCallback` of ``stage`` reported through ``progress`` (None stays None)."""
    if progress is None:
        return None
    return lambda done, total: progress(stage, done, total)
