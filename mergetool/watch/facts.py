"""What the follower knows at one moment, as plain frozen values: the input of the alert
rules and of the metrics (which neither read the node themselves)."""

from __future__ import annotations

from dataclasses import dataclass, field

#: Verdict slugs (the state set of the ``mergetool_watch_verdict`` metric).
VERDICTS = (
    "earning",
    "will_earn",
    "waiting_poet",
    "proving",
    "missed_epoch",
    "post_failed",
    "not_loaded",
    "no_service",
    "banned",
    "unknown",
)


@dataclass(frozen=True)
class IdentityFacts:
    """One identity: ``node_id`` hex, ``name`` its key file's name (or a short id)."""

    node_id: str
    name: str
    verdict: str = "unknown"
    verdict_text: str = ""
    #: publish epoch of its newest ATX
    atx_epoch: int | None = None
    #: proposal slots in the current epoch
    eligible_slots: int = 0
    #: rewards of the last full epoch, in smidge, and the layer of the newest reward
    rewards_smidge: int = 0
    last_reward_layer: int | None = None
    #: malfeasance kind when banned
    banned: str | None = None
    #: the node's help text of a PoST failure not yet followed by a good proof
    post_failure: str | None = None
    #: the epoch it earns nothing in, for want of an ATX published the epoch before
    missed_epoch: int | None = None
    #: the node asks it for a proof and no PoST service is connected for it
    asked_without_service: bool = False
    #: a PoST service is connected for it (None: unknown)
    service_connected: bool | None = None


@dataclass(frozen=True)
class NodeFacts:
    """The node and its identities at ``at`` (Unix seconds)."""

    at: float
    synced: bool | None = None
    sync_status: str = "unknown"
    current_layer: int | None = None
    current_epoch: int | None = None
    #: the next (or current) cycle gap, Unix seconds
    cycle_gap_start: float | None = None
    cycle_gap_end: float | None = None
    identities: tuple[IdentityFacts, ...] = field(default_factory=tuple)
