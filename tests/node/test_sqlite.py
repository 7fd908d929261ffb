"""A running node is seen however it opened the database: compared by device and inode."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mergetool._exceptions import DatabaseInUse
from mergetool.node import sqlite as sq
from mergetool.node.fixtures import build_node


def test_a_node_holding_the_database_under_another_name_is_seen(
    tmp_path: Path, hold_database
) -> None:
    # A hard link stands for a bind mount or a container's own mount: the same file reached
    # by another path. Comparing path strings missed it, and a merge wrote into a live database.
    node = build_node(tmp_path / "node", identities=["a"], prefix="inuse-")
    elsewhere = tmp_path / "mnt"
    elsewhere.mkdir()
    os.link(node.folder.db_path, elsewhere / "local.sql")
    holder = hold_database(elsewhere / "local.sql")

    assert [pid for pid, _ in sq.processes_holding(node.folder.db_path)] == [holder.pid]
    with pytest.raises(DatabaseInUse, match=f"pid {holder.pid}"):
        sq.ensure_not_in_use(node.folder.db_path)


def test_nobody_holding_it_and_a_missing_database_are_not_in_use(tmp_path: Path) -> None:
    node = build_node(tmp_path / "node", identities=["a"], prefix="inuse2-")
    assert sq.processes_holding(node.folder.db_path) == []
    assert sq.processes_holding(tmp_path / "none.sql") == []
