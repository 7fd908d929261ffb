"""SIGTERM handled like Ctrl-C, for commands that must clean up or explain when stopped."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def sigterm_raises(make: Callable[[int], BaseException]) -> Iterator[None]:
    """Within the ``with``, SIGTERM raises ``make(signum)`` (so ``with`` blocks unwind)."""

    def stop(signum: int, frame: object) -> None:
        raise make(signum)

    try:
        previous = signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
