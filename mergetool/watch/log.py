"""What ``watch --follow`` tells as it runs: one :class:`LogLine` per thing that happened,
naming the identity; the CLI prints each as text or JSON (``--log-format``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

Level = Literal["info", "warning", "error"]


def iso_ms(moment: float) -> str:
    """``2026-11-30T20:00:00.123Z``."""
    when = datetime.fromtimestamp(moment, UTC)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class LogLine:
    """``kind`` is a stable slug (``atx_published``, ``alert``, ``stream-lost``)."""

    time: float
    kind: str
    message: str
    level: Level = "info"
    identity: str | None = None
    name: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "time": iso_ms(self.time),
            "level": self.level,
            "event": self.kind,
            "message": self.message,
        }
        if self.identity is not None:
            doc["identity"] = self.identity
            doc["name"] = self.name
        return {**doc, **self.fields}

    def to_text(self) -> str:
        who = ""
        if self.identity is not None:
            who = f"[{self.name or self.identity[:12]}] "
        return f"{iso_ms(self.time)} {self.level.upper():<7} {who}{self.message}"


#: where log lines go (the CLI prints them)
OnLog = Callable[[LogLine], None]
