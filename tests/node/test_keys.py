"""Identity key files: the node's validation rules, private material never shown, safe writes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from mergetool._exceptions import InvalidKeyFile
from mergetool._fs import TEMP_MARK
from mergetool.node.fixtures import test_key
from mergetool.node.keys import IdentityKey, load_key, parse_key, write_key

KEY = test_key("keys-matrix")
OTHER = test_key("keys-other")
VALID = KEY.to_file_bytes()
SEED_HEX = KEY.seed.hex()

# name -> (file content, words the reason must contain)
INVALID = {
    "empty": (b"", "empty"),
    "127 characters": (VALID[:127], "found 127"),
    "129 characters": (VALID + b"0", "found 129"),
    "trailing LF": (VALID + b"\n", "line break"),
    "trailing CRLF": (VALID + b"\r\n", "line break"),
    "non-hex": (VALID[:40] + b"zz" + VALID[42:], "offset 40"),
    "space inside": (VALID[:64] + b" " + VALID[65:], "not hex"),
    "mismatched halves": (KEY.seed.hex().encode() + OTHER.public_key.hex().encode(), "match"),
}


def _write(tmp_path: Path, data: bytes, name: str = "id.key") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_valid_key_loads_with_public_key_as_node_id(tmp_path: Path) -> None:
    key = load_key(_write(tmp_path, VALID))
    assert key == KEY
    assert key.node_id == key.public_key == bytes.fromhex(VALID[64:].decode())
    assert key.node_id_hex == VALID[64:].decode()
    assert len(key.node_id) == 32


def test_upper_case_hex_is_accepted_with_the_same_node_id(tmp_path: Path) -> None:
    # The node's hex decoder accepts upper case; so must we.
    key = load_key(_write(tmp_path, VALID.upper()))
    assert key.node_id == KEY.node_id
    assert key.seed == KEY.seed


def test_mixed_case_hex_is_accepted(tmp_path: Path) -> None:
    mixed = VALID[:64].upper() + VALID[64:]
    assert load_key(_write(tmp_path, mixed)).node_id == KEY.node_id


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_key_is_refused_naming_file_and_defect(tmp_path: Path, case: str) -> None:
    data, words = INVALID[case]
    path = _write(tmp_path, data)
    with pytest.raises(InvalidKeyFile) as info:
        load_key(path)
    err = info.value
    assert err.path == path
    assert words in err.reason
    assert str(path) in str(err)
    assert err.reason in str(err)


@pytest.mark.parametrize("case", sorted(INVALID))
def test_parse_key_agrees_with_load_key(tmp_path: Path, case: str) -> None:
    with pytest.raises(InvalidKeyFile):
        parse_key(INVALID[case][0], tmp_path / "x.key")


@pytest.mark.parametrize("case", sorted(INVALID))
def test_errors_never_contain_private_material(tmp_path: Path, case: str) -> None:
    data, _ = INVALID[case]
    with pytest.raises(InvalidKeyFile) as info:
        load_key(_write(tmp_path, data))
    text = " ".join([str(info.value), repr(info.value), info.value.reason, str(info.value.hint)])
    text += repr(info.value.to_dict())
    for secret in (SEED_HEX, VALID.decode(), SEED_HEX.upper()):
        assert secret.lower() not in text.lower()


def test_symlinked_key_is_refused(tmp_path: Path) -> None:
    real = _write(tmp_path, VALID, "real.key")
    link = tmp_path / "link.key"
    link.symlink_to(real)
    with pytest.raises(InvalidKeyFile) as info:
        load_key(link)
    assert "symbolic link" in info.value.reason


def test_missing_key_file_is_an_invalid_key_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidKeyFile) as info:
        load_key(tmp_path / "absent.key")
    assert info.value.path == tmp_path / "absent.key"


def test_repr_and_str_never_show_the_seed() -> None:
    for text in (repr(KEY), str(KEY), f"{KEY}", f"{KEY!r}", repr([KEY]), repr({"k": KEY})):
        assert SEED_HEX not in text
        assert VALID.decode() not in text
        assert KEY.node_id_hex in text


def test_keys_refuse_to_be_pickled() -> None:
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(KEY)


def test_generated_keys_round_trip_through_a_file(tmp_path: Path) -> None:
    key = IdentityKey.generate()
    path = tmp_path / "identities" / "fresh.key"
    write_key(key, path)
    assert path.read_bytes() == key.to_file_bytes()
    assert load_key(path) == key


def test_write_key_is_private_and_leaves_no_temp_file(tmp_path: Path) -> None:
    ids = tmp_path / "node" / "identities"
    path = ids / "a.key"
    write_key(KEY, path)
    assert path.read_bytes() == VALID
    assert len(VALID) == 128 and VALID.islower()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(ids.stat().st_mode) == 0o700
    assert os.listdir(ids) == ["a.key"]
    assert not any(TEMP_MARK in name for name in os.listdir(ids))


def test_write_key_replaces_atomically(tmp_path: Path) -> None:
    path = tmp_path / "identities" / "a.key"
    write_key(OTHER, path)
    inode_before = path.stat().st_ino
    write_key(KEY, path)
    assert load_key(path) == KEY
    # A fresh inode means the new content was renamed into place, never written in place.
    assert path.stat().st_ino != inode_before
    assert os.listdir(path.parent) == ["a.key"]


def test_write_key_is_0600_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        write_key(KEY, tmp_path / "identities" / "a.key")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "identities" / "a.key").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "identities").stat().st_mode) == 0o700


def test_committed_sample_keys(shared_datadir: Path) -> None:
    # Sample files as users have them: upper-case from a hex tool, and one saved by an editor.
    upper = load_key(shared_datadir / "keys" / "upper.key")
    assert upper.node_id == test_key("datadir-sample").node_id
    with pytest.raises(InvalidKeyFile, match="line break"):
        load_key(shared_datadir / "keys" / "editor-newline.key")


def test_long_file_reports_its_real_length(tmp_path: Path) -> None:
    # e.g. two keys pasted into one file
    with pytest.raises(InvalidKeyFile) as info:
        load_key(_write(tmp_path, VALID * 2))
    assert "found 256 bytes" in info.value.reason


def test_directory_named_like_a_key_is_an_invalid_key_file(tmp_path: Path) -> None:
    (tmp_path / "x.key").mkdir()
    with pytest.raises(InvalidKeyFile, match="not a regular file"):
        load_key(tmp_path / "x.key")


def test_fifo_named_like_a_key_is_refused_without_hanging(tmp_path: Path) -> None:
    # Opening a FIFO nobody writes to would block forever.
    os.mkfifo(tmp_path / "pipe.key")
    with pytest.raises(InvalidKeyFile, match="not a regular file"):
        load_key(tmp_path / "pipe.key")
