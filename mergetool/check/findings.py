"""What ``check`` reports: findings with a stable code, a level, a message and the file at fault."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ERROR = "error"
WARNING = "warning"
NOTE = "note"
LEVELS = (ERROR, WARNING, NOTE)


@dataclass(frozen=True)
class Finding:
    """One thing ``check`` found; ``code`` is stable for scripts, ``message`` says what to do."""

    code: str
    level: str
    message: str
    #: the file or folder at fault (None when the finding is about no single file)
    path: Path | None = None

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"unknown finding level {self.level!r}")

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "level": self.level,
            "message": self.message,
            "path": str(self.path) if self.path is not None else None,
        }


def error(code: str, message: str, path: Path | None = None) -> Finding:
    return Finding(code, ERROR, message, path)


def warning(code: str, message: str, path: Path | None = None) -> Finding:
    return Finding(code, WARNING, message, path)


def note(code: str, message: str, path: Path | None = None) -> Finding:
    return Finding(code, NOTE, message, path)
