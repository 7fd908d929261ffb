"""What the node's events (its replay ring: the last 100, all identities together) tell about
each identity: an unrecovered PoST failure, the PoET round it waits for, when a proof was
asked and delivered, eligibilities and proposals, malfeasance."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from mergetool.watch.clock import NetworkClock
from mergetool.watch.events import NodeEvent
from mergetool.watch.model import Eligibility

#: events that move the PoST/ATX story of an identity on (the newest one decides)
_WAITS = frozenset({"waiting_for_poet_registration_window", "waiting_for_poet_round_end"})
_STEPS = _WAITS | {
    "post_start", "post_complete", "init_start", "init_complete", "init_failed",
    "atx_published", "registered_in_poet", "best_proof_selected",
}  # fmt: skip


@dataclass
class Timeline:
    """One identity's story as far as the events tell (oldest to newest)."""

    banned: list[str] = field(default_factory=list)
    post_failure: str | None = None
    poet_round_end: datetime | None = None
    asked_at: datetime | None = None
    delivered_at: datetime | None = None
    #: epoch -> slots; layers of the proposals seen
    slots: dict[int, int] = field(default_factory=dict)
    proposal_layers: list[int] = field(default_factory=list)
    layers_per_epoch: int | None = None

    def eligibility(self, epoch: int) -> Eligibility | None:
        """Slots and proposals in ``epoch`` (None when no eligibilities event was seen)."""
        if epoch not in self.slots or not self.layers_per_epoch:
            return None
        made = sum(1 for layer in self.proposal_layers if layer // self.layers_per_epoch == epoch)
        return Eligibility(epoch, self.slots[epoch], made)

    def step(self, ev: NodeEvent, clock: NetworkClock | None) -> None:
        kind = ev.kind
        if kind == "malfeasance" and ev.malfeasance:
            self.banned.append(ev.malfeasance)
        elif kind == "eligibilities" and ev.epoch is not None:
            self.slots[ev.epoch] = ev.slots or 0
        elif kind == "proposal" and ev.layer is not None:
            self.proposal_layers.append(ev.layer)
        if kind not in _STEPS:
            return
        failed = (kind == "post_complete" and ev.failure) or kind == "init_failed"
        self.post_failure = (
            (ev.help or ev.error or "the node reports a failure") if failed else None
        )
        if kind not in ("registered_in_poet", "best_proof_selected"):
            self.poet_round_end = None
        if kind in _WAITS and ev.publish_epoch is not None:
            if clock is not None:
                self.poet_round_end = clock.poet_round_end(ev.publish_epoch)
            elif kind == "waiting_for_poet_round_end":
                self.poet_round_end = ev.until
        if kind == "post_start":
            self.asked_at, self.delivered_at = ev.timestamp, None
        elif kind == "post_complete" and not ev.failure:
            self.delivered_at = ev.timestamp


def timelines(events: Iterable[NodeEvent], clock: NetworkClock | None) -> dict[bytes, Timeline]:
    """node id -> its Timeline (deprecated duplicates skipped: each wait counts once)."""
    found: dict[bytes, Timeline] = {}
    for ev in events:
        if ev.smesher is None or ev.deprecated:
            continue
        line = found.setdefault(ev.smesher, Timeline())
        line.layers_per_epoch = clock.layers_per_epoch if clock else None
        line.step(ev, clock)
    return found
