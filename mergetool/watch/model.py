"""What ``watch`` reports: frozen values; ``to_dict`` is ``watch --json`` (ids in hex, times
ISO-8601 UTC, unknown values null)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mergetool.serviceapi.state import ServiceState
from mergetool.watch.clock import ClockWindow
from mergetool.watch.events import NodeEvent
from mergetool.watch.records import SMIDGE_PER_SMH, NetworkInfo, NodeStatus, iso, jsonable

#: ``watch --json``'s format; bumped when a field changes meaning or goes away
FORMAT = "mergetool-watch/1"
#: verdict levels; ``warn`` and ``bad`` need the operator's attention
LEVELS = ("ok", "info", "warn", "bad")


@dataclass(frozen=True)
class Verdict:
    """The row's verdict: a stable ``code`` (see PAGE_CONTRACT's list), the ``text`` shown and
    its ``level``; ``advice`` is the next step for the operator (empty when there is none)."""

    code: str
    text: str
    level: str
    advice: str = ""

    @property
    def needs_attention(self) -> bool:
        return self.level in ("warn", "bad")

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "text": self.text, "level": self.level, "advice": self.advice}


@dataclass(frozen=True)
class AtxInfo:
    """The identity's newest ATX: published in ``publish_epoch``, eligible in the next."""

    publish_epoch: int
    target_epoch: int

    def to_dict(self) -> dict[str, Any]:
        return {"publish_epoch": self.publish_epoch, "target_epoch": self.target_epoch}


@dataclass(frozen=True)
class Eligibility:
    """Proposal slots in ``epoch`` (from the node's eligibilities event) and proposals made."""

    epoch: int
    slots: int
    proposals: int

    def to_dict(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "slots": self.slots, "proposals": self.proposals}


@dataclass(frozen=True)
class Rewards:
    """The newest reward's layer (None: never rewarded) and what ``epoch`` earned, in smidge."""

    last_layer: int | None
    epoch: int
    smidge_epoch: int

    @property
    def smh_epoch(self) -> float:
        return self.smidge_epoch / SMIDGE_PER_SMH

    def to_dict(self) -> dict[str, Any]:
        return {
            "last_layer": self.last_layer,
            "epoch": self.epoch,
            "smidge_epoch": self.smidge_epoch,
            "smh_epoch": self.smh_epoch,
        }


@dataclass(frozen=True)
class PostView:
    """The PoST side: the node's PostStates entry (IDLE/PROVING, None when not listed or not
    asked), the service's state from an operator API, and when the node last asked for a
    proof and got one (from its events)."""

    node_state: str | None = None
    service: ServiceState | None = None
    #: why the service's state is unknown (no --operator serves it, one did not answer)
    service_problem: str | None = None
    asked_at: datetime | None = None
    delivered_at: datetime | None = None

    def describe(self) -> str:
        """``PROVING / reading 40 %``, ``IDLE / idle``, ``IDLE`` or ``-``."""
        node = self.node_state or "-"
        if self.service is None:
            return node
        return f"{node} / {self.service.describe()}"

    def to_dict(self) -> dict[str, Any]:
        s = self.service
        return {
            "node_state": self.node_state,
            "service": None
            if s is None
            else {
                "source": s.source,
                "state": s.kind,
                "connected": s.connected,
                "phase": s.phase,
                "bytes_read": s.bytes_read,
                "bytes_total": s.bytes_total,
                "k2pow_groups": list(s.k2pow_groups) if s.k2pow_groups else None,
                "text": s.describe(),
            },
            "service_problem": self.service_problem,
            "asked_at": iso(self.asked_at),
            "delivered_at": iso(self.delivered_at),
        }


@dataclass(frozen=True)
class IdentityRow:
    """One identity: what the node and its service say about it, and the verdict."""

    node_id: bytes
    #: the key file's NAME (identities/NAME.key), or None when unknown
    name: str | None
    #: in the node's SmesherIDs (None: the private listener did not answer)
    loaded: bool | None
    atx: AtxInfo | None
    eligibility: Eligibility | None
    rewards: Rewards | None
    post: PostView
    #: malfeasance kinds proven against it (any: banned for good)
    banned: tuple[str, ...]
    #: the node's help text of its newest failure for this identity, if not recovered since
    last_error: str | None
    verdict: Verdict

    @property
    def short_id(self) -> str:
        h = self.node_id.hex()
        return f"{h[:8]}…{h[-4:]}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "node_id": self.node_id.hex(),
            "name": self.name,
            "loaded": self.loaded,
            "atx": jsonable(self.atx),
            "eligibility": jsonable(self.eligibility),
            "rewards": jsonable(self.rewards),
            "post": self.post.to_dict(),
            "banned": list(self.banned),
            "last_error": self.last_error,
            "verdict": self.verdict.to_dict(),
        }


@dataclass(frozen=True)
class WatchReport:
    """The result of :func:`~mergetool.watch.read.read_watch`."""

    generated_at: datetime
    #: the addresses asked: {"private": …, "public": …, "post": … or None}
    listeners: dict[str, str | None]
    node: NodeStatus | None
    network: NetworkInfo | None
    clock: ClockWindow | None
    identities: tuple[IdentityRow, ...]
    #: the node's events this read saw (its replay ring), oldest first
    events: tuple[NodeEvent, ...]
    #: every listener or service that did not answer as it should, with its address
    errors: tuple[str, ...]

    @property
    def needs_attention(self) -> bool:
        """True when anything did not answer, the node is not synced, or a row needs it."""
        return (
            bool(self.errors)
            or (self.node is not None and self.node.sync != "synced")
            or any(i.verdict.needs_attention for i in self.identities)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "generated_at": iso(self.generated_at),
            "listeners": dict(self.listeners),
            "node": jsonable(self.node),
            "network": jsonable(self.network),
            "clock": jsonable(self.clock),
            "identities": [i.to_dict() for i in self.identities],
            "events": [e.to_dict() for e in self.events],
            "errors": list(self.errors),
            "needs_attention": self.needs_attention,
        }
