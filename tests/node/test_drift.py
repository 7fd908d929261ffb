"""The node's drift check: any extra or changed schema object is reported, naming the statement."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from mergetool.node.drift import check_drift, dump_schema, expected_schema, normalize
from mergetool.node.migrate import create_database


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    create_database(tmp_path / "local.sql", 9)
    c = sqlite3.connect(tmp_path / "local.sql", isolation_level=None)
    yield c
    c.close()


@pytest.mark.parametrize("version", range(1, 10))
def test_fresh_database_has_no_drift(tmp_path: Path, version: int) -> None:
    create_database(tmp_path / "local.sql", version)
    with sqlite3.connect(tmp_path / "local.sql") as c:
        report = check_drift(c, version)
    assert not report.drifted
    assert report.diff == ""
    assert report.version == version


def test_empty_database_is_version_0_without_drift(tmp_path: Path) -> None:
    c = sqlite3.connect(tmp_path / "empty.sql")
    assert dump_schema(c) == "PRAGMA user_version = 0;\n"
    assert not check_drift(c, 0).drifted
    c.close()


def test_dump_starts_with_the_version_and_lists_tables_before_indexes(
    conn: sqlite3.Connection,
) -> None:
    lines = [line for line in dump_schema(conn).splitlines() if line.startswith("CREATE")]
    assert dump_schema(conn).startswith("PRAGMA user_version = 9;\n")
    kinds = ["INDEX" if "INDEX" in line else "TABLE" for line in lines]
    assert kinds == sorted(kinds, key=lambda k: k == "INDEX")
    assert kinds[-1] == "INDEX"


def test_alembic_bookkeeping_table_is_drift(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
    report = check_drift(conn, 9)
    assert report.drifted
    assert "+CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL);" in report.diff


def test_extra_index_is_drift(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE INDEX idx_extra ON challenge (epoch)")
    report = check_drift(conn, 9)
    assert report.drifted
    assert "+CREATE INDEX idx_extra ON challenge (epoch);" in report.diff


def test_changed_column_is_drift_naming_both_statements(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE nipost ADD COLUMN extra INT")
    report = check_drift(conn, 9)
    assert report.drifted
    minus = [line for line in report.diff.splitlines() if line.startswith("-CREATE")]
    plus = [line for line in report.diff.splitlines() if line.startswith("+CREATE")]
    assert len(minus) == len(plus) == 1
    assert "nipost" in minus[0] and "nipost" in plus[0]
    assert "extra INT" in plus[0] and "extra INT" not in minus[0]


def test_missing_table_is_drift(conn: sqlite3.Connection) -> None:
    conn.execute("DROP TABLE poet_certificates")
    report = check_drift(conn, 9)
    assert report.drifted
    assert "-CREATE TABLE poet_certificates" in report.diff


def test_wrong_version_is_drift(conn: sqlite3.Connection) -> None:
    report = check_drift(conn, 8)
    assert report.drifted
    assert "-PRAGMA user_version = 8;" in report.diff
    assert "+PRAGMA user_version = 9;" in report.diff


def test_white_space_alone_is_not_drift(tmp_path: Path) -> None:
    c = sqlite3.connect(tmp_path / "ws.sql")
    statements = [s for s in expected_schema(6).split(";\n") if s.startswith("CREATE")]
    for stmt in statements:
        c.execute("  \n\t ".join(stmt.split()))
    c.execute("PRAGMA user_version = 6")
    assert normalize(dump_schema(c)) == normalize(expected_schema(6))
    assert not check_drift(c, 6).drifted
    c.close()


def test_normalize_collapses_every_run_of_white_space() -> None:
    assert normalize("  CREATE\tTABLE \n\n x\r\n(a INT) ") == "CREATE TABLE x (a INT)"
