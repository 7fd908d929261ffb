"""Values of a merge: the plan a dry run shows and a real run executes, and the result."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mergetool.findings import ReportWarning

REPORT_FORMAT_VERSION = 1


@dataclass(frozen=True)
class KeyInstall:
    """One identity file to install in the target."""

    source_file: Path
    target_name: str
    node_id: str
    adopted_supervised: bool = False


@dataclass(frozen=True)
class IdentityRows:
    """Rows of one source identity, per table, named as in the target's schema."""

    node_id: str
    key_file: str | None
    rows: tuple[tuple[str, int], ...]

    @property
    def total(self) -> int:
        return sum(n for _, n in self.rows)


@dataclass(frozen=True)
class PostDataLink:
    """A PoST data folder given with ``--post-data`` and the identity it belongs to."""

    directory: Path
    node_id: str
    identity_file: str


@dataclass(frozen=True)
class KeyMove:
    """A merged key file of the source moved out of its node's reach (``--retire-source``)."""

    old: Path
    new: Path
    node_id: str

    def to_dict(self) -> dict[str, str]:
        return {"from": str(self.old), "to": str(self.new), "node_id": self.node_id}


def move_back(folder: Path) -> str:
    """The shell command that puts the key files retired into ``folder`` back."""
    return f"mv {folder}/*.key {folder.parent}/ && rmdir {folder}"


def retire_undo(moves: tuple[KeyMove, ...], target: Path) -> str | None:
    """How to put retired key files back, and when that is safe."""
    if not moves:
        return None
    return (
        f"only after undoing the merge (mergetool restore {target}) or removing these "
        f"identities from the target: {move_back(moves[0].new.parent)}"
    )


@dataclass(frozen=True)
class Recovery:
    """An interrupted earlier merge found in the target, and what execution does about it."""

    action: str  # "roll-forward" (its database commit happened) or "roll-back"
    journal: Path
    staged: tuple[tuple[str, str], ...]  # (staged file name, final key file name)
    #: how many of those staged files exist (a run stopped while staging wrote only some)
    staged_present: int = 0
    #: source key files it was retiring (``--retire-source``), finished on roll-forward only
    retire: tuple[KeyMove, ...] = ()


@dataclass(frozen=True)
class MergePlan:
    """Everything a merge will do, decided by :func:`plan_merge` before any write."""

    source: Path
    target: Path
    create_target_db: bool
    source_version: int
    target_version: int
    keys: tuple[KeyInstall, ...]
    identities: tuple[IdentityRows, ...]
    already_merged: bool
    backup: bool
    recovery: Recovery | None = None
    post_data: tuple[PostDataLink, ...] = ()
    warnings: tuple[ReportWarning, ...] = ()
    #: per-table totals, named as in the target
    table_rows: tuple[tuple[str, int], ...] = field(default=())
    #: the statements that upgrade the private copy of the source to ``target_version``
    #: (empty when it is at that version already); ``execute`` runs exactly these
    source_migration: tuple[str, ...] = ()
    #: ``(table, statement)`` copying the rows, run on the target with the copy attached as
    #: ``src``, in one transaction; ``execute`` runs exactly these
    copy_sql: tuple[tuple[str, str], ...] = ()
    #: folders created for the target (it and missing parents, outermost first), each 0700
    new_folders: tuple[Path, ...] = ()
    #: ``--retire-source`` was given: after the commit, ``retire`` moves the merged source keys
    retire_source: bool = False
    retire: tuple[KeyMove, ...] = ()

    @property
    def migrates_source(self) -> bool:
        return self.source_version < self.target_version

    @property
    def nothing_to_do(self) -> bool:
        return self.already_merged or (not self.keys and not self.identities)

    def _retire_dict(self) -> dict[str, object] | None:
        if not self.retire_source:
            return None
        return {
            "folder": str(self.retire[0].new.parent) if self.retire else None,
            "moves": [m.to_dict() for m in self.retire],
            "undo": retire_undo(self.retire, self.target),
        }

    def to_dict(self) -> dict[str, object]:
        """The documented JSON form of the plan (``--dry-run --json``)."""
        return {
            "format": REPORT_FORMAT_VERSION,
            "source": str(self.source),
            "target": str(self.target),
            "status": "already-merged"
            if self.already_merged
            else ("nothing-to-do" if self.nothing_to_do else "ready"),
            "versions": {
                "source": self.source_version,
                "target": self.target_version,
                "create_target_database": self.create_target_db,
                "migrate_source": self.migrates_source,
            },
            "identities": [
                {
                    "file": k.target_name,
                    "source_file": k.source_file.name,
                    "node_id": k.node_id,
                    "adopted_supervised": k.adopted_supervised,
                }
                for k in self.keys
            ],
            "rows": {name: n for name, n in self.table_rows},
            "rows_by_identity": [
                {"node_id": i.node_id, "file": i.key_file, "rows": dict(i.rows)}
                for i in self.identities
            ],
            "backup": self.backup,
            "recovery": None
            if self.recovery is None
            else {
                "action": self.recovery.action,
                "journal": str(self.recovery.journal),
                "staged": [final for _, final in self.recovery.staged],
                "retire": [m.to_dict() for m in self.recovery.retire],
            },
            "post_data": [
                {
                    "directory": str(p.directory),
                    "node_id": p.node_id,
                    "identity_file": p.identity_file,
                }
                for p in self.post_data
            ],
            "warnings": [{"code": w.code, "message": w.message} for w in self.warnings],
            "new_folders": [str(p) for p in self.new_folders],
            "retire_source": self._retire_dict(),
            "sql": {
                "source_migration": list(self.source_migration),
                "copy": [{"table": t, "statement": sql} for t, sql in self.copy_sql],
            },
        }


@dataclass(frozen=True)
class MergeResult:
    """What :func:`execute` did."""

    plan: MergePlan
    merged: bool
    backup_dir: Path | None
    keys_installed: tuple[str, ...]
    rows_copied: int
    recovered: str | None = None
    #: source key files moved out of the source node's reach (``--retire-source``)
    keys_retired: tuple[KeyMove, ...] = ()

    def to_dict(self) -> dict[str, object]:
        """The plan's JSON form with the outcome: ``status`` is ``merged`` once it merged."""
        plan = self.plan.to_dict()
        return {
            **plan,
            "status": "merged" if self.merged else plan["status"],
            "result": {
                "merged": self.merged,
                "backup_dir": str(self.backup_dir) if self.backup_dir else None,
                "keys_installed": list(self.keys_installed),
                "rows_copied": self.rows_copied,
                "recovered": self.recovered,
                "keys_retired": [m.to_dict() for m in self.keys_retired],
            },
        }
