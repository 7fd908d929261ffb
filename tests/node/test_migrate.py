"""Creating and upgrading ``local.sql``: every version dumps exactly as the node's snapshot."""

from __future__ import annotations

import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from mergetool._exceptions import DatabaseError, UnsupportedVersion
from mergetool._fs import TEMP_MARK
from mergetool.node.drift import dump_schema, expected_schema, normalize
from mergetool.node.fixtures import identity_rows, insert_rows, test_key
from mergetool.node.migrate import (
    create_database,
    migration_sql,
    migration_statements,
    run_statements,
    upgrade_database,
)
from mergetool.node.schema import u64_from_sql

VERSIONS = range(1, 10)
REPO = Path(__file__).resolve().parents[2]
SHARED_SCHEMAS = REPO.parent / "shared" / "node-schema"  # the node's own dumps, if beside
SHIPPED_SCHEMAS = REPO / "schemas" / "node"  # what the drift check reads
UPGRADES = [(m, n) for n in VERSIONS for m in range(0, n)]


def _dump(path: Path) -> str:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return normalize(dump_schema(conn))
    finally:
        conn.close()


def _pragma(path: Path, name: str) -> object:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]
    finally:
        conn.close()


def _objects(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    finally:
        conn.close()


@pytest.mark.parametrize("version", VERSIONS)
def test_fresh_database_dumps_exactly_as_the_node_schema(
    tmp_path: Path, node_schema: Callable[[int], str], version: int
) -> None:
    db = tmp_path / "local.sql"
    create_database(db, version)
    assert _dump(db) == normalize(node_schema(version))
    assert _pragma(db, "user_version") == version
    assert _pragma(db, "journal_mode") == "wal"
    assert "alembic_version" not in _objects(db)


@pytest.mark.parametrize(("start", "end"), UPGRADES)
def test_upgraded_database_dumps_exactly_as_the_node_schema(
    tmp_path: Path, node_schema: Callable[[int], str], start: int, end: int
) -> None:
    db = tmp_path / "local.sql"
    create_database(db, start)
    assert upgrade_database(db, end) == start
    assert _dump(db) == normalize(node_schema(end))
    assert _pragma(db, "user_version") == end


@pytest.mark.parametrize(("start", "end"), [(m, n) for m, n in UPGRADES if m > 0])
def test_the_offline_statements_upgrade_exactly_as_the_revisions(
    tmp_path: Path, node_schema: Callable[[int], str], start: int, end: int
) -> None:
    # A merge plan shows these statements and execute runs them: they must be the upgrade.
    db = tmp_path / "local.sql"
    create_database(db, start)
    run_statements(db, migration_statements(start, end), from_version=start)
    assert _dump(db) == normalize(node_schema(end))
    assert _pragma(db, "user_version") == end


def test_offline_statements_refuse_a_database_at_another_version(tmp_path: Path) -> None:
    db = tmp_path / "local.sql"
    create_database(db, 6)
    with pytest.raises(DatabaseError, match="is at version 6, the plan expected 5"):
        run_statements(db, migration_statements(5, 9), from_version=5)
    assert _pragma(db, "user_version") == 6
    assert _pragma(db, "journal_mode") == "wal"
    assert "alembic_version" not in _objects(db)


def test_default_version_is_the_latest(tmp_path: Path, node_schema: Callable[[int], str]) -> None:
    create_database(tmp_path / "a.sql")
    assert _dump(tmp_path / "a.sql") == normalize(node_schema(9))
    create_database(tmp_path / "b.sql", 5)
    upgrade_database(tmp_path / "b.sql")
    assert _dump(tmp_path / "b.sql") == normalize(node_schema(9))


def test_upgrade_to_the_same_version_changes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "local.sql"
    create_database(db, 7)
    before = _dump(db)
    assert upgrade_database(db, 7) == 7
    assert _dump(db) == before


def test_downgrade_is_refused_and_leaves_the_database(tmp_path: Path) -> None:
    db = tmp_path / "local.sql"
    create_database(db, 9)
    with pytest.raises(UnsupportedVersion):
        upgrade_database(db, 8)
    assert _pragma(db, "user_version") == 9


def test_create_refuses_to_overwrite_and_leaves_no_temp_file(tmp_path: Path) -> None:
    db = tmp_path / "local.sql"
    db.write_bytes(b"precious")
    with pytest.raises(DatabaseError, match="already exists"):
        create_database(db, 9)
    assert db.read_bytes() == b"precious"
    assert not any(TEMP_MARK in p.name for p in tmp_path.iterdir())


def test_create_is_private_and_leaves_only_the_database(tmp_path: Path) -> None:
    db = tmp_path / "local.sql"
    create_database(db, 9)
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert not any(TEMP_MARK in p.name for p in tmp_path.iterdir())
    assert {p.name for p in tmp_path.iterdir()} <= {"local.sql", "local.sql-wal", "local.sql-shm"}


def test_data_survives_the_upgrade_from_5_to_9(tmp_path: Path) -> None:
    db = tmp_path / "local.sql"
    create_database(db, 5)
    node_id = test_key("upgrade").node_id
    rows = identity_rows(5, node_id, 0)
    conn = sqlite3.connect(db)
    insert_rows(conn, 5, rows)
    conn.commit()
    conn.close()

    upgrade_database(db, 9)

    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    assert "initial_post" not in _objects(db)
    (post,) = conn.execute("SELECT * FROM post").fetchall()
    before = rows["initial_post"][0]
    for column, value in before.items():
        assert post[column] == value, column
    assert post["challenge"] == bytes(32)
    # u64 values >= 2^63 are stored as negative int64 and stay bit-exact.
    assert post["post_pow"] < 0
    assert u64_from_sql(post["post_pow"]) == 0xF000_0000_0000_0000
    assert u64_from_sql(post["vrf_nonce"]) == (1 << 64) - 1
    for table in ("challenge", "poet_registration", "nipost"):
        got = [dict(r) for r in conn.execute(f"SELECT * FROM {table}")]
        assert sorted(got, key=repr) == sorted(rows[table], key=repr), table
    assert conn.execute("SELECT count(*) FROM poet_certificates").fetchone()[0] == 0
    conn.close()


def test_malfeasance_sync_state_keeps_its_timestamp_with_id_1(tmp_path: Path) -> None:
    db = tmp_path / "local.sql"
    create_database(db, 7)
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT timestamp FROM malfeasance_sync_state").fetchall() == [(0,)]
    conn.execute("UPDATE malfeasance_sync_state SET timestamp = 1732000123")
    conn.commit()
    conn.close()

    upgrade_database(db, 9)

    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT id, timestamp FROM malfeasance_sync_state").fetchall()
    conn.close()
    assert rows == [(1, 1732000123)]
    assert "malfeasance_sync_state_old" not in _objects(db)


def test_migration_sql_describes_the_steps_and_runs_nothing(tmp_path: Path) -> None:
    db = tmp_path / "local.sql"
    create_database(db, 7)
    before = db.read_bytes()

    text = migration_sql(7, 9)

    assert "ALTER TABLE initial_post ADD COLUMN challenge" in text
    assert "RENAME TO post" in text
    assert "CREATE TABLE poet_certificates" in text
    assert "idx_poet_certificates" in text
    assert "malfeasance_sync_state" in text
    assert text.rstrip().endswith("PRAGMA user_version = 9;")
    assert "alembic_version" not in text
    assert db.read_bytes() == before
    assert _pragma(db, "user_version") == 7


def test_migration_sql_from_empty_creates_every_table() -> None:
    text = migration_sql(0, 9)
    for table in ("initial_post", "challenge", "poet_registration", "nipost", "atx_sync_state"):
        assert table in text
    assert migration_sql(9, 9).strip() == "PRAGMA user_version = 9;"


@pytest.mark.parametrize(("start", "end"), [(9, 5), (0, 10), (-1, 3)])
def test_migration_sql_refuses_impossible_ranges(start: int, end: int) -> None:
    with pytest.raises(UnsupportedVersion):
        migration_sql(start, end)


def test_upgrade_of_a_non_database_is_a_database_error(tmp_path: Path) -> None:
    db = tmp_path / "local.sql"
    db.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(DatabaseError):
        upgrade_database(db, 9)


def test_shipped_schema_snapshots_are_complete_and_equal_the_nodes_when_beside() -> None:
    # The repository carries every version; the node's own dumps are compared when present.
    shipped = sorted(p.name for p in SHIPPED_SCHEMAS.glob("local-v*.sql"))
    assert shipped == sorted(f"local-v{version}.sql" for version in VERSIONS)
    for version in VERSIONS:
        ours = (SHIPPED_SCHEMAS / f"local-v{version}.sql").read_text()
        assert ours.startswith(f"PRAGMA user_version = {version};"), version
        assert normalize(ours) == normalize(expected_schema(version)), version
        if SHARED_SCHEMAS.is_dir():
            live = (SHARED_SCHEMAS / f"local-v{version}.sql").read_text()
            assert normalize(ours) == normalize(live), version


def test_failed_upgrade_is_all_or_nothing_and_a_database_error(tmp_path: Path) -> None:
    # A drifted v7 DB that already has the table step 8 creates: step 8 fails half-way.
    db = tmp_path / "local.sql"
    create_database(db, 7)
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE poet_certificates (x)")
    conn.commit()
    conn.close()
    before = _dump(db)

    with pytest.raises(DatabaseError) as info:
        upgrade_database(db, 9)

    assert "poet_certificates already exists" in str(info.value)
    assert info.value.path == db  # type: ignore[attr-defined]
    assert _dump(db) == before
    assert _pragma(db, "user_version") == 7


def test_create_at_version_0_is_an_empty_wal_database(tmp_path: Path) -> None:
    db = tmp_path / "local.sql"
    create_database(db, 0)
    assert _dump(db) == "PRAGMA user_version = 0;"
    assert _pragma(db, "journal_mode") == "wal"
