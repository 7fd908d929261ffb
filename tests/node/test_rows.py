"""Typed identity rows: u64 values survive the node's int64 encoding bit for bit."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from mergetool.node.fixtures import identity_rows, insert_rows, test_key
from mergetool.node.migrate import create_database
from tests.node.rows import IdentityRow, read_identity_rows

U64 = st.integers(min_value=0, max_value=(1 << 64) - 1)


def test_fixture_rows_read_back_unsigned(tmp_path: Path) -> None:
    db = tmp_path / "local.sql"
    create_database(db, 9)
    node_id = test_key("rows").node_id
    conn = sqlite3.connect(db)
    insert_rows(conn, 9, identity_rows(9, node_id, 0))
    conn.commit()
    rows = read_identity_rows(conn, 9, node_id)
    tables = [r.table for r in rows]
    assert tables == [
        "post",
        "challenge",
        "poet_registration",
        "poet_registration",
        "nipost",
        "poet_certificates",
    ]
    post = rows[0]
    assert post.get("post_pow") == 0xF000_0000_0000_0000
    assert post.get("vrf_nonce") == (1 << 64) - 1
    stored = conn.execute("SELECT post_pow, vrf_nonce FROM post").fetchone()
    assert stored == (post.to_sql()["post_pow"], post.to_sql()["vrf_nonce"])
    assert stored[0] < 0 and stored[1] == -1


@settings(max_examples=30, deadline=None)
@given(pow_=U64, vrf=U64, sequence=U64)
def test_u64_columns_round_trip_through_sqlite(tmp_path_factory, pow_, vrf, sequence) -> None:
    db = tmp_path_factory.mktemp("rt") / "local.sql"
    create_database(db, 9)
    node_id = test_key("rt").node_id
    rows = identity_rows(9, node_id, 0)
    post = IdentityRow.from_sql("post", rows["post"][0])
    post = IdentityRow(
        "post",
        tuple(
            (k, pow_ if k == "post_pow" else vrf if k == "vrf_nonce" else v) for k, v in post.values
        ),
    )
    rows["post"] = [post.to_sql()]
    challenge = IdentityRow.from_sql("challenge", rows["challenge"][0])
    challenge = IdentityRow(
        "challenge", tuple((k, sequence if k == "sequence" else v) for k, v in challenge.values)
    )
    rows["challenge"] = [challenge.to_sql()]
    conn = sqlite3.connect(db)
    insert_rows(conn, 9, rows)
    conn.commit()
    back = {r.table: r for r in read_identity_rows(conn, 9, node_id)}
    conn.close()
    assert back["post"].get("post_pow") == pow_
    assert back["post"].get("vrf_nonce") == vrf
    assert back["challenge"].get("sequence") == sequence
    assert back["post"] == post
