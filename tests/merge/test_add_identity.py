"""add_identity: a postcli identity.key installed safely, or refused with nothing written."""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

import pytest

from mergetool._exceptions import (
    DuplicateIdentity,
    InvalidKeyFile,
    MergeFailed,
    MergetoolError,
    NameCollision,
    NotANodeFolder,
    PostDataMismatch,
    SupervisedNode,
    UsageProblem,
)
from mergetool.merge.add_identity import add_identity, plan_add_identity
from mergetool.node.fixtures import FixtureNode, build_node, test_key
from mergetool.node.keys import IdentityKey
from tests.merge.merge_helpers import leftovers, mode, tree_state
from tests.postdata_helpers import post_folder, write_post_metadata

post_dir = post_folder  # (the name these tests use)


@pytest.fixture
def new_key() -> IdentityKey:
    return test_key("add-new")


def test_installs_as_node_id_key_0600(tmp_path: Path, dst: FixtureNode, new_key) -> None:
    plan = plan_add_identity(post_dir(tmp_path / "post", new_key), dst.folder.root)
    target = dst.folder.identities_dir / f"{new_key.node_id_hex}.key"
    assert plan.target_file == target and plan.node_id == new_key.node_id_hex
    assert not target.exists()  # planning writes nothing
    assert add_identity(plan) == target
    assert target.read_bytes() == new_key.to_file_bytes()
    assert mode(target) == 0o600
    assert leftovers(dst.folder.root) == []
    assert not plan.keep_copy and not plan.key_file.exists()  # moved by default


def test_keep_copy_leaves_the_original(tmp_path: Path, dst: FixtureNode, new_key) -> None:
    post = post_dir(tmp_path / "post", new_key)
    plan = plan_add_identity(post, dst.folder.root, keep_copy=True)
    assert plan.to_dict(installed=False)["moved"] is False
    add_identity(plan)
    assert (post / "identity.key").read_bytes() == plan.target_file.read_bytes()


def test_original_that_cannot_be_removed_takes_the_copy_back(
    tmp_path: Path, dst: FixtureNode, new_key, monkeypatch
) -> None:
    post = post_dir(tmp_path / "post", new_key)
    plan = plan_add_identity(post, dst.folder.root)
    before = tree_state(dst.folder.root), tree_state(post)
    real_unlink = Path.unlink

    def refuse(self: Path, missing_ok: bool = False) -> None:
        if self.name == "identity.key":
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", refuse)
    with pytest.raises(MergeFailed) as info:
        add_identity(plan)
    monkeypatch.undo()
    assert info.value.message == (
        f"{post / 'identity.key'}: cannot remove it (Permission denied); nothing was installed"
    )
    assert (tree_state(dst.folder.root), tree_state(post)) == before


@pytest.mark.parametrize("name", ["foo", "foo.key"])
def test_installs_under_the_given_name(tmp_path: Path, dst: FixtureNode, new_key, name) -> None:
    plan = plan_add_identity(post_dir(tmp_path / "post", new_key), dst.folder.root, name)
    add_identity(plan)
    assert (dst.folder.identities_dir / "foo.key").read_bytes() == new_key.to_file_bytes()


def _refused(post: Path, node: Path, error: type[MergetoolError], name: str | None = None):
    before = tree_state(node), tree_state(post)
    with pytest.raises(error) as info:
        add_identity(plan_add_identity(post, node, name))
    assert (tree_state(node), tree_state(post)) == before
    return info.value


def test_key_not_matching_metadata(tmp_path: Path, dst: FixtureNode, new_key) -> None:
    post = post_dir(tmp_path / "post", new_key, metadata_for=test_key("someone-else"))
    error = _refused(post, dst.folder.root, PostDataMismatch)
    assert f"holds identity {new_key.node_id_hex}" in str(error)
    assert "postdata_metadata.json" in str(error)


def test_identity_already_in_node_under_another_name(tmp_path: Path, dst: FixtureNode) -> None:
    existing = test_key("dst-d1")  # the dst fixture's d1.key
    error = _refused(post_dir(tmp_path / "post", existing), dst.folder.root, DuplicateIdentity)
    assert error.second == dst.folder.identities_dir / "d1.key"


def test_name_clash(tmp_path: Path, dst: FixtureNode, new_key) -> None:
    error = _refused(post_dir(tmp_path / "post", new_key), dst.folder.root, NameCollision, "d1")
    assert error.names == ["d1.key"]


def test_supervised_node(tmp_path: Path, new_key) -> None:
    node = build_node(tmp_path / "node", identities=["n1"], prefix="ai-", supervised=True)
    error = _refused(post_dir(tmp_path / "post", new_key), node.folder.root, SupervisedNode)
    assert error.path == node.folder.supervised_key


@pytest.mark.parametrize(
    "content",
    [b"", b"00" * 64, test_key("x").to_file_bytes() + b"\n"],
    ids=["empty", "zeros", "newline"],
)
def test_invalid_identity_key(tmp_path: Path, dst: FixtureNode, new_key, content) -> None:
    post = post_dir(tmp_path / "post", new_key)
    (post / "identity.key").write_bytes(content)
    error = _refused(post, dst.folder.root, InvalidKeyFile)
    assert error.path == post / "identity.key"


def test_missing_identity_key(tmp_path: Path, dst: FixtureNode) -> None:
    post = write_post_metadata(tmp_path / "post", test_key("m").node_id)
    error = _refused(post, dst.folder.root, NotANodeFolder)
    assert "identity.key" in str(error)


@pytest.mark.parametrize(
    "name", ["../escape", "local", "local.key", ".hidden", "a/b", " ", "a\nb", "tab\t", ""]
)
def test_unusable_names(tmp_path: Path, dst: FixtureNode, new_key, name) -> None:
    error = _refused(post_dir(tmp_path / "post", new_key), dst.folder.root, UsageProblem, name)
    assert error.message == f"`name` {name!r}: not usable as an identity file name"
    assert error.exit_code == 2


def test_unusable_name_is_refused_before_anything_is_read(tmp_path: Path) -> None:
    with pytest.raises(UsageProblem):
        plan_add_identity(tmp_path / "no-post", tmp_path / "no-node", "a b")


def test_missing_node_folder(tmp_path: Path, new_key) -> None:
    _refused(post_dir(tmp_path / "post", new_key), tmp_path / "nowhere", NotANodeFolder)
    assert not (tmp_path / "nowhere").exists()


def test_folder_above_the_node_is_refused(tmp_path: Path, new_key) -> None:
    real = build_node(tmp_path / "spacemesh" / "node_data", identities=["n1"], prefix="up-")
    error = _refused(post_dir(tmp_path / "post", new_key), tmp_path / "spacemesh", NotANodeFolder)
    assert error.hint == f"Did you mean {real.folder.root}?"


@pytest.mark.parametrize("version", [None, 2, 99])
def test_target_database_the_node_cannot_open_is_refused(
    tmp_path: Path, dst: FixtureNode, new_key, version: int | None
) -> None:
    if version is None:
        dst.folder.db_path.write_bytes(b"junk" * 300)
    else:
        with sqlite3.connect(dst.folder.db_path) as conn:
            conn.execute(f"PRAGMA user_version = {version}")
    _refused(post_dir(tmp_path / "post", new_key), dst.folder.root, MergetoolError)


def test_new_node_folder_with_no_database_yet(tmp_path: Path, new_key) -> None:
    (tmp_path / "fresh").mkdir()
    plan = plan_add_identity(post_dir(tmp_path / "post", new_key), tmp_path / "fresh")
    assert add_identity(plan).parent == tmp_path / "fresh" / "identities"


def test_failed_write_leaves_no_partial_key(
    tmp_path: Path, dst: FixtureNode, new_key, monkeypatch
) -> None:
    plan = plan_add_identity(post_dir(tmp_path / "post", new_key), dst.folder.root)
    before = tree_state(dst.folder.root)

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(MergeFailed, match="No space left on device"):
        add_identity(plan)
    monkeypatch.undo()
    assert tree_state(dst.folder.root) == before
