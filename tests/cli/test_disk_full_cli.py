"""A disk that fills up during a merge: the cause, the next step, and a target left as found.

The full disk is made with ``RLIMIT_FSIZE`` in a child process (SIGXFSZ ignored, so a write
past the limit fails with EFBIG, which SQLite reports as "disk I/O error"): no root, no
mount, nothing that can outlive the test.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
