"""mergetool add-identity: install a postcli identity.key, or refuse with nothing written."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from mergetool.cli.main import cli
from mergetool.node.fixtures import FixtureNode, test_key
from mergetool.node.keys import IdentityKey
from tests.postdata_helpers import post_folder as post_dir
from tests.schema_check import loads_valid


def run(*args: object) -> Result:
    result = CliRunner().invoke(cli, ["add-identity", *map(str, args)])
    assert "Traceback" not in result.output
    return result


@pytest.fixture
def node(node_factory) -> FixtureNode:
    return node_factory("node", identities=["n1"], prefix="aic-")


@pytest.fixture
def key() -> IdentityKey:
    return test_key("aic-new")


def _keys(node: FixtureNode) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in node.folder.identities_dir.iterdir()}


def test_installs_under_node_id(tmp_path: Path, node: FixtureNode, key: IdentityKey) -> None:
    post = post_dir(tmp_path / "post", key)
    result = run("--post-dir", post, "--to", node.folder.root)
    assert result.exit_code == 0, result.output
    target = node.folder.identities_dir / f"{key.node_id_hex}.key"
    assert result.stdout == (
        f"Moved {post / 'identity.key'} to {target} ({key.node_id_hex}).\n"
        "Restart the node to load it; keep the PoST service for it pointed at this node.\n"
    )
    assert target.read_bytes() == key.to_file_bytes()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(_keys(node)) == sorted(["n1.key", target.name])
    assert not (post / "identity.key").exists()  # moved, as the operator guide says


def test_keep_copy_leaves_the_original(tmp_path: Path, node: FixtureNode, key) -> None:
    post = post_dir(tmp_path / "post", key)
    target = node.folder.identities_dir / f"{key.node_id_hex}.key"
    dry = run("--post-dir", post, "--to", node.folder.root, "--keep-copy", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert dry.stdout == f"Would copy {post / 'identity.key'} to {target} ({key.node_id_hex}).\n"
    result = run("--post-dir", post, "--to", node.folder.root, "--keep-copy", "--json")
    assert result.exit_code == 0, result.output
    assert loads_valid(result.stdout, "add-identity")["moved"] is False
    assert (post / "identity.key").read_bytes() == target.read_bytes() == key.to_file_bytes()


def test_the_check_after_the_documented_path_warns_nothing(
    tmp_path: Path, node: FixtureNode, key: IdentityKey
) -> None:
    post = post_dir(tmp_path / "post", key)
    assert run("--post-dir", post, "--to", node.folder.root).exit_code == 0
    check = CliRunner().invoke(cli, ["check", str(node.folder.root), "--dir", str(post)])
    assert "stray_identity_key" not in check.output
    assert "identity.key" not in check.output


def test_running_it_twice_says_the_key_is_already_installed(
    tmp_path: Path, node: FixtureNode, key: IdentityKey
) -> None:
    post = post_dir(tmp_path / "post", key)
    assert run("--post-dir", post, "--to", node.folder.root).exit_code == 0
    again = run("--post-dir", post, "--to", node.folder.root)
    assert again.exit_code == 1
    target = node.folder.identities_dir / f"{key.node_id_hex}.key"
    assert again.stderr == (
        f"Error: {post / 'identity.key'}: not found\n"
        f"Its identity {key.node_id_hex} is already installed as {target} "
        "(add-identity moves the key): nothing to do.\n"
    )


def test_original_we_may_not_remove_is_refused_before_writing(
    tmp_path: Path, node: FixtureNode, key: IdentityKey, tree_digest
) -> None:
    if os.geteuid() == 0:
        pytest.skip("root may remove files from any folder")
    post = post_dir(tmp_path / "post", key)
    post.chmod(0o500)
    try:
        before = tree_digest(node.folder.root)
        result = run("--post-dir", post, "--to", node.folder.root)
        assert tree_digest(node.folder.root) == before
    finally:
        post.chmod(0o700)
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"Error: {post}: this user may not remove identity.key from this folder\n"
        "Nothing was changed. Make the folder writable, or keep the original with --keep-copy"
    )


def test_missing_node_folder_says_what_to_do(tmp_path: Path, key: IdentityKey) -> None:
    post = post_dir(tmp_path / "post", key)
    result = run("--post-dir", post, "--to", tmp_path / "node_data")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {tmp_path / 'node_data'}: target data folder does not exist\n"
        "Check the path: it is the node's data folder (its --data-folder, e.g. ./node_data). "
        "For a node that has never run yet, create it first: "
        f"mkdir -p '{tmp_path / 'node_data'}', then run the same command again.\n"
    )
    assert (post / "identity.key").exists()


def test_name_option_and_json(tmp_path: Path, node: FixtureNode, key: IdentityKey) -> None:
    post = post_dir(tmp_path / "post", key)
    result = run("--post-dir", post, "--to", node.folder.root, "--name", "foo", "--json")
    assert result.exit_code == 0
    assert loads_valid(result.stdout, "add-identity") == {
        "format": 1,
        "file": str(node.folder.identities_dir / "foo.key"),
        "node_id": key.node_id_hex,
        "installed": True,
        "moved": True,
    }
    assert (node.folder.identities_dir / "foo.key").exists()


def test_dry_run_writes_nothing(tmp_path: Path, node: FixtureNode, key: IdentityKey) -> None:
    before = _keys(node)
    result = run(
        "--post-dir", post_dir(tmp_path / "post", key), "--to", node.folder.root, "--dry-run"
    )
    assert result.exit_code == 0 and result.stdout.startswith("Would move ")
    assert _keys(node) == before


def test_mismatched_metadata_is_refused(tmp_path: Path, node: FixtureNode, key) -> None:
    other = test_key("aic-other")
    post = post_dir(tmp_path / "post", key, metadata_for=other)
    before = _keys(node)
    result = run("--post-dir", post, "--to", node.folder.root)
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"Error: {post / 'identity.key'} holds identity {key.node_id_hex} but "
        f"{post / 'postdata_metadata.json'} belongs to {other.node_id_hex}\n"
    )
    assert _keys(node) == before


def test_duplicate_identity_is_refused(tmp_path: Path, node: FixtureNode) -> None:
    post = post_dir(tmp_path / "post", test_key("aic-n1"))
    result = run("--post-dir", post, "--to", node.folder.root, "--name", "again")
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"Error: {post / 'identity.key'} and {node.folder.identities_dir / 'n1.key'} "
        "hold the same identity"
    )
    assert not (node.folder.identities_dir / "again.key").exists()


def test_name_clash_is_refused(tmp_path: Path, node: FixtureNode, key: IdentityKey) -> None:
    before = _keys(node)
    result = run(
        "--post-dir", post_dir(tmp_path / "post", key), "--to", node.folder.root, "--name", "n1"
    )
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"Error: identity file n1.key already exists in {node.folder.identities_dir}\n"
    )
    assert _keys(node) == before


def test_supervised_node_is_refused(tmp_path: Path, node_factory, key: IdentityKey) -> None:
    node = node_factory("sup", identities=["n1"], prefix="aic-s-", supervised=True)
    before = _keys(node)
    result = run("--post-dir", post_dir(tmp_path / "post", key), "--to", node.folder.root)
    assert result.exit_code == 1
    assert "appears to be a supervised node" in result.stderr
    assert _keys(node) == before


def test_invalid_identity_key_is_refused(tmp_path: Path, node: FixtureNode, key) -> None:
    post = post_dir(tmp_path / "post", key)
    (post / "identity.key").write_bytes(key.to_file_bytes()[:100])
    before = _keys(node)
    result = run("--post-dir", post, "--to", node.folder.root)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: not a valid key file {post / 'identity.key'}: ")
    assert _keys(node) == before


def test_disk_full_is_a_clean_error(
    tmp_path: Path, node: FixtureNode, key: IdentityKey, monkeypatch
) -> None:
    post = post_dir(tmp_path / "post", key)
    before = _keys(node)

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(args[0]))

    monkeypatch.setattr(os, "replace", disk_full)
    result = run("--post-dir", post, "--to", node.folder.root)
    monkeypatch.undo()
    assert result.exit_code == 1
    assert "No space left on device" in result.stderr
    assert "bug in mergetool" not in result.stderr
    assert _keys(node) == before


def test_missing_options_are_bad_usage(node: FixtureNode) -> None:
    assert run("--to", node.folder.root).exit_code == 2


@pytest.mark.parametrize(
    "name", [" ", "a b", "a\nb", "a/b", "../up", ".hidden", "", "local", "ключ", "a" * 300]
)
def test_name_that_is_not_plain_is_bad_usage(
    tmp_path: Path, node: FixtureNode, key: IdentityKey, tree_digest, name: str
) -> None:
    post = post_dir(tmp_path / "post", key)
    before = tree_digest(node.folder.root), tree_digest(post)
    for dry in ((), ("--dry-run",)):
        result = run("--post-dir", post, "--to", node.folder.root, "--name", name, *dry)
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith(
            f"Error: --name {name!r}: not usable as an identity file name\n"
            "Use a plain name of letters, digits, '.', '_' and '-'"
        )
        assert (tree_digest(node.folder.root), tree_digest(post)) == before


@pytest.mark.parametrize("name", ["post-3", "My_Key.v2", "7.key"])
def test_plain_names_are_accepted(
    tmp_path: Path, node: FixtureNode, key: IdentityKey, name: str
) -> None:
    result = run(
        "--post-dir", post_dir(tmp_path / "post", key), "--to", node.folder.root, "--name", name
    )
    assert result.exit_code == 0, result.output
    file_name = name if name.endswith(".key") else f"{name}.key"
    assert (node.folder.identities_dir / file_name).read_bytes() == key.to_file_bytes()
