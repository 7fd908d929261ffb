"""plan_merge: every check runs before the first write, and a refusal names the file at fault."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from mergetool._exceptions import (
    DatabaseError,
    DatabaseInUse,
    DuplicateIdentity,
    InvalidKeyFile,
    MergeFailed,
    MergeRefused,
    MergetoolError,
    NameCollision,
    NotANodeFolder,
    RowsAlreadyPresent,
    SchemaDrift,
    SupervisedNode,
    UnsupportedVersion,
    UsageProblem,
    VersionMismatch,
)
from mergetool.merge import execute, plan_merge
from mergetool.merge.journal import Journal, StagedKey, journal_path
from mergetool.node.fixtures import FixtureNode, build_node, identity_rows, insert_rows, test_key
from mergetool.node.keys import write_key
from tests.merge.merge_helpers import tree_state


def _set_user_version(root: Path, version: int) -> None:
    conn = sqlite3.connect(root / "local.sql")
    conn.execute(f"PRAGMA user_version = {version}")
    conn.close()


def _refused(source: Path, target: Path, error: type[MergetoolError], **kwargs) -> MergetoolError:
    """plan_merge must raise ``error`` and leave both folders exactly as they were."""
    before = tree_state(source), tree_state(target)
    with pytest.raises(error) as info:
        plan_merge(source, target, **kwargs)
    assert (tree_state(source), tree_state(target)) == before
    return info.value


# --- the reference tool's own scenarios ------------------------------------------------------


def test_plan_lists_keys_rows_and_versions(src: FixtureNode, dst: FixtureNode) -> None:
    plan = plan_merge(src.folder.root, dst.folder.root)
    assert [k.target_name for k in plan.keys] == ["s1.key", "s2.key"]
    assert {k.node_id for k in plan.keys} == set(src.identities.values())
    assert dict(plan.table_rows) == {
        "post": 2,
        "challenge": 2,
        "poet_registration": 4,
        "nipost": 2,
        "poet_certificates": 2,
    }
    assert (plan.source_version, plan.target_version) == (9, 9)
    assert plan.backup and not plan.create_target_db and not plan.already_merged
    assert [w.code for w in plan.warnings] == ["stop_source"]


def test_drifted_target_schema_is_refused(src: FixtureNode, dst: FixtureNode) -> None:
    conn = sqlite3.connect(dst.folder.db_path)
    conn.execute("CREATE TABLE extra (x INTEGER)")
    conn.close()
    error = _refused(src.folder.root, dst.folder.root, SchemaDrift)
    assert error.path == dst.folder.db_path
    assert "CREATE TABLE extra" in error.diff
    assert error.hint is not None and error.hint.startswith(error.diff)  # then what to do
    assert "restore the database from a backup" in error.hint


def test_drifted_source_schema_is_refused(src: FixtureNode, dst: FixtureNode) -> None:
    conn = sqlite3.connect(src.folder.db_path)
    conn.execute("DROP INDEX idx_poet_certificates")
    conn.close()
    error = _refused(src.folder.root, dst.folder.root, SchemaDrift)
    assert error.path == src.folder.db_path
    assert "poet_certificates" in error.diff


def test_target_at_wrong_version_for_its_schema_is_refused(
    src: FixtureNode, dst: FixtureNode
) -> None:
    _set_user_version(dst.folder.root, 8)  # a v9 schema claiming to be v8
    error = _refused(src.folder.root, dst.folder.root, MergetoolError)
    assert isinstance(error, SchemaDrift | VersionMismatch)


@pytest.mark.parametrize("side", ["source", "target"])
def test_supervised_node_is_refused_naming_local_key(tmp_path: Path, side: str) -> None:
    src = build_node(tmp_path / "src", identities=["s1"], prefix="s-", supervised=side == "source")
    dst = build_node(tmp_path / "dst", identities=["d1"], prefix="d-", supervised=side == "target")
    node = src if side == "source" else dst
    error = _refused(src.folder.root, dst.folder.root, SupervisedNode)
    assert error.path == node.folder.supervised_key
    assert str(node.folder.supervised_key) in str(error)
    assert "appears to be a supervised node" in str(error)
    assert ("`adopt_supervised=True`" in str(error)) == (side == "source")


def test_supervised_target_is_refused_even_with_adopt(tmp_path: Path) -> None:
    src = build_node(tmp_path / "src", identities=["s1"], prefix="s-")
    dst = build_node(tmp_path / "dst", identities=["d1"], prefix="d-", supervised=True)
    _refused(src.folder.root, dst.folder.root, SupervisedNode, adopt_supervised=True)


def test_adopt_supervised_installs_local_key_under_its_node_id(tmp_path: Path) -> None:
    src = build_node(tmp_path / "src", identities=["s1"], prefix="s-", supervised=True)
    dst = build_node(tmp_path / "dst", identities=["d1"], prefix="d-")
    plan = plan_merge(src.folder.root, dst.folder.root, adopt_supervised=True)
    node_id = src.identities["local.key"]
    adopted = [k for k in plan.keys if k.adopted_supervised]
    assert [(k.source_file.name, k.target_name) for k in adopted] == [
        ("local.key", f"{node_id}.key")
    ]
    assert "adopted_supervised" in [w.code for w in plan.warnings]


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: p / "missing", "source data folder does not exist"),
        (lambda p: (p / "file").write_text("x") and p / "file", "data folder, but not a folder"),
        (lambda p: (p / "empty").mkdir() or p / "empty", "source database not found"),
    ],
    ids=["missing", "a-file", "no-local-sql"],
)
def test_invalid_source_path_is_refused(tmp_path: Path, dst: FixtureNode, make, reason) -> None:
    source = make(tmp_path)
    error = _refused(source, dst.folder.root, NotANodeFolder)
    assert reason in str(error)


_GOOD = test_key("good").to_file_bytes()
_OTHER = test_key("other").to_file_bytes()


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (_GOOD[:-1], "expected exactly 128 hex characters, found 127 bytes"),
        (_GOOD + b"00", "found 130 bytes"),
        (b"", "the file is empty"),
        (b"g" + _GOOD[1:], "not hex encoded (first bad character at offset 0)"),
        (_GOOD[:64] + _OTHER[64:], "private and public halves do not match"),
        (_GOOD + b"\n", "it ends with a line break"),
    ],
    ids=["short", "long", "empty", "non-hex", "mismatched-halves", "trailing-newline"],
)
def test_invalid_source_key_is_refused_naming_file_and_defect(
    src: FixtureNode, dst: FixtureNode, content: bytes, reason: str
) -> None:
    bad = src.folder.identities_dir / "bad.key"
    bad.write_bytes(content)
    error = _refused(src.folder.root, dst.folder.root, InvalidKeyFile)
    assert error.path == bad
    assert reason in error.reason
    assert str(error).startswith(f"not a valid key file {bad}: ")


def test_source_key_symlink_is_not_followed(src: FixtureNode, dst: FixtureNode) -> None:
    (src.folder.identities_dir / "link.key").symlink_to(dst.folder.identities_dir / "d1.key")
    error = _refused(src.folder.root, dst.folder.root, InvalidKeyFile)
    assert "symbolic link" in error.reason


def test_key_file_name_on_both_sides_is_refused(tmp_path: Path) -> None:
    src = build_node(tmp_path / "src", identities=["same", "s2"], prefix="s-")
    dst = build_node(tmp_path / "dst", identities=["same"], prefix="d-")
    error = _refused(src.folder.root, dst.folder.root, NameCollision)
    assert error.names == ["same.key"]
    assert str(error).startswith(
        f"identity file same.key already exists in {dst.folder.identities_dir}"
    )


def test_same_folder_is_bad_usage(src: FixtureNode) -> None:
    _refused(src.folder.root, src.folder.root, UsageProblem)


@pytest.mark.parametrize("inside", ["sub", "identities", "identities/deeper"])
def test_target_inside_the_source_is_refused(src: FixtureNode, inside: str) -> None:
    error = _refused(src.folder.root, src.folder.root / inside, UsageProblem)
    assert "the target is inside the source folder" in error.message


def test_source_inside_the_target_is_refused(tmp_path: Path, dst: FixtureNode) -> None:
    src = build_node(dst.folder.root / "old-node", identities=["s1"], prefix="n-")
    error = _refused(src.folder.root, dst.folder.root, UsageProblem)
    assert "the source is inside the target folder" in error.message


def test_target_whose_parents_are_missing_names_every_new_folder(
    src: FixtureNode, tmp_path: Path
) -> None:
    # As the reference tool does, the whole path is created; the plan shows each new folder.
    plan = plan_merge(src.folder.root, tmp_path / "new" / "deeper" / "node")
    assert plan.new_folders == (
        tmp_path / "new",
        tmp_path / "new" / "deeper",
        tmp_path / "new" / "deeper" / "node",
    )
    assert not (tmp_path / "new").exists()


def test_target_below_a_file_is_refused(src: FixtureNode, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    error = _refused(src.folder.root, tmp_path / "file" / "node", UsageProblem)
    assert f"cannot create the target, {tmp_path / 'file'} is not a folder" in error.message


def test_target_folder_one_level_too_high_is_refused(src: FixtureNode, tmp_path: Path) -> None:
    real = build_node(tmp_path / "spacemesh" / "node_data", identities=["d1"], prefix="h-")
    (tmp_path / "spacemesh" / "config.json").write_text("{}")
    error = _refused(src.folder.root, tmp_path / "spacemesh", NotANodeFolder)
    assert "holds other files (config.json, node_data)" in error.message
    assert error.hint == f"Did you mean {real.folder.root}?"


def test_folder_with_only_identities_can_become_a_target(src: FixtureNode, tmp_path: Path) -> None:
    (tmp_path / "new" / "identities").mkdir(parents=True)
    assert plan_merge(src.folder.root, tmp_path / "new").create_target_db


@pytest.mark.parametrize("rows", [0, 2])
def test_source_without_any_key_is_refused(tmp_path: Path, dst: FixtureNode, rows: int) -> None:
    src = build_node(tmp_path / "src", identities=[], prefix="k-", orphan_rows=rows)
    error = _refused(src.folder.root, dst.folder.root, MergeRefused)
    assert "has no identity key (*.key)" in error.message and "nothing to merge" in error.message
    assert (f"holds rows for {rows} identities" in error.message) == bool(rows)


# --- equivocation guards -----------------------------------------------------------------------


def test_same_key_twice_in_source(tmp_path: Path, dst: FixtureNode) -> None:
    src = build_node(tmp_path / "src", identities=["s1"], prefix="s-", duplicate_key=True)
    error = _refused(src.folder.root, dst.folder.root, DuplicateIdentity)
    assert {error.first.name, error.second.name} == {"s1.key", "s1-copy.key"}
    assert str(error.first) in str(error) and str(error.second) in str(error)


def test_same_key_twice_in_target(src: FixtureNode, tmp_path: Path) -> None:
    dst = build_node(tmp_path / "dst", identities=["d1"], prefix="d-", duplicate_key=True)
    error = _refused(src.folder.root, dst.folder.root, DuplicateIdentity)
    assert {error.first.name, error.second.name} == {"d1.key", "d1-copy.key"}
    # Operators search for the node's own sentence.
    assert '"duplicate key found in identity files"' in error.message


def test_same_key_across_both_under_different_names(src: FixtureNode, dst: FixtureNode) -> None:
    write_key(test_key("src-s2"), dst.folder.identities_dir / "renamed.key")
    error = _refused(src.folder.root, dst.folder.root, DuplicateIdentity)
    assert {error.first, error.second} == {
        src.folder.identities_dir / "s2.key",
        dst.folder.identities_dir / "renamed.key",
    }
    assert error.node_id == src.identities["s2.key"]


def test_target_with_rows_of_a_source_identity_but_no_key(tmp_path: Path) -> None:
    src = build_node(tmp_path / "src", identities=["orphan-0"], prefix="x-")
    dst = build_node(tmp_path / "dst", identities=["d1"], prefix="x-", orphan_rows=1)
    error = _refused(src.folder.root, dst.folder.root, RowsAlreadyPresent)
    assert src.identities["orphan-0.key"] in str(error)
    assert str(dst.folder.db_path) in str(error)


def test_target_with_rows_and_key_of_a_source_identity(tmp_path: Path) -> None:
    # The source only has rows (no key) for an identity the target runs already.
    src = build_node(tmp_path / "src", identities=["s1"], prefix="y-", orphan_rows=1)
    dst = build_node(tmp_path / "dst", identities=["orphan-0"], prefix="y-")
    error = _refused(src.folder.root, dst.folder.root, RowsAlreadyPresent)
    assert src.orphans[0] in str(error)


# --- versions ----------------------------------------------------------------------------------


@pytest.mark.parametrize("side", ["source", "target"])
@pytest.mark.parametrize("version", [1, 2])
def test_node_13_database_is_refused(
    src: FixtureNode, dst: FixtureNode, side: str, version: int
) -> None:
    node = src if side == "source" else dst
    _set_user_version(node.folder.root, version)
    error = _refused(src.folder.root, dst.folder.root, UnsupportedVersion)
    assert error.path == node.folder.db_path
    assert f"{side} database is from node 1.3.x" in str(error)
    assert "Run node v1.4" in str(error)


@pytest.mark.parametrize("side", ["source", "target"])
@pytest.mark.parametrize(("version", "reason"), [(10, "too new"), (6, "no node release uses")])
def test_unknown_or_newer_database_is_refused(
    src: FixtureNode, dst: FixtureNode, side: str, version: int, reason: str
) -> None:
    node = src if side == "source" else dst
    _set_user_version(node.folder.root, version)
    error = _refused(src.folder.root, dst.folder.root, UnsupportedVersion)
    assert f"{side} database" in str(error) and reason in str(error)


def test_source_newer_than_target_is_refused(tmp_path: Path) -> None:
    src = build_node(tmp_path / "src", version=9, identities=["s1"], prefix="s-")
    dst = build_node(tmp_path / "dst", version=8, identities=["d1"], prefix="d-")
    error = _refused(src.folder.root, dst.folder.root, VersionMismatch)
    assert "source database" in str(error) and "target database" in str(error)
    assert "Upgrade the target node first" in str(error)


@pytest.mark.parametrize(("source_version", "target_version"), [(5, 9), (7, 9), (5, 8), (7, 8)])
def test_older_source_is_planned_for_migration(
    tmp_path: Path, source_version: int, target_version: int
) -> None:
    src = build_node(tmp_path / "src", version=source_version, identities=["s1"], prefix="s-")
    dst = build_node(tmp_path / "dst", version=target_version, identities=["d1"], prefix="d-")
    plan = plan_merge(src.folder.root, dst.folder.root)
    assert plan.migrates_source
    tables = dict(plan.table_rows)
    assert "post" in tables and "initial_post" not in tables
    assert "poet_certificates" not in tables  # a 1.4/1.5 node has none


def test_missing_target_is_created_at_the_source_version(tmp_path: Path) -> None:
    src = build_node(tmp_path / "src", version=7, identities=["s1"], prefix="s-")
    plan = plan_merge(src.folder.root, tmp_path / "new")
    assert plan.create_target_db and plan.target_version == 7 and not plan.backup
    assert not (tmp_path / "new").exists()


# --- running node ------------------------------------------------------------------------------


@pytest.mark.parametrize("side", ["source", "target"])
def test_database_held_by_a_running_process_is_refused(
    src: FixtureNode, dst: FixtureNode, hold_database, side: str
) -> None:
    node = src if side == "source" else dst
    holder = hold_database(node.folder.db_path)
    error = _refused(src.folder.root, dst.folder.root, DatabaseInUse)
    assert error.path == node.folder.db_path
    assert f"pid {holder.pid}" in str(error)
    assert "Stop the node" in str(error)


# --- warnings ----------------------------------------------------------------------------------


def test_rows_without_key_are_merged_with_a_warning(tmp_path: Path, dst: FixtureNode) -> None:
    src = build_node(tmp_path / "src", identities=["s1"], prefix="s-", orphan_rows=1)
    plan = plan_merge(src.folder.root, dst.folder.root)
    orphan = [i for i in plan.identities if i.key_file is None]
    assert [i.node_id for i in orphan] == list(src.orphans)
    warnings = [w for w in plan.warnings if w.code == "rows_without_key"]
    assert len(warnings) == 1 and src.orphans[0] in warnings[0].message


def test_keys_without_rows_get_a_warning(tmp_path: Path, dst: FixtureNode) -> None:
    src = build_node(tmp_path / "src", identities=["s1"], prefix="s-", keys_without_rows=["k"])
    plan = plan_merge(src.folder.root, dst.folder.root)
    assert "k.key" in [k.target_name for k in plan.keys]
    assert any(w.code == "key_without_rows" and "k.key" in w.message for w in plan.warnings)


def test_target_non_key_files_and_folders_are_ignored(src: FixtureNode, dst: FixtureNode) -> None:
    (dst.folder.identities_dir / ".DS_Store").write_bytes(b"\x00\x01")
    (dst.folder.identities_dir / "desktop.ini").write_text("[.ShellClassInfo]")
    (dst.folder.identities_dir / "old").mkdir()
    (src.folder.identities_dir / "notes.txt").write_text("hello")
    plan = plan_merge(src.folder.root, dst.folder.root)
    assert [k.target_name for k in plan.keys] == ["s1.key", "s2.key"]


def test_key_with_an_upper_case_suffix_is_named_in_a_warning(
    tmp_path: Path, dst: FixtureNode
) -> None:
    src = build_node(tmp_path / "src", identities=["s1", "s2"], prefix="uc-")
    (src.folder.identities_dir / "s2.key").rename(src.folder.identities_dir / "s2.KEY")
    plan = plan_merge(src.folder.root, dst.folder.root)
    (warning,) = [w for w in plan.warnings if w.code == "ignored_key_like_file"]
    assert str(src.folder.identities_dir / "s2.KEY") in warning.message
    assert [k.target_name for k in plan.keys] == ["s1.key"]


def test_keyless_source_whose_rows_are_merged_is_already_merged(
    src: FixtureNode, dst: FixtureNode
) -> None:
    from mergetool.merge import execute

    execute(plan_merge(src.folder.root, dst.folder.root))
    for key in src.folder.identities_dir.glob("*.key"):
        key.unlink()  # as the stop_source advice suggests
    assert plan_merge(src.folder.root, dst.folder.root).already_merged


def test_new_file_system_root_can_become_a_target(src: FixtureNode, tmp_path: Path) -> None:
    (tmp_path / "disk" / "lost+found").mkdir(parents=True)
    assert plan_merge(src.folder.root, tmp_path / "disk").create_target_db


# --- leftovers, empty and damaged databases, a blocked backup -----------------------------------


def _damage_table(db: Path, table: str = "post") -> None:
    """Overwrite the middle of ``table``'s root page: the schema still reads, the rows do not."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        (page,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,))
        (size,) = conn.execute("PRAGMA page_size").fetchone()
    finally:
        conn.close()
    data = bytearray(db.read_bytes())
    start = (page[0] - 1) * size
    data[start + 100 : start + size - 100] = b"\x5a" * (size - 200)
    db.write_bytes(bytes(data))


@pytest.mark.parametrize("kind", ["file", "folder", "symlink"])
def test_staged_key_no_journal_lists_is_refused(
    src: FixtureNode, dst: FixtureNode, kind: str
) -> None:
    stray = dst.folder.identities_dir / "s1.key.mergetool-staged"
    if kind == "file":
        stray.write_bytes((src.folder.identities_dir / "s1.key").read_bytes())
    elif kind == "folder":
        stray.mkdir()
    else:
        stray.symlink_to(src.folder.identities_dir / "s1.key")
    error = _refused(src.folder.root, dst.folder.root, MergeRefused)
    assert error.message == f"{stray}: a staged key that no merge journal lists"
    assert "interrupted merge whose journal (.mergetool-journal.json) is gone" in str(error.hint)


def test_staged_key_beside_a_journal_that_does_not_list_it_is_refused(
    src: FixtureNode, dst: FixtureNode
) -> None:
    node_id = test_key("dst-d1").node_id_hex
    Journal(journal_path(dst.folder.root), "x", (), 0, (StagedKey("d1.key", node_id),)).write()
    stray = dst.folder.identities_dir / "other.key.mergetool-staged"
    stray.write_text("x")
    error = _refused(src.folder.root, dst.folder.root, MergeRefused)
    assert error.message.startswith(f"{stray}: ")


def test_staged_key_a_journal_lists_that_is_a_folder_is_refused(
    src: FixtureNode, dst: FixtureNode
) -> None:
    node_id = test_key("lost").node_id_hex
    Journal(journal_path(dst.folder.root), "x", (), 0, (StagedKey("lost.key", node_id),)).write()
    staged = dst.folder.identities_dir / "lost.key.mergetool-staged"
    staged.mkdir()
    error = _refused(src.folder.root, dst.folder.root, MergeRefused)
    assert error.message.startswith(f"{staged}: the interrupted merge's journal lists it")


def test_staged_key_in_a_new_target_folder_is_refused(src: FixtureNode, tmp_path: Path) -> None:
    stray = tmp_path / "new" / "identities" / "a.key.mergetool-staged"
    stray.parent.mkdir(parents=True)
    stray.write_text("x")
    error = _refused(src.folder.root, tmp_path / "new", MergeRefused)
    assert error.message.startswith(f"{stray}: ")


def test_malformed_journal_is_refused_in_planning(src: FixtureNode, dst: FixtureNode) -> None:
    path = journal_path(dst.folder.root)
    path.write_text('{"source": "x", "node_ids": ["zz"], "expected_rows": 0, "keys": []}')
    error = _refused(src.folder.root, dst.folder.root, MergeFailed)
    assert error.message.startswith(f"{path}: the journal of an interrupted merge cannot be read")


def test_empty_source_database_is_refused(src: FixtureNode, dst: FixtureNode) -> None:
    src.folder.db_path.write_bytes(b"")
    error = _refused(src.folder.root, dst.folder.root, UnsupportedVersion)
    assert error.path == src.folder.db_path and error.version == 0
    assert "source database is empty or at schema version 0" in error.message


def test_source_database_at_version_0_is_refused(tmp_path: Path, dst: FixtureNode) -> None:
    src = tmp_path / "blank"
    (src / "identities").mkdir(parents=True)
    write_key(test_key("blank"), src / "identities" / "b.key")
    sqlite3.connect(src / "local.sql").close()  # a valid SQLite file nobody wrote to
    error = _refused(src, dst.folder.root, UnsupportedVersion)
    assert error.path == src / "local.sql"


def test_empty_source_into_a_new_folder_is_refused(src: FixtureNode, tmp_path: Path) -> None:
    src.folder.db_path.write_bytes(b"")
    _refused(src.folder.root, tmp_path / "new", UnsupportedVersion)
    assert not (tmp_path / "new").exists()


def test_target_with_keys_but_no_database_is_refused(src: FixtureNode, tmp_path: Path) -> None:
    ids = tmp_path / "lost" / "identities"
    ids.mkdir(parents=True)
    for name in ("a", "b"):
        write_key(test_key(f"lost-{name}"), ids / f"{name}.key")
    error = _refused(src.folder.root, tmp_path / "lost", NotANodeFolder)
    assert error.path == tmp_path / "lost" / "local.sql"
    assert error.reason == f"target database not found, but {ids} holds key files (a.key, b.key)"


def test_target_with_only_non_key_files_in_identities_can_become_a_target(
    src: FixtureNode, tmp_path: Path
) -> None:
    (tmp_path / "new" / "identities" / "sub.key").mkdir(parents=True)  # a folder: not a key
    (tmp_path / "new" / "identities" / ".DS_Store").write_text("")
    assert plan_merge(src.folder.root, tmp_path / "new").create_target_db


@pytest.mark.parametrize("side", ["source", "target"])
def test_damaged_database_is_refused_naming_it(src: FixtureNode, dst: FixtureNode, side) -> None:
    node = src if side == "source" else dst
    _damage_table(node.folder.db_path)
    error = _refused(src.folder.root, dst.folder.root, DatabaseError)
    assert error.path == node.folder.db_path
    assert error.reason.startswith(f"{side} database is damaged: SQLite's integrity check fails")


def test_integrity_check_of_a_wal_database_writes_nothing(tmp_path: Path) -> None:
    src = build_node(tmp_path / "src", identities=["s1"], prefix="w-", wal_identities=["w1"])
    dst = build_node(tmp_path / "dst", identities=["d1"], prefix="wd-", wal_identities=["w2"])
    before = tree_state(src.folder.root), tree_state(dst.folder.root)
    plan = plan_merge(src.folder.root, dst.folder.root)
    assert {i.key_file for i in plan.identities} == {"s1.key", "w1.key"}
    assert (tree_state(src.folder.root), tree_state(dst.folder.root)) == before


@pytest.mark.parametrize("kind", ["file", "dangling symlink"])
def test_backups_entry_that_is_not_a_folder_is_refused(
    src: FixtureNode, dst: FixtureNode, tmp_path: Path, kind: str
) -> None:
    entry = dst.folder.root / "backups"
    if kind == "file":
        entry.write_text("x")
    else:
        entry.symlink_to(tmp_path / "nowhere")
    error = _refused(src.folder.root, dst.folder.root, MergeRefused)
    assert error.message.startswith(f"{entry}: exists but is not a folder")
    assert plan_merge(src.folder.root, dst.folder.root, backup=False).keys


def test_backups_folder_behind_a_symlink_is_fine(
    src: FixtureNode, dst: FixtureNode, tmp_path: Path
) -> None:
    (tmp_path / "elsewhere").mkdir()
    (dst.folder.root / "backups").symlink_to(tmp_path / "elsewhere")
    assert plan_merge(src.folder.root, dst.folder.root).backup


def test_rerun_after_the_node_wrote_new_rows_is_already_merged(
    src: FixtureNode, dst: FixtureNode
) -> None:
    execute(plan_merge(src.folder.root, dst.folder.root))
    # The node runs on and registers s1 with one more PoET: the target now has more rows.
    node_id = bytes.fromhex(src.identities["s1.key"])
    rows = identity_rows(9, node_id, 0)["poet_registration"][:1]
    rows[0]["address"] = "https://poet-999.spacemesh.network"
    conn = sqlite3.connect(dst.folder.db_path)
    try:
        insert_rows(conn, 9, {"poet_registration": rows})
        conn.commit()
    finally:
        conn.close()

    again = plan_merge(src.folder.root, dst.folder.root)

    # Not "key files already exist; rename them", whose advice leads to a duplicate identity.
    assert again.already_merged and again.nothing_to_do


def test_an_empty_target_database_is_named_as_such(src: FixtureNode, tmp_path: Path) -> None:
    dst = build_node(tmp_path / "dst", identities=["d1"], prefix="empty-d-")
    dst.folder.db_path.write_bytes(b"")
    error = _refused(src.folder.root, dst.folder.root, UnsupportedVersion)
    assert error.message.startswith(
        f"{dst.folder.db_path}: target database is empty or at schema version 0: it holds no "
        "node database"
    )
    assert "remove the empty local.sql" in (error.hint or "")
