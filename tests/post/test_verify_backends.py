"""Proof and data verification recompute labels on any backend, with the same verdicts."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mergetool._exceptions import InvalidProof
from mergetool.post.backends import opencl
from mergetool.post.pos_verification import verify_data
from mergetool.post.prove import generate_proof
from mergetool.post.verification import VerifyMode, verify_proof
from tests.post.post_helpers import CHALLENGE, DataSet

needs_device = pytest.mark.skipif(
    not opencl.is_available(), reason="no OpenCL platform/device here (install pocl-opencl-icd)"
)
BACKENDS = ["numpy", pytest.param("opencl", marks=needs_device)]


def _verify(ds: DataSet, proof, backend: str) -> None:  # type: ignore[no-untyped-def]
    verify_proof(
        proof, node_id=ds.node_id, commitment_atx_id=ds.atx_id, challenge=CHALLENGE,
        num_units=ds.num_units, params=ds.params, mode=VerifyMode("all"), backend=backend,
    )  # fmt: skip


@pytest.mark.parametrize("backend", BACKENDS)
def test_valid_proof_verifies_on_every_backend(dataset: DataSet, backend: str) -> None:
    p = dataset.params
    proof = generate_proof(
        dataset.directory, CHALLENGE, k1=p.k1, k2=p.k2, pow_difficulty=p.pow_difficulty
    )
    _verify(dataset, proof, backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_damaged_data_found_on_every_backend(
    dataset: DataSet, tmp_path: Path, backend: str
) -> None:
    copy = tmp_path / "data"
    shutil.copytree(dataset.directory, copy)
    with open(copy / "postdata_1.bin", "r+b") as fh:
        fh.seek(5 * 16 + 3)
        byte = fh.read(1)
        fh.seek(5 * 16 + 3)
        fh.write(bytes([byte[0] ^ 0xFF]))
    report = verify_data(copy, fraction=100, scrypt_n=dataset.params.scrypt_n, backend=backend)
    assert report.backend == backend
    assert report.bad == 1
    assert [f.first_bad_offsets for f in report.files if f.bad] == [(5 * 16,)]


@needs_device
def test_backends_agree_on_an_invalid_proof(dataset: DataSet, tmp_path: Path) -> None:
    copy = tmp_path / "data"
    shutil.copytree(dataset.directory, copy)
    p = dataset.params
    proof = generate_proof(copy, CHALLENGE, k1=p.k1, k2=p.k2, pow_difficulty=p.pow_difficulty)
    forged = type(proof)(proof.nonce ^ 1, proof.indices, proof.pow)
    messages = []
    for backend in ("numpy", "opencl"):
        with pytest.raises(InvalidProof) as info:
            _verify(dataset, forged, backend)
        messages.append(str(info.value))
    assert messages[0] == messages[1]
