"""Shared fixtures: node data folders built in ``tmp_path``, the node's schema snapshots, and a
process holding a database open as a running node does."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mergetool.node.fixtures import FixtureNode, build_node
from tests.k2pow_stubs import StubServer, stub_servers

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
#: Committed example nodes (test keys only).
FIXTURES = REPO / "fixtures"


@pytest.fixture(scope="session")
def committed_fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def node_factory(tmp_path: Path) -> Callable[..., FixtureNode]:
    """``node_factory(name="node", **build_node_kwargs)`` builds a node folder in ``tmp_path``."""

    def make(name: str = "node", **kwargs: object) -> FixtureNode:
        return build_node(tmp_path / name, **kwargs)  # type: ignore[arg-type]

    return make


@pytest.fixture
def src(tmp_path: Path) -> FixtureNode:
    """A source node (``s1.key``, ``s2.key``) that merges cleanly into :func:`dst`."""
    return build_node(tmp_path / "src", identities=["s1", "s2"], prefix="src-")


@pytest.fixture
def dst(tmp_path: Path) -> FixtureNode:
    """A target node holding ``d1.key``."""
    return build_node(tmp_path / "dst", identities=["d1"], prefix="dst-")


#: The node's ``local-vN.sql`` schema dumps as the package ships them (the drift check reads
#: them); ``tests/node/test_migrate.py`` compares them with the node's own dumps in
#: ``../shared/node-schema`` when that is beside the clone, so a public clone runs every test.
SHIPPED_SCHEMAS = REPO / "schemas" / "node"


@pytest.fixture(scope="session")
def shared_schema_dir() -> Path:
    """The folder of the node's ``local-vN.sql`` snapshots (the shipped copy)."""
    return SHIPPED_SCHEMAS


@pytest.fixture(scope="session")
def node_schema(shared_schema_dir: Path) -> Callable[[int], str]:
    """``node_schema(N)``: the text of the node's ``local-vN.sql``."""
    return lambda version: (shared_schema_dir / f"local-v{version}.sql").read_text()


def _tree_digest(root: Path) -> dict[str, str]:
    return {
        str(
            p.relative_to(root)
        ): f"{p.stat().st_mode:o}:{hashlib.sha256(p.read_bytes()).hexdigest()}"
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


@pytest.fixture(scope="session")
def tree_digest() -> Callable[[Path], dict[str, str]]:
    """``tree_digest(root)``: mode and sha256 of every file under ``root``."""
    return _tree_digest


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


@pytest.fixture
def stub_server() -> Iterator[Callable[..., StubServer]]:
    """``stub_server(script, delay_s=0)``: a scripted k2pow-service, stopped when the test ends."""
    with stub_servers() as start:
        yield start
