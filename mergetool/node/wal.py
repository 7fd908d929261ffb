"""Read a WAL-mode SQLite database, committed WAL frames included, without writing anything.

Opening a database in WAL mode creates ``-shm``/``-wal`` files and may checkpoint, and a
read-only open cannot recover a WAL nobody checkpointed. For a source folder that must stay
byte-for-byte unchanged, and for a dry run that must write nothing anywhere, we read it
ourselves instead: with no committed WAL frame SQLite opens the main file immutable (it
neither locks nor creates anything); with some, we build the image the WAL describes (the
main file with every committed frame applied; the WAL file format is documented by SQLite)
and hand it to SQLite with ``deserialize``. A private copy for a merge is written the same
way, streamed.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import struct
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from mergetool._exceptions import DatabaseError
from mergetool._fs import Symlinks, irregular_kind

_WAL_MAGIC = (0x377F0682, 0x377F0683)
_WAL_HEADER = 32
_FRAME_HEADER = 24


def _checksum(data: bytes, s0: int, s1: int, *, big_endian: bool) -> tuple[int, int]:
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
    s0, s1 = _checksum(wal[:24], 0, 0, big_endian=big)
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
        s0, s1 = _checksum(wal[offset : offset + 8], s0, s1, big_endian=big)
        s0, s1 = _checksum(
            wal[offset + _FRAME_HEADER : offset + frame_size], s0, s1, big_endian=big
        )
        if (s0, s1) != (f0, f1):
            break
        pending[page] = offset + _FRAME_HEADER
        if commit_size:
            committed.update(pending)
            pending.clear()
            db_pages = commit_size
        offset += frame_size
    return committed, db_pages


@dataclass(frozen=True)
class _Layout:
    """What reading ``local.sql`` as SQLite sees it takes: its size and committed WAL frames."""

    size: int
    page_size: int
    frames: dict[int, int]  # page number -> offset of its newest committed frame in ``wal``
    db_pages: int
    wal: bytes

    @property
    def image_size(self) -> int:
        return self.db_pages * self.page_size if self.frames else self.size


def _read_layout(db_path: Path) -> _Layout | None:
    """The main file's header and the WAL, checked; ``None`` for an empty database."""
    wal_path = db_path.with_name(db_path.name + "-wal")
    for path in (db_path, wal_path):  # never open a FIFO or a folder: name what is wrong
        if os.path.lexists(path) and (kind := irregular_kind(path, Symlinks.FOLLOW)):
            what = "a folder" if kind == "a directory" else "not a regular file"
            raise DatabaseError(path, f"is {what}; SQLite needs a regular file here")
    try:
        with open(db_path, "rb") as fh:
            header, size = fh.read(100), os.fstat(fh.fileno()).st_size
    except OSError as exc:
        raise DatabaseError(db_path, f"cannot read it ({exc.strerror})") from exc
    try:
        wal = wal_path.read_bytes() if wal_path.exists() else b""
    except OSError as exc:
        raise DatabaseError(wal_path, f"cannot read it ({exc.strerror})") from exc
    if len(header) < 100 or not header.startswith(b"SQLite format 3\x00"):
        if not header and not wal:
            return None
        raise DatabaseError(db_path, "not a valid SQLite database (bad header)")
    raw_size = struct.unpack(">H", header[16:18])[0]
    page_size = 65536 if raw_size == 1 else raw_size
    frames, db_pages = _committed_frames(wal, page_size)
    return _Layout(size, page_size, frames, db_pages, wal)


def _apply_frames(image: bytearray, layout: _Layout) -> None:
    """Committed WAL pages over the main file's, and the header of a rollback-mode database."""
    size = layout.page_size
    for page, at in layout.frames.items():
        if page <= layout.db_pages:
            image[(page - 1) * size : page * size] = layout.wal[at : at + size]
    # Bytes 18-19 say "WAL mode"; the image must read as a plain database.
    image[18:20] = b"\x01\x01"


def _build_image(db_path: Path, layout: _Layout) -> bytearray:
    image = bytearray(layout.image_size)  # one buffer, read into: no second copy
    try:
        with open(db_path, "rb") as fh:
            fh.readinto(memoryview(image)[: min(layout.size, layout.image_size)])
    except OSError as exc:
        raise DatabaseError(db_path, f"cannot read it ({exc.strerror})") from exc
    _apply_frames(image, layout)
    return image


def database_image(db_path: Path) -> bytearray:
    """The bytes of ``db_path`` as SQLite would see them, WAL applied, in rollback-journal form."""
    layout = _read_layout(db_path)
    return bytearray() if layout is None else _build_image(db_path, layout)


def write_image(db_path: Path, dest: Path) -> None:
    """Write :func:`database_image` of ``db_path`` to the new file ``dest`` (0600), streamed:
    the main file is copied by the kernel and only WAL pages pass through memory."""
    layout = _read_layout(db_path)
    fd = os.open(dest, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "r+b") as out:
        if layout is None:
            return
        try:
            with open(db_path, "rb") as main:
                shutil.copyfileobj(main, out, 1 << 20)
        except OSError as exc:
            raise DatabaseError(db_path, f"cannot read it ({exc.strerror})") from exc
        out.truncate(layout.image_size)
        for page, at in layout.frames.items():
            if page <= layout.db_pages:
                out.seek((page - 1) * layout.page_size)
                out.write(layout.wal[at : at + layout.page_size])
        out.seek(18)
        out.write(b"\x01\x01")


def file_uri(path: Path | str, mode: str) -> str:
    """An SQLite ``file:`` URI for ``path``: any byte of the name, ``?``/``#``/``%`` included."""
    absolute = os.fsencode(os.path.abspath(path))
    return f"file://{quote(absolute, safe=b'/')}?mode={mode}"


def open_image(db_path: Path) -> sqlite3.Connection:
    """A read-only connection to ``db_path``'s current content that writes nothing anywhere.

    Without committed WAL frames SQLite reads the file itself, opened immutable (no locks, no
    -wal/-shm files): memory stays at its page cache however large the database. Otherwise
    the image with the frames applied is handed to SQLite in memory (one copy of the file).
    """
    layout = _read_layout(db_path)
    try:
        if layout is not None and not layout.frames:
            uri = file_uri(db_path, "ro") + "&immutable=1"
            conn = sqlite3.connect(uri, uri=True, isolation_level=None)
        else:
            conn = sqlite3.connect(":memory:", isolation_level=None)
            if layout is not None:
                image = _build_image(db_path, layout)
                conn.deserialize(image)
                del image  # SQLite holds its own copy now
    except sqlite3.Error as exc:
        raise DatabaseError(db_path, f"not a valid SQLite database ({exc})") from exc
    try:
        conn.execute("PRAGMA query_only = ON")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise DatabaseError(db_path, f"not a valid SQLite database ({exc})") from exc
    return conn
