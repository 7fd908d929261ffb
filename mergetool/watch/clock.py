"""The network's clock (``spec/node-watch.md``): epochs from genesis, layer duration and
layers per epoch (``NetworkService.Info``), and the PoET cycle gap from the ``poet`` timing
(the node's config, or mainnet's).

For an ATX published in epoch P: the PoET round ends at start(P) + phase_shift − cycle_gap;
the cycle gap is [that, start(P) + phase_shift]; the proof must exist by
start(P + 1) − cycle_gap (the proof deadline) and the ATX be published before start(P + 1)
(the publish deadline), or the identity earns nothing in epoch P + 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from mergetool.watch.records import iso

MAINNET_GENESIS = datetime(2023, 7, 14, 8, 0, tzinfo=UTC)
MAINNET_LAYER_S = 300.0
MAINNET_LAYERS_PER_EPOCH = 4032
HOUR = 3600.0


@dataclass(frozen=True)
class PoetTiming:
    """``poet.phase-shift``, ``poet.cycle-gap``, ``poet.grace-period`` in seconds (mainnet's
    by default)."""

    phase_shift_s: float = 240 * HOUR
    cycle_gap_s: float = 12 * HOUR
    grace_period_s: float = 1 * HOUR


@dataclass(frozen=True)
class ClockWindow:
    """Where ``now`` stands: the current epoch, the next cycle gap (the one not over yet, this
    epoch's or the next's) and the deadlines of the ATX published in the current epoch."""

    now: datetime
    epoch: int
    layer: int
    epoch_start: datetime
    epoch_end: datetime
    #: the publish epoch whose cycle gap is the next one (``epoch`` or ``epoch + 1``)
    gap_epoch: int
    poet_round_end: datetime
    cycle_gap_start: datetime
    cycle_gap_end: datetime
    proof_deadline: datetime
    publish_deadline: datetime

    @property
    def in_cycle_gap(self) -> bool:
        return self.cycle_gap_start <= self.now < self.cycle_gap_end

    @property
    def until_cycle_gap_s(self) -> float:
        """Seconds to the start of the next cycle gap (0 while in it)."""
        return max(0.0, (self.cycle_gap_start - self.now).total_seconds())

    def to_dict(self) -> dict[str, Any]:
        """The page contract's ``clock`` object (plus ``layer`` and ``gap_epoch``)."""
        return {
            "epoch": self.epoch,
            "layer": self.layer,
            "epoch_start": iso(self.epoch_start),
            "epoch_end": iso(self.epoch_end),
            "gap_epoch": self.gap_epoch,
            "poet_round_end": iso(self.poet_round_end),
            "cycle_gap_start": iso(self.cycle_gap_start),
            "cycle_gap_end": iso(self.cycle_gap_end),
            "proof_deadline": iso(self.proof_deadline),
            "publish_deadline": iso(self.publish_deadline),
            "in_cycle_gap": self.in_cycle_gap,
        }


@dataclass(frozen=True)
class NetworkClock:
    """Epoch and cycle-gap arithmetic; every time is an aware UTC ``datetime``."""

    genesis: datetime = MAINNET_GENESIS
    layer_duration_s: float = MAINNET_LAYER_S
    layers_per_epoch: int = MAINNET_LAYERS_PER_EPOCH
    poet: PoetTiming = field(default_factory=PoetTiming)

    @property
    def epoch_s(self) -> float:
        return self.layer_duration_s * self.layers_per_epoch

    def epoch_of_layer(self, layer: int) -> int:
        return layer // self.layers_per_epoch

    def first_layer(self, epoch: int) -> int:
        return epoch * self.layers_per_epoch

    def layer_at(self, when: datetime) -> int:
        """The layer running at ``when`` (0 before genesis)."""
        elapsed = (when - self.genesis).total_seconds()
        return max(0, math.floor(elapsed / self.layer_duration_s))

    def epoch_at(self, when: datetime) -> int:
        return self.epoch_of_layer(self.layer_at(when))

    def epoch_start(self, epoch: int) -> datetime:
        return self.genesis + timedelta(seconds=epoch * self.epoch_s)

    def poet_round_end(self, publish_epoch: int) -> datetime:
        """When the PoET round of ``publish_epoch``'s ATX ends (the cycle gap starts)."""
        shift = self.poet.phase_shift_s - self.poet.cycle_gap_s
        return self.epoch_start(publish_epoch) + timedelta(seconds=shift)

    def cycle_gap(self, publish_epoch: int) -> tuple[datetime, datetime]:
        """[start, end) of the cycle gap in which ``publish_epoch``'s proof is made."""
        end = self.epoch_start(publish_epoch) + timedelta(seconds=self.poet.phase_shift_s)
        return self.poet_round_end(publish_epoch), end

    def proof_deadline(self, publish_epoch: int) -> datetime:
        """The proof for an ATX published in ``publish_epoch`` must exist by then."""
        cut = timedelta(seconds=self.poet.cycle_gap_s)
        return self.epoch_start(publish_epoch + 1) - cut

    def publish_deadline(self, publish_epoch: int) -> datetime:
        """The ATX must be published before then, or epoch ``publish_epoch + 1`` earns nothing."""
        return self.epoch_start(publish_epoch + 1)

    def window(self, now: datetime) -> ClockWindow:
        """Where ``now`` stands (see :class:`ClockWindow`)."""
        layer = self.layer_at(now)
        epoch = self.epoch_of_layer(layer)
        gap_epoch = epoch
        while self.cycle_gap(gap_epoch)[1] <= now:
            gap_epoch += 1
        start, end = self.cycle_gap(gap_epoch)
        return ClockWindow(
            now=now,
            epoch=epoch,
            layer=layer,
            epoch_start=self.epoch_start(epoch),
            epoch_end=self.epoch_start(epoch + 1),
            gap_epoch=gap_epoch,
            poet_round_end=self.poet_round_end(gap_epoch),
            cycle_gap_start=start,
            cycle_gap_end=end,
            proof_deadline=self.proof_deadline(epoch),
            publish_deadline=self.publish_deadline(epoch),
        )


_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": HOUR}


def parse_go_duration(text: str) -> float:
    """A Go duration string (``240h``, ``1h30m``, ``90s``) in seconds; ValueError otherwise."""
    import re

    value = text.strip()
    if value in ("0", ""):
        if value == "":
            raise ValueError("empty duration")
        return 0.0
    parts = re.findall(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)", value)
    if not parts or "".join(n + u for n, u in parts) != value:
        raise ValueError(f"not a duration like 240h or 1h30m: {text!r}")
    return sum(float(n) * _UNITS[u] for n, u in parts)
