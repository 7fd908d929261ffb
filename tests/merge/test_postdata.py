"""--post-data: each PoST data folder is tied to an identity of the merged node."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from mergetool._exceptions import PostDataMismatch
from mergetool.merge import plan_merge
from mergetool.merge.postdata import link_post_data, read_node_id
from mergetool.node.fixtures import FixtureNode, test_key
from tests.postdata_helpers import write_post_metadata


def test_read_node_id(tmp_path: Path) -> None:
    node_id = test_key("pd").node_id
    assert read_node_id(write_post_metadata(tmp_path / "p", node_id)) == node_id


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "does not exist"),
        ("{", "not valid JSON"),
        ('{"NumUnits": 4}', "missing field 'NodeId'"),
        ("[1, 2]", "expected a JSON object"),
        ('{"NodeId": "!!!"}', "NodeId is not base64: '!!!'"),
        ('{"NodeId": 7}', "NodeId is not base64: 7"),
        (
            json.dumps({"NodeId": base64.b64encode(b"short").decode()}),
            "NodeId must decode to 32 bytes, got 5",
        ),
    ],
    ids=["missing", "not-json", "no-node-id", "list", "not-base64", "not-string", "wrong-length"],
)
def test_unreadable_metadata_is_refused(tmp_path: Path, content: str | None, reason: str) -> None:
    directory = tmp_path / "p"
    directory.mkdir()
    if content is not None:
        (directory / "postdata_metadata.json").write_text(content)
    with pytest.raises(PostDataMismatch) as info:
        read_node_id(directory)
    assert reason in str(info.value) and "(" + "'" not in str(info.value)
    assert str(directory / "postdata_metadata.json") in str(info.value)


def test_mapping_and_warnings_for_identities_without_data(tmp_path: Path) -> None:
    a, b = test_key("pd-a").node_id, test_key("pd-b").node_id
    links, warnings = link_post_data(
        [write_post_metadata(tmp_path / "pa", a)], {a: "a.key", b: "b.key"}
    )
    assert [(link.identity_file, link.node_id) for link in links] == [("a.key", a.hex())]
    assert [(w.code, w.message.split()[0]) for w in warnings] == [("no_post_data", "b.key")]


def test_plan_maps_source_and_target_identities(
    src: FixtureNode, dst: FixtureNode, tmp_path: Path
) -> None:
    dirs = [
        write_post_metadata(tmp_path / "p-s1", bytes.fromhex(src.identities["s1.key"])),
        write_post_metadata(tmp_path / "p-d1", bytes.fromhex(dst.identities["d1.key"])),
    ]
    plan = plan_merge(src.folder.root, dst.folder.root, post_data=dirs)
    assert {(p.directory.name, p.identity_file) for p in plan.post_data} == {
        ("p-s1", "s1.key"),
        ("p-d1", "d1.key"),
    }
    missing = [w.message for w in plan.warnings if w.code == "no_post_data"]
    assert len(missing) == 1 and missing[0].startswith("s2.key")


def test_unknown_node_id_is_refused(src: FixtureNode, dst: FixtureNode, tmp_path: Path) -> None:
    stranger = test_key("pd-stranger").node_id
    directory = write_post_metadata(tmp_path / "p-x", stranger)
    with pytest.raises(PostDataMismatch) as info:
        plan_merge(src.folder.root, dst.folder.root, post_data=[directory])
    assert f"node id {stranger.hex()} belongs to no identity of the merged node" in str(info.value)
