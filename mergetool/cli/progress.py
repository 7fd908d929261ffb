"""The tqdm bridge: library progress callbacks drawn as bars on a terminal."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO


class Bars:
    """A :data:`~mergetool._progress.StageProgressCallback` drawing one tqdm bar per stage."""

    def __init__(self, file: TextIO) -> None:
        self.file = file
        self.bars: dict[str, Any] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        bar = self.bars.get(stage)
        if bar is None:
            from tqdm import tqdm

            # The rate counts from this first report on: work done before the bar existed
            # (the first batch) would otherwise show as done in no time at all.
            bar = self.bars[stage] = tqdm(
                total=total, initial=done, desc=stage, unit="", leave=False, file=self.file
            )
        bar.total = total
        bar.n = done
        bar.refresh()

    def note(self, stage: str, text: str) -> None:
        """Show ``text`` after the bar of ``stage`` (when it has one)."""
        bar = self.bars.get(stage)
        if bar is not None:
            bar.set_postfix_str(text, refresh=True)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


@contextmanager
def progress_bar(enabled: bool) -> Iterator[Bars | None]:
    """A progress callback drawing tqdm bars on a terminal; ``None`` when disabled."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    bars = Bars(sys.stderr)
    try:
        yield bars
    finally:
        bars.close()
