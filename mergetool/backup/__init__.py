"""Backups of a node folder made before a merge, and restoring one (plan, then execute)."""

from mergetool.backup.restore import (
    RestorePlan,
    RestoreResult,
    execute_restore,
    plan_restore,
    restore,
)
from mergetool.backup.store import list_backups, make_backup

__all__ = [
    "RestorePlan",
    "RestoreResult",
    "execute_restore",
    "list_backups",
    "make_backup",
    "plan_restore",
    "restore",
]
