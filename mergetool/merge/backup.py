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
    #: an interrupted merge's journal and staged keys, also moved to ``set_aside_dir``
    merge_leftovers: tuple[str, ...] = ()


def _unusable(message: str) -> RestoreError:
    return RestoreError(
        message,
        hint="Nothing was changed. Choose another backup with `backup_name=NAME`.",
        parameter="backup_name",
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


def _backup_keys(saved: NodeFolder) -> dict[str, bytes]:
    """The backup's key files by name; anything else named ``*.key`` makes it unusable."""
    wanted = {}
    for path in sorted(saved.identities_dir.glob(f"*{KEY_SUFFIX}")):
        if path.is_symlink() or not path.is_file():
            raise _unusable(f"{path}: not a regular file, so not a key this tool backed up")
        wanted[path.name] = path.read_bytes()
    return wanted


def _refuse_entry(path: Path, what: str) -> RestoreError:
    return RestoreError(
        f"{path}: {what}",
        hint="Nothing was changed. Move it out of the way, then run restore again.",
    )


def _keys_to_set_aside(folder: NodeFolder, wanted: dict[str, bytes]) -> list[str]:
    """Key entries of the target the restore must move aside; refuses what it cannot move."""
    import stat

    ids = folder.identities_dir
    if os.path.lexists(ids) and (ids.is_symlink() or not ids.is_dir()):
        raise _refuse_entry(ids, "not a folder")
    aside = []
    names = {f.name for f in folder.identity_files()} | set(wanted)
    for name in sorted(names):
        path = ids / name
        try:
            mode = path.lstat().st_mode
        except FileNotFoundError:
            continue
        if stat.S_ISLNK(mode):
            aside.append(name)
        elif not stat.S_ISREG(mode):  # a folder or FIFO named like a key: never read or moved
            raise _refuse_entry(path, "not a regular file")
        elif name not in wanted or path.read_bytes() != wanted[name]:
            aside.append(name)
    return aside


def _leftovers(folder: NodeFolder) -> list[Path]:
    """An interrupted merge's journal and staged keys: they describe the state being replaced."""
    from mergetool.merge.journal import STAGED_SUFFIX, journal_path

    found = [journal_path(folder.root)] if os.path.lexists(journal_path(folder.root)) else []
    if folder.identities_dir.is_dir():
        found += sorted(folder.identities_dir.glob(f"*{STAGED_SUFFIX}"))
    return found


def _set_aside_db(db: Path, dest: Path) -> None:
    """Keep the database being replaced at ``dest``: a clean copy, or its files as they are.

    A database SQLite cannot read (damaged, truncated) is exactly when a restore is needed:
    then its files are copied byte for byte instead.
    """
    from mergetool._exceptions import DatabaseError, DatabaseInUse

    try:
        _copy_db(db, dest)
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


def restore(target: Path, backup_name: str | None = None) -> RestoreResult:
    """Put a backup back: the database atomically, then its keys. Nothing is lost.

    Everything is checked before the first write: the backup (a database the node can open
    at a supported version with no schema drift, integrity ok, valid keys) and the target's
    entries it will replace. What it replaces is kept in ``backups/displaced-<timestamp>/``:
    the current database (even one SQLite cannot read), every key file the backup does not
    have or holds with other content (private keys are never deleted), and the journal and
    staged keys of an interrupted merge.
    """
    folder = NodeFolder(Path(target))
    if not folder.root.is_dir():
        what = "is not a folder" if folder.root.exists() else "does not exist"
        raise RestoreError(f"{folder.root}: the node data folder {what}")
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
    wanted = _backup_keys(saved)
    aside_names = _keys_to_set_aside(folder, wanted)
    if os.path.lexists(folder.db_path) and (
        folder.db_path.is_symlink() or not folder.db_path.is_file()
    ):
        raise _refuse_entry(folder.db_path, "not a regular file")
    leftovers = _leftovers(folder)

    tmp = folder.root / f".local.sql{TEMP_MARK}restore"
    try:
        _copy_db(saved.db_path, tmp)
        if not _integrity_ok(tmp):
            raise _unusable(f"{saved.db_path}: SQLite's integrity check fails")
        aside_dir = folder.root / BACKUPS / f"{DISPLACED_PREFIX}{_stamp()}"
        previous_db = None
        if aside_names or leftovers or folder.db_path.exists():
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

    for path in leftovers:
        os.replace(path, aside_dir / path.name)
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
        tuple(p.name for p in leftovers),
    )
