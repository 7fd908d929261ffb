"""Backups of a target node (``local.sql`` by SQLite's backup API, ``identities/``); restore."""

from __future__ import annotations

import os
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from mergetool._exceptions import RestoreError
from mergetool.node import sqlite as sq
from mergetool.node.folder import KEY_SUFFIX, NodeFolder
from mergetool.node.keys import (
    TEMP_MARK,
    ensure_private_dir,
    fsync_dir,
    write_file_atomic,
    write_new_file,
)

BACKUPS = "backups"
PARTIAL_PREFIX = ".partial-"
DISPLACED_PREFIX = "displaced-"


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")


def _copy_db(src: Path, dest: Path) -> None:
    """A consistent copy of ``src`` (WAL included) at ``dest``, through the backup API.

    Opened read-write on purpose: a read-only connection cannot remove the -wal/-shm files it
    makes on close, and they would stay behind in the node's folder.
    """
    source = sq.connect(src)
    try:
        target = sqlite3.connect(dest)
        try:
            source.backup(target)
        finally:
            target.close()
    except sqlite3.Error as exc:
        raise sq.translate(src, exc) from exc
    finally:
        source.close()
    os.chmod(dest, 0o600)


def _copy_keys(identities: Path, dest: Path) -> None:
    ensure_private_dir(dest)
    if not identities.is_dir():
        return
    for entry in sorted(identities.iterdir()):
        if entry.name.endswith(KEY_SUFFIX) and entry.is_file() and not entry.is_symlink():
            write_new_file(dest / entry.name, entry.read_bytes())
    fsync_dir(dest)


def make_backup(folder: NodeFolder) -> Path:
    """Copy the target's database and key files into ``backups/<UTC timestamp>/`` (0700/0600)."""
    root = folder.root / BACKUPS
    ensure_private_dir(root)
    stamp = _stamp()
    partial = root / f"{PARTIAL_PREFIX}{stamp}"
    ensure_private_dir(partial)
    try:
        # A backup has the layout of a node folder: local.sql and identities/.
        copy = NodeFolder(partial)
        _copy_db(folder.db_path, copy.db_path)
        _copy_keys(folder.identities_dir, copy.identities_dir)
        final = root / stamp
        os.replace(partial, final)
        fsync_dir(root)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return final


def list_backups(folder: NodeFolder) -> list[Path]:
    root = folder.root / BACKUPS
    if not root.is_dir():
        return []
    return sorted(
        p
        for p in root.iterdir()
        if NodeFolder(p).db_path.is_file()
        and not p.name.startswith((".", DISPLACED_PREFIX))  # what a restore set aside
    )


@dataclass(frozen=True)
class RestoreResult:
    backup: Path
    keys_restored: tuple[str, ...]
    keys_set_aside: tuple[str, ...]
    #: where what the restore replaced was kept (the database and the set-aside keys)
    set_aside_dir: Path | None
    previous_db: Path | None = None


def _unusable(message: str) -> RestoreError:
    return RestoreError(
        message, hint="Nothing was changed. Choose another backup with --backup NAME."
    )


def _check_backup(backup: Path) -> None:
    """Refuse a backup the node could not run from, before anything in the target changes."""
    from mergetool._exceptions import MergetoolError
    from mergetool.node.state import read_node
    from mergetool.node.versions import check_supported

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


def restore(target: Path, backup_name: str | None = None) -> RestoreResult:
    """Put a backup back: the database atomically, then its keys. Nothing is lost.

    The backup is checked first (a database the node can open at a supported version with
    no schema drift, integrity ok, valid keys). What it replaces is kept in
    ``backups/displaced-<timestamp>/``: the current database, and every key file the backup
    does not have or holds with other content (private keys are never deleted).
    """
    folder = NodeFolder(Path(target))
    backups = list_backups(folder)
    if not backups:
        raise RestoreError(f"{folder.root / BACKUPS}: no backups found")
    if backup_name is None:
        chosen = backups[-1]
    else:
        chosen = folder.root / BACKUPS / backup_name
        if chosen not in backups:
            names = ", ".join(p.name for p in backups)
            raise RestoreError(f"{chosen}: no such backup", hint=f"Available: {names}")
    sq.ensure_not_in_use(folder.db_path)
    _check_backup(chosen)
    saved = NodeFolder(chosen)
    tmp = folder.root / f".local.sql{TEMP_MARK}restore"
    _copy_db(saved.db_path, tmp)
    try:
        if not _integrity_ok(tmp):
            raise _unusable(f"{saved.db_path}: SQLite's integrity check fails")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise

    wanted = {p.name: p.read_bytes() for p in saved.identities_dir.glob(f"*{KEY_SUFFIX}")}
    current = {f.name for f in folder.identity_files()}

    def differs(name: str) -> bool:
        path = folder.identities_dir / name
        return name not in wanted or path.is_symlink() or path.read_bytes() != wanted[name]

    aside_names = sorted(name for name in current if differs(name))
    aside_dir = folder.root / BACKUPS / f"{DISPLACED_PREFIX}{_stamp()}"
    previous_db = None
    if aside_names or folder.db_path.exists():
        ensure_private_dir(aside_dir)
    if folder.db_path.exists():
        previous_db = NodeFolder(aside_dir).db_path
        try:
            _copy_db(folder.db_path, previous_db)  # consistent, WAL included
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        # Fold the current WAL in first so no stale WAL can be applied to the restored file.
        with sq.connection(folder.db_path) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for suffix in ("-wal", "-shm"):
        Path(f"{folder.db_path}{suffix}").unlink(missing_ok=True)
    os.replace(tmp, folder.db_path)
    fsync_dir(folder.root)

    for name in aside_names:
        os.replace(folder.identities_dir / name, aside_dir / name)
    ensure_private_dir(folder.identities_dir)
    for name in sorted(wanted):
        write_file_atomic(folder.identities_dir / name, wanted[name])
    fsync_dir(folder.identities_dir)
    return RestoreResult(
        chosen,
        tuple(sorted(wanted)),
        tuple(aside_names),
        aside_dir if aside_dir.exists() else None,
        previous_db,
    )
