"""Rows whose node id is not a 32-byte blob: reported by inspect, refused by a merge."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from mergetool._exceptions import MergeRefused
from mergetool.merge import plan_merge
from mergetool.node.fixtures import build_node, identity_rows, insert_rows, test_key
from mergetool.node.inspect import inspect_node

CASES = {
    "text": ("ab" * 16, "whose node id is text 'abababababababababababababababab'"),
    "31 bytes": (b"\x07" * 31, "whose node id is a 31-byte blob (" + "07" * 31 + ")"),
}


def _add_bad_row(db: Path, node_id: object) -> None:
    rows = identity_rows(9, test_key("bad-id").node_id, 7)
    challenge = [{**row, "id": node_id} for row in rows["challenge"]]
    conn = sqlite3.connect(db)
    try:
        insert_rows(conn, 9, {"challenge": challenge})
        conn.commit()
    finally:
        conn.close()


@pytest.mark.parametrize("case", CASES)
def test_inspect_reports_the_table_and_the_id(tmp_path: Path, case: str) -> None:
    node = build_node(tmp_path / "n", identities=["a"], prefix="bad-i-")
    value, words = CASES[case]
    _add_bad_row(node.folder.db_path, value)

    report = inspect_node(node.folder.root)  # used to crash with a TypeError on text ids

    (bad,) = [w for w in report.warnings if w.code == "bad_node_id"]
    assert bad.message == f"{node.folder.db_path}: table challenge: 1 row(s) {words}, not 32 bytes"
    assert report.identities[0].rows == {
        "challenge": 1,
        "nipost": 1,
        "poet_certificates": 1,
        "poet_registration": 2,
        "post": 1,
    }


@pytest.mark.parametrize("case", CASES)
def test_a_merge_refuses_a_source_with_such_rows(tmp_path: Path, case: str) -> None:
    src = build_node(tmp_path / "src", identities=["s1"], prefix="bad-s-")
    dst = build_node(tmp_path / "dst", identities=["d1"], prefix="bad-d-")
    value, words = CASES[case]
    _add_bad_row(src.folder.db_path, value)

    with pytest.raises(MergeRefused) as info:
        plan_merge(src.folder.root, dst.folder.root)

    assert info.value.message == (
        f"source database {src.folder.db_path}: table challenge: 1 row(s) {words}, not 32 bytes"
    )
