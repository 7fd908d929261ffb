"""What `plan_init`, `initialize` and `read_metadata` refuse; a refusal writes nothing."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from mergetool._exceptions import InvalidParameters, MetadataError, PostError
from mergetool.post.initialize import initialize, plan_init
from mergetool.post.metadata import (
    MAX_FILES,
    PostMetadata,
    layout_problem,
    read_metadata,
    write_metadata,
)
from tests.post.post_helpers import ATX_ID, NODE_ID, DataSet

U64_MAX = (1 << 64) - 1
OTHER_NODE = bytes(range(1, 33))


def snapshot(directory: Path) -> dict[str, object]:
    """Name -> bytes (regular files), link target (links) or kind: to show nothing changed."""
    if not directory.exists():
        return {}
    out: dict[str, object] = {}
    for path in sorted(directory.iterdir()):
        if path.is_symlink():
            out[path.name] = ("link", os.readlink(path))
        elif path.is_file():
            out[path.name] = path.read_bytes()
        else:
            out[path.name] = ("special", path.stat().st_mode)
    return out


def plan(directory: Path, **kw: object):  # noqa: ANN201 - an InitPlan
    args: dict[str, object] = {
        "node_id": NODE_ID, "commitment_atx_id": ATX_ID, "num_units": 2, "labels_per_unit": 256,
        "scrypt_n": 2, "max_file_size": 4096,
    }  # fmt: skip
    args.update(kw)
    return plan_init(directory, **args)  # type: ignore[arg-type]


def copy_of(dataset: DataSet, tmp_path: Path) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(dataset.directory, copy)
    return copy


# --- 1. data files without metadata ---------------------------------------------------------


def test_data_files_without_metadata_are_refused(tmp_path: Path) -> None:
    (tmp_path / "postdata_0.bin").write_bytes(b"\x01" * 4096)
    (tmp_path / "postdata_1.bin").write_bytes(b"\x02" * 100)
    before = snapshot(tmp_path)
    with pytest.raises(PostError, match="holds PoST data files but no postdata_metadata.json") as e:
        plan(tmp_path)
    assert "postdata_0.bin, postdata_1.bin" in e.value.message
    assert str(tmp_path) in e.value.message
    assert "restore their postdata_metadata.json" in (e.value.hint or "")
    assert snapshot(tmp_path) == before


def test_many_orphan_files_are_summarised(tmp_path: Path) -> None:
    for i in range(12):
        (tmp_path / f"postdata_{i}.bin").write_bytes(b"")
    with pytest.raises(PostError) as e:
        plan(tmp_path)
    assert e.value.message.endswith(
        ": postdata_0.bin, postdata_1.bin, postdata_2.bin, "
        "postdata_3.bin, postdata_4.bin and 7 more"
    )


# --- 2. identity: checked first, written last -----------------------------------------------


def test_no_key_is_made_when_the_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameters, match="max file size must be a multiple of 16"):
        plan(tmp_path / "new", node_id=None, max_file_size=4097)
    assert not (tmp_path / "new").exists()


def test_a_new_key_is_only_written_by_initialize(tmp_path: Path) -> None:
    new = tmp_path / "new"
    p = plan(new, node_id=None, num_units=1, max_file_size=1024)
    assert not new.exists()
    assert p.identity_file == new / "identity.key" and p.new_identity is not None
    assert "seed" not in repr(p) and p.new_identity.seed.hex() not in repr(p)
    result = initialize(p, backend="numpy")
    assert (new / "identity.key").read_bytes() == p.new_identity.to_file_bytes()
    assert result.metadata.node_id == p.new_identity.node_id
    # A second run uses that key and keeps the data.
    again = plan(new, node_id=None, num_units=1, max_file_size=1024)
    assert again.new_identity is None and again.metadata.node_id == p.new_identity.node_id
    assert again.kept_files == 4 and again.tasks == ()


def test_no_key_is_made_when_the_backend_is_refused(tmp_path: Path) -> None:
    p = plan(tmp_path / "new", node_id=None, num_units=1, labels_per_unit=16, scrypt_n=1 << 20)
    with pytest.raises(InvalidParameters, match="too small for one label"):
        initialize(p, backend="numpy", memory_budget=1 << 20)
    assert not (tmp_path / "new").exists()


def test_existing_data_without_key_or_node_id_is_refused(dataset: DataSet, tmp_path: Path) -> None:
    copy = copy_of(dataset, tmp_path)
    before = snapshot(copy)
    with pytest.raises(PostError, match="already holds PoST data") as e:
        plan(copy, node_id=None, max_file_size=2048)
    assert str(copy) in e.value.message and NODE_ID.hex() in e.value.message
    assert f"`node_id={NODE_ID.hex()}`" in (e.value.hint or "")  # the library names parameters
    assert snapshot(copy) == before  # in particular: no identity.key


def test_a_key_file_for_another_node_is_named_as_such(dataset: DataSet, tmp_path: Path) -> None:
    from mergetool.node.fixtures import test_key

    copy = copy_of(dataset, tmp_path)
    key = test_key("init-other")
    (copy / "identity.key").write_bytes(key.to_file_bytes())
    with pytest.raises(MetadataError, match=f"identity.key has: {key.node_id.hex()}"):
        plan(copy, node_id=None, max_file_size=2048)


def test_each_differing_value_names_where_it_came_from(dataset: DataSet, tmp_path: Path) -> None:
    """The node id came from identity.key; the number of units from the caller."""
    from mergetool.node.fixtures import test_key

    copy = copy_of(dataset, tmp_path)
    key = test_key("init-other")
    (copy / "identity.key").write_bytes(key.to_file_bytes())
    with pytest.raises(MetadataError) as e:
        plan(copy, node_id=None, num_units=3, max_file_size=2048)
    assert e.value.message == (
        f"{copy / 'postdata_metadata.json'} describes different PoST data: "
        f"node {NODE_ID.hex()} (identity.key has: {key.node_id.hex()}); num units 2 (asked: 3)"
    )


# --- free space ------------------------------------------------------------------------------


def test_init_refuses_more_than_the_free_space(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    target = tmp_path / "pd"
    small = plan(target)  # 2 units x 256 labels x 16 bytes = 8192 bytes to write
    free = shutil.disk_usage(tmp_path)._replace(free=8191)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: free)
    with pytest.raises(PostError) as e:
        initialize(small, backend="numpy")
    assert e.value.message == (
        f"{target}: 8192 bytes (0.0 GiB) still to write, but its file system has 8191 bytes "
        "(0.0 GiB) free"
    )
    assert e.value.parameter == "space_check"
    assert not target.exists()  # nothing written, not even the directory
    result = initialize(small, backend="numpy", space_check=False)
    assert result.labels_written == 512


# --- 3./4. limits, checked before anything is read or written --------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"max_file_size": 1 << 64}, "max file size must be a multiple of 16 between 16 and"),
        ({"max_file_size": 0}, "max file size must be a multiple of 16"),
        ({"labels_per_unit": 1 << 64}, f"labels per unit must be between 1 and {U64_MAX}, got"),
        ({"labels_per_unit": 0}, "labels per unit must be between 1 and"),
        ({"num_units": 1 << 32}, "num units must be between 1 and 4294967295, got 4294967296"),
        ({"num_units": 4, "labels_per_unit": 1 << 32}, "gives 67108864 data files"),
        ({"labels_per_unit": 10**9, "max_file_size": 16}, "gives 2000000000 data files"),
        ({"num_units": 1 << 31, "labels_per_unit": 1 << 40}, "more than a 64-bit index"),
    ],
)
def test_impossible_layouts_are_refused_up_front(
    tmp_path: Path, change: dict, message: str
) -> None:
    with pytest.raises(InvalidParameters, match=message):
        plan(tmp_path / "new", node_id=None, **change)
    assert not (tmp_path / "new").exists()


def test_the_file_limit_is_the_one_read_metadata_uses(tmp_path: Path) -> None:
    assert layout_problem(MAX_FILES, 1, 16) is None
    assert layout_problem(MAX_FILES + 1, 1, 16) == (
        "NumFiles",
        f"NumUnits x LabelsPerUnit / (MaxFileSize / 16) = 1 x {MAX_FILES + 1} / 1 gives "
        f"{MAX_FILES + 1} data files (more than {MAX_FILES})",
    )
    with pytest.raises(InvalidParameters, match=f"gives {MAX_FILES + 1} data files"):
        plan(tmp_path, num_units=1, labels_per_unit=MAX_FILES + 1, max_file_size=16)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"MaxFileSize": 1 << 64}, "MaxFileSize must be a multiple of 16 between 16 and"),
        ({"Nonce": 512}, "Nonce 512 is not a label index of this data .it holds 512 labels"),
        ({"Nonce": 1 << 64}, "Nonce 18446744073709551616 is not a label index"),
        ({"Nonce": 10**40}, "Nonce 10{40} is not a label index"),
        ({"NumUnits": 1 << 31, "LabelsPerUnit": 1 << 40}, "more than a 64-bit index"),
    ],
)
def test_implausible_metadata_is_named(tmp_path: Path, change: dict, message: str) -> None:
    write_metadata(tmp_path, PostMetadata(bytes(32), bytes(32), 256, 2, 1024, nonce=5))
    path = tmp_path / "postdata_metadata.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **change}))
    with pytest.raises(MetadataError, match=message) as e:
        read_metadata(tmp_path)
    assert e.value.exit_code == 1 and e.value.message.startswith(f"{path}: ")


def test_the_last_label_is_a_valid_nonce(tmp_path: Path) -> None:
    write_metadata(tmp_path, PostMetadata(bytes(32), bytes(32), 256, 2, 1024, nonce=511))
    assert read_metadata(tmp_path).nonce == 511


# --- 5. entries that are not data files ------------------------------------------------------


def test_a_directory_named_like_a_data_file_is_refused(dataset: DataSet, tmp_path: Path) -> None:
    copy = copy_of(dataset, tmp_path)
    (copy / "postdata_1.bin").unlink()
    (copy / "postdata_1.bin").mkdir()
    before = snapshot(copy)
    with pytest.raises(PostError, match="postdata_1.bin is a directory, not a PoST data file"):
        plan(copy, max_file_size=2048)
    assert snapshot(copy) == before


def test_a_fifo_named_like_a_data_file_is_refused_not_opened(
    dataset: DataSet, tmp_path: Path
) -> None:
    copy = copy_of(dataset, tmp_path)
    (copy / "postdata_3.bin").unlink()
    os.mkfifo(copy / "postdata_3.bin")
    before = snapshot(copy)
    with pytest.raises(PostError, match=r"postdata_3.bin is a FIFO \(named pipe\)") as e:
        plan(copy, max_file_size=2048)
    assert str(copy / "postdata_3.bin") in e.value.message
    assert snapshot(copy) == before


def test_initialize_never_waits_on_a_fifo(tmp_path: Path) -> None:
    # Appeared after planning: refused when opened for writing, not waited on.
    p = plan(tmp_path / "d", num_units=1, max_file_size=1024)
    (tmp_path / "d").mkdir()
    os.mkfifo(tmp_path / "d" / "postdata_2.bin")
    with pytest.raises(PostError, match="postdata_2.bin"):
        initialize(p, backend="numpy")


def test_a_dangling_link_is_not_written_through(dataset: DataSet, tmp_path: Path) -> None:
    copy = copy_of(dataset, tmp_path)
    (copy / "postdata_2.bin").unlink()
    (copy / "postdata_2.bin").symlink_to(tmp_path / "elsewhere.bin")
    before = snapshot(copy)
    with pytest.raises(PostError, match="postdata_2.bin is a symbolic link to a missing file"):
        plan(copy, max_file_size=2048)
    assert snapshot(copy) == before and not (tmp_path / "elsewhere.bin").exists()


def test_a_link_to_a_data_file_is_kept(dataset: DataSet, tmp_path: Path) -> None:
    copy = copy_of(dataset, tmp_path)
    (copy / "postdata_0.bin").rename(tmp_path / "moved.bin")
    (copy / "postdata_0.bin").symlink_to(tmp_path / "moved.bin")
    assert plan(copy, max_file_size=2048).kept_files == 4


# --- 6. unreadable metadata ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" * 100_000, "JSON nested too deeply"),
        ('{"a": ' * 100_000, "JSON nested too deeply"),
        ("{", "not valid JSON"),
    ],
)
def test_unreadable_metadata_is_named(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "postdata_metadata.json"
    path.write_text(text)
    with pytest.raises(MetadataError, match=message) as e:
        read_metadata(tmp_path)
    assert e.value.message.startswith(f"cannot read {path}: ")
    with pytest.raises(MetadataError, match=message):
        plan(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["postdata_metadata.json"]


def test_a_fifo_as_metadata_is_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "postdata_metadata.json")
    with pytest.raises(MetadataError, match="postdata_metadata.json: not a regular file"):
        read_metadata(tmp_path)
