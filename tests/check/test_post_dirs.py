"""Identities and their PoST data folders (made as `post init --preset test` makes them)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from mergetool.check.setup import check_setup
from mergetool.node.fixtures import test_key
from mergetool.post.metadata import METADATA_FILE, read_metadata, write_metadata
from tests.check.check_helpers import Setup, init_post_dir
from tests.schema_check import loads_valid


def _run(s: Setup, dirs: list[Path] | None = None, preset: str = "test") -> list[tuple[str, str]]:
    report = check_setup(
        s.node, config=s.config, post_dirs=s.dirs if dirs is None else dirs, preset=preset
    )
    return [(f.code, f.level) for f in report.findings]


def _messages(s: Setup, code: str, dirs: list[Path] | None = None) -> list[str]:
    report = check_setup(s.node, post_dirs=s.dirs if dirs is None else dirs, preset="test")
    return [f.message for f in report.findings if f.code == code]


def test_a_good_setup_has_no_finding(setup: Setup) -> None:
    report = check_setup(setup.node, config=setup.config, post_dirs=setup.dirs, preset="test")
    assert report.findings == ()
    assert report.ok


def test_a_key_without_its_folder(setup: Setup) -> None:
    node_hex, folder = setup.identities["id-2.key"]
    found = _messages(setup, "post_dir_missing", [setup.identities["id-1.key"][1]])
    assert found == [
        f"{setup.node}/identities/id-2.key ({node_hex}) has no PoST data folder among --dir: "
        "the identity cannot prove. Add its folder with --dir, or initialize one."
    ]


def test_a_folder_whose_id_has_no_key(setup: Setup) -> None:
    stranger = test_key("stranger")
    folder = init_post_dir(setup.root / "stranger", stranger.node_id, bytes(32))
    [message] = _messages(setup, "post_dir_orphan", [*setup.dirs, folder])
    assert message == (
        f"{folder / METADATA_FILE}: node id {stranger.node_id_hex} has no key in identities/: a "
        "service for it would never be asked for a proof. Install its key if it belongs to "
        "this node, or leave the folder out."
    )


def test_an_orphan_folder_with_its_identity_key_says_how_to_install_it(setup: Setup) -> None:
    folder = setup.root / "new"
    plan_dir = init_post_dir(folder, test_key("new").node_id, bytes(32))
    from mergetool.node.keys import write_key

    write_key(test_key("new"), plan_dir / "identity.key")
    [message] = _messages(setup, "post_dir_orphan", [*setup.dirs, folder])
    assert f"install it with `mergetool add-identity --post-dir {folder} --to NODE_DIR`" in message


def test_two_folders_for_one_identity(setup: Setup) -> None:
    import shutil

    first = setup.identities["id-1.key"][1]
    copy = setup.root / "copy"
    shutil.copytree(first, copy)
    [message] = _messages(setup, "post_dir_duplicate", [*setup.dirs, copy])
    assert message.startswith(
        f"{first} and {copy} are data for the same identity {setup.identities['id-1.key'][0]}: "
        "run one service for it only"
    )
    # The same folder named twice is one folder.
    assert _messages(setup, "post_dir_duplicate", [*setup.dirs, first]) == []


def test_num_units_out_of_range(setup: Setup) -> None:
    assert ("num_units_out_of_range", "error") in _run(setup, preset="mainnet")
    [message] = [
        f.message
        for f in check_setup(setup.node, post_dirs=setup.dirs[:1]).findings
        if f.code == "num_units_out_of_range"
    ]
    assert message == (
        f"{setup.dirs[0] / METADATA_FILE}: NumUnits 1 is outside the mainnet range "
        "[4, 4294967295]: the node rejects its proofs. Initialize the data again with a number "
        "of units in range."
    )
    assert ("num_units_out_of_range", "error") not in _run(setup)


def test_incomplete_data(setup: Setup) -> None:
    folder = setup.dirs[0]
    meta = read_metadata(folder)
    write_metadata(folder, meta.with_progress(meta.nonce, 100))
    [message] = _messages(setup, "post_data_incomplete")
    assert message == (
        f"{folder / METADATA_FILE}: initialization is incomplete (LastPosition 100, 256 labels "
        "needed): finish it (`mergetool post init` or postcli on this folder) before its "
        "service is started."
    )
    write_metadata(folder, meta.with_progress(None, 100))
    [message] = _messages(setup, "post_data_incomplete")
    assert "initialization is incomplete (no Nonce yet, 256 labels needed)" in message
    # Older tools wrote no LastPosition once finished: complete data, not an error.
    write_metadata(folder, meta.with_progress(meta.nonce, None))
    assert _messages(setup, "post_data_incomplete") == []


def test_a_missing_data_file_is_incomplete_data(setup: Setup) -> None:
    folder = setup.dirs[1]
    os.truncate(folder / "postdata_2.bin", 10)
    assert _messages(setup, "post_data_incomplete") == [
        f"{folder / 'postdata_2.bin'} holds 10 bytes, expected 1024, although the metadata says "
        "initialization finished: restore the file, or move it aside and re-run "
        "`mergetool post init`."
    ]
    (folder / "postdata_2.bin").unlink()
    assert _messages(setup, "post_data_incomplete") == [
        f"{folder / 'postdata_2.bin'} is missing, although the metadata says initialization "
        "finished: restore the file, or move it aside and re-run `mergetool post init`."
    ]


def test_unreadable_metadata_names_the_file(setup: Setup) -> None:
    folder = setup.dirs[0]
    (folder / METADATA_FILE).write_text("{")
    [message] = _messages(setup, "post_metadata_invalid")
    assert message.startswith(f"cannot read {folder / METADATA_FILE}: not valid JSON")
    dirs = [setup.root / "nowhere", setup.config, *setup.dirs]
    assert _messages(setup, "post_dir_invalid", dirs) == [
        f"{setup.root / 'nowhere'}: does not exist; give each PoST data folder with --dir.",
        f"{setup.config}: not a directory; give each PoST data folder with --dir.",
    ]


def test_a_commitment_differing_from_the_nodes_initial_post(setup: Setup) -> None:
    folder = setup.dirs[0]
    doc = loads_valid((folder / METADATA_FILE).read_text(), "post-metadata")
    node_commitment = read_metadata(folder).commitment_atx_id
    import base64

    doc["CommitmentAtxId"] = base64.b64encode(b"\x07" * 32).decode()
    (folder / METADATA_FILE).write_text(json.dumps(doc))
    assert _messages(setup, "commitment_mismatch") == [
        f"{folder / METADATA_FILE}: CommitmentAtxId {'07' * 32} differs from "
        f"{node_commitment.hex()} in the node's initial post for "
        f"{setup.identities['id-1.key'][0]}: the node would reject this data. Use the data "
        "folder this identity was initialized with."
    ]


def test_a_stray_identity_key_next_to_an_installed_one(
    setup: Setup, stray_key: Callable[[Setup, str], Path]
) -> None:
    stray = stray_key(setup, "id-2.key")
    report = check_setup(setup.node, post_dirs=setup.dirs, preset="test")
    [finding] = [f for f in report.findings if f.code == "stray_identity_key"]
    assert finding.level == "warning" and finding.path == stray
    installed = setup.node / "identities" / "id-2.key"
    assert finding.message == (
        f"{stray} is a second copy of the private key in {installed}: after checking that "
        f"id-2.key is installed and backed up, remove {stray} (a stray copy of a key can end up "
        "running on a second node)."
    )
    assert report.ok  # a warning, not an error
