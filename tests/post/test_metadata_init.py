"""postdata_metadata.json and initialization: layout, resume, identity, VRF nonce."""

from __future__ import annotations

import json
import shutil
import stat
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from mergetool._exceptions import InvalidParameters, MetadataError
from mergetool.post.initialize import initialize, plan_init
from mergetool.post.labels import commitment, compute_labels
from mergetool.post.metadata import PostMetadata, read_metadata, write_metadata
from tests.post.post_helpers import ATX_ID, EASY_POW, NODE_ID, DataSet
from tests.schema_check import loads_valid


def test_metadata_json_is_post_rs_shaped(tmp_path: Path) -> None:
    meta = PostMetadata(b"\x01" * 32, b"\x02" * 32, 256, 3, 4096, nonce=7, last_position=768)
    write_metadata(tmp_path, meta)
    doc = loads_valid((tmp_path / "postdata_metadata.json").read_text(), "post-metadata")
    assert list(doc) == [
        "NodeId", "CommitmentAtxId", "LabelsPerUnit", "NumUnits", "MaxFileSize", "Nonce",
        "LastPosition",
    ]  # fmt: skip
    assert doc["NodeId"] == "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
    assert read_metadata(tmp_path) == meta


def test_a_symlinked_metadata_file_is_updated_where_it_lives(tmp_path: Path) -> None:
    meta = PostMetadata(b"\x01" * 32, b"\x02" * 32, 256, 3, 4096, nonce=None, last_position=0)
    (tmp_path / "elsewhere").mkdir()
    write_metadata(tmp_path / "elsewhere", meta)
    link = tmp_path / "postdata_metadata.json"
    link.symlink_to(tmp_path / "elsewhere" / "postdata_metadata.json")
    write_metadata(tmp_path, meta.with_progress(7, 768))
    assert link.is_symlink()
    assert read_metadata(tmp_path / "elsewhere").last_position == 768


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"NodeId": "not base64!"}, "NodeId is not base64"),
        ({"NodeId": "AQID"}, "NodeId must decode to 32 bytes, got 3"),
        ({"NumUnits": -1}, "NumUnits must be a non-negative integer, got -1"),
        ({"NumUnits": 0}, "NumUnits must be between 1 and 4294967295, got 0"),
        ({"NumUnits": 2**70}, "NumUnits must be between 1 and 4294967295"),
        ({"LabelsPerUnit": 0}, "LabelsPerUnit must be between 1 and"),
        ({"LabelsPerUnit": 2**40, "MaxFileSize": 16}, "data files.*the metadata is not plausible"),
        ({"MaxFileSize": 100}, "MaxFileSize must be a multiple of 16 .*, got 100"),
    ],
)
def test_bad_metadata_is_named(tmp_path: Path, change: dict, message: str) -> None:
    write_metadata(tmp_path, PostMetadata(bytes(32), bytes(32), 16, 1, 256))
    path = tmp_path / "postdata_metadata.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **change}))
    with pytest.raises(MetadataError, match=message):
        read_metadata(tmp_path)


def test_missing_metadata(tmp_path: Path) -> None:
    with pytest.raises(MetadataError, match="postdata_metadata.json does not exist"):
        read_metadata(tmp_path)


def test_files_hold_the_labels_in_order(dataset: DataSet) -> None:
    meta = read_metadata(dataset.directory)
    assert (meta.num_units, meta.labels_per_unit, meta.max_file_size) == (2, 256, 2048)
    assert meta.last_position == 512
    stored = b"".join((dataset.directory / f"postdata_{i}.bin").read_bytes() for i in range(4))
    expected = compute_labels(commitment(NODE_ID, ATX_ID), 0, 512, scrypt_n=2, backend="numpy")
    assert stored == expected.tobytes()


def test_vrf_nonce_is_the_smallest_full_label(dataset: DataSet) -> None:
    full = compute_labels(
        commitment(NODE_ID, ATX_ID), 0, 512, scrypt_n=2, backend="numpy", full=True
    )
    smallest = min(range(512), key=lambda i: full[i].tobytes())
    assert read_metadata(dataset.directory).nonce == smallest


def test_vrf_nonce_none_when_nothing_is_below_the_difficulty(tmp_path: Path) -> None:
    plan = plan_init(
        tmp_path, node_id=NODE_ID, commitment_atx_id=ATX_ID, num_units=1, labels_per_unit=64,
        scrypt_n=2, max_file_size=512, vrf_difficulty=bytes(32),
    )  # fmt: skip
    assert initialize(plan, backend="numpy").metadata.nonce is None


@pytest.mark.parametrize("first_byte", [0x00, 0x04, 0x30, 0xFF])
def test_numpy_labels_and_vrf_equal_brute_force(first_byte: int) -> None:
    from mergetool.post.backends.numpy_backend import NumpyBackend

    key = commitment(NODE_ID, ATX_ID)
    difficulty = bytes([first_byte]) + b"\xff" * 31
    full = compute_labels(key, 1000, 200, scrypt_n=4, backend="numpy", full=True)
    below = [(full[i].tobytes(), 1000 + i) for i in range(200) if full[i].tobytes() < difficulty]
    expected = (min(below)[1], min(below)[0]) if below else None
    # Batches of 9 labels: the candidate does not depend on how the range is split.
    impl = NumpyBackend(memory_budget=9 * (704 * 4 + 4096))
    assert impl.batch_size(4) == 9
    labels, found = impl.compute_labels_and_vrf(key, 1000, 200, 4, difficulty)
    assert np.array_equal(labels, full[:, :16]) and found == expected


def test_vrf_nonce_with_a_difficulty_some_labels_beat(tmp_path: Path) -> None:
    difficulty = b"\x10" + b"\xff" * 31
    plan = plan_init(
        tmp_path, node_id=NODE_ID, commitment_atx_id=ATX_ID, num_units=1, labels_per_unit=300,
        scrypt_n=2, max_file_size=512, vrf_difficulty=difficulty,
    )  # fmt: skip
    result = initialize(plan, backend="numpy", memory_budget=100_000)
    full = compute_labels(
        commitment(NODE_ID, ATX_ID), 0, 300, scrypt_n=2, backend="numpy", full=True
    )
    below = [(full[i].tobytes(), i) for i in range(300) if full[i].tobytes() < difficulty]
    assert result.metadata.nonce == min(below)[1]
    assert result.nonce_value == min(below)[0]


def test_last_file_may_be_shorter(tmp_path: Path) -> None:
    plan = plan_init(
        tmp_path, node_id=NODE_ID, commitment_atx_id=ATX_ID, num_units=1, labels_per_unit=100,
        scrypt_n=2, max_file_size=640,
    )  # fmt: skip
    result = initialize(plan, backend="numpy")
    assert result.backend == "numpy" and result.files_written == 3
    sizes = [(tmp_path / f"postdata_{i}.bin").stat().st_size for i in range(3)]
    assert sizes == [640, 640, 320]


def test_resume_continues_from_the_last_complete_file(dataset: DataSet, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(dataset.directory, copy)
    original = {p.name: p.read_bytes() for p in copy.iterdir()}
    (copy / "postdata_2.bin").write_bytes(b"\x00" * 100)  # interrupted mid-file
    (copy / "postdata_3.bin").unlink()
    plan = plan_init(
        copy, node_id=NODE_ID, commitment_atx_id=ATX_ID, num_units=2, labels_per_unit=256,
        scrypt_n=2, max_file_size=2048, vrf_difficulty=EASY_POW,
    )  # fmt: skip
    assert plan.kept_files == 2 and [t.index for t in plan.tasks] == [2, 3]
    result = initialize(plan, backend="numpy")
    assert result.labels_written == 256
    assert {p.name: p.read_bytes() for p in copy.iterdir()} == original


def test_resume_keeps_fields_this_version_does_not_know(dataset: DataSet, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(dataset.directory, copy)
    path = copy / "postdata_metadata.json"
    doc = loads_valid(path.read_text(), "post-metadata")
    doc["Scrypt"] = {"N": 2, "R": 1, "P": 1}  # written by some newer tool
    path.write_text(json.dumps(doc))
    (copy / "postdata_3.bin").unlink()
    plan = plan_init(
        copy, node_id=NODE_ID, commitment_atx_id=ATX_ID, num_units=2, labels_per_unit=256,
        scrypt_n=2, max_file_size=2048, vrf_difficulty=EASY_POW,
    )  # fmt: skip
    initialize(plan, backend="numpy")
    rewritten = loads_valid(path.read_text(), "post-metadata")
    assert rewritten == doc
    assert list(rewritten)[-1] == "Scrypt"  # after the fields post-rs writes, in its order
    assert sorted(p.name for p in copy.iterdir() if not p.name.startswith("postdata_")) == []


def test_init_refused_by_the_backend_writes_nothing(tmp_path: Path) -> None:
    plan = plan_init(
        tmp_path / "new", node_id=NODE_ID, commitment_atx_id=ATX_ID, num_units=1,
        labels_per_unit=16, scrypt_n=1 << 20,
    )  # fmt: skip
    with pytest.raises(InvalidParameters, match="too small for one label"):
        initialize(plan, backend="numpy", memory_budget=1 << 20)
    assert not (tmp_path / "new").exists()


def test_a_changed_nonce_drops_a_stale_nonce_value() -> None:
    meta = PostMetadata(bytes(32), bytes(32), 16, 2, 256, nonce=5, extra=(("NonceValue", "AAAA"),))
    assert meta.with_progress(5, 32).extra == (("NonceValue", "AAAA"),)
    assert meta.with_progress(7, 32).extra == ()


def test_init_records_its_position_before_the_first_file(tmp_path: Path) -> None:
    plan = plan_init(
        tmp_path / "new", node_id=NODE_ID, commitment_atx_id=ATX_ID, num_units=2,
        labels_per_unit=64, scrypt_n=2, max_file_size=512,
    )  # fmt: skip
    seen = []

    def progress(done: int, total: int) -> None:
        seen.append(read_metadata(tmp_path / "new").last_position)

    initialize(plan, backend="numpy", progress=progress)
    assert seen[0] == 0 and read_metadata(tmp_path / "new").last_position == 128


def test_resume_refuses_other_parameters(dataset: DataSet) -> None:
    with pytest.raises(MetadataError, match="describes different PoST data"):
        plan_init(
            dataset.directory, node_id=NODE_ID, commitment_atx_id=ATX_ID, num_units=3,
            labels_per_unit=256, scrypt_n=2, max_file_size=2048,
        )  # fmt: skip


def test_plan_does_not_write(tmp_path: Path) -> None:
    plan_init(
        tmp_path / "new", node_id=NODE_ID, commitment_atx_id=ATX_ID, num_units=1,
        labels_per_unit=16, scrypt_n=2,
    )  # fmt: skip
    assert not (tmp_path / "new").exists()


def _identity_of(directory: Path) -> bytes:
    """The node id ``plan_init`` settles on without --node-id (writing a new key if planned)."""
    plan = plan_init(
        directory, commitment_atx_id=ATX_ID, num_units=1, labels_per_unit=16, scrypt_n=2
    )
    initialize(plan, backend="numpy")
    return plan.metadata.node_id


def test_new_identity_file(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    node_id = _identity_of(tmp_path)
    path = tmp_path / "identity.key"
    text = path.read_text()
    assert len(text) == 128 and not text.endswith("\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    seed = bytes.fromhex(text)[:32]
    derived = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
    assert derived == node_id == bytes.fromhex(text)[32:]
    assert _identity_of(tmp_path) == node_id  # reused on resume


def test_metadata_replace_keeps_values() -> None:
    meta = PostMetadata(bytes(32), bytes(32), 16, 2, 256)
    assert (
        replace(meta, nonce=3).nonce == 3
        and meta.num_files == 2
        and meta.file_labels(1) == (16, 16)
    )


def test_existing_identity_must_pass_the_node_rules(tmp_path: Path) -> None:
    from mergetool._exceptions import InvalidKeyFile
    from mergetool.node.fixtures import test_key

    path = tmp_path / "identity.key"
    good, other = test_key("init-a"), test_key("init-b")
    path.write_bytes(good.to_file_bytes() + b"\n")
    with pytest.raises(InvalidKeyFile, match="trailing newline|line break"):
        _identity_of(tmp_path)
    path.write_bytes((good.seed + other.public_key).hex().encode())
    with pytest.raises(InvalidKeyFile, match="do not match"):
        _identity_of(tmp_path)
    path.write_bytes(good.to_file_bytes())
    assert _identity_of(tmp_path) == good.node_id
