"""Restore: put a backup made by a merge back, planned first like a merge.

:func:`plan_restore` reads and checks the backup and the target and returns a frozen
:class:`RestorePlan` (what ``mergetool restore --dry-run`` shows); :func:`execute_restore`
carries out exactly that plan. Nothing is lost: what the restore replaces is kept in
``backups/displaced-<timestamp>/``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from mergetool._exceptions import (
    DatabaseError,
    DatabaseInUse,
    DiskFull,
    MergetoolError,
    RestoreError,
)
from mergetool._fs import (
    NO_SPACE,
    TEMP_MARK,
    Symlinks,
    check_can_own,
    disk_full,
    ensure_private_dir,
    fsync_dir,
    irregular_kind,
    take_owner,
    write_file_atomic,
)
from mergetool.backup.store import DISPLACED_PREFIX, backup_source, copy_db, list_backups, stamp
from mergetool.node import sqlite as sq
from mergetool.node.folder import KEY_SUFFIX, STAGED_SUFFIX, NodeFolder, refuse_linked_database
from mergetool.node.keys import load_key
from mergetool.node.state import NodeState, read_node
from mergetool.node.versions import check_supported

#: ``format`` of the JSON forms (schemas/json/restore.schema.json)
JSON_FORMAT_VERSION = 1


@dataclass(frozen=True)
class RestorePlan:
    """What a restore will do, decided by :func:`plan_restore` before any write."""

    target: Path
    backup: Path
    #: key files the backup holds; each is written into ``identities/``
    keys_restored: tuple[str, ...]
    #: target key entries moved to the displaced folder (absent from the backup, or different)
    keys_set_aside: tuple[str, ...]
    #: an interrupted merge's journal and staged keys, moved to the displaced folder too
    merge_leftovers: tuple[Path, ...]
    #: whether the target has a database now (kept in the displaced folder)
    replaces_database: bool
    #: ``(table, rows)`` the current database holds beyond the backup's: rows merged or
    #: written by the node since the backup, which the restored database will not have
    rows_dropped: tuple[tuple[str, int], ...] = ()
    #: key files of the identities set aside that a ``--retire-source`` moved into the merged
    #: source's ``identities/merged-*/``: after the restore no node loads them
    source_keys_retired: tuple[Path, ...] = ()

    def to_dict(self) -> dict[str, object]:
        """The JSON form of the plan (``restore --dry-run --json``)."""
        return {
            "format": JSON_FORMAT_VERSION,
            "target": str(self.target),
            "backup": str(self.backup),
            "keys_restored": list(self.keys_restored),
            "keys_set_aside": list(self.keys_set_aside),
            "merge_leftovers": [p.name for p in self.merge_leftovers],
            "replaces_database": self.replaces_database,
            "rows_dropped": dict(self.rows_dropped),
            "source_keys_retired": [str(p) for p in self.source_keys_retired],
        }


@dataclass(frozen=True)
class RestoreResult:
    """What :func:`execute_restore` did."""

    backup: Path
    keys_restored: tuple[str, ...]
    keys_set_aside: tuple[str, ...]
    #: where what the restore replaced was kept (the database and the set-aside keys)
    set_aside_dir: Path | None
    previous_db: Path | None = None
    #: an interrupted merge's journal and staged keys, also moved to ``set_aside_dir``
    merge_leftovers: tuple[str, ...] = ()
    #: as :attr:`RestorePlan.source_keys_retired`
    source_keys_retired: tuple[Path, ...] = ()

    def to_dict(self) -> dict[str, object]:
        """The JSON form of the outcome (``restore --json``)."""
        return {
            "format": JSON_FORMAT_VERSION,
            "backup": str(self.backup),
            "keys_restored": list(self.keys_restored),
            "keys_set_aside": list(self.keys_set_aside),
            "set_aside_dir": str(self.set_aside_dir) if self.set_aside_dir else None,
            "previous_db": str(self.previous_db) if self.previous_db else None,
            "merge_leftovers": list(self.merge_leftovers),
            "source_keys_retired": [str(p) for p in self.source_keys_retired],
        }


def _unusable(message: str) -> RestoreError:
    return RestoreError(
        message,
        hint="Nothing was changed. Choose another backup with `backup_name=NAME`.",
        parameter="backup_name",
    )


def _refuse_entry(path: Path, what: str) -> RestoreError:
    return RestoreError(
        f"{path}: {what}",
        hint="Nothing was changed. Move it out of the way, then run restore again.",
    )


def _choose_backup(folder: NodeFolder, backup_name: str | None) -> Path:
    if not folder.root.is_dir():
        what = "is not a folder" if folder.root.exists() else "does not exist"
        raise RestoreError(f"{folder.root}: the node data folder {what}")
    backups = list_backups(folder)
    if not backups:
        raise RestoreError(f"{folder.backups_dir}: no backups found")
    if backup_name is None:
        return backups[-1]
    chosen = folder.backups_dir / backup_name
    if chosen not in backups:
        names = ", ".join(p.name for p in backups)
        raise RestoreError(f"{chosen}: no such backup", hint=f"Available: {names}")
    return chosen


def _check_backup(backup: Path) -> None:
    """Refuse a backup the node could not run from, before anything in the target changes."""
    saved = NodeFolder(backup)
    try:
        state = read_node(saved)
        check_supported(state.version, saved.db_path, "backup database")
    except MergetoolError as exc:
        raise _unusable(f"{backup} cannot be restored: {exc.message}") from exc
    if state.version == 0:
        raise _unusable(f"{saved.db_path} holds no node database (empty or schema version 0)")
    if state.drift is not None and state.drift.drifted:
        raise _unusable(
            f"{saved.db_path}: its schema differs from what the node expects at version "
            f"{state.version}; restoring it would stop the node from starting"
        )
    for entry in state.keys:
        if entry.error is not None:
            raise _unusable(f"{backup} cannot be restored: {entry.error.message}")


def _integrity_ok(db: Path) -> bool:
    with sq.connection(db) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def _backup_keys(saved: NodeFolder) -> dict[str, bytes]:
    """The backup's key files by name; anything else named ``*.key`` makes it unusable."""
    wanted = {}
    for path in sorted(saved.identities_dir.glob(f"*{KEY_SUFFIX}")):
        if irregular_kind(path, Symlinks.REFUSE) is not None:
            raise _unusable(f"{path}: not a regular file, so not a key this tool backed up")
        wanted[path.name] = path.read_bytes()
    return wanted


def _keys_to_set_aside(folder: NodeFolder, wanted: dict[str, bytes]) -> tuple[str, ...]:
    """Key entries of the target the restore must move aside; refuses what it cannot move."""
    ids = folder.identities_dir
    if os.path.lexists(ids) and irregular_kind(ids, Symlinks.REFUSE) != "a directory":
        raise _refuse_entry(ids, "not a folder")
    aside = []
    for name in sorted({f.name for f in folder.identity_files()} | set(wanted)):
        path = ids / name
        try:
            kind = irregular_kind(path, Symlinks.REFUSE)
        except FileNotFoundError:
            continue
        if kind == "a symbolic link":  # the link is moved, never what it points at
            aside.append(name)
        elif kind is not None:  # a folder or FIFO named like a key: never read or moved
            raise _refuse_entry(path, "not a regular file")
        elif name not in wanted or path.read_bytes() != wanted[name]:
            aside.append(name)
    return tuple(aside)


def _leftovers(folder: NodeFolder) -> tuple[Path, ...]:
    """An interrupted merge's journal and staged keys: they describe the state being replaced."""
    found = [folder.journal_path] if os.path.lexists(folder.journal_path) else []
    if folder.identities_dir.is_dir():
        found += sorted(folder.identities_dir.glob(f"*{STAGED_SUFFIX}"))
    return tuple(found)


def _table_totals(state: NodeState) -> dict[str, int]:
    totals: dict[str, int] = {}
    for counts in state.rows.values():
        for table, n in counts.items():
            totals[table] = totals.get(table, 0) + n
    return totals


def _rows_dropped(folder: NodeFolder, backup: Path) -> tuple[tuple[str, int], ...]:
    """Per table, how many more rows the current database holds than the backup's."""
    if not folder.db_path.exists():
        return ()
    try:
        now = _table_totals(read_node(folder))
    except MergetoolError:  # a database SQLite cannot read: exactly when a restore is needed
        return ()
    then = _table_totals(read_node(NodeFolder(backup)))
    return tuple(
        (table, now[table] - then.get(table, 0))
        for table in sorted(now)
        if now[table] > then.get(table, 0)
    )


def _retired_in_source(
    backup: Path, folder: NodeFolder, aside: tuple[str, ...]
) -> tuple[Path, ...]:
    """Retired source key files of the identities the restore takes out of the target."""
    from mergetool.merge.retire import retired_keys  # (the merge package imports this one's)

    source = backup_source(backup)
    if source is None or not aside:
        return ()
    ids = set()
    for name in aside:
        with contextlib.suppress(MergetoolError):
            ids.add(load_key(folder.identities_dir / name).node_id)
    found = retired_keys(NodeFolder(source))
    return tuple(e.file.path for e in found if e.key is not None and e.key.node_id in ids)


def plan_restore(target: Path, backup_name: str | None = None) -> RestorePlan:
    """Check the backup (newest, or ``backup_name``) and the target; write nothing.

    The backup must hold a database the node can open at a supported version with no schema
    drift, and valid keys; the target's entries the restore replaces must be movable.
    """
    folder = NodeFolder(Path(target))
    chosen = _choose_backup(folder, backup_name)
    refuse_linked_database(folder)
    sq.ensure_not_in_use(folder.db_path)
    _check_backup(chosen)
    wanted = _backup_keys(NodeFolder(chosen))
    aside = _keys_to_set_aside(folder, wanted)
    if os.path.lexists(folder.db_path) and irregular_kind(folder.db_path, Symlinks.REFUSE):
        raise _refuse_entry(folder.db_path, "not a regular file")
    check_can_own(folder.root, folder.identities_dir, folder.backups_dir)
    return RestorePlan(
        target=folder.root,
        backup=chosen,
        keys_restored=tuple(sorted(wanted)),
        keys_set_aside=aside,
        merge_leftovers=_leftovers(folder),
        replaces_database=folder.db_path.exists(),
        rows_dropped=_rows_dropped(folder, chosen),
        source_keys_retired=_retired_in_source(chosen, folder, aside),
    )


def _set_aside_db(db: Path, dest: Path) -> None:
    """Keep the database being replaced at ``dest``: a clean copy, or its files as they are.

    A database SQLite cannot read (damaged, truncated) is exactly when a restore is needed:
    then its files are copied byte for byte instead.
    """
    try:
        copy_db(db, dest)
        with sq.connection(db) as conn:  # fold the WAL in: no stale WAL for the restored file
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except DatabaseInUse:
        raise
    except DatabaseError:
        dest.unlink(missing_ok=True)
        for suffix in ("", "-wal"):
            if Path(f"{db}{suffix}").is_file():
                shutil.copyfile(f"{db}{suffix}", f"{dest}{suffix}")
                os.chmod(f"{dest}{suffix}", 0o600)
                take_owner(Path(f"{dest}{suffix}"), dest.parent)


def _still_as_planned(plan: RestorePlan, folder: NodeFolder) -> dict[str, bytes]:
    """The backup's keys, after checking backup and target are still what was planned."""
    sq.ensure_not_in_use(folder.db_path)
    wanted = _backup_keys(NodeFolder(plan.backup))
    if (
        tuple(sorted(wanted)) != plan.keys_restored
        or _keys_to_set_aside(folder, wanted) != plan.keys_set_aside
        or _leftovers(folder) != plan.merge_leftovers
    ):
        raise RestoreError(
            f"{plan.target}: the target or {plan.backup} changed since the restore was planned",
            hint="Nothing was changed. Make sure the node is stopped, then run restore again.",
        )
    return wanted


def _replace_database(plan: RestorePlan, folder: NodeFolder, aside_dir: Path) -> Path | None:
    """Put the backup's database in place atomically; return where the old one was kept."""
    saved = NodeFolder(plan.backup)
    tmp = folder.root / f".local.sql{TEMP_MARK}restore"
    previous_db = None
    try:
        copy_db(saved.db_path, tmp)
        if not _integrity_ok(tmp):
            raise _unusable(f"{saved.db_path}: SQLite's integrity check fails")
        if plan.keys_set_aside or plan.merge_leftovers or folder.db_path.exists():
            ensure_private_dir(aside_dir)
        if folder.db_path.exists():
            previous_db = NodeFolder(aside_dir).db_path
            _set_aside_db(folder.db_path, previous_db)
        for suffix in ("-wal", "-shm"):
            Path(f"{folder.db_path}{suffix}").unlink(missing_ok=True)
        os.replace(tmp, folder.db_path)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(folder.root)
    return previous_db


def execute_restore(plan: RestorePlan) -> RestoreResult:
    """Carry out ``plan``: the database atomically, then the keys. Nothing is lost."""
    folder = NodeFolder(plan.target)
    wanted = _still_as_planned(plan, folder)
    aside_dir = folder.backups_dir / f"{DISPLACED_PREFIX}{stamp()}"
    try:
        previous_db = _replace_database(plan, folder, aside_dir)
    except DiskFull as exc:  # named after the target: that is where the copy is written
        raise disk_full(folder.db_path, exc.reason, operation="restore") from exc
    except OSError as exc:
        if exc.errno not in NO_SPACE:
            raise
        where = Path(exc.filename or plan.target)
        raise disk_full(where, exc.strerror or str(exc), operation="restore") from exc
    for path in plan.merge_leftovers:
        os.replace(path, aside_dir / path.name)
    for name in plan.keys_set_aside:
        os.replace(folder.identities_dir / name, aside_dir / name)
    ensure_private_dir(folder.identities_dir)
    for name in plan.keys_restored:
        write_file_atomic(folder.identities_dir / name, wanted[name])
    fsync_dir(folder.identities_dir)
    return RestoreResult(
        plan.backup,
        plan.keys_restored,
        plan.keys_set_aside,
        aside_dir if aside_dir.exists() else None,
        previous_db,
        tuple(p.name for p in plan.merge_leftovers),
        plan.source_keys_retired,
    )


def restore(target: Path, backup_name: str | None = None) -> RestoreResult:
    """Plan and carry out a restore in one call (see :func:`plan_restore`)."""
    return execute_restore(plan_restore(target, backup_name))
