"""``serve --dry-run``: when would every identity's proof be ready? A model, not a promise.

``plan_timeline(config, read_speeds, k2pow_rate)`` is pure: the identities per block device
in the order serve takes them (the order of ``--dir``), and for each the expected end of its
k2pow (one pass; the local RandomX host solves one identity's groups at a time, so they queue)
and of its data pass (``passes_per_disk`` at once per device, sharing its read speed), against
the cycle gap. ``measure_read_speed`` reads a little of a folder to estimate a disk.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from mergetool.post.difficulty import scaled_pow_target
from mergetool.serve.config import IdentityConfig, ServeConfig

#: Nonces per k2pow nonce group.
NONCES_PER_GROUP = 16
#: What one measurement of a disk reads at most.
MEASURE_BYTES = 64 << 20
#: The mainnet cycle gap.
CYCLE_GAP_S = 12 * 3600.0


@dataclass(frozen=True)
class IdentityTimeline:
    """One identity's expected proof: when its k2pow and its data pass end (seconds from the
    request), and whether that is within the cycle gap."""

    node_id: bytes
    folder: Path
    device: int
    data_bytes: int
    k2pow_s: float
    k2pow_done_s: float
    read_start_s: float
    finish_s: float
    in_time: bool


@dataclass(frozen=True)
class Timeline:
    """The whole plan: per identity, in order, and what the model assumed."""

    identities: tuple[IdentityTimeline, ...]
    read_speeds: dict[int, float]  # device -> bytes/s
    k2pow_rate: float | None  # hashes/s of the local host, None: remote k2pow
    cycle_gap_s: float

    @property
    def late(self) -> tuple[IdentityTimeline, ...]:
        return tuple(i for i in self.identities if not i.in_time)

    def to_dict(self) -> dict[str, object]:
        return {
            "cycle_gap_s": self.cycle_gap_s,
            "k2pow_rate_hashes_s": self.k2pow_rate,
            "read_speeds_bytes_s": {str(d): s for d, s in self.read_speeds.items()},
            "identities": [
                {
                    "node_id": i.node_id.hex(),
                    "folder": str(i.folder),
                    "device": i.device,
                    "data_bytes": i.data_bytes,
                    "k2pow_s": i.k2pow_s,
                    "k2pow_done_s": i.k2pow_done_s,
                    "read_start_s": i.read_start_s,
                    "finish_s": i.finish_s,
                    "in_time": i.in_time,
                }  # fmt: skip
                for i in self.identities
            ],
        }


def expected_k2pow_hashes(config: ServeConfig, ident: IdentityConfig) -> float:
    """Hashes one pass's k2pow is expected to take: per nonce group 2^256 / target."""
    target = int.from_bytes(scaled_pow_target(config.params.pow_difficulty, ident.num_units))
    groups = -(-config.nonces // NONCES_PER_GROUP)
    return groups * (2**256 / max(1, target))


def plan_timeline(
    config: ServeConfig,
    read_speeds: dict[int, float],
    k2pow_rate: float | None,
    *,
    cycle_gap_s: float = CYCLE_GAP_S,
) -> Timeline:
    """The expected timeline when the node asks every identity at once (as at a cycle start).

    ``k2pow_rate`` None: a remote k2pow-service, taken as taking no time here.
    """
    host_free = 0.0
    slots: dict[int, list[float]] = {}
    rows = []
    for ident in config.identities:
        k2pow_s = 0.0 if k2pow_rate is None else expected_k2pow_hashes(config, ident) / k2pow_rate
        host_free += k2pow_s  # one identity's groups at a time on the local host
        disk = slots.setdefault(ident.device, [0.0] * config.passes_per_disk)
        slot = min(range(len(disk)), key=disk.__getitem__)
        start = max(host_free, disk[slot])
        speed = read_speeds[ident.device] / config.passes_per_disk  # the passes share the disk
        finish = start + ident.data_bytes / speed
        disk[slot] = finish
        rows.append(
            IdentityTimeline(
                ident.node_id,
                ident.folder,
                ident.device,
                ident.data_bytes,
                k2pow_s,
                host_free,
                start,
                finish,
                finish <= cycle_gap_s,
            )  # fmt: skip
        )
    return Timeline(tuple(rows), dict(read_speeds), k2pow_rate, cycle_gap_s)


def measure_read_speed(folder: Path, max_bytes: int = MEASURE_BYTES) -> float:
    """Bytes/s reading up to ``max_bytes`` of a folder's data files, page cache dropped first
    where the platform allows (else the figure may be the cache's)."""
    files = sorted(folder.glob("postdata_*.bin"), key=lambda p: p.name)
    done, started = 0, time.perf_counter()
    for path in files:
        with open(path, "rb", buffering=0) as f:
            if hasattr(os, "posix_fadvise"):
                os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
            while done < max_bytes and (chunk := f.read(min(1 << 20, max_bytes - done))):
                done += len(chunk)
        if done >= max_bytes:
            break
    elapsed = time.perf_counter() - started
    return done / elapsed if elapsed > 0 and done else float("inf")


def measure_k2pow_rate(threads: int, *, fast: bool, seconds: float = 1.0) -> float:
    """RandomX hashes/s of ``threads`` threads (one measured, times threads)."""
    from mergetool.post.pow import randomx_vm

    vm = randomx_vm(fast=fast, slot=0)
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        vm.calculate_hash(count.to_bytes(48, "little"))
        count += 1
    return threads * count / elapsed
