"""Fixtures for merge tests: a source and a target node that merge cleanly."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mergetool.node.fixtures import FixtureNode, build_node


@pytest.fixture
def src(tmp_path: Path) -> FixtureNode:
    return build_node(tmp_path / "src", identities=["s1", "s2"], prefix="src-")


@pytest.fixture
def dst(tmp_path: Path) -> FixtureNode:
    return build_node(tmp_path / "dst", identities=["d1"], prefix="dst-")


_HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1])
conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
print("ready", flush=True)
time.sleep(120)
"""


@pytest.fixture
def hold_database() -> Iterator[Callable[[Path], subprocess.Popen[str]]]:
    """``hold_database(db)``: a real process that keeps ``db`` open, as a running node does."""
    started: list[subprocess.Popen[str]] = []

    def hold(db: Path) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, str(db)], stdout=subprocess.PIPE, text=True
        )
        started.append(proc)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        return proc

    try:
        yield hold
    finally:
        for proc in started:
            proc.kill()
            proc.wait()
