"""A scripted HTTP server standing in for a k2pow-service (201, 429, 500, garbage, slow)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

#: A handler answers (status, body) for (path, how many times this path was asked before).
Script = Callable[[str, int], tuple[int, str]]


@dataclass
class StubServer:
    """A scripted k2pow server that records the paths it was asked and its peak concurrency."""

    script: Script
    delay_s: float = 0.0
    paths: list[str] = field(default_factory=list)
    in_flight: int = 0
    peak: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def answer(self, path: str) -> tuple[int, str]:
        with self.lock:
            seen = self.paths.count(path)
            self.paths.append(path)
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            time.sleep(self.delay_s)
            return self.script(path, seen)
        finally:
            with self.lock:
                self.in_flight -= 1
