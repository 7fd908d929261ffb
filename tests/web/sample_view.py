"""A ``mergetool-page/1`` document with a known clock and three identities (tests, screenshot)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

HOUR = 3600.0


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _post(phase: str, **kw: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "phase": phase, "done": None, "total": None, "unit": None, "pass": None, "rate": None,
        "eta": None, "eta_after_gap": False, "disk": None, "asked_at": None, "delivered_at": None,
    }  # fmt: skip
    return {**doc, **kw}


def sample_view(now: float | None = None, *, gap_in_s: float = 90.0) -> dict[str, Any]:
    """The page as watch would show it ``gap_in_s`` seconds before the cycle gap (negative:
    inside it): one identity delivered, one reading its disk, one late."""
    now = time.time() if now is None else now
    gap_start = now + gap_in_s
    epoch_start = gap_start - 300 * HOUR
    gib = 1 << 30
    return {
        "format": "mergetool-page/1",
        "source": "watch",
        "generated_at": iso(now),
        "node": {"sync": "synced", "current_layer": 81234, "current_epoch": 27,
                 "connected_peers": 41},
        "clock": {
            "epoch": 27, "epoch_start": iso(epoch_start),
            "epoch_end": iso(epoch_start + 336 * HOUR), "poet_round_end": iso(gap_start),
            "cycle_gap_start": iso(gap_start), "cycle_gap_end": iso(gap_start + 12 * HOUR),
            "proof_deadline": iso(gap_start + 12 * HOUR),
            "publish_deadline": iso(gap_start + 24 * HOUR), "in_cycle_gap": gap_in_s <= 0,
        },
        "identities": [
            {"name": "alice", "node_id": "a1" * 32,
             "verdict": {"code": "earning", "text": "earning: ATX published for epoch 28",
                         "level": "ok"},
             "post": _post("done", disk="sda", asked_at=iso(now - 20 * HOUR),
                           delivered_at=iso(now - 14 * HOUR)),
             "atx": {"publish_epoch": 27, "target_epoch": 28},
             "eligibility": {"epoch": 27, "slots": 3, "proposals": 2},
             "rewards": {"last_layer": 81200, "smh_epoch": 12.5}, "last_error": None},
            {"name": "bob", "node_id": "b2" * 32,
             "verdict": {"code": "proving", "text": "proving: reading the data", "level": "info"},
             "post": _post("reading", done=96 * gib, total=256 * gib, unit="bytes", rate=310e6,
                           eta=iso(now + 2 * HOUR), disk="sdb", asked_at=iso(now - 3 * HOUR),
                           **{"pass": 1}),
             "atx": {"publish_epoch": 26, "target_epoch": 27},
             "eligibility": {"epoch": 27, "slots": 1, "proposals": 1},
             "rewards": {"last_layer": 80950, "smh_epoch": 4.0}, "last_error": None},
            {"name": "carol", "node_id": "c3" * 32,
             "verdict": {"code": "post_failed", "text": "PoST failed: proof will be late",
                         "level": "bad"},
             "post": _post("k2pow", done=3, total=8, unit="groups", rate=0.01,
                           eta=iso(gap_start + 13 * HOUR), eta_after_gap=True, disk="sdb",
                           asked_at=iso(now - 1 * HOUR), **{"pass": 2}),
             "atx": None, "eligibility": None, "rewards": None,
             "last_error": "pass 1 found no proof: trying the next nonces"},
        ],
        "events": [
            {"time": iso(now - 60), "identity": "carol", "kind": "post-pass-failed",
             "failure": True, "help": "No proof in the first nonces; the next pass has begun."},
            {"time": iso(now - 14 * HOUR), "identity": "alice", "kind": "atx-published",
             "failure": False, "help": "The ATX for epoch 28 is in the node's database."},
        ],
    }  # fmt: skip
