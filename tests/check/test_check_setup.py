"""``check_setup`` as a whole: inspect's warnings as findings, other nodes' identities."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from mergetool.check.setup import check_setup
from mergetool.node.fixtures import FixtureNode
from mergetool.node.inspect import inspect_node
from tests.check.check_helpers import Setup, in_time


def _inspect_json(node: Path, out: Path) -> Path:
    out.write_text(json.dumps(inspect_node(node).to_dict()))
    return out


def test_inspect_warnings_become_findings_naming_their_file(
    node_factory: Callable[..., FixtureNode],
) -> None:
    node = node_factory(supervised=True, duplicate_key=True, orphan_rows=1)
    report = check_setup(node.folder.root)
    by_code = {f.code: f for f in report.findings}
    root = node.folder.root
    assert by_code["supervised"].level == "error"
    assert by_code["supervised"].path == root / "identities" / "local.key"
    assert str(root / "identities" / "local.key") in by_code["supervised"].message
    assert by_code["duplicate_identity"].level == "error"
    duplicate = by_code["duplicate_identity"].message  # inspect's words, prefixed by the folder
    assert duplicate.startswith(f"{root}: ") and "id-1-copy.key" in duplicate
    assert by_code["rows_without_key"].level == "warning"
    assert by_code["rows_without_key"].path == root / "local.sql"
    assert not report.ok


def test_without_config_or_dirs_it_says_what_was_not_checked(setup: Setup) -> None:
    report = check_setup(setup.node, preset="test")
    assert [(f.code, f.level, f.message) for f in report.findings] == [
        ("config_not_checked", "note", "no --config given: the node's config was not checked"),
        ("post_dirs_not_checked", "note", "no --dir given: the PoST data folders were not checked"),
    ]
    assert report.ok


def test_an_identity_on_two_nodes_names_both_files(
    setup: Setup, node_factory: Callable[..., FixtureNode]
) -> None:
    other = node_factory("other", identities=("id-2", "other-1"))
    against = _inspect_json(other.folder.root, setup.root / "other.json")
    report = check_setup(setup.node, against=[against], preset="test")
    [finding] = [f for f in report.findings if f.code == "equivocation"]
    assert finding.level == "error" and finding.path == against
    assert finding.message == (
        f"identity {setup.identities['id-2.key'][0]} is on two nodes: "
        f"{setup.node}/identities/id-2.key and {other.folder.root}/identities/id-2.key (listed "
        f"in {against}). The same identity must never run on two nodes (it is banned for "
        "good): remove its key from one of them before either smeshes again."
    )
    assert not report.ok


def test_a_report_given_twice_is_one_other_node(
    setup: Setup, node_factory: Callable[..., FixtureNode]
) -> None:
    other = node_factory("other", identities=("id-2", "other-1"))
    against = _inspect_json(other.folder.root, setup.root / "other.json")
    report = check_setup(setup.node, against=[against, against], preset="test")
    assert [f.code for f in report.findings if f.level == "error"] == ["equivocation"]


def test_nodes_without_a_shared_identity_pass(
    setup: Setup, node_factory: Callable[..., FixtureNode]
) -> None:
    other = node_factory("other", identities=("other-1",))
    against = _inspect_json(other.folder.root, setup.root / "other.json")
    report = check_setup(setup.node, against=[against], preset="test")
    assert [f.code for f in report.findings if f.level == "error"] == []


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (
            "{",
            "line 1 column 2: not valid JSON (Expecting property name enclosed in double quotes)",
        ),
        ("[]", 'not a `mergetool inspect --json` report (no "identities" list)'),
        ('{"identities": [{"node_id": "abc"}]}', "node_id 'abc' is not 64 hex digits"),
    ],
)
def test_an_against_file_that_is_no_inspect_report(setup: Setup, text: str, reason: str) -> None:
    bad = setup.root / "bad.json"
    bad.write_text(text)
    report = check_setup(setup.node, against=[bad], preset="test")
    [finding] = [f for f in report.findings if f.code == "against_invalid"]
    assert finding.message == (
        f"{bad}: {reason}; make it on the other machine with "
        "`mergetool inspect --json NODE_DIR > FILE`."
    )


def test_an_against_fifo_is_refused_at_once(setup: Setup) -> None:
    import os

    fifo = setup.root / "other.json"
    os.mkfifo(fifo)
    report = in_time(lambda: check_setup(setup.node, against=[fifo], preset="test"))
    [finding] = [f for f in report.findings if f.code == "against_invalid"]
    assert finding.message == (
        f"{fifo}: cannot read it (it is a FIFO (named pipe), not a regular file); make it on the "
        "other machine with `mergetool inspect --json NODE_DIR > FILE`."
    )


def test_the_report_is_frozen_and_reads_only(
    setup: Setup, tree_digest: Callable[[Path], dict[str, str]]
) -> None:
    before = tree_digest(setup.root)
    report = check_setup(setup.node, config=setup.config, post_dirs=setup.dirs, preset="test")
    assert tree_digest(setup.root) == before
    with pytest.raises(AttributeError):
        report.preset = "mainnet"  # type: ignore[misc]
