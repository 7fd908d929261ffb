"""The commands that write a node folder hold its lock: a held lock is refused at once naming
the holder's process id (nothing touched), or waited for with ``--wait``."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from mergetool.cli.main import cli
from mergetool.cli.merge_nodes import merge_cmd
from mergetool.node.fixtures import FixtureNode
from mergetool.node.lock import LOCK_FILE
from tests.schema_check import loads_valid

_HOLD = """
import sys, time
from pathlib import Path
from mergetool._lock import lock_folder
lock = lock_folder(Path(sys.argv[1]))
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
"""


@pytest.fixture
def hold() -> Iterator:
    """``hold(folder, seconds)``: a real process holding ``folder``'s lock."""
    started: list[subprocess.Popen[str]] = []

    def start(folder: Path, seconds: float = 60) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-c", _HOLD, str(folder), str(seconds)],
            stdout=subprocess.PIPE,
            text=True,
        )
        started.append(proc)
        assert proc.stdout is not None and proc.stdout.readline() == "locked\n"
        return proc

    yield start
    for proc in started:
        proc.kill()
        proc.wait()


def _merge(src: FixtureNode, dst: FixtureNode, *extra: str) -> Result:
    args = ["-f", str(src.folder.root), "-t", str(dst.folder.root), *extra]
    return CliRunner().invoke(merge_cmd, args)


def test_merge_into_a_locked_target_is_refused_at_once(src, dst, hold, tree_digest) -> None:
    holder = hold(dst.folder.root)
    before = tree_digest(dst.folder.root)
    started = time.monotonic()
    result = _merge(src, dst)
    assert time.monotonic() - started < 10
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"Error: {dst.folder.root} is locked by process {holder.pid}\n"
        "Only one mergetool process may write a node folder at a time: let that one finish "
        "(or stop it), then run again, or pass --wait to wait for it. Nothing was changed.\n"
    )
    assert tree_digest(dst.folder.root) == before


def test_the_report_of_a_locked_target_says_so(src, dst, hold, tmp_path: Path) -> None:
    holder = hold(dst.folder.root)
    report = tmp_path / "report.json"
    assert _merge(src, dst, "--report", str(report)).exit_code == 1
    data = loads_valid(report.read_text(), "merge-report")
    assert data["status"] == "refused" and data["error"] == "FolderLocked"
    assert data["pid"] == holder.pid and data["folder"] == str(dst.folder.root)


def test_wait_says_so_and_merges_once_the_holder_is_gone(src, dst, hold) -> None:
    holder = hold(dst.folder.root, 1.0)
    result = _merge(src, dst, "--wait")
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith(
        f"Waiting for process {holder.pid}, which is writing {dst.folder.root}, to finish"
    )
    assert "Merged 2 identities" in result.stdout
    assert not (dst.folder.root / LOCK_FILE).exists()


def test_a_killed_holder_never_blocks(src, dst, hold) -> None:
    holder = hold(dst.folder.root)
    holder.kill()
    holder.wait()
    assert (dst.folder.root / LOCK_FILE).exists()  # left behind, but nobody holds it
    assert _merge(src, dst).exit_code == 0
    assert not (dst.folder.root / LOCK_FILE).exists()


def test_a_dry_run_takes_no_lock(src, dst, hold) -> None:
    hold(dst.folder.root)
    assert _merge(src, dst, "--dry-run").exit_code == 0


def test_a_refused_merge_into_a_new_folder_leaves_no_folder(src, tmp_path: Path) -> None:
    src.folder.supervised_key.write_bytes(src.folder.identities_dir.joinpath("s1.key").read_bytes())
    target = tmp_path / "new"
    result = CliRunner().invoke(merge_cmd, ["-f", str(src.folder.root), "-t", str(target)])
    assert result.exit_code == 1
    assert not target.exists()


def test_restore_and_add_identity_hold_the_lock_too(src, dst, hold, tmp_path: Path) -> None:
    assert _merge(src, dst).exit_code == 0
    holder = hold(dst.folder.root)
    for args in (
        ["restore", str(dst.folder.root)],
        ["add-identity", "--post-dir", str(tmp_path), "--to", str(dst.folder.root)],
    ):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 1, args
        assert f"is locked by process {holder.pid}" in result.stderr, args
    assert sorted(p.name for p in dst.folder.identities_dir.glob("*.key")) == [
        "d1.key",
        "s1.key",
        "s2.key",
    ]


def test_a_new_target_path_is_created_whole_and_named(src, tmp_path: Path) -> None:
    target = tmp_path / "new" / "deeper" / "dst"
    args = ["-f", str(src.folder.root), "-t", str(target)]
    dry = CliRunner().invoke(merge_cmd, [*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    new = f"{tmp_path / 'new'}, {tmp_path / 'new' / 'deeper'}, {target}"
    assert f"  new folders (0700): {new}\n" in dry.stdout
    assert not (tmp_path / "new").exists()

    result = CliRunner().invoke(merge_cmd, [*args, "--json"])
    assert result.exit_code == 0, result.output
    assert loads_valid(result.stdout, "merge-report")["new_folders"] == new.split(", ")
    for folder in (tmp_path / "new", tmp_path / "new" / "deeper", target):
        assert folder.stat().st_mode & 0o777 == 0o700, folder


def test_a_refused_merge_into_a_new_path_leaves_none_of_it(src, tmp_path: Path) -> None:
    src.folder.supervised_key.write_bytes(src.folder.identities_dir.joinpath("s1.key").read_bytes())
    target = tmp_path / "new" / "deeper" / "dst"
    result = CliRunner().invoke(merge_cmd, ["-f", str(src.folder.root), "-t", str(target)])
    assert result.exit_code == 1
    assert not (tmp_path / "new").exists()
