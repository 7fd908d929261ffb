"""``mergetool inspect DIR [--json]``: exact messages and exit codes, files left untouched."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from mergetool.cli.main import cli
from mergetool.node.fixtures import FixtureNode, test_key
from tests.schema_check import loads_valid

Factory = Callable[..., FixtureNode]
Digest = Callable[[Path], dict[str, str]]
COMMITTED = ["node-a", "node-b", "node-supervised", "node-v5"]


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["inspect", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("name", COMMITTED)
def test_committed_fixtures_text(committed_fixtures: Path, tree_digest: Digest, name: str) -> None:
    root = committed_fixtures / name
    before = tree_digest(root)
    code, out, err = _run(str(root))
    assert (code, err) == (0, "")
    assert tree_digest(root) == before
    assert out.startswith(f"Node data folder: {root}\n")
    assert "Schema drift:     none" in out
    for key in sorted((root / "identities").glob("*.key")):
        assert key.name in out
    assert ("Schema version:   5 (1.4.0 - 1.4.2)" in out) == (name == "node-v5")
    assert ("[supervised]" in out) == (name == "node-supervised")


@pytest.mark.parametrize("name", COMMITTED)
def test_committed_fixtures_json(committed_fixtures: Path, tree_digest: Digest, name: str) -> None:
    root = committed_fixtures / name
    before = tree_digest(root)
    code, out, err = _run(str(root), "--json")
    assert (code, err) == (0, "")
    assert tree_digest(root) == before
    data = loads_valid(out, "inspect")
    assert set(data) == {"format", "path", "schema", "identities", "orphan_rows", "warnings"}
    assert data["format"] == 1
    assert data["path"] == str(root)
    assert data["schema"]["user_version"] == (5 if name == "node-v5" else 9)
    assert data["schema"]["drifted"] is False
    files = sorted(p.name for p in (root / "identities").glob("*.key"))
    assert [i["file"] for i in data["identities"]] == files


def test_text_table_of_a_built_node(node_factory: Factory) -> None:
    node = node_factory(identities=["a"], orphan_rows=1, supervised=True)
    code, out, _ = _run(str(node.folder.root))
    assert code == 0
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("FILE"))
    assert header.split() == [
        "FILE", "NODE", "ID", "STATUS", "challenge", "nipost", "poet_certificates",
        "poet_registration", "post",
    ]  # fmt: skip
    row_a = next(line for line in lines if line.startswith("a.key"))
    assert row_a.split() == ["a.key", node.identities["a.key"], "valid", "1", "1", "1", "2", "1"]
    assert any(line.startswith("local.key") and "(supervised)" in line for line in lines)
    orphan = next(line for line in lines if line.startswith("(no key file)"))
    assert node.orphans[0] in orphan and "rows only" in orphan
    assert "Warnings:" in lines
    for code_ in ("supervised", "rows_without_key", "key_without_rows"):
        assert any(line.startswith(f"  [{code_}]") for line in lines)


def test_text_of_a_node_without_identities_or_warnings(node_factory: Factory) -> None:
    node = node_factory(identities=[])
    code, out, _ = _run(str(node.folder.root))
    assert code == 0
    assert "No identities." in out and "No warnings." in out


def test_pending_wal_leaves_every_byte(node_factory: Factory, tree_digest: Digest) -> None:
    node = node_factory(identities=["a"], wal_identities=["w"])
    before = tree_digest(node.folder.root)
    for args in ([], ["--json"]):
        code, out, _ = _run(str(node.folder.root), *args)
        assert code == 0
        assert "pending_wal" in out
    assert tree_digest(node.folder.root) == before


def test_drift_is_shown(node_factory: Factory) -> None:
    node = node_factory(identities=["a"])
    conn = sqlite3.connect(node.folder.db_path)
    conn.execute("CREATE INDEX idx_extra ON challenge (epoch)")
    conn.commit()
    conn.close()
    code, out, _ = _run(str(node.folder.root))
    assert code == 0
    assert "Schema drift:     DRIFTED" in out
    assert "+CREATE INDEX idx_extra ON challenge (epoch);" in out
    data = loads_valid(_run(str(node.folder.root), "--json")[1], "inspect")
    assert data["schema"]["drifted"] is True
    assert "idx_extra" in data["schema"]["drift_diff"]


def test_invalid_key_never_shows_its_content(node_factory: Factory) -> None:
    node = node_factory(identities=["a"])
    seed = test_key("leak").seed.hex()
    (node.folder.identities_dir / "bad.key").write_text(seed + test_key("b").node_id.hex())
    for args in ([], ["--json"]):
        code, out, err = _run(str(node.folder.root), *args)
        assert code == 0
        assert "invalid_key" in out
        assert seed not in out + err


def test_missing_folder_is_one_line_exit_1(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    for args in ([], ["--json"]):
        result = CliRunner().invoke(cli, ["inspect", str(missing), *args])
        assert result.exit_code == 1
        assert result.stderr == f"Error: {missing}: node data folder does not exist\n"
        assert "Traceback" not in result.output
        assert not missing.exists()


def test_missing_folder_in_a_real_process(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    entry = "from mergetool.cli.main import main; main()"
    proc = subprocess.run(
        [sys.executable, "-c", entry, "inspect", str(missing)], capture_output=True, text=True
    )
    assert proc.returncode == 1
    assert proc.stderr == f"Error: {missing}: node data folder does not exist\n"
    assert proc.stdout == ""


def test_folder_without_database(tmp_path: Path) -> None:
    code, out, err = _run(str(tmp_path))
    assert code == 1
    assert err.startswith(f"Error: {tmp_path / 'local.sql'}: node database not found\n")
    assert "--data-folder" in err
    assert "Traceback" not in err


def test_corrupt_database_is_named_by_its_real_path(tmp_path: Path, tree_digest: Digest) -> None:
    (tmp_path / "local.sql").write_bytes(b"not a database at all" * 50)
    before = tree_digest(tmp_path)
    code, out, err = _run(str(tmp_path))
    assert code == 1
    assert err.startswith(f"Error: {tmp_path / 'local.sql'}: not a valid SQLite database")
    assert "mergetool-inspect-" not in err
    assert tree_digest(tmp_path) == before
