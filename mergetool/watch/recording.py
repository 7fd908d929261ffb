"""What the follower writes into its history: node events and rows of the node's lists as
:class:`~mergetool.watch.history.Record` values, with the words of their log lines.

Keys make the same fact seen twice one record: an event by the node's own bytes (its replay
repeats them), an ATX by identity and publish epoch (one per epoch, whether the event or
the ActivationService list told it first), a reward by identity and layer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from mergetool.watch.history import KINDS, Record

#: the node's ``details`` field -> the history's kind
_EVENT_KINDS = {
    "waiting_for_poet_registration_window": "poet_wait_registration",
    "registered_in_poet": "poet_registered",
    "waiting_for_poet_round_end": "poet_round",
    "best_proof_selected": "poet_best_proof",
    "proof_downloaded_from_poet": "poet_proof_downloaded",
}


def _ts(moment: datetime | None) -> float | None:
    return None if moment is None else moment.timestamp()


def _when(moment: datetime | None) -> str:
    return "?" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


def record_of_event(event: Any, *, now: Callable[[], float] = time.time) -> Record | None:
    """The record of a node event (a ``NodeEvent``); None for a deprecated duplicate."""
    if event.deprecated:
        return None  # 1.7 nodes send its successor too: count the wait once
    kind = _EVENT_KINDS.get(event.kind, event.kind)
    identity = event.smesher.hex() if event.smesher else ""
    data: dict[str, Any] = {
        name: value
        for name, value in (
            ("current_epoch", event.current_epoch),
            ("publish_epoch", event.publish_epoch),
            ("target_epoch", event.target_epoch),
            ("epoch", event.epoch),
            ("layer", event.layer),
            ("until", _ts(event.until)),
            ("slots", event.slots),
            ("challenge", event.challenge.hex() if event.challenge else None),
            ("malfeasance", event.malfeasance),
            ("error", event.error),
            ("url", event.url),
            ("round_id", event.round_id),
        )
        if value is not None
    }
    key = f"event:{event.key}"
    if kind == "atx_published" and identity and event.publish_epoch is not None:
        key = f"atx:{identity}:{event.publish_epoch}"
    elif kind == "malfeasance" and identity:
        key = f"malfeasance:{identity}"
    at = _ts(event.timestamp) or now()
    return Record(key, identity, at, kind, event.failure, event.help, data)


def atx_record(identity: str, publish_epoch: int, at: float, **data: Any) -> Record:
    """An ATX read from the ActivationService list (``at``: the start of its epoch)."""
    doc = {"publish_epoch": publish_epoch, "target_epoch": publish_epoch + 1, **data}
    return Record(f"atx:{identity}:{publish_epoch}", identity, at, "atx_published", data=doc)


def reward_record(identity: str, layer: int, at: float, total: int) -> Record:
    return Record(
        f"reward:{identity}:{layer}", identity, at, "reward", data={"layer": layer, "total": total}
    )


def malfeasance_record(identity: str, at: float, kind: str) -> Record:
    return Record(
        f"malfeasance:{identity}", identity, at, "malfeasance", data={"malfeasance": kind}
    )


def describe(record: Record) -> str:
    """The log line's words for ``record``."""
    d = record.data
    what = KINDS.get(record.kind, record.kind.replace("_", " "))
    until = d.get("until")
    when = _when(None if until is None else datetime.fromtimestamp(float(until)).astimezone())
    text = {
        "poet_wait_registration": f"{what} until {when} (publish epoch {d.get('publish_epoch')})",
        "poet_registered": f"{what} {d.get('url', '')} round {d.get('round_id', '?')}",
        "poet_round": f"{what}, ends {when} (publish epoch {d.get('publish_epoch')}, "
        f"target {d.get('target_epoch')})",
        "post_start": f"{what} (challenge {str(d.get('challenge', ''))[:12]})",
        "atx_published": f"{what} in epoch {d.get('publish_epoch')}: eligible in epoch "
        f"{d.get('target_epoch')}",
        "eligibilities": f"{d.get('slots', 0)} proposal slots in epoch {d.get('epoch')}",
        "proposal": f"{what} in layer {d.get('layer')}",
        "reward": f"{what} of {int(d.get('total', 0)) / 10**9:.3f} SMH in layer {d.get('layer')}",
        "malfeasance": f"{what} ({d.get('malfeasance', 'unknown kind')})",
        "init_failed": f"{what}: {d.get('error', '')}",
    }.get(record.kind, what)
    if record.kind == "post_complete" and record.failure:
        return f"PoST failed: {record.help or 'no reason given'}"
    if record.failure and record.help:
        return f"{text} failed: {record.help}"
    if record.failure:
        return f"{text} failed"
    return text
