"""scrypt-jane against its published vectors and post-rs labels, and Keccak-512 itself."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mergetool._exceptions import InvalidParameters
from mergetool.post.backends.numpy_backend import NumpyBackend
from mergetool.post.labels import commitment, compute_labels
from mergetool.post.scrypt import keccak512, romix_numpy, scrypt_jane
from mergetool.post.scrypt_packed import romix_packed
from tests.post.post_helpers import VECTORS

SHARED = Path(__file__).resolve().parents[3] / "shared" / "vectors"


def test_keccak512_uses_original_padding() -> None:
    # Keccak-512("") with the 0x01 pad byte (SHA3-512 would give a6 9f 73 ...).
    empty = keccak512(np.zeros((1, 0), dtype=np.uint8)).tobytes().hex()
    assert empty.startswith("0eab42de4c3ceb9235fc91acffe746b29c29a8c366b7c60e4e67c466f36a4304")


def test_keccak512_multi_block_batch_matches_row_by_row() -> None:
    rows = np.random.default_rng(1).integers(0, 256, size=(3, 200), dtype=np.uint8)
    batch = keccak512(rows)
    for i in range(3):
        assert (keccak512(rows[i : i + 1])[0] == batch[i]).all()


@pytest.mark.parametrize("index", [0, 1])
def test_scrypt_jane_kat(vectors: dict, index: int) -> None:
    kat = vectors["kat"][index]
    out = scrypt_jane(
        bytes.fromhex(kat["password_hex"]), bytes.fromhex(kat["salt_hex"]),
        kat["n"], kat["r"], kat["p"], kat["dklen"],
    )  # fmt: skip
    assert out.hex() == kat["output_hex"]


def test_post_labels_vectors(vectors: dict) -> None:
    for case in vectors["post_labels"]:
        node, atx = bytes.fromhex(case["node_id"]), bytes.fromhex(case["commitment_atx_id"])
        key = commitment(node, atx)
        assert key.hex() == case["commitment"]
        # One batch per case: at N = 8192 a batch of 4 costs what one label does.
        indices = [label["index"] for label in case["labels"]]
        full = NumpyBackend().compute_labels_at(key, indices, case["scrypt"]["n"], True)
        for row, label in zip(full, case["labels"], strict=True):
            assert row.tobytes().hex() == label["scrypt_output_32"]
            assert row[:16].tobytes().hex() == label["label_16"]


def test_compute_labels_range_matches_vectors(vectors: dict) -> None:
    case = vectors["post_labels"][0]  # N = 2, indices 0..3
    key = bytes.fromhex(case["commitment"])
    short = compute_labels(key, 0, 4, scrypt_n=2, backend="numpy")
    full = compute_labels(key, 0, 4, scrypt_n=2, backend="numpy", full=True)
    assert short.shape == (4, 16) and full.shape == (4, 32)
    assert [r.tobytes().hex() for r in short] == [x["label_16"] for x in case["labels"]]
    assert [r.tobytes().hex() for r in full] == [x["scrypt_output_32"] for x in case["labels"]]


@pytest.mark.parametrize("name", ["scrypt-jane-labels.json", "randomx.json"])
def test_committed_vectors_are_present_and_match_shared_ones_when_beside(name: str) -> None:
    # The tests read the committed copy; ../shared/vectors, when beside the clone, must agree.
    committed = json.loads((VECTORS / name).read_text())
    assert committed
    if SHARED.is_dir():
        assert committed == json.loads((SHARED / name).read_text())


@pytest.mark.parametrize("batch", [1, 5, 70])
def test_packed_and_numpy_romix_agree(batch: int) -> None:
    chunks = np.random.default_rng(batch).integers(0, 1 << 32, (batch, 32), dtype=np.uint64)
    chunks = chunks.astype(np.uint32)
    before = chunks.copy()
    assert (romix_numpy(chunks, 32, 1) == romix_packed(chunks, 32)).all()
    assert (chunks == before).all()  # neither mutates its input


@pytest.mark.parametrize("n", [0, 1, 3, 12])
def test_n_must_be_a_power_of_two(n: int) -> None:
    with pytest.raises(InvalidParameters, match="power of two"):
        scrypt_jane(b"", b"", n, 1, 1, 32)
