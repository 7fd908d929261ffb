"""``inspect_node``: what a folder holds and what would trouble a merge, never changing a byte."""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from mergetool._exceptions import NotANodeFolder
from mergetool.node.fixtures import FixtureNode, test_key
from mergetool.node.inspect import NodeReport, inspect_node
from mergetool.node.keys import load_key

Factory = Callable[..., FixtureNode]
Digest = Callable[[Path], dict[str, str]]
TABLES_V9 = {"post": 1, "challenge": 1, "poet_registration": 2, "nipost": 1, "poet_certificates": 1}
TABLES_V5 = {"initial_post": 1, "challenge": 1, "poet_registration": 2, "nipost": 1}


def _codes(report: NodeReport) -> list[str]:
    return [w.code for w in report.warnings]


# --- committed examples -------------------------------------------------------------------

COMMITTED = {
    "node-a": (9, "1.7.x", ["a-id-1.key", "a-id-2.key"], []),
    "node-b": (9, "1.7.x", ["b-id-1.key", "b-id-2.key"], []),
    "node-supervised": (
        9,
        "1.7.x",
        ["local.key", "s-id-1.key"],
        ["supervised", "key_without_rows"],
    ),
    "node-v5": (5, "1.4.0 - 1.4.2", ["v5-id-1.key"], []),
}


def test_every_committed_fixture_is_covered(committed_fixtures: Path) -> None:
    present = {p.name for p in committed_fixtures.iterdir() if (p / "local.sql").exists()}
    assert present == set(COMMITTED)


@pytest.mark.parametrize("name", sorted(COMMITTED))
def test_committed_fixture(committed_fixtures: Path, tree_digest: Digest, name: str) -> None:
    version, releases, files, codes = COMMITTED[name]
    root = committed_fixtures / name
    before = tree_digest(root)

    report = inspect_node(root)

    assert tree_digest(root) == before
    assert (report.user_version, report.releases) == (version, releases)
    assert report.version_problem is None
    assert report.drift_diff is None
    assert [i.file for i in report.identities] == files
    assert all(i.valid and i.problem is None for i in report.identities)
    for ident in report.identities:
        assert ident.node_id == load_key(root / "identities" / ident.file).node_id_hex
        expected = {} if ident.supervised else (TABLES_V5 if version == 5 else TABLES_V9)
        assert ident.rows == expected
        assert ident.supervised == (ident.file == "local.key")
    assert report.orphan_rows == {}
    assert _codes(report) == codes


# --- built folders ------------------------------------------------------------------------


def test_clean_node(node_factory: Factory) -> None:
    node = node_factory(identities=["a", "b"])
    report = inspect_node(node.folder.root)
    assert report.path == node.folder.root
    assert (report.user_version, report.releases, report.drift_diff) == (9, "1.7.x", None)
    assert {i.file: i.node_id for i in report.identities} == node.identities
    assert all(i.rows == TABLES_V9 for i in report.identities)
    assert report.warnings == ()


@pytest.mark.parametrize("version", [5, 7, 8])
def test_older_released_versions(node_factory: Factory, version: int) -> None:
    report = inspect_node(node_factory(version=version).folder.root)
    assert report.user_version == version
    assert report.version_problem is None and report.drift_diff is None
    assert report.warnings == ()


def test_supervised(node_factory: Factory) -> None:
    report = inspect_node(node_factory(identities=["a"], supervised=True).folder.root)
    assert "supervised" in _codes(report)
    assert [(i.file, i.supervised) for i in report.identities] == [
        ("a.key", False),
        ("local.key", True),
    ]
    msg = next(w.message for w in report.warnings if w.code == "supervised")
    assert "local.key" in msg


def test_duplicate_identity(node_factory: Factory) -> None:
    node = node_factory(identities=["one"], duplicate_key=True)
    report = inspect_node(node.folder.root)
    assert _codes(report) == ["duplicate_identity"]
    msg = report.warnings[0].message
    assert "one.key" in msg and "one-copy.key" in msg and node.identities["one.key"] in msg


def test_rows_without_key(node_factory: Factory) -> None:
    node = node_factory(identities=["a"], orphan_rows=1)
    report = inspect_node(node.folder.root)
    assert _codes(report) == ["rows_without_key"]
    (orphan,) = node.orphans
    assert report.orphan_rows == {orphan: TABLES_V9}
    assert orphan in report.warnings[0].message


def test_key_without_rows(node_factory: Factory) -> None:
    report = inspect_node(node_factory(identities=["a"], keys_without_rows=["bare"]).folder.root)
    assert _codes(report) == ["key_without_rows"]
    assert "bare.key" in report.warnings[0].message
    assert {i.file: i.rows for i in report.identities}["bare.key"] == {}


def test_pending_wal_is_read_and_the_folder_left_alone(
    node_factory: Factory, tree_digest: Digest
) -> None:
    node = node_factory(identities=["a"], wal_identities=["w"])
    root = node.folder.root
    before = tree_digest(root)

    report = inspect_node(root)

    assert tree_digest(root) == before
    assert _codes(report) == ["pending_wal"]
    # The WAL's rows are counted: inspect sees what the node would see.
    assert {i.file: i.rows for i in report.identities}["w.key"] == TABLES_V9


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"00" * 64 + b"\n",
        test_key("a").seed.hex().encode() + test_key("b").node_id.hex().encode(),
    ],
    ids=["empty", "newline", "mismatched"],
)
def test_invalid_key(node_factory: Factory, content: bytes) -> None:
    node = node_factory(identities=["a"])
    (node.folder.identities_dir / "bad.key").write_bytes(content)
    report = inspect_node(node.folder.root)
    assert _codes(report) == ["invalid_key"]
    bad = {i.file: i for i in report.identities}["bad.key"]
    assert (bad.valid, bad.node_id, bad.rows) == (False, None, {})
    assert bad.problem
    assert "bad.key" in report.warnings[0].message
    assert test_key("a").seed.hex() not in repr(report.to_dict())


def test_drifted_database(node_factory: Factory) -> None:
    node = node_factory(identities=["a"])
    with sqlite3.connect(node.folder.db_path) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
    conn.close()
    report = inspect_node(node.folder.root)
    assert report.drift_diff is not None
    assert "alembic_version" in report.drift_diff
    assert report.to_dict()["schema"]["drifted"] is True  # type: ignore[index]


def test_drift_not_checked_for_a_version_newer_than_known(node_factory: Factory) -> None:
    node = node_factory(identities=["a"])
    conn = sqlite3.connect(node.folder.db_path)
    conn.execute("PRAGMA user_version = 10")
    conn.close()
    report = inspect_node(node.folder.root)
    assert not report.drift_checked
    assert report.to_dict()["schema"]["drifted"] is None  # type: ignore[index]
    assert "too new" in (report.version_problem or "")


@pytest.mark.parametrize(
    ("number", "words"), [(2, "1.3.x"), (6, "no node release"), (10, "too new")]
)
def test_unsupported_version_is_reported_not_raised(
    node_factory: Factory, number: int, words: str
) -> None:
    node = node_factory(identities=["a"])
    with sqlite3.connect(node.folder.db_path) as conn:
        conn.execute(f"PRAGMA user_version = {number}")
    conn.close()
    report = inspect_node(node.folder.root)
    assert report.user_version == number
    assert report.version_problem is not None and words in report.version_problem
    assert str(node.folder.db_path) in report.version_problem


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(NotANodeFolder, match="node data folder does not exist"):
        inspect_node(tmp_path / "absent")


@pytest.fixture
def holder(node_factory: Factory, hold_database) -> tuple[FixtureNode, subprocess.Popen[str]]:
    """A real process (a stand-in for a running node) with ``local.sql`` open."""
    node = node_factory(identities=["a"])
    return node, hold_database(node.folder.db_path)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="in-use detection reads /proc")
def test_in_use(holder: tuple[FixtureNode, subprocess.Popen[str]]) -> None:
    node, proc = holder
    report = inspect_node(node.folder.root)
    assert "in_use" in _codes(report)
    msg = next(w.message for w in report.warnings if w.code == "in_use")
    assert f"pid {proc.pid}" in msg


def test_json_form_has_the_documented_keys(node_factory: Factory) -> None:
    node = node_factory(identities=["a"], orphan_rows=1)
    data = inspect_node(node.folder.root).to_dict()
    assert set(data) == {"format", "path", "schema", "identities", "orphan_rows", "warnings"}
    assert data["format"] == 1
    assert data["path"] == str(node.folder.root)
    assert set(data["schema"]) == {  # type: ignore[arg-type]
        "user_version",
        "releases",
        "problem",
        "drift_checked",
        "drifted",
        "drift_diff",
    }
    (ident,) = data["identities"]  # type: ignore[misc]
    assert set(ident) == {"file", "node_id", "valid", "problem", "supervised", "rows"}
    (orphan,) = data["orphan_rows"]  # type: ignore[misc]
    assert orphan == {"node_id": node.orphans[0], "rows": TABLES_V9}
    assert data["warnings"] == [
        {"code": "rows_without_key", "message": f"rows for {node.orphans[0]} but no key file"}
    ]


def test_upper_case_key_is_valid_with_the_same_node_id(node_factory: Factory) -> None:
    node = node_factory(identities=["a"])
    path = node.folder.identities_dir / "a.key"
    path.write_bytes(path.read_bytes().upper())
    report = inspect_node(node.folder.root)
    (ident,) = report.identities
    assert (ident.valid, ident.node_id) == (True, node.identities["a.key"])
    assert report.warnings == ()


def test_symlinked_key_is_invalid(node_factory: Factory, tmp_path: Path) -> None:
    node = node_factory(identities=["a"])
    outside = tmp_path / "outside.key"
    outside.write_bytes(test_key("outside").to_file_bytes())
    (node.folder.identities_dir / "link.key").symlink_to(outside)
    report = inspect_node(node.folder.root)
    link = {i.file: i for i in report.identities}["link.key"]
    assert not link.valid and "symbolic link" in str(link.problem)
    assert {"invalid_key", "symlink_key"} <= set(_codes(report))


DOCUMENTED_CODES = {
    "supervised",
    "invalid_key",
    "symlink_key",
    "duplicate_identity",
    "rows_without_key",
    "key_without_rows",
    "pending_wal",
    "in_use",
}


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="in-use detection reads /proc")
def test_every_documented_warning_at_once(
    tmp_path: Path, tree_digest: Digest, hold_database
) -> None:
    from mergetool.node.fixtures import build_node

    node = build_node(
        tmp_path / "node",
        identities=["a", "b"],
        supervised=True,
        duplicate_key=True,
        orphan_rows=1,
        keys_without_rows=["bare"],
        wal_identities=["w"],
    )
    ids = node.folder.identities_dir
    (ids / "bad.key").write_bytes(b"0" * 127)
    (ids / "link.key").symlink_to(ids / "a.key")
    hold_database(node.folder.db_path)
    report = inspect_node(node.folder.root)
    assert set(_codes(report)) == DOCUMENTED_CODES
