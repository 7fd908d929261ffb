"""Per-identity table models at every version and the node's u64-as-int64 encoding."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mergetool.node.migrate import create_database
from mergetool.node.schema import identity_table_names, identity_tables, u64_from_sql, u64_to_sql

INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1


@pytest.mark.parametrize(
    ("version", "tables"),
    [
        (0, []),
        (1, ["initial_post", "nipost"]),
        (2, ["initial_post", "nipost"]),
        (5, ["initial_post", "challenge", "poet_registration", "nipost"]),
        (7, ["initial_post", "challenge", "poet_registration", "nipost"]),
        (8, ["post", "challenge", "poet_registration", "nipost", "poet_certificates"]),
        (9, ["post", "challenge", "poet_registration", "nipost", "poet_certificates"]),
    ],
)
def test_per_identity_tables_by_version(version: int, tables: list[str]) -> None:
    assert identity_table_names(version) == tables


@pytest.mark.parametrize("version", range(1, 10))
def test_models_match_the_columns_of_the_real_tables(tmp_path: Path, version: int) -> None:
    db = tmp_path / "local.sql"
    create_database(db, version)
    conn = sqlite3.connect(db)
    for ident in identity_tables(version):
        real = [r[1] for r in conn.execute(f'PRAGMA table_info("{ident.name}")')]
        assert sorted(ident.columns) == sorted(real), ident.name
        assert ident.id_column in real
    conn.close()


def test_identity_column_of_poet_certificates_is_node_id() -> None:
    by_name = {t.name: t.id_column for t in identity_tables(9)}
    assert by_name == dict.fromkeys(by_name, "id") | {"poet_certificates": "node_id"}


def test_attached_schema_qualifies_table_names() -> None:
    (post, *_) = identity_tables(9, "src")
    assert post.table.fullname == "src.post"


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        (0, 0),
        (INT64_MAX, INT64_MAX),
        (1 << 63, INT64_MIN),
        ((1 << 64) - 1, -1),
        (0xF000_0000_0000_0000, -0x1000_0000_0000_0000),
    ],
)
def test_u64_is_stored_as_twos_complement_int64(value: int, stored: int) -> None:
    assert u64_to_sql(value) == stored
    assert u64_from_sql(stored) == value


@given(st.integers(min_value=0, max_value=(1 << 64) - 1))
def test_u64_round_trip(value: int) -> None:
    stored = u64_to_sql(value)
    assert INT64_MIN <= stored <= INT64_MAX
    assert u64_from_sql(stored) == value
    assert stored.to_bytes(8, "big", signed=True) == value.to_bytes(8, "big")


@given(st.integers(min_value=0, max_value=(1 << 64) - 1))
def test_u64_survives_sqlite_bit_exactly(value: int) -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (v UNSIGNED LONG INT NOT NULL)")
    conn.execute("INSERT INTO t VALUES (?)", (u64_to_sql(value),))
    (stored,) = conn.execute("SELECT v FROM t").fetchone()
    conn.close()
    assert u64_from_sql(stored) == value


@pytest.mark.parametrize("version", [5, 7, 8, 9])
def test_copy_statements_name_every_column_on_both_sides(version: int) -> None:
    from mergetool.node.schema import copy_statements, identity_tables

    statements = dict(copy_statements(version))
    assert list(statements) == [t.name for t in identity_tables(version)]
    for table in identity_tables(version):
        sql = " ".join(statements[table.name].split())
        assert "*" not in sql
        cols = ", ".join(table.columns)
        assert sql.startswith(f"INSERT INTO main.{table.name} ({cols}) SELECT ")
        assert sql.endswith(f"FROM src.{table.name}")
        for column in table.columns:
            assert f"src.{table.name}.{column}" in sql
