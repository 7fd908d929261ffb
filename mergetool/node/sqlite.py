"""Opening node databases safely: short busy timeouts, in-use detection, private snapshots."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mergetool._exceptions import DatabaseError, DatabaseInUse
from mergetool._fs import disk_full

# file_uri lives with the WAL reader, which needs it too; ``sq.file_uri`` is the usual name
from mergetool.node.wal import file_uri as file_uri
from mergetool.node.wal import write_image

#: How long we wait for another SQLite user before calling the database busy.
BUSY_TIMEOUT_S = 2.0


def connect(
    path: Path, *, readonly: bool = False, timeout: float = BUSY_TIMEOUT_S
) -> sqlite3.Connection:
    """Open ``path`` in autocommit mode (transactions are explicit) with a short busy timeout."""
    uri = file_uri(path, "ro" if readonly else "rw")
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None)
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        raise translate(path, exc) from exc
    return conn


@contextmanager
def connection(path: Path, **kwargs: object) -> Iterator[sqlite3.Connection]:
    conn = connect(path, **kwargs)  # type: ignore[arg-type]
    try:
        yield conn
    finally:
        conn.close()


def translate(path: Path, exc: sqlite3.Error) -> DatabaseError:
    """Turn an sqlite3 error met while using ``path`` into our hierarchy."""
    text = str(exc)
    if "locked" in text or "busy" in text:
        return DatabaseInUse(path, "SQLite reports it locked")
    if "not a database" in text or "malformed" in text:
        return DatabaseError(path, f"not a valid SQLite database ({text})")
    if "readonly" in text or "read-only" in text:
        return DatabaseError(
            path, f"cannot write it ({text})", hint="Check the file's permissions."
        )
    if "unable to open" in text:
        return DatabaseError(
            path, f"cannot open it ({text})", hint="Check that it exists and its permissions."
        )
    if ("disk" in text and "full" in text) or "disk I/O error" in text:
        # SQLite says "disk I/O error" when a write fails with EFBIG (file-size limit)
        return disk_full(path, text)
    return DatabaseError(path, text)


def user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _file_ids(path: Path) -> set[tuple[int, int]]:
    """(device, inode) of ``path`` and its -wal/-shm files, those that exist."""
    found = set()
    for name in (str(path), f"{path}-wal", f"{path}-shm"):
        try:
            info = os.stat(name)
        except OSError:
            continue
        found.add((info.st_dev, info.st_ino))
    return found


def processes_holding(path: Path) -> list[tuple[int, str]]:
    """Other processes with ``path`` (or its -wal/-shm) open, found through ``/proc`` on Linux.

    Open files are compared by device and inode, not by name: a node that opened the database
    through a bind mount, a hard link or inside a container's mount namespace is seen too.
    """
    proc = Path("/proc")
    wanted = _file_ids(path)
    if not proc.is_dir() or not wanted:
        return []
    holders = []
    me = os.getpid()
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            fds = list((entry / "fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                info = os.stat(fd)  # the open file itself, however it was reached
            except OSError:
                continue
            if (info.st_dev, info.st_ino) in wanted:
                with contextlib.suppress(OSError):
                    holders.append((int(entry.name), (entry / "comm").read_text().strip()))
                break
    return holders


def ensure_not_in_use(path: Path) -> None:
    """Refuse a database another process (a running node) has open; never hang.

    Only looks (through /proc): probing with a write lock would create -wal/-shm files, and a
    dry run or a source folder must not change. Writers still meet a short busy timeout.
    """
    holders = processes_holding(path)
    if holders:
        listed = ", ".join(f"{name} (pid {pid})" for pid, name in holders)
        raise DatabaseInUse(path, f"held open by {listed}")


def snapshot(db_path: Path, dest_dir: Path) -> Path:
    """Write ``db_path``'s current content (committed WAL frames applied) to ``dest_dir``.

    The source files are only read, so a source node folder stays byte-for-byte unchanged
    even when its WAL holds frames nobody checkpointed.
    """
    dest = dest_dir / db_path.name
    try:
        write_image(db_path, dest)
    except OSError as exc:
        raise DatabaseError(
            dest,
            f"cannot write a private copy ({exc.strerror})",
            hint=f"The private copy of the source goes to the temporary folder {dest_dir.parent}: "
            "free space there, or point TMPDIR at a disk with room. Nothing was changed.",
        ) from exc
    return dest
