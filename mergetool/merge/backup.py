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
        p for p in root.iterdir() if NodeFolder(p).db_path.is_file() and not p.name.startswith(".")
    )


@dataclass(frozen=True)
class RestoreResult:
    backup: Path
    keys_restored: tuple[str, ...]
    keys_set_aside: tuple[str, ...]
    set_aside_dir: Path | None


def restore(target: Path, backup_name: str | None = None) -> RestoreResult:
    """Put a backup back: the database atomically, keys restored; newer keys are moved aside.

    Key files the backup does not have are never deleted (they are private keys): they move to
    ``backups/displaced-<timestamp>/``.
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
    tmp = folder.root / f".local.sql{TEMP_MARK}restore"
    saved = NodeFolder(chosen)
    _copy_db(saved.db_path, tmp)
    if folder.db_path.exists():
        # Fold the current WAL in first so no stale WAL can be applied to the restored file.
        with sq.connection(folder.db_path) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for suffix in ("-wal", "-shm"):
        Path(f"{folder.db_path}{suffix}").unlink(missing_ok=True)
    os.replace(tmp, folder.db_path)
    fsync_dir(folder.root)

    wanted = {p.name for p in saved.identities_dir.glob(f"*{KEY_SUFFIX}")}
    current = {f.name for f in folder.identity_files()}
    aside_names = sorted(current - wanted)
    aside_dir = None
    if aside_names:
        aside_dir = folder.root / BACKUPS / f"displaced-{_stamp()}"
        ensure_private_dir(aside_dir)
        for name in aside_names:
            os.replace(folder.identities_dir / name, aside_dir / name)
    ensure_private_dir(folder.identities_dir)
    for name in sorted(wanted):
        write_file_atomic(folder.identities_dir / name, (saved.identities_dir / name).read_bytes())
    fsync_dir(folder.identities_dir)
    return RestoreResult(chosen, tuple(sorted(wanted)), tuple(aside_names), aside_dir)
