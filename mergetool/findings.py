"""Warnings that reports carry (inspect, merge plans): a stable code and a message."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    """A finding worth the operator's attention; ``code`` is stable for scripts."""

    code: str
    message: str
