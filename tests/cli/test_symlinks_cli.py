"""Symbolic links the node follows: seen as the node sees them, and treated alike by merge
and restore."""

from __future__ import annotations

import os
from pathlib import Path

from click.testing import CliRunner, Result

from mergetool.cli.main import cli
from mergetool.cli.merge_nodes import merge_cmd
from mergetool.node.fixtures import FixtureNode
from mergetool.node.inspect import inspect_node


def _merge(src: FixtureNode, dst: FixtureNode, *extra: str) -> Result:
    args = ["-f", str(src.folder.root), "-t", str(dst.folder.root), *extra]
    return CliRunner().invoke(merge_cmd, args)


def test_a_target_key_linked_to_a_source_key_is_one_identity_twice(
    node_factory, tree_digest
) -> None:
    src = node_factory("src", identities=["s1"], prefix="sl-s-")
    dst = node_factory("dst", identities=["d1"], prefix="sl-d-")
    link = dst.folder.identities_dir / "linked.key"
    link.symlink_to(src.folder.identities_dir / "s1.key")
    before = tree_digest(dst.folder.root)

    result = _merge(src, dst)

    # The node follows the link: merging s1 would give it the same identity twice.
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"Error: {src.folder.identities_dir / 's1.key'} and {link} hold the same identity "
    )
    assert "duplicate key found in identity files" in result.stderr
    assert tree_digest(dst.folder.root) == before
    codes = {w.code for w in inspect_node(dst.folder.root).warnings}
    assert "symlink_key" in codes


def test_a_linked_local_sql_is_refused_alike_by_merge_and_restore(
    node_factory, tmp_path: Path, tree_digest
) -> None:
    src = node_factory("src", identities=["s1"], prefix="sl2-s-")
    dst = node_factory("dst", identities=["d1"], prefix="sl2-d-")
    assert _merge(src, dst).exit_code == 0  # a backup to restore from
    elsewhere = tmp_path / "disk2"
    elsewhere.mkdir()
    os.replace(dst.folder.db_path, elsewhere / "local.sql")
    dst.folder.db_path.symlink_to(elsewhere / "local.sql")
    other = node_factory("other", identities=["o1"], prefix="sl2-o-")
    before = tree_digest(dst.folder.root), tree_digest(elsewhere)

    merged = _merge(other, dst)
    restored = CliRunner().invoke(cli, ["restore", str(dst.folder.root)])

    expected = (
        f"Error: {dst.folder.db_path}: is a symbolic link (to {elsewhere / 'local.sql'}); "
        "the database is written in place, never through a link\n"
    )
    for result in (merged, restored):
        assert result.exit_code == 1
        assert result.stderr.startswith(expected)
    assert (tree_digest(dst.folder.root), tree_digest(elsewhere)) == before
