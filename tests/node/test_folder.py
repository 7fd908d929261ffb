"""Listing identity files as the node does, and recognising a node data folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from mergetool._exceptions import NotANodeFolder
from mergetool.node.fixtures import test_key
from mergetool.node.folder import NodeFolder, open_folder
from mergetool.node.keys import write_key


def _folder(tmp_path: Path) -> NodeFolder:
    folder = NodeFolder(tmp_path / "node")
    folder.identities_dir.mkdir(parents=True)
    return folder


def test_lists_only_key_files_sorted_skipping_directories_and_clutter(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    ids = folder.identities_dir
    for name in ("zeta.key", "alpha.key", "local.key", "Mid.key"):
        write_key(test_key(name), ids / name)
    (ids / "x.key").mkdir()  # a directory with a key's name: the node skips it
    (ids / "sub").mkdir()
    (ids / "sub" / "nested.key").write_bytes(test_key("nested").to_file_bytes())
    for clutter in (".DS_Store", "desktop.ini", "notes.txt", "id.key.bak", "key", "id.KEY"):
        (ids / clutter).write_bytes(b"x")

    listed = folder.identity_files()

    assert [f.name for f in listed] == ["Mid.key", "alpha.key", "local.key", "zeta.key"]
    assert [f.supervised for f in listed] == [False, False, True, False]
    assert all(f.path.parent == ids for f in listed)
    assert not any(f.is_symlink for f in listed)


def test_symlinked_key_is_listed_and_flagged(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    real = tmp_path / "elsewhere.key"
    real.write_bytes(test_key("s").to_file_bytes())
    (folder.identities_dir / "linked.key").symlink_to(real)
    (listed,) = folder.identity_files()
    assert listed.name == "linked.key" and listed.is_symlink


def test_missing_identities_folder_lists_nothing(tmp_path: Path) -> None:
    assert NodeFolder(tmp_path).identity_files() == []


def test_paths_of_a_node_folder(tmp_path: Path) -> None:
    folder = NodeFolder(tmp_path)
    assert folder.db_path == tmp_path / "local.sql"
    assert folder.wal_path == tmp_path / "local.sql-wal"
    assert folder.shm_path == tmp_path / "local.sql-shm"
    assert folder.identities_dir == tmp_path / "identities"
    assert folder.supervised_key == tmp_path / "identities" / "local.key"


def test_pending_wal_means_a_non_empty_wal_file(tmp_path: Path) -> None:
    folder = NodeFolder(tmp_path)
    assert not folder.has_pending_wal()
    folder.wal_path.write_bytes(b"")
    assert not folder.has_pending_wal()
    folder.wal_path.write_bytes(b"frames")
    assert folder.has_pending_wal()


def test_open_folder_refuses_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(NotANodeFolder) as info:
        open_folder(tmp_path / "nope")
    assert str(info.value) == f"{tmp_path / 'nope'}: node data folder does not exist"


def test_open_folder_refuses_a_file(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("")
    with pytest.raises(NotANodeFolder, match="data folder, but not a folder"):
        open_folder(tmp_path / "f")


def test_open_folder_without_local_sql_explains(tmp_path: Path) -> None:
    with pytest.raises(NotANodeFolder) as info:
        open_folder(tmp_path, side="source")
    assert info.value.path == tmp_path / "local.sql"
    assert "source database not found" in str(info.value)
    assert "--data-folder" in str(info.value.hint)


def test_open_folder_recognises_a_1_3_folder(tmp_path: Path) -> None:
    (tmp_path / "node_state.sql").write_bytes(b"")
    with pytest.raises(NotANodeFolder) as info:
        open_folder(tmp_path)
    assert "v1.4" in str(info.value.hint)


def test_open_folder_may_accept_a_folder_yet_to_be_created(tmp_path: Path) -> None:
    folder = open_folder(tmp_path / "new", must_exist=False, side="target")
    assert folder.root == tmp_path / "new"
    assert not folder.root.exists()
