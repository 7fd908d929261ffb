"""mergetool restore: puts the pre-merge node back; keys merged since are moved aside."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from mergetool._exceptions import RestoreError
from mergetool.backup import execute_restore, plan_restore
from mergetool.cli.main import cli
from mergetool.cli.merge_nodes import merge_cmd
from mergetool.node.drift import check_drift
from mergetool.node.fixtures import FixtureNode, test_key
from mergetool.node.keys import write_key
from tests.schema_check import loads_valid


def run(*args: object) -> Result:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


def _counts(db: Path) -> dict[str, int]:
    with closing(sqlite3.connect(db)) as conn:  # closed now: no checkpoint at a random GC
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
    return (
        src,
        dst,
        counts,
        Path(loads_valid(result.stdout, "merge-report")["result"]["backup_dir"]),
    )


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
    data = loads_valid(result.stdout, "restore")
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


@pytest.mark.parametrize("damage", ["random", "truncated", "empty"])
def test_restore_replaces_a_database_sqlite_cannot_read(merged, damage: str) -> None:
    _, dst, counts, _ = merged
    db = dst.folder.db_path
    broken = {
        "random": bytes(range(256)) * 64,
        "truncated": db.read_bytes()[:8192],
        "empty": b"",
    }[damage]
    db.write_bytes(broken)
    result = run("restore", dst.folder.root, "--json")
    assert result.exit_code == 0, result.output
    assert _counts(db) == counts
    kept = Path(loads_valid(result.stdout, "restore")["previous_db"])
    if broken:  # an empty file is an empty database to SQLite: kept as a clean copy
        assert kept.read_bytes() == broken
    assert kept.is_file()


@pytest.mark.parametrize("kind", ["folder", "fifo"])
def test_restore_refuses_a_key_name_it_cannot_move_and_changes_nothing(
    merged, tree_digest, kind: str
) -> None:
    import os

    _, dst, _, _ = merged
    odd = dst.folder.identities_dir / "d1.key"
    odd.unlink()
    if kind == "folder":
        odd.mkdir()
    else:
        os.mkfifo(odd)  # must not hang reading it
    before = tree_digest(dst.folder.root)
    entries = sorted(p.name for p in dst.folder.root.rglob("*"))
    result = run("restore", dst.folder.root)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {odd}: not a regular file\n")
    assert "Nothing was changed." in result.stderr
    assert tree_digest(dst.folder.root) == before
    assert sorted(p.name for p in dst.folder.root.rglob("*")) == entries


def test_restore_refuses_a_backup_with_a_folder_named_like_a_key(merged, tree_digest) -> None:
    _, dst, _, backup = merged
    (backup / "identities" / "x.key").mkdir()
    before = tree_digest(dst.folder.root)
    result = run("restore", dst.folder.root)
    assert result.exit_code == 1
    assert "x.key: not a regular file" in result.stderr
    assert "Choose another backup" in result.stderr
    assert tree_digest(dst.folder.root) == before
    assert not list(dst.folder.root.glob(".*tmp*"))


def test_restore_sets_an_interrupted_merges_journal_aside(merged) -> None:
    src, dst, _, _ = merged
    journal = dst.folder.root / ".mergetool-journal.json"
    journal.write_text("{broken")
    staged = dst.folder.identities_dir / "s9.key.mergetool-staged"
    staged.write_bytes((src.folder.identities_dir / "s1.key").read_bytes())
    assert CliRunner().invoke(merge_cmd, ["-f", src.folder.root, "-t", dst.folder.root]).exit_code
    result = run("restore", dst.folder.root)
    assert result.exit_code == 0, result.output
    assert "interrupted merge were moved" in result.stdout
    assert not journal.exists() and not staged.exists()
    (aside,) = (dst.folder.root / "backups").glob("displaced-*")
    assert (aside / journal.name).read_text() == "{broken"
    again = CliRunner().invoke(merge_cmd, ["-f", src.folder.root, "-t", dst.folder.root])
    assert again.exit_code == 0, again.output


def test_restore_of_a_missing_folder_says_so(tmp_path: Path) -> None:
    result = run("restore", tmp_path / "nope")
    assert result.exit_code == 1
    assert result.stderr == f"Error: {tmp_path / 'nope'}: the node data folder does not exist\n"


def test_dry_run_shows_the_plan_and_changes_nothing(merged, tree_digest) -> None:
    _, dst, _, backup = merged
    (dst.folder.identities_dir / "later.key.mergetool-staged").write_bytes(b"x")
    before = tree_digest(dst.folder.root)
    result = run("restore", dst.folder.root, "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"Restore plan: {backup} -> {dst.folder.root}\n"
        "  keys to restore: d1.key\n"
        "  keys to move aside (never deleted): s1.key, s2.key\n"
        "  interrupted merge's files to move aside: later.key.mergetool-staged\n"
        "  the current database is kept in backups/displaced-<UTC timestamp>/\n"
        "  warning: the current database holds rows the backup does not (challenge 2, "
        "nipost 2, poet_certificates 2, poet_registration 4, post 2): rows merged, or written "
        "by the node since the backup, are lost by restoring\n"
        "Dry run: nothing was written.\n"
    )
    assert tree_digest(dst.folder.root) == before


def test_dry_run_json_is_the_plan_a_real_run_carries_out(merged, tree_digest) -> None:
    _, dst, _, backup = merged
    before = tree_digest(dst.folder.root)
    planned = loads_valid(run("restore", dst.folder.root, "--dry-run", "--json").stdout, "restore")
    assert planned == {
        "format": 1,
        "target": str(dst.folder.root),
        "backup": str(backup),
        "keys_restored": ["d1.key"],
        "keys_set_aside": ["s1.key", "s2.key"],
        "merge_leftovers": [],
        "replaces_database": True,
        "rows_dropped": {
            "challenge": 2,
            "nipost": 2,
            "poet_certificates": 2,
            "poet_registration": 4,
            "post": 2,
        },
        "dry_run": True,
    }
    assert tree_digest(dst.folder.root) == before
    done = loads_valid(run("restore", dst.folder.root, "--json").stdout, "restore")
    assert done["backup"] == planned["backup"]
    assert done["keys_restored"] == planned["keys_restored"]
    assert done["keys_set_aside"] == planned["keys_set_aside"]


def test_a_plan_is_refused_when_the_target_changed_before_it_ran(merged, tree_digest) -> None:
    _, dst, _, _ = merged
    plan = plan_restore(dst.folder.root)
    write_key(test_key("rs-late"), dst.folder.identities_dir / "late.key")
    before = tree_digest(dst.folder.root)
    with pytest.raises(RestoreError, match="changed since the restore was planned"):
        execute_restore(plan)
    assert tree_digest(dst.folder.root) == before


def test_thousands_of_keys_set_aside_are_summarised(node_factory) -> None:
    src = node_factory("many", identities=[f"k{i:02}" for i in range(14)], prefix="rs-many-")
    dst = node_factory("dst", identities=["d1"], prefix="rs-many-d-")
    merged = CliRunner().invoke(merge_cmd, ["-f", str(src.folder.root), "-t", str(dst.folder.root)])
    assert merged.exit_code == 0, merged.output
    result = run("restore", dst.folder.root)
    assert result.exit_code == 0, result.output
    names = ", ".join(f"k{i:02}.key" for i in range(10))
    assert f": {names} and 4 more\n" in result.stdout
