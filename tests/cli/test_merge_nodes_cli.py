"""merge-nodes: exact messages, exit codes, JSON reports, dry runs, backups, idempotence."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from mergetool.cli.merge_nodes import merge_cmd
from mergetool.node.fixtures import FixtureNode, build_node, test_key
from tests.postdata_helpers import write_post_metadata
from tests.schema_check import loads_valid

PLAN_KEYS = {
    "format",
    "source",
    "target",
    "dry_run",
    "status",
    "versions",
    "identities",
    "rows",
    "rows_by_identity",
    "backup",
    "recovery",
    "post_data",
    "warnings",
    "sql",
    "new_folders",
    "retire_source",
}


def merge(*args: object) -> Result:
    result = CliRunner().invoke(merge_cmd, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


def tree(root: Path) -> dict[str, tuple[int, str]] | None:
    """Every path under ``root`` (folders too) with its mode and content hash."""
    if not root.exists():
        return None
    found = {}
    for path in [root, *sorted(root.rglob("*"))]:
        info = path.lstat()
        digest = (
            "<dir>" if stat.S_ISDIR(info.st_mode) else hashlib.sha256(path.read_bytes()).hexdigest()
        )
        found[str(path.relative_to(root))] = (stat.S_IMODE(info.st_mode), digest)
    return found


def _count(db: Path, table: str) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]


# --- exit codes and exact messages ------------------------------------------------------------


def test_merge_exits_0_and_says_what_it_did(src: FixtureNode, dst: FixtureNode) -> None:
    result = merge("-f", src.folder.root, "-t", dst.folder.root)
    assert result.exit_code == 0, result.output
    assert f"Merged 2 identities and 12 rows into {dst.folder.root}." in result.stdout
    assert "identities to add (2):" in result.stdout
    assert result.stderr == ""
    assert sorted(p.name for p in dst.folder.identities_dir.glob("*.key")) == [
        "d1.key",
        "s1.key",
        "s2.key",
    ]


def test_name_collision_exact_error_and_nothing_copied(node_factory) -> None:
    src = node_factory("src", identities=["same", "s2"], prefix="nc-s-")
    dst = node_factory("dst", identities=["same"], prefix="nc-d-")
    before = tree(dst.folder.root)
    result = merge("-f", src.folder.root, "-t", dst.folder.root)
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: identity file same.key already exists in {dst.folder.identities_dir}\n"
        "Rename the key file(s) in the source (keeping the .key extension) and retry.\n"
    )
    assert tree(dst.folder.root) == before  # neither s2.key nor any row arrived


def test_supervised_source_exact_error(node_factory, dst: FixtureNode) -> None:
    src = node_factory("src", identities=["s1"], prefix="sv-", supervised=True)
    result = merge("-f", src.folder.root, "-t", dst.folder.root)
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: source {src.folder.root} appears to be a supervised node "
        f"({src.folder.supervised_key} exists)\n"
        "Convert it to remote smeshing first: rename local.key to a unique name ending in .key."
        " Or pass --adopt-supervised to install it as <node id>.key in the target.\n"
    )


def test_supervised_target_exact_error(src: FixtureNode, node_factory) -> None:
    dst = node_factory("dst", identities=["d1"], prefix="sv-d-", supervised=True)
    before = tree(dst.folder.root)
    result = merge("-f", src.folder.root, "-t", dst.folder.root, "--adopt-supervised")
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"Error: target {dst.folder.root} appears to be a supervised node "
        f"({dst.folder.supervised_key} exists)\n"
    )
    assert tree(dst.folder.root) == before


def test_adopt_supervised_source(node_factory, dst: FixtureNode) -> None:
    src = node_factory("src", identities=["s1"], prefix="ad-", supervised=True)
    before = tree(src.folder.root)
    result = merge("-f", src.folder.root, "-t", dst.folder.root, "--adopt-supervised")
    assert result.exit_code == 0, result.output
    node_id = src.identities["local.key"]
    assert (dst.folder.identities_dir / f"{node_id}.key").exists()
    assert "[adopted_supervised]" in result.stdout and "must never smesh again" in result.stdout
    assert tree(src.folder.root) == before


def test_invalid_key_exact_error_and_nothing_copied(src: FixtureNode, dst: FixtureNode) -> None:
    bad = src.folder.identities_dir / "s3.key"
    bad.write_bytes(test_key("s3").to_file_bytes() + b"\n")
    before = tree(dst.folder.root)
    result = merge("-f", src.folder.root, "-t", dst.folder.root)
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: not a valid key file {bad}: expected exactly 128 hex characters, found 129 "
        "bytes (it ends with a line break; the node accepts no trailing newline)\n"
        "A key file holds exactly 128 hex characters (seed + public key), nothing else.\n"
    )
    assert tree(dst.folder.root) == before


def test_invalid_source_path_is_a_clear_error(tmp_path: Path, dst: FixtureNode) -> None:
    result = merge("-f", tmp_path / "nope", "-t", dst.folder.root)
    assert result.exit_code == 1
    assert result.stderr == f"Error: {tmp_path / 'nope'}: source data folder does not exist\n"


@pytest.mark.parametrize(
    "args",
    [["--bogus"], ["-t", "somewhere"], [], ["-f"]],
    ids=["unknown-option", "missing-from", "nothing", "from-without-value"],
)
def test_bad_usage_exits_2(args: list[str]) -> None:
    result = merge(*args)
    assert result.exit_code == 2
    assert "Error:" in result.stderr and "Traceback" not in result.stderr


def test_same_folder_twice_is_bad_usage(src: FixtureNode) -> None:
    result = merge("-f", src.folder.root, "-t", src.folder.root)
    assert result.exit_code == 2
    assert "source and target are the same folder" in result.stderr


def test_version_option() -> None:
    result = merge("--version")
    assert result.exit_code == 0 and result.stdout.startswith("merge-nodes, version ")


def test_old_database_says_which_side(src: FixtureNode, dst: FixtureNode) -> None:
    with sqlite3.connect(dst.folder.db_path) as conn:
        conn.execute("PRAGMA user_version = 2")
    result = merge("-f", src.folder.root, "-t", dst.folder.root)
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"Error: {dst.folder.db_path}: target database is from node 1.3.x (old database version)"
    )
    assert "Run node v1.4" in result.stderr


def test_running_node_is_refused_quickly(src: FixtureNode, dst: FixtureNode) -> None:
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
        result = merge("-f", src.folder.root, "-t", dst.folder.root)
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 1
    assert f"pid {holder.pid}" in result.stderr
    assert "Stop the node (and any other program using it) first" in result.stderr


# --- dry run ------------------------------------------------------------------------------------


def test_dry_run_writes_nothing_anywhere(src: FixtureNode, dst: FixtureNode) -> None:
    before = tree(src.folder.root), tree(dst.folder.root)
    result = merge("-f", src.folder.root, "-t", dst.folder.root, "--dry-run")
    assert result.exit_code == 0
    assert result.stdout.endswith(
        "Dry run: nothing was written.\nTo merge, run the same command without --dry-run.\n"
    )
    assert "s1.key" in result.stdout and "rows to copy:" in result.stdout
    assert (tree(src.folder.root), tree(dst.folder.root)) == before


def test_dry_run_into_missing_folder_leaves_it_missing(src: FixtureNode, tmp_path: Path) -> None:
    before = tree(src.folder.root)
    result = merge("-f", src.folder.root, "-t", tmp_path / "new", "--dry-run", "--json")
    assert result.exit_code == 0
    data = loads_valid(result.stdout, "merge-report")
    assert data["versions"]["create_target_database"] is True
    assert not (tmp_path / "new").exists()
    assert tree(src.folder.root) == before


def test_real_merge_leaves_a_wal_source_byte_identical(node_factory, dst: FixtureNode) -> None:
    src = node_factory("src", identities=["s1"], prefix="wal-", wal_identities=["w1"])
    before = tree(src.folder.root)
    result = merge("-f", src.folder.root, "-t", dst.folder.root)
    assert result.exit_code == 0, result.output
    assert tree(src.folder.root) == before
    assert (dst.folder.identities_dir / "w1.key").exists()


# --- JSON ---------------------------------------------------------------------------------------


def test_json_plan_and_result(src: FixtureNode, dst: FixtureNode, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    dry = merge("-f", src.folder.root, "-t", dst.folder.root, "--dry-run", "--json")
    assert dry.exit_code == 0
    plan = loads_valid(dry.stdout, "merge-report")
    assert set(plan) == PLAN_KEYS
    assert plan["dry_run"] is True and plan["status"] == "ready" and plan["format"] == 1
    assert plan["versions"] == {
        "source": 9,
        "target": 9,
        "create_target_database": False,
        "migrate_source": False,
    }
    assert [i["file"] for i in plan["identities"]] == ["s1.key", "s2.key"]
    assert plan["rows"]["poet_registration"] == 4
    assert {r["node_id"] for r in plan["rows_by_identity"]} == set(src.identities.values())

    real = merge("-f", src.folder.root, "-t", dst.folder.root, "--json", "--report", report)
    assert real.exit_code == 0
    data = loads_valid(real.stdout, "merge-report")
    assert set(data) == PLAN_KEYS | {"result"}
    assert data["dry_run"] is False
    assert data["result"]["merged"] is True and data["result"]["rows_copied"] == 12
    assert data["result"]["keys_installed"] == ["s1.key", "s2.key"]
    assert Path(data["result"]["backup_dir"]).is_dir()
    assert loads_valid(report.read_text(), "merge-report") == data
    assert real.stderr == ""  # quiet: no progress, no text


def test_report_file_for_dry_run(src: FixtureNode, dst: FixtureNode, tmp_path: Path) -> None:
    report = tmp_path / "plan.json"
    result = merge("-f", src.folder.root, "-t", dst.folder.root, "--dry-run", "--report", report)
    assert result.exit_code == 0
    assert loads_valid(report.read_text(), "merge-report")["dry_run"] is True


def test_errors_with_json_still_exit_1_with_message(node_factory) -> None:
    src = node_factory("src", identities=["same"], prefix="je-s-")
    dst = node_factory("dst", identities=["same"], prefix="je-d-")
    result = merge("-f", src.folder.root, "-t", dst.folder.root, "--json")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: identity file same.key already exists")
    assert loads_valid(result.stdout, "error")["error"] == "NameCollision"


# --- idempotence and backups --------------------------------------------------------------------


def test_rerun_is_already_merged_and_changes_nothing(src: FixtureNode, dst: FixtureNode) -> None:
    assert merge("-f", src.folder.root, "-t", dst.folder.root).exit_code == 0
    before = tree(dst.folder.root)
    again = merge("-f", src.folder.root, "-t", dst.folder.root)
    assert again.exit_code == 0
    assert "\nAlready merged: nothing to do.\nWarning: the source node " in again.stdout
    assert tree(dst.folder.root) == before
    data = loads_valid(
        merge("-f", src.folder.root, "-t", dst.folder.root, "--json").stdout, "merge-report"
    )
    assert data["status"] == "already-merged" and data["result"]["merged"] is False


def test_default_run_backs_up_the_target(src: FixtureNode, dst: FixtureNode) -> None:
    d1 = (dst.folder.identities_dir / "d1.key").read_bytes()
    result = merge("-f", src.folder.root, "-t", dst.folder.root, "--json")
    backup = Path(loads_valid(result.stdout, "merge-report")["result"]["backup_dir"])
    assert backup.parent == dst.folder.root / "backups"
    assert stat.S_IMODE(backup.stat().st_mode) == 0o700
    assert stat.S_IMODE((backup / "identities").stat().st_mode) == 0o700
    assert stat.S_IMODE((backup / "local.sql").stat().st_mode) == 0o600
    assert (backup / "identities" / "d1.key").read_bytes() == d1
    assert stat.S_IMODE((backup / "identities" / "d1.key").stat().st_mode) == 0o600
    assert sorted(p.name for p in (backup / "identities").iterdir()) == ["d1.key"]
    assert _count(backup / "local.sql", "post") == 1


def test_no_backup(src: FixtureNode, dst: FixtureNode) -> None:
    result = merge("-f", src.folder.root, "-t", dst.folder.root, "--no-backup")
    assert result.exit_code == 0
    assert "backup: disabled (--no-backup)" in result.stdout
    assert not (dst.folder.root / "backups").exists()


# --- versions and PoST data ---------------------------------------------------------------------


def test_v5_source_into_v9_target(node_factory, dst: FixtureNode) -> None:
    src = node_factory("src", version=5, identities=["old"], prefix="v5-")
    result = merge("-f", src.folder.root, "-t", dst.folder.root)
    assert result.exit_code == 0, result.output
    assert "source rows are migrated 5 -> 9 on a private copy" in result.stdout
    node_id = bytes.fromhex(src.identities["old.key"])
    with sqlite3.connect(dst.folder.db_path) as conn:
        (challenge,) = conn.execute(
            "SELECT challenge FROM post WHERE id = ?", (node_id,)
        ).fetchone()
    assert challenge == bytes(32)


def _post_dir(root: Path, node_id_hex: str) -> Path:
    return write_post_metadata(root, bytes.fromhex(node_id_hex))


def test_post_data_mapping_and_warnings(src: FixtureNode, dst: FixtureNode, tmp_path: Path) -> None:
    post = _post_dir(tmp_path / "post-s1", src.identities["s1.key"])
    result = merge("-f", src.folder.root, "-t", dst.folder.root, "--post-data", post, "--json")
    assert result.exit_code == 0, result.output
    data = loads_valid(result.stdout, "merge-report")
    assert data["post_data"] == [
        {"directory": str(post), "node_id": src.identities["s1.key"], "identity_file": "s1.key"}
    ]
    no_data = sorted(w["message"] for w in data["warnings"] if w["code"] == "no_post_data")
    assert len(no_data) == 2
    assert no_data[0].startswith("d1.key") and no_data[1].startswith("s2.key")


def test_post_data_of_unknown_identity_is_refused(
    src: FixtureNode, dst: FixtureNode, tmp_path: Path
) -> None:
    stranger = test_key("stranger").node_id_hex
    post = _post_dir(tmp_path / "post-x", stranger)
    before = tree(dst.folder.root)
    result = merge("-f", src.folder.root, "-t", dst.folder.root, "--post-data", post)
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"Error: {post / 'postdata_metadata.json'}: node id {stranger} belongs to no identity"
    )
    assert tree(dst.folder.root) == before


def test_rows_without_key_warning(node_factory, dst: FixtureNode) -> None:
    src = node_factory("src", identities=["s1"], prefix="rk-", orphan_rows=1)
    result = merge("-f", src.folder.root, "-t", dst.folder.root, "--json")
    assert result.exit_code == 0
    codes = [w["code"] for w in loads_valid(result.stdout, "merge-report")["warnings"]]
    assert "rows_without_key" in codes


def test_missing_target_is_created_private(src: FixtureNode, tmp_path: Path) -> None:
    target = tmp_path / "fresh"
    result = merge("-f", src.folder.root, "-t", target)
    assert result.exit_code == 0, result.output
    assert "target database will be created at version 9" in result.stdout
    assert stat.S_IMODE(target.stat().st_mode) == 0o700
    assert stat.S_IMODE((target / "identities").stat().st_mode) == 0o700
    assert all(
        stat.S_IMODE(p.stat().st_mode) == 0o600 for p in (target / "identities").glob("*.key")
    )
    assert os.listdir(target / "identities") and _count(target / "local.sql", "post") == 2


def test_merged_node_merges_again_into_another(src: FixtureNode, tmp_path: Path) -> None:
    # The reference tool's chain: A -> new, B -> new.
    other = build_node(tmp_path / "other", identities=["o1"], prefix="chain-")
    target = tmp_path / "chain"
    assert merge("-f", src.folder.root, "-t", target).exit_code == 0
    assert merge("-f", other.folder.root, "-t", target).exit_code == 0
    assert _count(target / "local.sql", "post") == 3


def test_drifted_target_shows_the_difference(src: FixtureNode, dst: FixtureNode) -> None:
    with sqlite3.connect(dst.folder.db_path) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
    before = tree(dst.folder.root)
    result = merge("-f", src.folder.root, "-t", dst.folder.root)
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"Error: {dst.folder.db_path}: schema differs from what the node expects at version 9\n"
    )
    assert "+CREATE TABLE alembic_version" in result.stderr
    assert tree(dst.folder.root) == before


def test_too_new_database(src: FixtureNode, dst: FixtureNode) -> None:
    with sqlite3.connect(src.folder.db_path) as conn:
        conn.execute("PRAGMA user_version = 10")
    result = merge("-f", src.folder.root, "-t", dst.folder.root)
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"Error: {src.folder.db_path}: source database version is too new (user_version 10)\n"
    )


def test_disk_full_while_merging_is_a_clean_error(
    src: FixtureNode, dst: FixtureNode, monkeypatch
) -> None:
    import importlib

    execute_module = importlib.import_module("mergetool.merge.execute")

    def disk_full(path, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    before = tree(dst.folder.root)
    monkeypatch.setattr(execute_module, "write_new_file", disk_full)
    result = merge("-f", src.folder.root, "-t", dst.folder.root)
    assert result.exit_code == 1
    ids = dst.folder.identities_dir
    assert result.stderr.startswith(
        f"Error: {ids}: the disk is full, or we may not write more there (No space left on "
        "device); "
    )
    assert result.stderr.endswith(
        " MiB free there; the merge was rolled back, the target is unchanged\n"
        f"Free some space in {ids} (the merge needs about the size of the source's database "
        "and a backup of the target's), then run the same command again.\n"
    )
    assert "mergetool-staged" not in result.stderr
    after = tree(dst.folder.root)
    assert {k: v for k, v in after.items() if not k.startswith("local.sql-")} == {
        k: v for k, v in before.items() if not k.startswith("local.sql-")
    }


def test_report_in_missing_folder_is_bad_usage_before_merging(
    src: FixtureNode, dst: FixtureNode, tmp_path: Path
) -> None:
    before = tree(dst.folder.root)
    report = tmp_path / "no" / "such" / "report.json"
    result = merge("-f", src.folder.root, "-t", dst.folder.root, "--report", report)
    assert result.exit_code == 2
    assert result.stderr == f"Error: {report}: the folder {report.parent} does not exist\n"
    assert tree(dst.folder.root) == before


def test_report_write_failure_after_merge_says_the_merge_is_done(
    src: FixtureNode, dst: FixtureNode, tmp_path: Path, monkeypatch
) -> None:
    import mergetool.cli.merge_nodes as writer  # where the report is written

    real = writer.write_file_atomic

    def fail_for_report(path, data, **kwargs):
        if Path(path).name == "report.json":
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, data, **kwargs)

    monkeypatch.setattr(writer, "write_file_atomic", fail_for_report)
    report = tmp_path / "report.json"
    result = merge("-f", src.folder.root, "-t", dst.folder.root, "--report", report)
    assert result.exit_code == 0  # the merge is done: exit 1 would claim nothing changed
    assert "bug in mergetool" not in result.stderr
    assert result.stderr == (
        f"Warning: {report}: cannot write the report (No space left on device); "
        "the merge itself is complete.\n"
    )
    assert "Merged 2 identities and 12 rows" in result.stdout
    again = merge("-f", src.folder.root, "-t", dst.folder.root, "--report", report, "--json")
    assert loads_valid(again.stdout, "merge-report")["report_error"].startswith(
        f"{report}: cannot write"
    )
    assert (dst.folder.identities_dir / "s1.key").exists()


def test_mergetool_merge_is_the_same_command(src: FixtureNode, dst: FixtureNode) -> None:
    from mergetool.cli.main import cli

    result = CliRunner().invoke(
        cli, ["merge", "-f", str(src.folder.root), "-t", str(dst.folder.root), "--dry-run"]
    )
    assert result.exit_code == 0
    assert result.stdout.endswith(
        "Dry run: nothing was written.\nTo merge, run the same command without --dry-run.\n"
    )


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("source-key", "the report would be written inside the source folder"),
        ("source-db", "the report would be written inside the source folder"),
        ("target-key", "the report would be written inside the target folder"),
        ("target-new", "the report would be written inside the target folder"),
        ("device", "exists and is not a regular file"),
        ("folder", "is a directory"),
        ("symlink", "exists and is not a regular file"),
        ("proc", "cannot write the report in /proc"),
        ("long", "cannot write the report here (File name too long)"),
    ],
)
def test_report_path_that_would_destroy_something_is_refused_first(
    src: FixtureNode, dst: FixtureNode, tmp_path: Path, where: str, message: str
) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "link").symlink_to(src.folder.db_path)
    paths = {
        "source-key": src.folder.identities_dir / "s1.key",
        "source-db": src.folder.db_path,
        "target-key": dst.folder.identities_dir / "d1.key",
        "target-new": dst.folder.root / "report.json",
        "device": Path("/dev/null"),
        "folder": tmp_path / "folder",
        "symlink": tmp_path / "link",
        "proc": Path("/proc/report.json"),
        "long": tmp_path / ("x" * 300),
    }
    before = tree(src.folder.root), tree(dst.folder.root)
    for extra in ([], ["--dry-run"]):
        result = merge(
            "-f", src.folder.root, "-t", dst.folder.root, "--report", paths[where], *extra
        )
        assert result.exit_code == 2, result.output
        assert message in result.stderr and "Traceback" not in result.stderr
    assert (tree(src.folder.root), tree(dst.folder.root)) == before
    assert Path("/dev/null").is_char_device()


def test_usage_error_with_json_is_json_on_stdout(src: FixtureNode) -> None:
    result = merge("--json", "-f", src.folder.root)
    assert result.exit_code == 2
    assert loads_valid(result.stdout, "error") == {
        "error": "UsageError",
        "message": "Missing option '--to' / '-t'.",
        "hint": None,
    }


def test_refused_merge_still_writes_its_report(node_factory, tmp_path: Path) -> None:
    src = node_factory("src", identities=["same"], prefix="rr-s-")
    dst = node_factory("dst", identities=["same"], prefix="rr-d-")
    report = tmp_path / "report.json"
    result = merge("-f", src.folder.root, "-t", dst.folder.root, "--report", report)
    assert result.exit_code == 1
    data = loads_valid(report.read_text(), "merge-report")
    assert data["status"] == "refused" and data["error"] == "NameCollision"
    assert data["message"].startswith("identity file same.key already exists")
    assert data["dry_run"] is False and data["format"] == 1


def test_system_errors_are_messages_not_bugs(
    src: FixtureNode, dst: FixtureNode, monkeypatch
) -> None:
    import mergetool.merge as merge_module

    def full(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(dst.folder.db_path))

    monkeypatch.setattr(merge_module, "plan_merge", full)
    result = merge("-f", src.folder.root, "-t", dst.folder.root, "--json")
    assert result.exit_code == 1
    assert result.stderr == f"Error: {dst.folder.db_path}: Read-only file system\n"
    assert (
        loads_valid(result.stdout, "error")["message"]
        == f"{dst.folder.db_path}: Read-only file system"
    )


# --- refused in planning: the dry run and the real run say the same, nothing changes ------------


def _post_root_page(db: Path) -> tuple[int, int]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        (page,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'post'").fetchone()
        (size,) = conn.execute("PRAGMA page_size").fetchone()
    finally:
        conn.close()
    return page, size


def damage_post_table(db: Path) -> None:
    """Overwrite the middle of the ``post`` table's page: the schema still reads, rows do not."""
    page, size = _post_root_page(db)
    data = bytearray(db.read_bytes())
    start = (page - 1) * size
    data[start + 100 : start + size - 100] = b"\x5a" * (size - 200)
    db.write_bytes(bytes(data))


def refused_both_ways(tree_digest, src: Path, dst: Path, *extra: object) -> list[Result]:
    """Dry run and real run both exit 1 with the same message; neither folder changes."""
    before = tree_digest(src), tree_digest(dst), tree(dst)
    results = [merge("-f", src, "-t", dst, *extra, *dry) for dry in (("--dry-run",), ())]
    for result in results:
        assert result.exit_code == 1, result.output
        assert (tree_digest(src), tree_digest(dst), tree(dst)) == before
    assert results[0].stderr == results[1].stderr
    return results


JOURNAL_ID = "ab" * 32


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("node_ids", ["zz"], "an entry of node_ids is 'zz', not a node id of 64 hex characters"),
        ("node_ids", "abc", "node_ids is str, not a list"),
        ("keys", [{"final": "../x.key", "node_id": JOURNAL_ID}], "'../x.key' is not a plain"),
        ("keys", [{"final": "x.txt", "node_id": JOURNAL_ID}], "'x.txt' is not a plain"),
        ("keys", [{"final": ".key", "node_id": JOURNAL_ID}], "'.key' is not a plain"),
        ("keys", [{"final": "x.key", "node_id": "zz"}], "node_id is 'zz', not a node id"),
        ("keys", [{"final": "x.key"}], "'node_id' is missing"),
        ("keys", ["x.key"], "key entry 'x.key' is not an object"),
        ("expected_rows", -1, "expected_rows is -1, not a count"),
        ("expected_rows", "5", "expected_rows is '5', not a count"),
        ("source", None, "'source' is missing"),
    ],
)
def test_malformed_journal_is_refused_naming_it(
    src: FixtureNode, dst: FixtureNode, tree_digest, field: str, value: object, reason: str
) -> None:
    journal = {"format": 1, "source": "x", "node_ids": [], "expected_rows": 0, "keys": []}
    if value is None:
        del journal[field]
    else:
        journal[field] = value
    path = dst.folder.root / ".mergetool-journal.json"
    path.write_text(json.dumps(journal))
    for result in refused_both_ways(tree_digest, src.folder.root, dst.folder.root):
        assert result.stderr.startswith(
            f"Error: {path}: the journal of an interrupted merge cannot be read ("
        )
        assert reason in result.stderr.splitlines()[0]
        assert "'mergetool restore', which sets this journal and any staged keys" in result.stderr
        assert "This is a bug" not in result.stderr


@pytest.mark.parametrize("kind", ["file", "folder"])
def test_stray_staged_key_without_journal_is_refused(
    src: FixtureNode, dst: FixtureNode, tree_digest, kind: str
) -> None:
    stray = dst.folder.identities_dir / "s1.key.mergetool-staged"
    if kind == "file":
        stray.write_bytes((src.folder.identities_dir / "s1.key").read_bytes())
    else:
        stray.mkdir()
    for result in refused_both_ways(tree_digest, src.folder.root, dst.folder.root):
        assert result.stderr.startswith(
            f"Error: {stray}: a staged key that no merge journal lists\nMove it out of identities/"
        )
        assert "interrupted merge whose journal (.mergetool-journal.json) is gone" in (
            result.stderr
        )
    assert not (dst.folder.root / ".mergetool-journal.json").exists()
    stray.rename(dst.folder.root / "moved-away")  # as the message says: then the merge works
    assert merge("-f", src.folder.root, "-t", dst.folder.root).exit_code == 0


def test_empty_source_database_is_refused(node_factory, dst: FixtureNode, tree_digest) -> None:
    src = node_factory("src", identities=["s1"], prefix="v0-")
    src.folder.db_path.write_bytes(b"")
    (result, _) = refused_both_ways(tree_digest, src.folder.root, dst.folder.root)
    assert result.stderr.startswith(
        f"Error: {src.folder.db_path}: source database is empty or at schema version 0: "
        "it holds no node database (user_version 0)\n"
    )
    assert "migrated" not in result.output


def test_target_with_keys_but_no_database_is_refused(
    src: FixtureNode, dst: FixtureNode, tree_digest
) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{dst.folder.db_path}{suffix}").unlink(missing_ok=True)
    (result, _) = refused_both_ways(tree_digest, src.folder.root, dst.folder.root)
    assert result.stderr.startswith(
        f"Error: {dst.folder.db_path}: target database not found, but "
        f"{dst.folder.identities_dir} holds key files (d1.key)\n"
    )
    assert not dst.folder.db_path.exists()


@pytest.mark.parametrize("side", ["source", "target"])
def test_damaged_database_is_refused_naming_the_right_file(
    src: FixtureNode, dst: FixtureNode, tree_digest, side: str
) -> None:
    damaged = (src if side == "source" else dst).folder.db_path
    damage_post_table(damaged)
    (result, _) = refused_both_ways(tree_digest, src.folder.root, dst.folder.root)
    assert result.stderr.startswith(
        f"Error: {damaged}: {side} database is damaged: SQLite's integrity check fails ("
    )
    other = (dst if side == "source" else src).folder.db_path
    assert str(other) not in result.stderr


def test_backups_entry_that_is_a_file_is_refused_unless_no_backup(
    src: FixtureNode, dst: FixtureNode, tree_digest
) -> None:
    backups = dst.folder.root / "backups"
    backups.write_text("not a folder")
    (result, _) = refused_both_ways(tree_digest, src.folder.root, dst.folder.root)
    assert result.stderr == (
        f"Error: {backups}: exists but is not a folder, so the target cannot be backed up "
        "there\nMove it away (or rename it), or merge with --no-backup. Nothing was changed.\n"
    )
    result = merge("-f", src.folder.root, "-t", dst.folder.root, "--no-backup")
    assert result.exit_code == 0, result.output
    assert backups.read_text() == "not a folder"


def test_undo_hint_can_be_pasted_into_a_shell(node_factory, src: FixtureNode) -> None:
    import shlex

    dst = node_factory("my node's data", identities=["d1"], prefix="sp-")
    result = merge("-f", src.folder.root, "-t", dst.folder.root)
    assert result.exit_code == 0, result.output
    line = next(x for x in result.stdout.splitlines() if x.startswith("Backup: "))
    command = line.split("(undo with: ", 1)[1].removesuffix(")")
    assert command == f"mergetool restore {shlex.quote(str(dst.folder.root))}"
    assert shlex.split(command) == ["mergetool", "restore", str(dst.folder.root)]


def test_merging_again_after_rows_went_in_without_their_key_says_to_install_the_key(
    node_factory, dst: FixtureNode
) -> None:
    import shutil

    src = node_factory("src", identities=["s1", "s2"], prefix="rk2-")
    aside = src.folder.root.parent / "s2.key"
    shutil.move(src.folder.identities_dir / "s2.key", aside)  # the key was missing at first
    assert merge("-f", src.folder.root, "-t", dst.folder.root).exit_code == 0
    shutil.move(aside, src.folder.identities_dir / "s2.key")
    (src.folder.identities_dir / "s1.key").unlink()  # merged already: only s2 is left to do
    result = merge("-f", src.folder.root, "-t", dst.folder.root)
    assert result.exit_code == 1
    assert "The target has rows but no key file for" in result.stderr
    assert "install only the key" in result.stderr


def test_report_refuses_to_replace_a_file_that_is_not_a_report(
    src: FixtureNode, dst: FixtureNode, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    before = tree(dst.folder.root)
    result = merge("-f", src.folder.root, "-t", dst.folder.root, "--report", notes)
    assert result.exit_code == 2
    assert result.stderr.startswith(
        f"Error: {notes}: exists and is not a merge-nodes report; the report would replace it\n"
    )
    assert notes.read_text() == "my notes\n"
    assert tree(dst.folder.root) == before


def test_report_dash_writes_the_report_to_standard_output(
    src: FixtureNode, dst: FixtureNode
) -> None:
    result = merge("-f", src.folder.root, "-t", dst.folder.root, "--dry-run", "--report", "-")
    assert result.exit_code == 0, result.output
    data = loads_valid(result.stdout, "merge-report")
    assert data["dry_run"] is True and data["status"] == "ready"
    assert not Path("-").exists()


# --- what the operator reads last -----------------------------------------------------------------


def test_the_equivocation_warning_is_repeated_after_merging(
    src: FixtureNode, dst: FixtureNode
) -> None:
    result = merge("-f", src.folder.root, "-t", dst.folder.root)
    assert result.exit_code == 0, result.output
    warning = (
        f"Warning: after the merge, do not start the source node {src.folder.root} with these "
        "identities again: one identity on two nodes is equivocation\n"
    )
    merged = result.stdout.index("Merged 2 identities")
    # last: the warning, then how to take the keys out of the source node's reach
    last = result.stdout[result.stdout.index(warning) :]
    assert result.stdout.index(warning) > merged
    assert last == warning + last[len(warning) :] and last.count("\n") == 2
    assert last[len(warning) :].startswith("Tip: run the same command with --retire-source")


def test_a_finished_merge_reports_status_merged(
    src: FixtureNode, dst: FixtureNode, tmp_path: Path
) -> None:
    report = tmp_path / "report.json"
    result = merge("-f", src.folder.root, "-t", dst.folder.root, "--json", "--report", report)
    assert result.exit_code == 0, result.output
    assert loads_valid(result.stdout, "merge-report")["status"] == "merged"
    assert loads_valid(report.read_text(), "merge-report")["status"] == "merged"


def test_a_dry_run_with_nothing_to_merge_says_nothing_about_applying(
    src: FixtureNode, dst: FixtureNode
) -> None:
    assert merge("-f", src.folder.root, "-t", dst.folder.root).exit_code == 0
    result = merge("-f", src.folder.root, "-t", dst.folder.root, "--dry-run")
    assert "status: already merged - nothing to do\n" in result.stdout
    assert result.stdout.endswith("is equivocation\nDry run: nothing was written.\n")


def test_the_plan_table_keeps_its_columns_with_long_names(node_factory) -> None:
    src = node_factory("src", identities=["a", "a-much-longer-identity-name"], prefix="al-")
    dst = node_factory("dst", identities=["d"], prefix="al-d-")
    result = merge("-f", src.folder.root, "-t", dst.folder.root, "--dry-run")
    rows = [line for line in result.stdout.splitlines() if line.startswith("    a")]
    assert len(rows) == 2
    columns = {row.index(row.split()[1]) for row in rows}  # where each node id starts
    assert len(columns) == 1, rows


def test_an_earlier_report_may_be_replaced(
    src: FixtureNode, dst: FixtureNode, tmp_path: Path
) -> None:
    report = tmp_path / "report.json"
    assert merge("-f", src.folder.root, "-t", dst.folder.root, "--report", report).exit_code == 0
    assert loads_valid(report.read_text(), "merge-report")["status"] == "merged"
    again = merge("-f", src.folder.root, "-t", dst.folder.root, "--report", report)
    assert again.exit_code == 0, again.output
    assert loads_valid(report.read_text(), "merge-report")["status"] == "already-merged"
