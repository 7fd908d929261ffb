"""Disk sharing: at most ``passes_per_disk`` data passes at once on one block device.

Identities are grouped by the ``st_dev`` of their data folder. A pass waits for its disk in
the order the waits began (asyncio's semaphores wake waiters first come, first served), and
since k2pow runs before the wait, one identity's k2pow overlaps another's pass.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class DiskScheduler:
    """Hands out disk slots per device; ``busy(device)`` counts passes running there."""

    def __init__(self, passes_per_disk: int = 1) -> None:
        if passes_per_disk < 1:
            raise ValueError("passes_per_disk must be at least 1")
        self.passes_per_disk = passes_per_disk
        self._slots: dict[int, asyncio.Semaphore] = {}
        self._busy: dict[int, int] = {}

    def busy(self, device: int) -> int:
        return self._busy.get(device, 0)

    @asynccontextmanager
    async def disk(self, device: int) -> AsyncIterator[None]:
        slot = self._slots.setdefault(device, asyncio.Semaphore(self.passes_per_disk))
        async with slot:
            self._busy[device] = self.busy(device) + 1
            try:
                yield
            finally:
                self._busy[device] -= 1
