"""Disk sharing: passes per block device are limited and served in the order they asked."""

from __future__ import annotations

import asyncio

import pytest

from mergetool.serve.scheduler import DiskScheduler


async def _passes(scheduler: DiskScheduler, plan: list[tuple[str, int]]) -> list[str]:
    log: list[str] = []
    peak: dict[int, int] = {}

    async def one(name: str, device: int) -> None:
        async with scheduler.disk(device):
            peak[device] = max(peak.get(device, 0), scheduler.busy(device))
            log.append(f"start {name}")
            await asyncio.sleep(0.01)
            log.append(f"end {name}")

    await asyncio.gather(*(one(name, device) for name, device in plan))
    log.append(f"peak {sorted(peak.items())}")
    return log


def test_one_pass_per_disk_in_request_order_other_disks_in_parallel() -> None:
    plan = [("a", 1), ("b", 1), ("c", 2), ("d", 1)]
    log = asyncio.run(_passes(DiskScheduler(1), plan))
    on_disk_1 = [entry for entry in log if entry[-1] in "abd"]
    assert on_disk_1 == ["start a", "end a", "start b", "end b", "start d", "end d"]
    assert log.index("start c") < log.index("end a")  # another disk does not wait
    assert log[-1] == "peak [(1, 1), (2, 1)]"


def test_passes_per_disk_allows_that_many_at_once() -> None:
    log = asyncio.run(_passes(DiskScheduler(2), [("a", 1), ("b", 1), ("c", 1)]))
    assert log[:2] == ["start a", "start b"]
    assert log[-1] == "peak [(1, 2)]"


def test_at_least_one_pass_per_disk() -> None:
    with pytest.raises(ValueError, match="passes_per_disk must be at least 1"):
        DiskScheduler(0)
