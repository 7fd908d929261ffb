"""execute: the merge itself, all or nothing; the source never changes."""

from __future__ import annotations

import errno
import importlib
import os
import sqlite3
from pathlib import Path

import pytest

import mergetool.backup.store as backup_module
import mergetool.merge.journal as journal_module
from mergetool._exceptions import DatabaseError, MergeFailed, MergetoolError
from mergetool.merge import execute, plan_merge
from mergetool.node.fixtures import FixtureNode, build_node, test_key
from mergetool.node.schema import u64_from_sql
from tests.merge.merge_helpers import (
    assert_healthy,
    global_rows,
    key_names,
    leftovers,
    mode,
    rows_of,
    tree_state,
    user_version,
)
from tests.node.rows import read_identity_rows

# The package re-exports the function ``execute``, which hides the module of the same name.
execute_module = importlib.import_module("mergetool.merge.execute")


def _merge(source: Path, target: Path, **kwargs):
    return execute(plan_merge(source, target, **kwargs))


def _assert_has_source(target: Path, src: FixtureNode) -> None:
    for name, node_id in src.identities.items():
        assert (target / "identities" / name).read_bytes() == (
            src.folder.identities_dir / name
        ).read_bytes()
        assert mode(target / "identities" / name) == 0o600
        assert rows_of(target / "local.sql", node_id) == rows_of(src.folder.db_path, node_id)


# --- the reference tool's success scenarios ---------------------------------------------------


def test_merge_into_existing_node_ignores_desktop_litter(
    src: FixtureNode, dst: FixtureNode
) -> None:
    litter = {".DS_Store": b"\x00\x00\x00\x01Bud1", "desktop.ini": b"[.ShellClassInfo]\r\n"}
    for name, data in litter.items():
        (dst.folder.identities_dir / name).write_bytes(data)
        (src.folder.identities_dir / name).write_bytes(b"source " + data)
    globals_before = global_rows(dst.folder.db_path)
    d1 = (dst.folder.identities_dir / "d1.key").read_bytes()
    source_before = tree_state(src.folder.root)

    result = _merge(src.folder.root, dst.folder.root)

    assert result.merged and result.rows_copied == 12
    assert result.keys_installed == ("s1.key", "s2.key")
    for name, data in litter.items():
        assert (dst.folder.identities_dir / name).read_bytes() == data  # target's, untouched
    assert key_names(dst.folder.root) == ["d1.key", "s1.key", "s2.key"]
    assert (dst.folder.identities_dir / "d1.key").read_bytes() == d1
    _assert_has_source(dst.folder.root, src)
    assert global_rows(dst.folder.db_path) == globals_before  # node-global state stays the target's
    assert_healthy(dst.folder.root)
    assert leftovers(dst.folder.root) == []
    assert tree_state(src.folder.root) == source_before


def test_merge_into_missing_folder_creates_a_private_node(src: FixtureNode, tmp_path: Path) -> None:
    target = tmp_path / "node"
    result = _merge(src.folder.root, target)
    assert result.merged and result.backup_dir is None
    assert mode(target) == 0o700 and mode(target / "identities") == 0o700
    assert mode(target / "local.sql") == 0o600
    assert user_version(target / "local.sql") == src.version
    _assert_has_source(target, src)
    assert_healthy(target)
    assert not (target / "backups").exists()


def test_merge_into_empty_existing_folder(src: FixtureNode, tmp_path: Path) -> None:
    target = tmp_path / "empty"
    target.mkdir(mode=0o700)
    _merge(src.folder.root, target)
    assert mode(target / "identities") == 0o700
    _assert_has_source(target, src)
    assert_healthy(target)


@pytest.mark.parametrize("version", [5, 7, 8])
def test_new_target_gets_the_source_version(tmp_path: Path, version: int) -> None:
    src = build_node(tmp_path / "src", version=version, identities=["s1"], prefix="v-")
    _merge(src.folder.root, tmp_path / "new")
    assert user_version(tmp_path / "new" / "local.sql") == version
    _assert_has_source(tmp_path / "new", src)
    assert_healthy(tmp_path / "new")


# --- versions: migrating older sources --------------------------------------------------------


@pytest.mark.parametrize(("source_version", "target_version"), [(5, 9), (7, 9), (5, 8), (7, 8)])
def test_older_source_rows_are_migrated_bit_exact(
    tmp_path: Path, source_version: int, target_version: int
) -> None:
    src = build_node(tmp_path / "src", version=source_version, identities=["s1"], prefix="m-")
    dst = build_node(tmp_path / "dst", version=target_version, identities=["d1"], prefix="m-d-")
    source_before = tree_state(src.folder.root)
    _merge(src.folder.root, dst.folder.root)
    assert tree_state(src.folder.root) == source_before
    assert user_version(dst.folder.db_path) == target_version
    assert_healthy(dst.folder.root)

    node_id = bytes.fromhex(src.identities["s1.key"])
    with sqlite3.connect(src.folder.db_path) as conn:
        before = {(r.table, r.values) for r in read_identity_rows(conn, source_version, node_id)}
    with sqlite3.connect(dst.folder.db_path) as conn:
        after = read_identity_rows(conn, target_version, node_id)
    post = [r for r in after if r.table == "post"]
    assert len(post) == 1 and post[0].get("challenge") == bytes(32)
    assert post[0].get("post_pow") >= 1 << 63 and post[0].get("vrf_nonce") == (1 << 64) - 1
    migrated = {
        (
            "initial_post" if r.table == "post" else r.table,
            r.values[:-1] if r.table == "post" else r.values,
        )
        for r in after
    }
    assert migrated == before


def test_u64_values_are_copied_bit_exact(src: FixtureNode, dst: FixtureNode) -> None:
    _merge(src.folder.root, dst.folder.root)
    query = "SELECT post_pow, vrf_nonce FROM post WHERE id = ?"
    for node_id in src.identities.values():
        with sqlite3.connect(src.folder.db_path) as a, sqlite3.connect(dst.folder.db_path) as b:
            stored = a.execute(query, (bytes.fromhex(node_id),)).fetchone()
            assert b.execute(query, (bytes.fromhex(node_id),)).fetchone() == stored
        assert stored[0] < 0 and u64_from_sql(stored[0]) >= 1 << 63


def test_target_rows_only_in_wal_are_kept_and_warned_about(
    tmp_path: Path, src: FixtureNode
) -> None:
    dst = build_node(tmp_path / "dst", identities=["d1"], prefix="tw-", wal_identities=["w1"])
    plan = plan_merge(src.folder.root, dst.folder.root)
    assert "target_pending_wal" in [w.code for w in plan.warnings]
    execute(plan)
    assert rows_of(dst.folder.db_path, dst.identities["w1.key"])
    _assert_has_source(dst.folder.root, src)


# --- the source is read only ------------------------------------------------------------------


def test_source_rows_only_in_wal_arrive_and_source_is_untouched(
    tmp_path: Path, dst: FixtureNode
) -> None:
    src = build_node(tmp_path / "src", identities=["s1"], prefix="w-", wal_identities=["w1"])
    assert src.folder.has_pending_wal()
    before = tree_state(src.folder.root)
    plan = plan_merge(src.folder.root, dst.folder.root)
    assert "source_pending_wal" in [w.code for w in plan.warnings]
    execute(plan)
    assert tree_state(src.folder.root) == before
    _assert_has_source(dst.folder.root, src)
    assert rows_of(dst.folder.db_path, src.identities["w1.key"])


def test_rows_without_key_are_merged(tmp_path: Path, dst: FixtureNode) -> None:
    src = build_node(tmp_path / "src", identities=["s1"], prefix="o-", orphan_rows=2)
    result = _merge(src.folder.root, dst.folder.root)
    assert result.keys_installed == ("s1.key",)
    for orphan in src.orphans:
        assert rows_of(dst.folder.db_path, orphan) == rows_of(src.folder.db_path, orphan)


def test_adopted_supervised_key_is_installed_and_source_untouched(
    tmp_path: Path, dst: FixtureNode
) -> None:
    src = build_node(tmp_path / "src", identities=["s1"], prefix="a-", supervised=True)
    before = tree_state(src.folder.root)
    result = _merge(src.folder.root, dst.folder.root, adopt_supervised=True)
    node_id = src.identities["local.key"]
    assert f"{node_id}.key" in result.keys_installed
    assert (dst.folder.identities_dir / f"{node_id}.key").read_bytes() == (
        src.folder.supervised_key.read_bytes()
    )
    assert not dst.folder.supervised_key.exists()
    assert tree_state(src.folder.root) == before
    assert_healthy(dst.folder.root)


# --- idempotence ------------------------------------------------------------------------------


def test_rerun_of_completed_merge_changes_nothing(src: FixtureNode, dst: FixtureNode) -> None:
    _merge(src.folder.root, dst.folder.root)
    before = tree_state(dst.folder.root)
    plan = plan_merge(src.folder.root, dst.folder.root)
    assert plan.already_merged and plan.nothing_to_do
    result = execute(plan)
    assert not result.merged and result.rows_copied == 0
    assert tree_state(dst.folder.root) == before


# --- failures: clean error, target unchanged ---------------------------------------------------


def _node_files(state: Path | dict) -> dict:
    """Every file of the target, from :func:`tree_state` or a folder (no -wal/-shm left over)."""
    return tree_state(state) if isinstance(state, Path) else state


def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device", str(args[0]) if args else None)


def _eacces(*args, **kwargs):
    raise OSError(errno.EACCES, "Permission denied", str(args[0]) if args else None)


@pytest.mark.parametrize("backup", [True, False])
@pytest.mark.parametrize(
    ("target", "error"),
    [
        ((execute_module, "write_new_file"), _enospc),  # staging a key
        ((journal_module, "write_file_atomic"), _enospc),  # writing the journal
        ((execute_module, "write_new_file"), _eacces),
        ((execute_module, "make_backup"), _enospc),
        ((backup_module, "write_new_file"), _enospc),  # copying keys into the backup
    ],
    ids=["stage-enospc", "journal-enospc", "stage-eacces", "backup-enospc", "backup-key-enospc"],
)
def test_write_failure_before_commit_leaves_target_unchanged(
    src: FixtureNode, dst: FixtureNode, monkeypatch, target, error, backup: bool
) -> None:
    if not backup and (target[0] is backup_module or target[1] == "make_backup"):
        pytest.skip("no backup is made")
    plan = plan_merge(src.folder.root, dst.folder.root, backup=backup)
    before = tree_state(dst.folder.root)
    monkeypatch.setattr(*target, error)
    with pytest.raises(MergeFailed) as info:
        execute(plan)
    assert ("No space left on device" in str(info.value)) == (error is _enospc)
    assert "Traceback" not in str(info.value)
    assert _node_files(dst.folder.root) == _node_files(before)
    assert leftovers(dst.folder.root) == []
    monkeypatch.undo()
    _merge(src.folder.root, dst.folder.root)  # and the merge then works
    _assert_has_source(dst.folder.root, src)


def test_database_failure_inside_the_transaction_rolls_back(
    src: FixtureNode, dst: FixtureNode, monkeypatch
) -> None:
    plan = plan_merge(src.folder.root, dst.folder.root, backup=False)
    before = tree_state(dst.folder.root)
    real_connect = execute_module.sq.connect

    def failing_connect(path, **kwargs):
        conn = real_connect(path, **kwargs)
        if Path(path) == dst.folder.db_path and not kwargs.get("readonly"):
            # Fail the third table's INSERT, after two tables' rows went in.
            def deny_third_table(action, table, *_):
                if action == sqlite3.SQLITE_INSERT and table == "poet_registration":
                    return sqlite3.SQLITE_DENY
                return sqlite3.SQLITE_OK

            conn.set_authorizer(deny_third_table)
        return conn

    monkeypatch.setattr(execute_module.sq, "connect", failing_connect)
    with pytest.raises(MergetoolError) as info:
        execute(plan)
    assert isinstance(info.value, MergeFailed | DatabaseError)
    assert "not authorized" in str(info.value)
    assert _node_files(dst.folder.root) == _node_files(before)
    assert rows_of(dst.folder.db_path, src.identities["s1.key"]) == {}
    assert leftovers(dst.folder.root) == []


def test_install_failure_after_commit_is_finished_by_the_next_run(
    src: FixtureNode, dst: FixtureNode, monkeypatch
) -> None:
    plan = plan_merge(src.folder.root, dst.folder.root, backup=False)
    monkeypatch.setattr(os, "link", _eacces)
    with pytest.raises(MergeFailed) as info:
        execute(plan)
    assert "Run the same command again" in str(info.value)
    assert_healthy(dst.folder.root)
    monkeypatch.undo()
    again = plan_merge(src.folder.root, dst.folder.root)
    assert again.recovery is not None and again.recovery.action == "roll-forward"
    result = execute(again)
    assert result.recovered == "roll-forward"
    _assert_has_source(dst.folder.root, src)
    assert leftovers(dst.folder.root) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
@pytest.mark.parametrize("where", ["identities", "."])
def test_read_only_target_is_refused_cleanly(src: FixtureNode, dst: FixtureNode, where) -> None:
    folder = dst.folder.root / where
    before = tree_state(dst.folder.root)
    folder.chmod(0o500)
    try:
        with pytest.raises(MergetoolError):
            _merge(src.folder.root, dst.folder.root, backup=False)
    finally:
        folder.chmod(0o700)
    assert tree_state(dst.folder.root) == before


def test_sub_folders_of_source_identities_are_not_merged(
    src: FixtureNode, dst: FixtureNode
) -> None:
    old = src.folder.identities_dir / "old"
    old.mkdir()
    (old / "retired.key").write_bytes((src.folder.identities_dir / "s1.key").read_bytes())
    (src.folder.identities_dir / "folder.key").mkdir()
    result = _merge(src.folder.root, dst.folder.root)
    assert result.keys_installed == ("s1.key", "s2.key")
    assert key_names(dst.folder.root) == ["d1.key", "s1.key", "s2.key"]
    assert not (dst.folder.identities_dir / "old").exists()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"identities": ["s1"], "orphan_rows": 1},
        {"identities": ["s1"], "keys_without_rows": ["k"]},
        {"identities": ["s1"], "supervised": True},
        {"identities": ["s1"], "version": 5, "wal_identities": ["w"]},
    ],
    ids=["rows-without-key", "key-without-rows", "adopted-supervised", "v5-with-wal"],
)
def test_rerun_is_already_merged_for_every_kind_of_source(
    tmp_path: Path, dst: FixtureNode, kwargs
) -> None:
    src = build_node(tmp_path / "src", prefix="again-", **kwargs)
    adopt = kwargs.get("supervised", False)
    _merge(src.folder.root, dst.folder.root, adopt_supervised=adopt)
    before = tree_state(dst.folder.root)
    plan = plan_merge(src.folder.root, dst.folder.root, adopt_supervised=adopt)
    assert plan.already_merged
    execute(plan)
    assert tree_state(dst.folder.root) == before


def test_source_changed_after_planning_is_refused(src: FixtureNode, dst: FixtureNode) -> None:
    plan = plan_merge(src.folder.root, dst.folder.root)
    before = tree_state(dst.folder.root)
    with sqlite3.connect(src.folder.db_path) as conn:
        conn.execute("DELETE FROM nipost WHERE id = ?", (bytes.fromhex(src.identities["s1.key"]),))
    with pytest.raises(MergeFailed, match="the source changed since the merge was planned"):
        execute(plan)
    assert _node_files(dst.folder.root) == _node_files(before)
    assert leftovers(dst.folder.root) == []


def test_source_key_replaced_after_planning_is_refused(src: FixtureNode, dst: FixtureNode) -> None:
    plan = plan_merge(src.folder.root, dst.folder.root)
    before = tree_state(dst.folder.root)
    (src.folder.identities_dir / "s2.key").write_bytes(test_key("swapped").to_file_bytes())
    with pytest.raises(MergeFailed, match="changed since the merge was planned"):
        execute(plan)
    assert _node_files(dst.folder.root) == _node_files(before)
    assert leftovers(dst.folder.root) == []


@pytest.mark.parametrize("existing", [False, True], ids=["missing", "empty-folder"])
def test_failed_merge_into_new_target_leaves_nothing(
    src: FixtureNode, tmp_path: Path, monkeypatch, existing: bool
) -> None:
    target = tmp_path / "new"
    if existing:
        target.mkdir()
    plan = plan_merge(src.folder.root, target)
    monkeypatch.setattr(execute_module, "write_new_file", _enospc)
    with pytest.raises(MergeFailed, match="No space left on device"):
        execute(plan)
    assert tree_state(target) == ({".": (mode(target), "<dir>")} if existing else None)
