"""Warnings that reports carry (inspect, merge plans): a stable code and a message.

One builder per situation, so ``inspect`` and ``plan_merge`` describe the same thing with the
same words; a merge plan adds only what the merge does about it (``then``) and, where both
folders could hold it, which side it is on (the codes ``source_…``/``target_…``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ReportWarning:
    """A warning a report (inspect, a merge plan) carries; ``code`` is stable for scripts.

    Not ``check``'s :class:`~mergetool.check.findings.Finding`, which has a level and a path.
    """

    code: str
    message: str


def _said(message: str, then: str | None) -> str:
    return f"{message}; {then}" if then else message


def rows_without_key(node_id: bytes, *, then: str | None = None) -> ReportWarning:
    return ReportWarning(
        "rows_without_key", _said(f"rows for {node_id.hex()} but no key file", then)
    )


def key_without_rows(key_file: str, database: str, *, then: str | None = None) -> ReportWarning:
    return ReportWarning("key_without_rows", _said(f"{key_file} has no rows in {database}", then))


def pending_wal(wal: Path, *, side: str | None = None, then: str) -> ReportWarning:
    code = f"{side}_pending_wal" if side else "pending_wal"
    return ReportWarning(code, _said(f"{wal} holds data not yet checkpointed", then))


def invalid_key(message: str, *, side: str | None = None) -> ReportWarning:
    return ReportWarning(f"{side}_invalid_key" if side else "invalid_key", message)


def symlink_key(path: Path) -> ReportWarning:
    return ReportWarning("symlink_key", f"{path} is a symbolic link")


def duplicate_identity(first: str, second: str, node_id_hex: str) -> ReportWarning:
    return ReportWarning(
        "duplicate_identity",
        f"{first} and {second} hold the same identity {node_id_hex}: the node refuses to start "
        "(duplicate key found in identity files); keep one",
    )


def stop_source(root: Path) -> ReportWarning:
    return ReportWarning(
        "stop_source",
        f"after the merge, do not start the source node {root} with these identities again: "
        "one identity on two nodes is equivocation",
    )


def source_still_holds(root: Path, key_files: list[str]) -> ReportWarning:
    """An earlier merge left the source able to run the merged identities."""
    return ReportWarning(
        "stop_source",
        f"the source node {root} still holds the key files of these merged identities "
        f"({', '.join(key_files)}): do not start it with them again: one identity on two "
        "nodes is equivocation",
    )
