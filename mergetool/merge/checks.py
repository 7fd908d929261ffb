"""Checks of the folders themselves, before their content is compared: where the target is,
what it holds besides a node (a damaged database, an interrupted merge's leftovers, a
``backups`` entry), and whether a folder can become a node's. Read only, like planning.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from mergetool._exceptions import (
    DatabaseError,
    MergeRefused,
    NotANodeFolder,
    UsageProblem,
)
from mergetool._fs import TEMP_MARK, Symlinks, irregular_kind
from mergetool.merge.journal import Journal
from mergetool.node.folder import BACKUPS, JOURNAL_NAME, STAGED_SUFFIX, NodeFolder, open_folder
from mergetool.node.state import NodeState
from mergetool.node.wal import open_image


def _nested_node_folders(root: Path) -> list[str]:
    """Sub-folders of ``root`` that hold a local.sql: what the user probably meant."""
    try:
        return sorted(str(p.parent) for p in root.glob("*/local.sql"))
    except OSError:
        return []


def check_integrity(state: NodeState, side: str) -> None:
    """Refuse a damaged database (SQLite's quick check), read from its in-memory image.

    A damaged source would otherwise fail half-way through the copy, reported against the
    target; a damaged target must not be written into.
    """
    db = state.folder.db_path
    if not db.exists():
        return
    conn = open_image(db)
    try:
        rows = [str(r[0]) for r in conn.execute("PRAGMA quick_check(3)")]
    except sqlite3.DatabaseError as exc:
        rows = [str(exc)]
    finally:
        conn.close()
    if rows != ["ok"]:
        lines = [x for r in rows for x in r.splitlines() if x and not x.startswith("***")]
        detail = "; ".join(lines[:3])
        raise DatabaseError(
            db,
            f"{side} database is damaged: SQLite's integrity check fails ({detail})",
            hint="Nothing was changed. Restore this database from a backup "
            + ("(mergetool restore) " if side == "target" else "")
            + "or repair it before merging: damaged pages cannot be merged safely.",
        )


def check_staged_leftovers(folder: NodeFolder, journal: Journal | None) -> None:
    """Refuse staged key entries no journal lists, and listed ones that are folders.

    A merge stages its keys under these names and would trip over them; a recovery only
    touches the files its journal lists, and can only remove files.
    """
    listed = {k.staged for k in journal.keys} if journal is not None else set()
    try:
        entries = sorted(os.scandir(folder.identities_dir), key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return
    for entry in entries:
        if not entry.name.endswith(STAGED_SUFFIX):
            continue
        path = folder.identities_dir / entry.name
        if entry.name not in listed:
            raise MergeRefused(
                f"{path}: a staged key that no merge journal lists",
                hint="Move it out of identities/ and check it by hand: it may be left over "
                "from an interrupted merge whose journal "
                f"({JOURNAL_NAME}) is gone. Nothing was changed.",
            )
        kind = irregular_kind(path, Symlinks.REFUSE)
        if kind is not None:
            raise MergeRefused(
                f"{path}: the interrupted merge's journal lists it as a staged key, but it is "
                + ("a folder" if kind == "a directory" else kind),
                hint="Move it out of identities/, then run the merge again. Nothing was changed.",
            )


def check_backups_entry(folder: NodeFolder) -> None:
    """A backup goes into ``backups/``: an entry of that name that is no folder blocks it."""
    entry = folder.root / BACKUPS
    if os.path.lexists(entry) and not entry.is_dir():
        raise MergeRefused(
            f"{entry}: exists but is not a folder, so the target cannot be backed up there",
            hint="Move it away (or rename it), or merge with `backup=False`. Nothing was changed.",
        )


def check_target_path(src: NodeFolder, dst: NodeFolder) -> None:
    """Refuse targets that would write into the source, or into a folder that is not a node's.

    A missing target is created (as the reference tool does), but only inside an existing
    folder: a mistyped path must not silently grow a new tree.
    """
    target = dst.root
    try:
        exists = target.exists()
    except OSError as exc:  # e.g. a name too long for the file system
        raise UsageProblem(f"{target}: {exc.strerror or exc}") from exc
    if exists and not target.is_dir():
        open_folder(target, side="target")  # raises "not a directory"
    if exists and target.samefile(src.root):
        raise UsageProblem(f"{target}: source and target are the same folder")
    src_real, dst_real = src.root.resolve(), target.resolve()
    if dst_real.is_relative_to(src_real):
        raise UsageProblem(
            f"{target}: the target is inside the source folder {src.root}",
            hint="The source is never modified: give a target outside it.",
        )
    if src_real.is_relative_to(dst_real):
        raise UsageProblem(
            f"{src.root}: the source is inside the target folder {target}",
            hint="Give the target node's data folder itself (the one that holds local.sql).",
        )
    if not exists:
        if not target.parent.is_dir():
            raise UsageProblem(
                f"{target}: cannot create the target, {target.parent} does not exist",
                hint="Check the path for a typo, or create the parent folder first.",
            )
        return
    check_node_or_new_folder(dst)
    keys = [f.name for f in dst.identity_files()]
    if keys and not dst.db_path.exists():
        raise NotANodeFolder(
            dst.db_path,
            f"target database not found, but {dst.identities_dir} holds key files "
            f"({', '.join(keys[:5])}{', ...' if len(keys) > 5 else ''})",
            hint="Keys without their database would lose their state. Put the node's local.sql "
            "back (mergetool restore, if merge-nodes backed it up), or give the folder that "
            "holds it; to start a new node here, move the key files away first.",
        )


def check_node_or_new_folder(dst: NodeFolder) -> None:
    """An existing target must hold local.sql, or nothing but what a new node would have.

    Catches the folder one level above the node's (``.../spacemesh`` for
    ``.../spacemesh/node_data``), where a new database would be created beside the real one.
    """
    if dst.db_path.exists():
        return
    target = dst.root
    # (a crashed run's journal; the root of a new file system)
    ours = {dst.identities_dir.name, JOURNAL_NAME, BACKUPS, "lost+found"}
    others = sorted(
        p.name for p in target.iterdir() if p.name not in ours and TEMP_MARK not in p.name
    )
    if others:
        nested = _nested_node_folders(target)
        raise NotANodeFolder(
            dst.db_path,
            "target database not found, and the folder holds other files "
            f"({', '.join(others[:5])}{', ...' if len(others) > 5 else ''})",
            hint=f"Did you mean {' or '.join(nested)}?"
            if nested
            else "Give the target node's data folder (the one that holds local.sql), or a new "
            "or empty folder to create a node there.",
        )
