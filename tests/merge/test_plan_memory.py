"""Planning a merge reads through SQLite: memory does not grow with the database's size."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from mergetool.node.fixtures import build_node

SIZE_MB = 64

_PLAN = """
import resource, sys
from pathlib import Path
from mergetool.merge import plan_merge
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
plan_merge(Path(sys.argv[1]), Path(sys.argv[2]))
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
"""


def test_a_dry_run_does_not_hold_the_database_in_memory(tmp_path: Path) -> None:
    src = build_node(tmp_path / "src", identities=["s1"], prefix="mem-s-")
    dst = build_node(tmp_path / "dst", identities=["d1"], prefix="mem-d-")
    conn = sqlite3.connect(dst.folder.db_path)
    conn.executemany(  # what makes real databases large: the node's own blobs, never merged
        "INSERT INTO prepared_activeset (kind, epoch, id, weight, data) "
        "VALUES (0, ?, randomblob(32), 1, randomblob(1048576))",
        [(n,) for n in range(SIZE_MB)],
    )
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()

    proc = subprocess.run(
        [sys.executable, "-c", _PLAN, str(src.folder.root), str(dst.folder.root)],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert proc.returncode == 0, proc.stderr
    grew_kib = int(proc.stdout)
    # Held in memory (as before), the image alone took the database's size, three times over.
    assert grew_kib < SIZE_MB * 1024 / 2, f"planning grew the peak RSS by {grew_kib} KiB"
