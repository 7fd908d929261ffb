"""mergetool restore: puts the pre-merge node back; keys merged since are moved aside."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from mergetool.cli.main import cli
from mergetool.cli.merge_nodes import merge_cmd
from mergetool.node.drift import check_drift
from mergetool.node.fixtures import FixtureNode


def run(*args: object) -> Result:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


def _counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return {
            t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]
            for t in ("post", "challenge", "poet_registration", "nipost", "poet_certificates")
        }


@pytest.fixture
def merged(node_factory) -> tuple[FixtureNode, FixtureNode, dict[str, int], Path]:
    src = node_factory("src", identities=["s1", "s2"], prefix="rs-s-")
    dst = node_factory("dst", identities=["d1"], prefix="rs-d-")
    counts = _counts(dst.folder.db_path)
    result = CliRunner().invoke(
        merge_cmd, ["-f", str(src.folder.root), "-t", str(dst.folder.root), "--json"]
    )
    assert result.exit_code == 0, result.output
    return src, dst, counts, Path(json.loads(result.stdout)["result"]["backup_dir"])


def test_restore_puts_the_database_back_and_moves_merged_keys_aside(merged) -> None:
    src, dst, counts, backup = merged
    result = run("restore", dst.folder.root)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Restored {dst.folder.root} from {backup}.\n")
    assert "were moved, not deleted, to" in result.stdout and "s1.key, s2.key" in result.stdout
    assert "The database it replaced was kept as" in result.stdout
    assert _counts(dst.folder.db_path) == counts
    with sqlite3.connect(dst.folder.db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert not check_drift(conn, 9).drifted
    assert sorted(p.name for p in dst.folder.identities_dir.glob("*.key")) == ["d1.key"]
    (aside,) = (dst.folder.root / "backups").glob("displaced-*")
    assert sorted(p.name for p in aside.iterdir()) == ["local.sql", "s1.key", "s2.key"]
    assert (aside / "s1.key").read_bytes() == (src.folder.identities_dir / "s1.key").read_bytes()


def test_restore_json(merged) -> None:
    _, dst, _, backup = merged
    result = run("restore", dst.folder.root, "--backup", backup.name, "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["backup"] == str(backup)
    assert data["keys_restored"] == ["d1.key"]
    assert data["keys_set_aside"] == ["s1.key", "s2.key"]


def test_unknown_backup_name_lists_available(merged) -> None:
    _, dst, _, backup = merged
    result = run("restore", dst.folder.root, "--backup", "nope")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {dst.folder.root / 'backups' / 'nope'}: no such backup\nAvailable: {backup.name}\n"
    )


def test_no_backups_at_all(node_factory) -> None:
    node = node_factory("plain", identities=["p1"], prefix="rs-p-")
    result = run("restore", node.folder.root)
    assert result.exit_code == 1
    assert result.stderr == f"Error: {node.folder.root / 'backups'}: no backups found\n"


def test_restore_refuses_a_running_node(merged) -> None:
    import subprocess
    import sys

    _, dst, _, _ = merged
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1]); "
            "c.execute('SELECT 1 FROM sqlite_master').fetchall(); print('ready', flush=True); "
            "time.sleep(120)",
            str(dst.folder.db_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        keys_before = sorted(p.name for p in dst.folder.identities_dir.iterdir())
        result = run("restore", dst.folder.root)
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 1
    assert "Stop the node" in result.stderr
    assert sorted(p.name for p in dst.folder.identities_dir.iterdir()) == keys_before


@pytest.mark.parametrize("name", ["node#a", "tgt?x", "pct%41", "sp ace ü"])
def test_merge_and_restore_with_uri_characters_in_the_path(
    node_factory, tmp_path: Path, monkeypatch, name: str
) -> None:
    monkeypatch.chdir(tmp_path)
    src = node_factory("src", identities=["s1"], prefix="uri-s-")
    dst = node_factory(name, identities=["d1"], prefix="uri-d-")
    counts = _counts(dst.folder.db_path)
    result = CliRunner().invoke(merge_cmd, ["-f", str(src.folder.root), "-t", name])
    assert result.exit_code == 0, result.output
    assert _counts(dst.folder.db_path) != counts
    assert run("restore", name).exit_code == 0
    assert _counts(dst.folder.db_path) == counts
    (aside,) = (dst.folder.root / "backups").glob("displaced-*")
    assert _counts(aside / "local.sql") != counts  # the merged database was kept, not emptied
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["src", name])  # no stray files
