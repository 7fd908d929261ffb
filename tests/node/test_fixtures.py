"""The fixture builder makes node folders a real node would recognise, quirks included."""

from __future__ import annotations

import shutil
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from mergetool._exceptions import UsageProblem
from mergetool.node.drift import check_drift
from mergetool.node.fixtures import FixtureNode, build_node, test_key
from mergetool.node.keys import load_key
from mergetool.node.schema import identity_tables

Factory = Callable[..., FixtureNode]
REPO = Path(__file__).resolve().parents[2]


def _ids(db: Path, table: str, column: str = "id", *, immutable: bool = False) -> set[str]:
    uri = f"file:{db}?immutable=1" if immutable else f"file:{db}?mode=ro"
    conn = sqlite3.connect(uri, uri=True)
    try:
        return {bytes(r[0]).hex() for r in conn.execute(f'SELECT "{column}" FROM "{table}"')}
    finally:
        conn.close()


def test_test_keys_are_deterministic_and_distinct() -> None:
    assert test_key("a") == test_key("a")
    assert test_key("a").node_id != test_key("b").node_id


@pytest.mark.parametrize("version", [5, 7, 8, 9])
def test_k_identities_get_keys_and_rows_in_every_table(node_factory: Factory, version: int) -> None:
    node = node_factory(version=version, identities=["n1", "n2", "n3"])
    ids = node.folder.identities_dir
    assert sorted(p.name for p in ids.iterdir()) == ["n1.key", "n2.key", "n3.key"]
    assert stat.S_IMODE(ids.stat().st_mode) == 0o700
    for name, node_id in node.identities.items():
        assert load_key(ids / name).node_id_hex == node_id
        assert stat.S_IMODE((ids / name).stat().st_mode) == 0o600
    for table in identity_tables(version):
        assert _ids(node.folder.db_path, table.name, table.id_column) == set(
            node.identities.values()
        ), table.name
    with sqlite3.connect(node.folder.db_path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == version
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert not check_drift(conn, version).drifted


def test_wal_identities_live_only_in_the_wal(node_factory: Factory, tmp_path: Path) -> None:
    node = node_factory(identities=["main"], wal_identities=["late"])
    db = node.folder.db_path
    main_id, late_id = node.identities["main.key"], node.identities["late.key"]
    assert node.wal_identities == ("late",)
    assert node.folder.has_pending_wal()
    # Through SQLite (which reads the WAL) the rows are there ...
    copy = tmp_path / "with-wal"
    copy.mkdir()
    shutil.copyfile(db, copy / "local.sql")
    shutil.copyfile(node.folder.wal_path, copy / "local.sql-wal")
    assert _ids(copy / "local.sql", "post") == {main_id, late_id}
    # ... but the main file alone lacks them.
    assert _ids(db, "post", immutable=True) == {main_id}
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copyfile(db, alone / "local.sql")
    assert _ids(alone / "local.sql", "post") == {main_id}
    assert _ids(alone / "local.sql", "poet_certificates", "node_id") == {main_id}


def test_orphan_rows_have_no_key(node_factory: Factory) -> None:
    node = node_factory(identities=["k"], orphan_rows=2)
    assert len(node.orphans) == 2
    assert set(node.orphans).isdisjoint(node.identities.values())
    assert _ids(node.folder.db_path, "post") == {*node.orphans, node.identities["k.key"]}
    assert [p.name for p in node.folder.identities_dir.iterdir()] == ["k.key"]


def test_duplicate_key_is_the_same_identity_under_two_names(node_factory: Factory) -> None:
    node = node_factory(identities=["one", "two"], duplicate_key=True)
    ids = node.folder.identities_dir
    assert (ids / "one-copy.key").read_bytes() == (ids / "one.key").read_bytes()
    assert node.identities["one-copy.key"] == node.identities["one.key"]


def test_supervised_node_has_local_key(node_factory: Factory) -> None:
    node = node_factory(identities=["x"], supervised=True)
    assert node.folder.supervised_key.exists()
    assert load_key(node.folder.supervised_key).node_id_hex == node.identities["local.key"]
    files = node.folder.identity_files()
    assert [(f.name, f.supervised) for f in files] == [("local.key", True), ("x.key", False)]


def test_keys_without_rows(node_factory: Factory) -> None:
    node = node_factory(identities=["r"], keys_without_rows=["bare"])
    assert node.identities["bare.key"] not in _ids(node.folder.db_path, "post")


def test_prefix_varies_the_keys(node_factory: Factory) -> None:
    a = node_factory("a", identities=["id-1"], prefix="a-")
    b = node_factory("b", identities=["id-1"], prefix="b-")
    assert a.identities["id-1.key"] != b.identities["id-1.key"]


def test_make_fixture_script(tmp_path: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "make_fixture.py"),
            str(tmp_path / "n"),
            "--version",
            "8",
            "--identities",
            "2",
            "--prefix",
            "s-",
            "--wal",
            "1",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    listed = dict(line.split("\t") for line in out.stdout.splitlines())
    assert sorted(listed) == ["s-id-1.key", "s-id-2.key", "s-wal-1.key"]
    assert listed["s-id-1.key"] == test_key("s-s-id-1").node_id_hex
    assert (tmp_path / "n" / "local.sql-wal").stat().st_size > 0


@pytest.mark.parametrize("version", ["1", "2", "10"])
def test_make_fixture_refuses_unsupported_versions(tmp_path: Path, version: str) -> None:
    script = str(REPO / "scripts" / "make_fixture.py")
    args = [sys.executable, script, str(tmp_path / "n"), "--version", version]
    out = subprocess.run(args, capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stderr.endswith(
        f"Error: Invalid value for '--version': '{version}' is not one of "
        "'3', '4', '5', '6', '7', '8', '9'.\n"
    )
    assert not (tmp_path / "n").exists()


def test_build_node_names_the_versions_it_supports(tmp_path: Path) -> None:
    with pytest.raises(UsageProblem) as e:
        build_node(tmp_path / "n", version=2)
    assert (
        str(e.value)
        == "fixture version 2 is not supported\nSupported versions: 3, 4, 5, 6, 7, 8, 9."
    )
