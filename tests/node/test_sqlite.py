"""A running node is seen however it opened the database: compared by device and inode."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mergetool._exceptions import DatabaseInUse
from mergetool.node import sqlite as sq
from mergetool.node.fixtures import build_node

_HOLD = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1])
conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
print("ready", flush=True)
time.sleep(60)
"""


@pytest.fixture
def hold() -> Iterator:
    """``hold(path)``: a real process with the database at ``path`` open, as a node has."""
    started: list[subprocess.Popen[str]] = []

    def start(path: Path) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-c", _HOLD, str(path)], stdout=subprocess.PIPE, text=True
        )
        started.append(proc)
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        return proc

    yield start
    for proc in started:
        proc.kill()
        proc.wait()


def test_a_node_holding_the_database_under_another_name_is_seen(tmp_path: Path, hold) -> None:
    # A hard link stands for a bind mount or a container's own mount: the same file reached
    # by another path. Comparing path strings missed it, and a merge wrote into a live database.
    node = build_node(tmp_path / "node", identities=["a"], prefix="inuse-")
    elsewhere = tmp_path / "mnt"
    elsewhere.mkdir()
    os.link(node.folder.db_path, elsewhere / "local.sql")
    holder = hold(elsewhere / "local.sql")

    assert [pid for pid, _ in sq.processes_holding(node.folder.db_path)] == [holder.pid]
    with pytest.raises(DatabaseInUse, match=f"pid {holder.pid}"):
        sq.ensure_not_in_use(node.folder.db_path)


def test_nobody_holding_it_and_a_missing_database_are_not_in_use(tmp_path: Path) -> None:
    node = build_node(tmp_path / "node", identities=["a"], prefix="inuse2-")
    assert sq.processes_holding(node.folder.db_path) == []
    assert sq.processes_holding(tmp_path / "none.sql") == []
