"""Reading a database with its WAL in memory: what SQLite sees, and nothing written anywhere."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from mergetool._exceptions import DatabaseError
from mergetool.node.fixtures import build_node
from mergetool.node.wal import database_image, open_image


def _dump(conn: sqlite3.Connection) -> list[str]:
    return list(conn.iterdump())


def _sqlite_view(db: Path, tmp_path: Path) -> list[str]:
    """What SQLite itself reads, from a private copy of the database and its WAL."""
    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copyfile(db, copy / db.name)
    wal = db.with_name(db.name + "-wal")
    if wal.exists():
        shutil.copyfile(wal, copy / wal.name)
    conn = sqlite3.connect(copy / db.name)
    try:
        return _dump(conn)
    finally:
        conn.close()


def _listing(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_pending_wal_rows_are_read_and_nothing_is_written(tmp_path: Path) -> None:
    node = build_node(tmp_path / "n", identities=["a"], wal_identities=["w1", "w2"])
    db = node.folder.db_path
    before = {p: p.read_bytes() for p in (db, node.folder.wal_path)}
    listing = _listing(tmp_path / "n")
    conn = open_image(db)
    try:
        ours = _dump(conn)
    finally:
        conn.close()
    assert {p: p.read_bytes() for p in before} == before
    assert _listing(tmp_path / "n") == listing
    assert ours == _sqlite_view(db, tmp_path)
    assert sum(line.startswith('INSERT INTO "post"') for line in ours) == 3


def test_without_wal_the_main_file_is_read(tmp_path: Path) -> None:
    node = build_node(tmp_path / "n", identities=["a", "b"])
    assert not node.folder.wal_path.exists()
    conn = open_image(node.folder.db_path)
    try:
        assert _dump(conn) == _sqlite_view(node.folder.db_path, tmp_path)
    finally:
        conn.close()


def test_torn_last_frame_is_ignored_like_sqlite_does(tmp_path: Path) -> None:
    node = build_node(tmp_path / "n", identities=["a"], wal_identities=["w"])
    wal = node.folder.wal_path
    data = wal.read_bytes()
    wal.write_bytes(data[: len(data) - 100])  # a crash in the middle of the last frame
    conn = open_image(node.folder.db_path)
    try:
        assert _dump(conn) == _sqlite_view(node.folder.db_path, tmp_path)
    finally:
        conn.close()


def test_wal_of_another_generation_is_ignored(tmp_path: Path) -> None:
    node = build_node(tmp_path / "n", identities=["a"], wal_identities=["w"])
    wal = node.folder.wal_path
    data = bytearray(wal.read_bytes())
    data[32 + 8] ^= 0xFF  # first frame's salt no longer matches the header: no valid frames
    wal.write_bytes(bytes(data))
    conn = open_image(node.folder.db_path)
    try:
        assert _dump(conn) == _sqlite_view(node.folder.db_path, tmp_path)
        assert conn.execute("SELECT count(*) FROM post").fetchone() == (1,)
    finally:
        conn.close()


def test_image_is_a_plain_database(tmp_path: Path) -> None:
    node = build_node(tmp_path / "n", identities=["a"], wal_identities=["w"])
    image = database_image(node.folder.db_path)
    assert image[:16] == b"SQLite format 3\x00" and image[18:20] == b"\x01\x01"


def test_not_a_database_names_the_file(tmp_path: Path) -> None:
    db = tmp_path / "local.sql"
    db.write_bytes(b"definitely not sqlite" * 10)
    with pytest.raises(DatabaseError) as info:
        open_image(db)
    assert str(db) in str(info.value)


@pytest.mark.parametrize("kind", ["folder", "fifo"])
def test_a_wal_that_is_not_a_file_is_named_and_never_opened(tmp_path: Path, kind: str) -> None:
    import os

    node = build_node(tmp_path / "n", identities=["w1"], prefix="wal-odd-")
    wal = node.folder.db_path.with_name("local.sql-wal")
    wal.unlink(missing_ok=True)
    if kind == "folder":
        wal.mkdir()
    else:
        os.mkfifo(wal)  # reading it would block forever
    with pytest.raises(DatabaseError, match=f"^{wal}: is (a folder|not a regular file)"):
        database_image(node.folder.db_path)


def test_without_committed_wal_frames_sqlite_reads_the_file_itself(tmp_path: Path) -> None:
    node = build_node(tmp_path / "n", identities=["a"])
    listing = _listing(tmp_path / "n")
    conn = open_image(node.folder.db_path)
    try:  # file-backed, not an image in memory: memory stays flat however large the file
        [(_, name, path)] = conn.execute("PRAGMA database_list").fetchall()
        assert (name, path) == ("main", str(node.folder.db_path))
        with pytest.raises(sqlite3.OperationalError, match="readonly|query_only"):
            conn.execute("CREATE TABLE t (x)")
    finally:
        conn.close()
    assert _listing(tmp_path / "n") == listing  # no -wal, no -shm


def test_with_committed_wal_frames_the_image_is_in_memory(tmp_path: Path) -> None:
    node = build_node(tmp_path / "n", identities=["a"], wal_identities=["w"])
    conn = open_image(node.folder.db_path)
    try:
        [(_, _, path)] = conn.execute("PRAGMA database_list").fetchall()
        assert path != str(node.folder.db_path)  # deserialized: not the file
    finally:
        conn.close()
