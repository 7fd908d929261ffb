"""Backups of a target node: ``local.sql`` by SQLite's backup API, and its key files.

A backup has the layout of a node folder (``local.sql``, ``identities/``) and lives in
``backups/<UTC timestamp>/``; it is written under a ``.partial-`` name and renamed into place
whole, so a listed backup is always complete.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from mergetool._fs import (
    Symlinks,
    ensure_private_dir,
    fsync_dir,
    irregular_kind,
    read_regular_file,
    take_owner,
    write_new_file,
)
from mergetool.node import sqlite as sq
from mergetool.node.folder import KEY_SUFFIX, NodeFolder

PARTIAL_PREFIX = ".partial-"
DISPLACED_PREFIX = "displaced-"
#: In a backup made by a merge: which source was merged (so a restore can say where its
#: retired keys are). The node and the restore's checks ignore it.
MERGE_NOTE = "merge.json"


def stamp() -> str:
    """A UTC timestamp for a backup folder's name, sortable as text."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")


def copy_db(src: Path, dest: Path) -> None:
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
    take_owner(dest, dest.parent)


def _copy_keys(identities: Path, dest: Path) -> None:
    ensure_private_dir(dest)
    if not identities.is_dir():
        return
    for entry in sorted(identities.iterdir()):
        if entry.name.endswith(KEY_SUFFIX) and irregular_kind(entry, Symlinks.REFUSE) is None:
            write_new_file(dest / entry.name, entry.read_bytes())
    fsync_dir(dest)


def make_backup(folder: NodeFolder, *, source: Path | None = None) -> Path:
    """Copy the target's database and key files into ``backups/<UTC timestamp>/`` (0700/0600).

    ``source``: the folder about to be merged in, noted in the backup (:func:`backup_source`).
    """
    root = folder.backups_dir
    ensure_private_dir(root)
    name = stamp()
    partial = root / f"{PARTIAL_PREFIX}{name}"
    ensure_private_dir(partial)
    try:
        copy = NodeFolder(partial)
        copy_db(folder.db_path, copy.db_path)
        _copy_keys(folder.identities_dir, copy.identities_dir)
        if source is not None:
            note = json.dumps({"format": 1, "source": os.path.abspath(source)})
            write_new_file(partial / MERGE_NOTE, note.encode())
        final = root / name
        os.replace(partial, final)
        fsync_dir(root)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return final


def backup_source(backup: Path) -> Path | None:
    """The source folder the merge that made ``backup`` merged in, when it noted one."""
    try:
        note = json.loads(read_regular_file(backup / MERGE_NOTE, 4096))
        return Path(note["source"]) if isinstance(note.get("source"), str) else None
    except (OSError, ValueError, AttributeError):
        return None


def list_backups(folder: NodeFolder) -> list[Path]:
    """Complete backups of ``folder``, oldest first (not what a restore set aside)."""
    root = folder.backups_dir
    if not root.is_dir():
        return []
    return sorted(
        p
        for p in root.iterdir()
        if NodeFolder(p).db_path.is_file() and not p.name.startswith((".", DISPLACED_PREFIX))
    )


def sweep_partial_backups(folder: NodeFolder) -> None:
    """Remove backups an interrupted run left half-written (never a complete one)."""
    if folder.backups_dir.is_dir():
        for partial in folder.backups_dir.glob(f"{PARTIAL_PREFIX}*"):
            shutil.rmtree(partial, ignore_errors=True)
