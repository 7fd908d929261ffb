"""Round trips init -> prove -> verify, and every kind of tampering rejected for its reason."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from mergetool._exceptions import (
    DataVerificationFailed,
    InvalidParameters,
    InvalidProof,
    ProvingFailed,
)
from mergetool.post.cipher import group_cipher, lazy_passes
from mergetool.post.compression import index_bits, pack_indices, unpack_indices
from mergetool.post.difficulty import proving_difficulty, scaled_pow_target
from mergetool.post.metadata import read_metadata, write_metadata
from mergetool.post.pos_verification import WINDOW, _sample_size, _windows, verify_data
from mergetool.post.pow import pow_is_valid
from mergetool.post.proof import Proof
from mergetool.post.prove import ProveReporter, generate_proof
from mergetool.post.verification import VerifyMode, verify_proof
from tests.post.post_helpers import ATX_ID, CHALLENGE, NODE_ID, DataSet, build, make_params


def prove(ds: DataSet, **kw: object) -> Proof:
    p = ds.params
    return generate_proof(
        ds.directory, CHALLENGE, k1=p.k1, k2=p.k2, pow_difficulty=p.pow_difficulty, **kw
    )  # type: ignore[arg-type]


ALL = VerifyMode("all")


def check(ds: DataSet, proof: Proof, mode: VerifyMode = ALL, **kw: object) -> None:
    verify_proof(
        proof, node_id=ds.node_id, commitment_atx_id=ds.atx_id, challenge=CHALLENGE,
        num_units=kw.pop("num_units", ds.num_units), params=kw.pop("params", ds.params),  # type: ignore[arg-type]
        mode=mode,
    )  # fmt: skip


@pytest.fixture(scope="module")
def proof(dataset: DataSet) -> Proof:
    return prove(dataset)


@pytest.mark.parametrize(
    ("units", "per_unit", "file_size", "k1", "k2", "chunk"),
    [
        (1, 64, 256, 6, 4, 1 << 16),  # 4 files
        (3, 100, 480, 20, 10, 7),  # 10 files, last one short; chunks straddle nothing
        (2, 128, 4096, 40, 30, 16),  # one file, many chunks
    ],
)
def test_round_trip(
    tmp_path: Path, units: int, per_unit: int, file_size: int, k1: int, k2: int, chunk: int
) -> None:
    params = make_params(labels_per_unit=per_unit, k1=k1, k2=k2, k3=k2)
    ds = build(tmp_path, params, units, file_size)
    found = prove(ds, chunk_labels=chunk)
    check(ds, found)
    indices = unpack_indices(found.indices, index_bits(units * per_unit), k2)
    assert len(set(indices)) == k2 and indices == sorted(indices)  # found in data order


def test_round_trip_dataset_all_modes(dataset: DataSet, proof: Proof) -> None:
    check(dataset, proof)
    check(dataset, proof, VerifyMode("one", 3))
    check(dataset, proof, VerifyMode("subset", seed=b"any seed"))


def test_threads_do_not_change_the_proof(dataset: DataSet, proof: Proof) -> None:
    two = prove(dataset, threads=2)
    check(dataset, two)
    assert two == proof


@pytest.mark.parametrize("workers", [2, 3])
def test_worker_processes_find_the_same_proof(dataset: DataSet, proof: Proof, workers: int) -> None:
    seen: list[tuple[int, int]] = []

    class Seen(ProveReporter):
        def scanned(self, done: int, total: int) -> None:
            seen.append((done, total))

    found = prove(dataset, threads=workers, chunk_labels=16, reporter=Seen())
    assert found == proof
    assert seen and seen[-1][1] == 512 * 16 and all(d <= t for d, t in seen)


def test_spans_merge_like_one_scan(tmp_path: Path) -> None:
    from mergetool.post.difficulty import proving_difficulty
    from mergetool.post.metadata import read_metadata
    from mergetool.post.scan import pick_winner, scan_range

    params = make_params(labels_per_unit=128, k1=30, k2=20, k3=20)
    ds = build(tmp_path, params, 3, 1024)
    meta = read_metadata(ds.directory)
    d = proving_difficulty(384, 30)
    args = (ds.directory, meta, CHALLENGE, {0: 0, 1: 5}, d, 20)
    whole = pick_winner([scan_range(*args, (0, 384), 7)], 20)
    assert whole is not None
    for cuts in ([0, 100, 384], [0, 64, 65, 300, 384]):
        spans = [scan_range(*args, (lo, hi), 7) for lo, hi in zip(cuts, cuts[1:], strict=False)]
        assert pick_winner(spans, 20) == whole


def test_proof_json_round_trip(proof: Proof) -> None:
    import json

    assert Proof.from_json(json.dumps(proof.to_dict())) == proof


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("{", "not JSON"),
        ("[]", "expected a JSON object"),
        ('{"nonce": 1, "pow": 0}', "missing field 'indices'"),
        ('{"nonce": -1, "indices": "", "pow": 0}', "nonce must be an integer in 0 .. 2.32-1"),
        ('{"nonce": 4294967296, "indices": "", "pow": 0}', "nonce must be an integer in 0"),
        ('{"nonce": 1, "indices": "", "pow": 18446744073709551616}', "pow must be an integer"),
        ("[" * 100000 + "]" * 100000, "nested too deeply"),
        (b"\xff\xfe{", "not UTF-8 text"),
        ('{"nonce": 1, "indices": "\u00e9", "pow": 0}', "indices are not valid base64"),
        ('{"nonce": 1, "indices": "***", "pow": 0}', "indices are not valid base64"),
        ('{"nonce": 1, "indices": 5, "pow": 0}', "indices must be a base64 string"),
    ],
)
def test_malformed_proof_json(text: str, detail: str) -> None:
    with pytest.raises(InvalidProof, match=detail) as info:
        Proof.from_json(text)
    assert info.value.reason == "malformed proof"


def _classify(ds: DataSet, proof: Proof, nonce: int) -> tuple[int | None, int | None]:
    """An index failing the msb check and one failing only the lsb check, for ``nonce``."""
    labels = np.concatenate(
        [
            np.fromfile(p, dtype=np.uint8).reshape(-1, 16)
            for p in sorted(
                ds.directory.glob("postdata_*.bin"), key=lambda p: int(p.stem.split("_")[1])
            )
        ]
    )
    d = proving_difficulty(ds.num_units * ds.params.labels_per_unit, ds.params.k1)
    out = np.frombuffer(
        group_cipher(CHALLENGE, nonce // 16, proof.pow).encryptor().update(labels.tobytes()),
        dtype=np.uint8,
    ).reshape(-1, 16)
    column = out[:, nonce % 16]
    msb_fail = int(np.flatnonzero(column > d.msb)[0])
    lsb_fail = None
    for i in np.flatnonzero(column == d.msb).tolist():
        if not lazy_passes(CHALLENGE, nonce // 16, proof.pow, nonce, labels[i].tobytes(), d.lsb):
            lsb_fail = i
            break
    return msb_fail, lsb_fail


def _with_index(
    ds: DataSet, proof: Proof, position: int, index: int, nonce: int | None = None
) -> Proof:
    bits = index_bits(ds.num_units * ds.params.labels_per_unit)
    indices = unpack_indices(proof.indices, bits, ds.params.k2)
    indices[position] = index
    return replace(
        proof, indices=pack_indices(indices, bits), nonce=proof.nonce if nonce is None else nonce
    )


def test_tampered_index_fails_msb(dataset: DataSet, proof: Proof) -> None:
    bad, _ = _classify(dataset, proof, proof.nonce)
    with pytest.raises(InvalidProof) as info:
        check(dataset, _with_index(dataset, proof, 2, bad))
    assert (info.value.reason, info.value.index) == (
        "label does not meet the difficulty (msb)",
        bad,
    )
    assert (
        str(info.value) == f"invalid proof: label does not meet the difficulty (msb) (index {bad})"
    )


def test_tampered_index_fails_lsb(dataset: DataSet, proof: Proof) -> None:
    for nonce in range(proof.nonce // 16 * 16, proof.nonce // 16 * 16 + 16):
        _, bad = _classify(dataset, proof, nonce)
        if bad is not None:
            break
    else:
        pytest.fail("no label ties with msb in this data set")
    with pytest.raises(InvalidProof) as info:
        check(dataset, _with_index(dataset, proof, 0, bad, nonce), VerifyMode("one", 0))
    assert (info.value.reason, info.value.index) == (
        "label does not meet the difficulty (lsb)",
        bad,
    )


def test_index_out_of_range(dataset: DataSet, proof: Proof) -> None:
    with pytest.raises(
        InvalidProof, match=r"index out of range \(index 1000\): there are 512 labels"
    ):
        check(dataset, _with_index(dataset, proof, 1, 1000))


def test_tampered_nonce_in_the_same_group(dataset: DataSet, proof: Proof) -> None:
    other = proof.nonce ^ 1
    with pytest.raises(InvalidProof, match="label does not meet the difficulty"):
        check(dataset, replace(proof, nonce=other))


def test_tampered_pow(dataset: DataSet, proof: Proof) -> None:
    group = proof.nonce // 16
    target = scaled_pow_target(dataset.params.pow_difficulty, dataset.num_units)
    bad = next(p for p in range(100) if not pow_is_valid(p, group, CHALLENGE, NODE_ID, target))
    with pytest.raises(InvalidProof) as info:
        check(dataset, replace(proof, pow=bad))
    assert info.value.reason == "invalid pow"
    with pytest.raises(InvalidProof, match="nonce 4096 is in group 256 > 255"):
        check(dataset, replace(proof, nonce=4096))


@pytest.mark.parametrize(("cut", "got"), [(b"\x00", 11), (None, 9)])
def test_tampered_length(dataset: DataSet, proof: Proof, cut: bytes | None, got: int) -> None:
    indices = proof.indices + cut if cut else proof.indices[:-1]
    with pytest.raises(InvalidProof, match=f"invalid indices length: expected 10 bytes, got {got}"):
        check(dataset, replace(proof, indices=indices))


def test_units_out_of_range(dataset: DataSet, proof: Proof) -> None:
    params = replace(dataset.params, min_num_units=4)
    with pytest.raises(InvalidProof, match=r"num_units out of range: 2 not in \[4, 1024\]"):
        check(dataset, proof, params=params)


def test_corrupt_label_on_disk(dataset: DataSet, proof: Proof, tmp_path: Path) -> None:
    copy = replace(dataset, directory=tmp_path / "copy")
    shutil.copytree(dataset.directory, copy.directory)
    index = unpack_indices(proof.indices, 10, 8)[0]
    path = copy.directory / f"postdata_{index // 128}.bin"
    data = bytearray(path.read_bytes())
    data[(index % 128) * 16 + 5] ^= 0xFF
    path.write_bytes(bytes(data))
    report = verify_data(copy.directory, fraction=100, scrypt_n=2)
    assert (report.bad, report.checked) == (1, 512)
    bad = [f for f in report.files if f.bad]
    assert [(f.index, f.first_bad_offsets) for f in bad] == [(index // 128, ((index % 128) * 16,))]
    check(copy, proof)  # the proof itself does not depend on the disk


def test_proof_over_wrong_data_is_rejected(dataset: DataSet, tmp_path: Path) -> None:
    copy = replace(dataset, directory=tmp_path / "garbage")
    shutil.copytree(dataset.directory, copy.directory)
    rng = np.random.default_rng(5)
    for path in copy.directory.glob("postdata_*.bin"):
        path.write_bytes(rng.integers(0, 256, path.stat().st_size, dtype=np.uint8).tobytes())
    forged = prove(copy)
    with pytest.raises(InvalidProof, match=r"label does not meet the difficulty \((msb|lsb)\)"):
        check(copy, forged)
    report = verify_data(copy.directory, fraction=10, scrypt_n=2, seed=1)
    assert report.bad == report.checked == 4 * 13 and not report.ok


def test_missing_file_stops_proving(dataset: DataSet, tmp_path: Path) -> None:
    shutil.copytree(dataset.directory, tmp_path / "d")
    (tmp_path / "d" / "postdata_3.bin").unlink()
    with pytest.raises(ProvingFailed, match="postdata_3.bin is missing"):
        generate_proof(tmp_path / "d", CHALLENGE, k1=12, k2=8, pow_difficulty=b"\xff" * 32)


def test_verify_data_file_range(dataset: DataSet) -> None:
    report = verify_data(dataset.directory, fraction=25, scrypt_n=2, from_file=1, to_file=2)
    assert [f.index for f in report.files] == [1, 2] and report.checked == 64 and report.ok


def test_verify_data_names_missing_and_truncated_files(dataset: DataSet, tmp_path: Path) -> None:
    shutil.copytree(dataset.directory, tmp_path / "d")
    (tmp_path / "d" / "postdata_1.bin").unlink()
    short = tmp_path / "d" / "postdata_2.bin"
    short.write_bytes(short.read_bytes()[:1000])  # 62 whole labels of 128
    report = verify_data(tmp_path / "d", fraction=100, scrypt_n=2)
    files = {f.index: f for f in report.files}
    assert (files[1].problem, files[1].bad, files[1].checked) == ("missing", 128, 128)
    assert files[2].problem == "truncated: 1000 of 2048 bytes"
    assert files[2].bad == 128 - 62 and files[2].first_bad_offsets[0] == 62 * 16
    assert files[0].problem is None and files[0].bad == 0
    with pytest.raises(DataVerificationFailed) as info:
        raise DataVerificationFailed(report.to_dict())
    assert "postdata_1.bin: 128 bad (missing)" in info.value.message
    assert "postdata_2.bin: 66 bad (truncated: 1000 of 2048 bytes), first at byte offsets 992" in (
        info.value.message
    )


def test_verify_data_skips_files_an_interrupted_init_has_not_written(
    dataset: DataSet, tmp_path: Path
) -> None:
    shutil.copytree(dataset.directory, tmp_path / "d")
    meta = read_metadata(tmp_path / "d")
    write_metadata(tmp_path / "d", meta.with_progress(meta.nonce, 256))  # files 0 and 1 done
    (tmp_path / "d" / "postdata_3.bin").unlink()
    report = verify_data(tmp_path / "d", fraction=100, scrypt_n=2)
    assert report.ok and report.checked == 256
    assert report.not_initialized == (2, 3)


@pytest.mark.parametrize("count", [1, 7, 1000, (1 << 20) + 5, 3 << 20])
@pytest.mark.parametrize("fraction", [0.001, 10, 33.3, 100])
def test_sample_windows_add_up_to_the_fraction(count: int, fraction: float) -> None:
    windows = _windows(count, fraction)
    assert sum(w[2] for w in windows) == _sample_size(count, fraction)
    assert all(0 <= picks <= length <= WINDOW for _, length, picks in windows)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"from_file": 2, "to_file": 1}, "`from_file` 2 is after `to_file` 1"),
        ({"to_file": 9}, "file 9 does not exist: the data has files 0 .. 3"),
        ({"from_file": 5}, "`from_file` 5: the data has files 0 .. 3"),
        ({"fraction": float("nan")}, "fraction must be in (0, 100]"),
        ({"seed": -1}, "seed must be a non-negative integer"),
    ],
)
def test_verify_data_bad_arguments(dataset: DataSet, kwargs: dict, message: str) -> None:
    args = {"fraction": 10.0, "scrypt_n": 2, **kwargs}
    with pytest.raises(InvalidParameters) as info:
        verify_data(dataset.directory, **args)
    assert message in info.value.message


def test_atx_id_is_part_of_the_labels(dataset: DataSet, proof: Proof) -> None:
    with pytest.raises(InvalidProof, match="label does not meet the difficulty"):
        check(replace(dataset, atx_id=bytes(32)), proof)
    assert bytes(32) != ATX_ID
