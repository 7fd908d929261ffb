"""Backups made before a merge, and putting one back with restore()."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from mergetool._exceptions import RestoreError
from mergetool.backup import list_backups, make_backup, restore
from mergetool.merge import execute, plan_merge
from mergetool.node.fixtures import FixtureNode, build_node
from mergetool.node.folder import NodeFolder
from tests.merge.merge_helpers import (
    assert_healthy,
    key_names,
    leftovers,
    mode,
    table_rows,
    tree_state,
)


def test_make_backup_copies_database_and_keys_privately(dst: FixtureNode) -> None:
    (dst.folder.identities_dir / ".DS_Store").write_bytes(b"x")
    backup = make_backup(dst.folder)
    assert backup.parent == dst.folder.root / "backups"
    assert mode(backup) == 0o700 and mode(backup / "identities") == 0o700
    assert mode(backup / "local.sql") == 0o600 and mode(backup / "identities" / "d1.key") == 0o600
    assert sorted(p.name for p in (backup / "identities").iterdir()) == ["d1.key"]
    assert table_rows(backup / "local.sql") == table_rows(dst.folder.db_path)
    with sqlite3.connect(backup / "local.sql") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert list_backups(dst.folder) == [backup]


def test_backup_includes_rows_only_in_the_wal(tmp_path: Path) -> None:
    from mergetool.node.fixtures import build_node

    node = build_node(tmp_path / "n", identities=["a"], prefix="bw-", wal_identities=["w"])
    assert node.folder.has_pending_wal()
    backup = make_backup(NodeFolder(node.folder.root))
    w = bytes.fromhex(node.identities["w.key"])
    assert w in {row[0] for row in table_rows(backup / "local.sql")["post"]}
    assert table_rows(backup / "local.sql") == table_rows(node.folder.db_path)


def test_restore_puts_the_pre_merge_node_back(src: FixtureNode, dst: FixtureNode) -> None:
    rows_before = table_rows(dst.folder.db_path)
    result = execute(plan_merge(src.folder.root, dst.folder.root))
    assert key_names(dst.folder.root) == ["d1.key", "s1.key", "s2.key"]

    restored = restore(dst.folder.root)

    assert restored.backup == result.backup_dir
    assert table_rows(dst.folder.db_path) == rows_before
    assert_healthy(dst.folder.root)
    assert key_names(dst.folder.root) == ["d1.key"]
    # Merged keys are private keys: moved aside, never deleted.
    assert restored.keys_set_aside == ("s1.key", "s2.key")
    aside = restored.set_aside_dir
    assert aside is not None and aside.parent == dst.folder.root / "backups"
    assert aside.name.startswith("displaced-")
    for name in ("s1.key", "s2.key"):
        assert (aside / name).read_bytes() == (src.folder.identities_dir / name).read_bytes()
    assert leftovers(dst.folder.root) == []
    # And the merge can be done again from there.
    execute(plan_merge(src.folder.root, dst.folder.root))
    assert key_names(dst.folder.root) == ["d1.key", "s1.key", "s2.key"]


def test_restore_a_named_backup(src: FixtureNode, dst: FixtureNode, node_factory) -> None:
    first = execute(plan_merge(src.folder.root, dst.folder.root)).backup_dir
    other = node_factory("other", identities=["o1"], prefix="other-")
    execute(plan_merge(other.folder.root, dst.folder.root))
    restored = restore(dst.folder.root, first.name)
    assert restored.backup == first
    assert key_names(dst.folder.root) == ["d1.key"]
    assert set(restored.keys_set_aside) == {"s1.key", "s2.key", "o1.key"}


def test_restore_unknown_backup_lists_available(src: FixtureNode, dst: FixtureNode) -> None:
    backup = execute(plan_merge(src.folder.root, dst.folder.root)).backup_dir
    before = tree_state(dst.folder.root)
    with pytest.raises(RestoreError) as info:
        restore(dst.folder.root, "20000101T000000.000000Z")
    assert "no such backup" in str(info.value)
    assert f"Available: {backup.name}" in str(info.value)
    assert tree_state(dst.folder.root) == before


def test_restore_without_backups(dst: FixtureNode) -> None:
    with pytest.raises(RestoreError, match="no backups found"):
        restore(dst.folder.root)


def test_restore_keeps_the_database_it_replaces(src: FixtureNode, dst: FixtureNode) -> None:
    execute(plan_merge(src.folder.root, dst.folder.root))
    merged_rows = table_rows(dst.folder.db_path)
    restored = restore(dst.folder.root)
    assert restored.previous_db == restored.set_aside_dir / "local.sql"
    assert table_rows(restored.previous_db) == merged_rows
    assert restored.previous_db.stat().st_mode & 0o777 == 0o600


def test_restore_sets_aside_a_key_whose_content_changed(src: FixtureNode, dst: FixtureNode) -> None:
    execute(plan_merge(src.folder.root, dst.folder.root))
    mine = dst.folder.identities_dir / "d1.key"
    other = src.folder.identities_dir / "s1.key"
    mine.unlink()
    mine.write_bytes(other.read_bytes())  # d1.key now holds another identity's private key
    restored = restore(dst.folder.root)
    assert "d1.key" in restored.keys_set_aside
    assert (restored.set_aside_dir / "d1.key").read_bytes() == other.read_bytes()


@pytest.mark.parametrize("damage", ["empty-db", "junk-db", "bad-key", "drift"])
def test_restore_refuses_a_damaged_backup_and_changes_nothing(
    src: FixtureNode, dst: FixtureNode, damage: str
) -> None:
    result = execute(plan_merge(src.folder.root, dst.folder.root))
    backup = result.backup_dir
    if damage == "empty-db":
        (backup / "local.sql").write_bytes(b"")
    elif damage == "junk-db":
        (backup / "local.sql").write_bytes(b"not a database" * 100)
    elif damage == "bad-key":
        (backup / "identities" / "d1.key").write_text("00" * 10)
    else:
        with sqlite3.connect(backup / "local.sql") as conn:
            conn.execute("CREATE TABLE extra (x)")
    before = tree_state(dst.folder.root)
    with pytest.raises(RestoreError) as info:
        restore(dst.folder.root)
    assert "Nothing was changed" in str(info.value)
    assert tree_state(dst.folder.root) == before


def test_later_restores_ignore_what_earlier_restores_set_aside(
    src: FixtureNode, dst: FixtureNode, tmp_path: Path
) -> None:
    execute(plan_merge(src.folder.root, dst.folder.root))
    restore(dst.folder.root)  # leaves backups/displaced-*/local.sql behind
    other = build_node(tmp_path / "other", identities=["o1"], prefix="o-")
    second = execute(plan_merge(other.folder.root, dst.folder.root))
    assert all(not p.name.startswith("displaced-") for p in list_backups(dst.folder))
    restored = restore(dst.folder.root)
    assert restored.backup == second.backup_dir
    assert key_names(dst.folder.root) == ["d1.key"]
    again = restore(dst.folder.root)  # twice in a row: the same backup, keys still there
    assert again.backup == second.backup_dir and key_names(dst.folder.root) == ["d1.key"]
