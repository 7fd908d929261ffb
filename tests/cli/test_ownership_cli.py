"""Run as root against a node owned by its own user: everything written stays the node's."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from mergetool.cli.main import cli
from mergetool.cli.merge_nodes import merge_cmd

NODE_USER = (65534, 65534)  # nobody:nogroup, as `chown -R nobody:nogroup a` in the report

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="giving files away needs root")


def _chown_tree(root: Path) -> None:
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [".", *dirnames, *filenames]:
            os.lchown(Path(dirpath, name), *NODE_USER)


def _owners(root: Path) -> dict[str, tuple[int, int]]:
    found = {}
    for path in [root, *root.rglob("*")]:
        info = path.lstat()
        found[str(path.relative_to(root))] = (info.st_uid, info.st_gid)
    return found


def test_merge_and_restore_as_root_keep_the_nodes_owner(node_factory) -> None:
    src = node_factory("src", identities=["s1", "s2"], prefix="own-s-")
    dst = node_factory("dst", identities=["d1"], prefix="own-d-")
    _chown_tree(dst.folder.root)

    merged = CliRunner().invoke(merge_cmd, ["-f", str(src.folder.root), "-t", str(dst.folder.root)])
    assert merged.exit_code == 0, merged.output
    owners = _owners(dst.folder.root)
    assert "identities/s1.key" in owners and any(k.startswith("backups/") for k in owners)
    assert {k: v for k, v in owners.items() if v != NODE_USER} == {}
    assert (dst.folder.identities_dir / "s1.key").stat().st_mode & 0o777 == 0o600

    restored = CliRunner().invoke(cli, ["restore", str(dst.folder.root)])
    assert restored.exit_code == 0, restored.output
    assert {k: v for k, v in _owners(dst.folder.root).items() if v != NODE_USER} == {}
