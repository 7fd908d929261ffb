"""``page_view``: a :class:`~mergetool.watch.model.WatchReport` as the operator page's JSON
(PAGE_CONTRACT ``mergetool-page/1``, source "watch"). Pure: the same report, the same page."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from mergetool.watch.model import IdentityRow, WatchReport
from mergetool.watch.records import iso

PAGE_FORMAT = "mergetool-page/1"
#: the page's events list is newest first and short
MAX_EVENTS = 100


def _node(report: WatchReport) -> dict[str, Any] | None:
    if report.node is None:
        return None
    return {
        "sync": report.node.sync,
        "current_layer": report.node.current_layer,
        "current_epoch": report.clock.epoch if report.clock else None,
        "connected_peers": report.node.connected_peers,
    }


def _clock(report: WatchReport) -> dict[str, Any] | None:
    c = report.clock
    if c is None:
        return None
    return {
        "epoch": c.epoch,
        "epoch_start": iso(c.epoch_start),
        "epoch_end": iso(c.epoch_end),
        "poet_round_end": iso(c.poet_round_end),
        "cycle_gap_start": iso(c.cycle_gap_start),
        "cycle_gap_end": iso(c.cycle_gap_end),
        "proof_deadline": iso(c.proof_deadline),
        "publish_deadline": iso(c.publish_deadline),
        "in_cycle_gap": c.in_cycle_gap,
    }


def _post(row: IdentityRow, report: WatchReport) -> dict[str, Any] | None:
    view, service = row.post, row.post.service
    if view.node_state is None and service is None:
        return None
    done = total = unit = rate = eta = None
    if service is None:
        phase = "proving" if view.node_state == "PROVING" else "idle"
    elif service.kind == "proving":
        phase = service.phase or "proving"
        if service.phase == "k2pow" and service.k2pow_groups:
            (done, total), unit = service.k2pow_groups, "groups"
        elif service.bytes_read is not None:
            done, total, unit = service.bytes_read, service.bytes_total, "bytes"
            rate = service.rate_bytes_s
            if service.eta_s is not None:  # seconds left when the report was read
                eta = report.generated_at + timedelta(seconds=service.eta_s)
    else:
        phase = service.kind
    if row.verdict.code == "post_failed":
        phase = "failed"
    gap = report.clock
    return {
        "phase": phase, "done": done, "total": total, "unit": unit,
        "pass": service.pass_number if service is not None and service.kind == "proving" else None,
        "rate": rate, "eta": iso(eta),
        "eta_after_gap": eta is not None and gap is not None and eta > gap.cycle_gap_end,
        "disk": None,
        "asked_at": iso(view.asked_at), "delivered_at": iso(view.delivered_at),
    }  # fmt: skip


def _identity(row: IdentityRow, report: WatchReport) -> dict[str, Any]:
    v = row.verdict
    return {
        "name": row.name,
        "node_id": row.node_id.hex(),
        "verdict": {"code": v.code, "text": v.text, "level": v.level},
        "post": _post(row, report),
        "atx": row.atx.to_dict() if row.atx else None,
        "eligibility": row.eligibility.to_dict() if row.eligibility else None,
        "rewards": None
        if row.rewards is None
        else {"last_layer": row.rewards.last_layer, "smh_epoch": row.rewards.smh_epoch},
        "last_error": row.last_error or row.post.service_problem,
    }


def page_view(report: WatchReport) -> dict[str, Any]:
    """The page JSON for ``report`` (events newest first, deprecated duplicates left out)."""
    names = {r.node_id: r.name or r.short_id for r in report.identities}
    events = [e for e in report.events if not e.deprecated][::-1][:MAX_EVENTS]
    return {
        "format": PAGE_FORMAT,
        "source": "watch",
        "generated_at": iso(report.generated_at),
        "node": _node(report),
        "clock": _clock(report),
        "identities": [_identity(r, report) for r in report.identities],
        "events": [
            {
                "time": iso(e.timestamp),
                "identity": None if e.smesher is None else names.get(e.smesher, e.smesher.hex()),
                "kind": e.kind,
                "failure": e.failure,
                "help": e.help,
            }
            for e in events
        ],
    }


def live_view(report: WatchReport | None, now: datetime) -> dict[str, Any]:
    """What ``watch --http`` answers at ``now``: the follower's latest report (None: none read
    yet, an empty page). ``generated_at`` is the answer's time: the page sets its clock by it."""
    if report is None:
        return {
            "format": PAGE_FORMAT, "source": "watch", "generated_at": iso(now), "node": None,
            "clock": None, "identities": [], "events": [],
        }  # fmt: skip
    return {**page_view(report), "generated_at": iso(now)}
