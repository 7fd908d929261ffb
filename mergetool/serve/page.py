"""What ``serve`` shows on the operator page: its identities' state as ``mergetool-page/1``.

A pure function of the identities (``service.Identity``) and the latest events, computed on
the service's loop; ``mergetool.web.app.PageApp`` serves it. serve does not read the node's
sync state or epoch clock, so ``node`` and ``clock`` are null (watch knows them).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from mergetool.serve.events import Event, iso_utc
from mergetool.serve.state import Progress


@functools.lru_cache(maxsize=64)
def disk_name(device: int) -> str:
    """The block device holding a folder (its ``st_dev``): ``sda1``, or ``MAJOR:MINOR``."""
    number = f"{os.major(device)}:{os.minor(device)}"
    try:
        text = Path(f"/sys/dev/block/{number}/uevent").read_text()
    except OSError:
        return number
    for line in text.splitlines():
        if line.startswith("DEVNAME="):
            return line.removeprefix("DEVNAME=")
    return number


def _name(ident: Any) -> str | None:
    """The key file's name without ``.key`` (``alice.key`` -> ``alice``)."""
    name: str | None = ident.config.name
    return name.removesuffix(".key") if name else None


def _verdict(ident: Any) -> dict[str, str]:
    state = ident.state
    if state.state == "proving":
        progress = state.progress
        what = {"waiting-for-disk": "waiting for the disk", "reading": "reading the data",
                "verifying": "verifying the proof", "saving": "saving the proof"}  # fmt: skip
        phase = progress.phase if progress is not None else "k2pow"
        return _v("proving", f"proving: {what.get(phase, phase)}", "info")
    if state.state == "done":
        return _v("waiting", "proof ready: waiting for the node to fetch it", "info")
    if state.state == "failed" or state.last_error:
        return _v("failed", "the last proof failed", "bad")
    if _delivered_at(ident) is not None:
        return _v("delivered", "proof delivered to the node", "ok")
    if not ident.connected:
        return _v("idle", "idle, not connected to the node", "warn")
    return _v("idle", "idle: the node has not asked for a proof", "info")


def _v(code: str, text: str, level: str) -> dict[str, str]:
    return {"code": code, "text": text, "level": level}


def _delivered_at(ident: Any) -> float | None:
    """When the latest proof was handed to the node, if it was (and no new run began)."""
    delivered, last = ident.delivered, ident.state.last_proof
    if delivered is None or last is None or ident.state.state == "proving":
        return None
    challenge, at = delivered
    return at if challenge == last.challenge else None


def _post(ident: Any, now: float, disk: str) -> dict[str, Any]:
    state = ident.state
    progress: Progress | None = state.progress
    doc: dict[str, Any] = {
        "phase": {"done": "done", "failed": "failed"}.get(state.state, "idle"),
        "done": None, "total": None, "unit": None, "pass": None, "rate": None, "eta": None,
        "eta_after_gap": False, "disk": disk,
        "asked_at": iso_utc(state.started_at) if state.started_at is not None else None,
        "delivered_at": None,
    }  # fmt: skip
    delivered = _delivered_at(ident)
    if delivered is not None:
        doc["delivered_at"] = iso_utc(delivered)
    if state.state != "proving":
        return doc
    doc["phase"] = progress.phase if progress else "k2pow"
    if progress is None:
        return doc
    doc["pass"] = progress.pass_number
    if progress.phase == "k2pow":
        doc.update(done=progress.k2pow_groups_done, total=progress.k2pow_groups_total or None)
        doc["unit"] = "groups"
    else:
        doc.update(done=progress.bytes_read, total=progress.bytes_total or None, unit="bytes")
        doc["rate"] = progress.rate_bytes_s
        if progress.eta_s is not None:
            doc["eta"] = iso_utc(now + progress.eta_s)
    return doc


def _event(event: Event, names: dict[bytes, str]) -> dict[str, Any]:
    who = None
    if event.node_id is not None:
        who = names.get(event.node_id) or event.node_id.hex()
    return {
        "time": iso_utc(event.time), "identity": who, "kind": event.kind,
        "failure": event.level == "error", "help": event.message,
    }  # fmt: skip


def serve_page_view(
    identities: list[Any],
    events: Iterable[Event],
    *,
    now: float,
    disk: Callable[[int], str] = disk_name,
) -> dict[str, Any]:
    """The page's JSON for serve's ``identities``; ``events`` oldest first (shown newest first)."""
    names = {i.config.node_id: _name(i) for i in identities if i.config.name}
    return {
        "format": "mergetool-page/1",
        "source": "serve",
        "generated_at": iso_utc(now),
        "node": None,
        "clock": None,
        "identities": [
            {
                "name": _name(ident),
                "node_id": ident.config.node_id.hex(),
                "verdict": _verdict(ident),
                "post": _post(ident, now, disk(ident.config.device)),
                "atx": None,
                "eligibility": None,
                "rewards": None,
                "last_error": ident.state.last_error,
            }
            for ident in identities
        ],
        "events": [_event(e, names) for e in reversed(list(events))],
    }
