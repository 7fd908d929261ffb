"""Helpers for merge tests: whole-tree fingerprints, database contents, node invariants."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
from pathlib import Path

from mergetool.node.drift import check_drift
from mergetool.node.keys import load_key
from mergetool.node.schema import identity_tables

#: Names our interrupted runs may leave behind; a finished run must leave none of them.
LEFTOVER_MARKS = (".mergetool-staged", ".mergetool-tmp-", ".mergetool-journal.json", "-journal")


def tree_state(root: Path) -> dict[str, tuple[int, str]] | None:
    """Every path under ``root`` with its mode and content hash (``None`` if ``root`` is missing).

    Compared before/after to prove that nothing at all was written.
    """
    root = Path(root)
    if not root.exists():
        return None
    found: dict[str, tuple[int, str]] = {".": (stat.S_IMODE(root.lstat().st_mode), "<dir>")}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            info = path.lstat()
            if stat.S_ISDIR(info.st_mode):
                digest = "<dir>"
            elif stat.S_ISLNK(info.st_mode):
                digest = "<link>" + os.readlink(path)
            else:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
            found[str(path.relative_to(root))] = (stat.S_IMODE(info.st_mode), digest)
    return found


def mode(path: Path) -> int:
    return stat.S_IMODE(Path(path).stat().st_mode)


def user_version(db: Path) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def table_rows(db: Path, version: int | None = None) -> dict[str, list[tuple]]:
    """All rows of every per-identity table, sorted, with explicit column lists."""
    conn = sqlite3.connect(db)
    try:
        version = (
            version
            if version is not None
            else int(conn.execute("PRAGMA user_version").fetchone()[0])
        )
        found = {}
        for ident in identity_tables(version):
            cols = ", ".join(f'"{c}"' for c in ident.columns)
            found[ident.name] = sorted(conn.execute(f'SELECT {cols} FROM "{ident.name}"'))
        return found
    finally:
        conn.close()


def rows_of(db: Path, node_id_hex: str) -> dict[str, int]:
    """Row count per per-identity table for one node id (tables without rows left out)."""
    conn = sqlite3.connect(db)
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        counts = {}
        for ident in identity_tables(version):
            (n,) = conn.execute(
                f'SELECT count(*) FROM "{ident.name}" WHERE "{ident.id_column}" = ?',
                (bytes.fromhex(node_id_hex),),
            ).fetchone()
            if n:
                counts[ident.name] = n
        return counts
    finally:
        conn.close()


GLOBAL_TABLES = (
    "atx_sync_state",
    "atx_sync_requests",
    "prepared_activeset",
    "malfeasance_sync_state",
)


def global_rows(db: Path) -> dict[str, list[tuple]]:
    """Node-global tables, which a merge must leave as the target had them."""
    conn = sqlite3.connect(db)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        names = tables & set(GLOBAL_TABLES)
        return {n: sorted(conn.execute(f'SELECT * FROM "{n}"')) for n in sorted(names)}
    finally:
        conn.close()


def assert_healthy(root: Path) -> None:
    """What the node needs to start: valid key files, an intact database, no schema drift."""
    for key in sorted((Path(root) / "identities").glob("*.key")):
        load_key(key)
    db = Path(root) / "local.sql"
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        report = check_drift(conn, version)
        assert not report.drifted, report.diff
    finally:
        conn.close()


def leftovers(root: Path) -> list[str]:
    """Temporary, staged, journal or partial-backup files under ``root``."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames + dirnames:
            if any(mark in name for mark in LEFTOVER_MARKS) or name.startswith(".partial-"):
                found.append(str(Path(dirpath, name).relative_to(root)))
    return sorted(found)


def key_names(root: Path) -> list[str]:
    return sorted(p.name for p in (Path(root) / "identities").glob("*.key"))
