"""Read a WAL-mode SQLite database, committed WAL frames included, without writing anything.

Opening a database in WAL mode creates ``-shm``/``-wal`` files and may checkpoint, and a
read-only open cannot recover a WAL nobody checkpointed. For a source folder that must stay
byte-for-byte unchanged, and for a dry run that must write nothing anywhere, we build the
database image in memory instead: the main file with every committed WAL frame applied (the
WAL file format is documented by SQLite), then hand it to SQLite with ``deserialize``.
"""

from __future__ import annotations

import os
import sqlite3
import struct
from pathlib import Path

from mergetool._exceptions import DatabaseError
from mergetool._fs import Symlinks, irregular_kind

_WAL_MAGIC = (0x377F0682, 0x377F0683)
_WAL_HEADER = 32
_FRAME_HEADER = 24


def _checksum(data: bytes, s0: int, s1: int, big_endian: bool) -> tuple[int, int]:
    words = struct.unpack((">" if big_endian else "<") + f"{len(data) // 4}I", data)
    for i in range(0, len(words), 2):
        s0 = (s0 + words[i] + s1) & 0xFFFFFFFF
        s1 = (s1 + words[i + 1] + s0) & 0xFFFFFFFF
    return s0, s1


def _committed_frames(wal: bytes, page_size: int) -> tuple[dict[int, int], int]:
    """Page number -> offset of its newest committed frame, and the database size in pages."""
    if len(wal) < _WAL_HEADER:
        return {}, 0
    magic, _version, wal_page, _seq, salt1, salt2, c0, c1 = struct.unpack(">8I", wal[:32])
    if magic not in _WAL_MAGIC or wal_page != page_size:
        return {}, 0
    big = magic & 1 == 1
    s0, s1 = _checksum(wal[:24], 0, 0, big)
    if (s0, s1) != (c0, c1):
        return {}, 0
    committed: dict[int, int] = {}
    pending: dict[int, int] = {}
    db_pages = 0
    offset = _WAL_HEADER
    frame_size = _FRAME_HEADER + page_size
    while offset + frame_size <= len(wal):
        page, commit_size, f_salt1, f_salt2, f0, f1 = struct.unpack(
            ">6I", wal[offset : offset + _FRAME_HEADER]
        )
        if (f_salt1, f_salt2) != (salt1, salt2):
            break
        s0, s1 = _checksum(wal[offset : offset + 8], s0, s1, big)
        s0, s1 = _checksum(wal[offset + _FRAME_HEADER : offset + frame_size], s0, s1, big)
        if (s0, s1) != (f0, f1):
            break
        pending[page] = offset + _FRAME_HEADER
        if commit_size:
            committed.update(pending)
            pending.clear()
            db_pages = commit_size
        offset += frame_size
    return committed, db_pages


def database_image(db_path: Path) -> bytes:
    """The bytes of ``db_path`` as SQLite would see them, WAL applied, in rollback-journal form."""
    wal_path = db_path.with_name(db_path.name + "-wal")
    for path in (db_path, wal_path):  # never open a FIFO or a folder: name what is wrong
        if os.path.lexists(path) and (kind := irregular_kind(path, Symlinks.FOLLOW)):
            what = "a folder" if kind == "a directory" else "not a regular file"
            raise DatabaseError(path, f"is {what}; SQLite needs a regular file here")
    try:
        main = db_path.read_bytes()
    except OSError as exc:
        raise DatabaseError(db_path, f"cannot read it ({exc.strerror})") from exc
    try:
        wal = wal_path.read_bytes() if wal_path.exists() else b""
    except OSError as exc:
        raise DatabaseError(wal_path, f"cannot read it ({exc.strerror})") from exc
    if len(main) < 100 or not main.startswith(b"SQLite format 3\x00"):
        if not main and not wal:
            return b""
        raise DatabaseError(db_path, "not a valid SQLite database (bad header)")
    raw_size = struct.unpack(">H", main[16:18])[0]
    page_size = 65536 if raw_size == 1 else raw_size
    frames, db_pages = _committed_frames(wal, page_size)
    image = bytearray(main)
    if frames:
        image = image[: db_pages * page_size].ljust(db_pages * page_size, b"\0")
        for page, at in frames.items():
            if page <= db_pages:
                image[(page - 1) * page_size : page * page_size] = wal[at : at + page_size]
    # Bytes 18-19 say "WAL mode"; a deserialized image must read as a plain database.
    image[18:20] = b"\x01\x01"
    return bytes(image)


def open_image(db_path: Path) -> sqlite3.Connection:
    """An in-memory, read-only connection to ``db_path``'s current content."""
    image = database_image(db_path)
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        if image:
            conn.deserialize(image)
        conn.execute("PRAGMA query_only = ON")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise DatabaseError(db_path, f"not a valid SQLite database ({exc})") from exc
    return conn
