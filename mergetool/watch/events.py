"""The node's ``AdminService.EventsStream`` events as frozen :class:`NodeEvent` values.

``kind`` is the name of the event's ``details`` field (``atx_published``,
``waiting_for_poet_round_end``, ``malfeasance``…; ``unknown`` for a field this version does
not know). ``key`` is stable across re-subscriptions: the node's replay of its ring repeats
an event with the same bytes, so a monitor dedupes on it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from mergetool.watch.records import MALFEASANCE_KINDS, from_timestamp, jsonable

#: 1.7 nodes send these alongside their successors (18 and 22): count each wait once
DEPRECATED_KINDS = frozenset({"poet_wait_round", "poet_wait_proof"})
#: node-wide events (no identity in them)
NODE_WIDE_KINDS = frozenset({"beacon", "proof_downloaded_from_poet", "post_service_started",
                             "post_service_stopped"})  # fmt: skip


@dataclass(frozen=True)
class NodeEvent:
    """One event: when, whether a step failed, the node's help text, and its details."""

    key: str
    timestamp: datetime | None
    failure: bool
    help: str
    kind: str
    #: the identity the event is about (None for node-wide events)
    smesher: bytes | None = None
    #: ``current``/``publish``/``target``/``epoch`` of the message, when it has them
    current_epoch: int | None = None
    publish_epoch: int | None = None
    target_epoch: int | None = None
    epoch: int | None = None
    layer: int | None = None
    #: the time the node waits until (``until``/``round_end``)
    until: datetime | None = None
    #: eligibilities: proposal slots in ``epoch`` (the sum of the counts)
    slots: int | None = None
    challenge: bytes | None = None
    #: malfeasance: what was proven, in words
    malfeasance: str | None = None
    #: init_failed: the error; poet events: the PoET url and round
    error: str | None = None
    url: str | None = None
    round_id: str | None = None

    @property
    def deprecated(self) -> bool:
        """A deprecated duplicate (count its successor instead)."""
        return self.kind in DEPRECATED_KINDS

    def to_dict(self) -> dict[str, Any]:
        doc = {f.name: jsonable(getattr(self, f.name)) for f in fields(self)}
        doc["deprecated"] = self.deprecated
        return doc


def _uint(detail: Any, name: str) -> int | None:
    return int(getattr(detail, name)) if name in _names(detail) else None


def _names(detail: Any) -> set[str]:
    return {f.name for f in detail.DESCRIPTOR.fields}


def parse_event(event: Any) -> NodeEvent:
    """A ``spacemesh.v1.Event`` message as a NodeEvent."""
    kind = event.WhichOneof("details") or "unknown"
    key = hashlib.sha256(event.SerializeToString(deterministic=True)).hexdigest()[:32]
    base: dict[str, Any] = {
        "key": key,
        "timestamp": from_timestamp(event.timestamp) if event.HasField("timestamp") else None,
        "failure": bool(event.failure),
        "help": event.help,
        "kind": kind,
    }
    if kind == "unknown":
        return NodeEvent(**base)
    detail = getattr(event, kind)
    names = _names(detail)
    found: dict[str, Any] = {}
    if "smesher" in names and detail.smesher:
        found["smesher"] = bytes(detail.smesher)
    if kind in ("atx_published", "poet_wait_round", "waiting_for_poet_registration_window"):
        found["current_epoch"] = _uint(detail, "current")
    if "publish" in names:
        found["publish_epoch"] = int(detail.publish)
    if kind == "atx_published":
        found["publish_epoch"] = int(detail.current)
    if "target" in names:
        found["target_epoch"] = int(detail.target)
    for name in ("epoch", "layer"):
        if name in names:
            found[name] = int(getattr(detail, name))
    for name in ("until", "round_end"):
        if name in names and detail.HasField(name):
            found["until"] = from_timestamp(getattr(detail, name))
    if kind == "eligibilities":
        found["slots"] = sum(int(e.count) for e in detail.eligibilities)
    if "challenge" in names and detail.challenge:
        found["challenge"] = bytes(detail.challenge)
    if kind == "malfeasance":
        proof = detail.proof
        if proof.smesher_id.id:
            found["smesher"] = bytes(proof.smesher_id.id)
        found["malfeasance"] = MALFEASANCE_KINDS.get(int(proof.kind), f"type {proof.kind}")
        if proof.HasField("layer"):
            found["layer"] = int(proof.layer.number)
    for name in ("error", "url", "round_id"):
        if name in names and getattr(detail, name):
            found[name] = str(getattr(detail, name))
    return NodeEvent(**base, **found)
