"""A disk that fills up during a merge: the cause, the next step, and a target left as found.

The full disk is made with ``RLIMIT_FSIZE`` in a child process (SIGXFSZ ignored, so a write
past the limit fails with EFBIG, which SQLite reports as "disk I/O error"): no root, no
mount, nothing that can outlive the test.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from mergetool._lock import LOCK_FILE
from mergetool.cli.merge_nodes import merge_cmd
from mergetool.node.fixtures import build_node

_RUN_LIMITED = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
from mergetool.cli.main import main
sys.exit(main(sys.argv[2:]))
"""


def _tree(root: Path) -> dict[str, bytes | None]:
    return {
        str(p.relative_to(root)): p.read_bytes() if p.is_file() else None
        for p in sorted(root.rglob("*"))
    }


def test_a_full_disk_names_the_folder_and_leaves_the_target_as_found(tmp_path: Path) -> None:
    src = build_node(tmp_path / "src", identities=["s1", "s2"], prefix="full-s-")
    dst = build_node(tmp_path / "dst", identities=[f"d{i}" for i in range(150)], prefix="full-d-")
    before = _tree(dst.folder.root)

    # room for the source's copy (57 KB), none for the target's (220 KB) backup and growth
    proc = subprocess.run(
        [sys.executable, "-c", _RUN_LIMITED, "100000"]
        + ["merge", "-f", str(src.folder.root), "-t", str(dst.folder.root)],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    folder = dst.folder.root
    assert f"Error: {folder}: the disk is full, or we may not write more there" in proc.stderr
    assert "MiB free there; the merge was rolled back, the target is unchanged" in proc.stderr
    assert f"Free some space in {folder}" in proc.stderr
    assert "then run the same command again" in proc.stderr
    assert ".mergetool" not in proc.stderr  # no internal temporary name
    assert _tree(dst.folder.root) == before  # no -wal/-shm, staged key, journal or backup


@pytest.fixture
def few_inodes(tmp_path: Path) -> Iterator[Path]:
    """A 16 MiB tmpfs with 64 inodes (root only); unmounted after the test, also on failure."""
    where = tmp_path / "few-inodes"
    where.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", "size=16m,nr_inodes=64", "tmpfs", str(where)]
    if os.geteuid() != 0 or subprocess.run(mount, capture_output=True).returncode != 0:
        pytest.skip("needs root and tmpfs mounts to make a file system with few inodes")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _use_up_inodes(folder: Path) -> None:
    folder.mkdir(exist_ok=True)
    with contextlib.suppress(OSError):
        for n in range(1000):
            (folder / f"{n}-{os.urandom(4).hex()}").touch()
    assert os.statvfs(folder).f_favail == 0 and shutil.disk_usage(folder).free > 2**20


def _merge(src: Path, dst: Path) -> Result:
    return CliRunner().invoke(merge_cmd, ["-f", str(src), "-t", str(dst)])


def test_a_merge_out_of_inodes_says_inodes(few_inodes: Path) -> None:
    src = build_node(few_inodes / "src", identities=["s1"], prefix="ino-s-")
    dst = build_node(few_inodes / "dst", identities=["d1"], prefix="ino-d-")
    lock = dst.folder.root / LOCK_FILE
    lock.touch()  # the lock is taken; the backup is the first file that cannot be made
    _use_up_inodes(few_inodes / "filler")
    before = _tree(dst.folder.root)

    result = _merge(src.folder.root, dst.folder.root)

    assert result.exit_code == 1, result.output
    folder = dst.folder.root
    assert result.stderr.startswith(f"Error: {folder}: no free inodes: the file system can hold ")
    assert "MiB free there, but no file can be created; the merge was rolled back" in result.stderr
    assert "the disk is full" not in result.stderr
    assert f"(`df -i {folder}` shows its inodes; many small files use them up)" in result.stderr
    before.pop(LOCK_FILE)  # (released: the lock removes its file)
    assert _tree(dst.folder.root) == before

    lock.unlink(missing_ok=True)  # now not even the lock file can be made
    _use_up_inodes(few_inodes / "filler")
    result = _merge(src.folder.root, dst.folder.root)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {folder}: no free inodes: the file system can hold ")


def test_a_full_disk_during_restore_tells_what_the_restore_needs(tmp_path: Path) -> None:
    src = build_node(tmp_path / "src", identities=["s1"], prefix="rfull-s-")
    dst = build_node(tmp_path / "dst", identities=[f"d{i}" for i in range(150)], prefix="rfull-d-")
    merge = [sys.executable, "-c", _RUN_LIMITED, str(2**30), "merge", "-f", str(src.folder.root)]
    subprocess.run([*merge, "-t", str(dst.folder.root)], check=True, capture_output=True)
    db_before = dst.folder.db_path.read_bytes()

    # no room for the copy of the backup's database (220 KB)
    proc = subprocess.run(
        [sys.executable, "-c", _RUN_LIMITED, "100000", "restore", str(dst.folder.root)],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    folder = dst.folder.root
    assert f"Error: {folder}: the disk is full, or we may not write more there" in proc.stderr
    assert f"Free some space in {folder} (the restore needs about" in proc.stderr
    assert "merge needs" not in proc.stderr
    assert dst.folder.db_path.read_bytes() == db_before
