"""What ``serve`` tells its caller: one Event per thing that happened, naming the identity.

The library hands events to an ``on_event`` callback; the CLI renders each as one log line
(text or JSON).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

Level = Literal["info", "warning", "error"]


def iso_utc(timestamp: float) -> str:
    """``2026-11-30T20:00:00.123Z``."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Event:
    """``kind`` is a stable slug (``proof-ready``); ``message`` is for people."""

    time: float
    kind: str
    message: str
    level: Level = "info"
    node_id: bytes | None = None
    folder: Path | None = None
    fields: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "time": iso_utc(self.time),
            "level": self.level,
            "event": self.kind,
            "message": self.message,
        }
        if self.node_id is not None:
            doc["node_id"] = self.node_id.hex()
        if self.folder is not None:
            doc["folder"] = str(self.folder)
        return {**doc, **self.fields}

    def to_text(self) -> str:
        who = ""
        if self.node_id is not None:
            who = f"[{self.node_id.hex()[:12]}"
            who += f" {self.folder}] " if self.folder is not None else "] "
        return f"{iso_utc(self.time)} {self.level.upper():<7} {who}{self.message}"
