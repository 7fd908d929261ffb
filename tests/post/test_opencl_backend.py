"""The OpenCL backend against the shared vectors and, byte for byte, against numpy."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mergetool._exceptions import (
    BackendUnavailable,
    InvalidParameters,
    NoOpenCLDevice,
    OpenCLFailed,
)
from mergetool.post.backends import opencl

VECTORS = json.loads(
    (Path(__file__).parent.parent / "data" / "vectors" / "scrypt-jane-labels.json").read_text()
)
POST_LABELS = [
    pytest.param(
        case, label, id=f"n{case['scrypt']['n']}-{case['commitment'][:8]}-{label['index']}"
    )
    for case in VECTORS["post_labels"]
    for label in case["labels"]
]

needs_device = pytest.mark.skipif(
    not opencl.is_available(),
    reason="no OpenCL platform/device on this machine (install pyopencl and e.g. "
    "pocl-opencl-icd to run these tests)",
)


@pytest.fixture(scope="module", params=[1, 4], ids=["1-lane", "4-lanes"])
def backend(request) -> opencl.OpenCLBackend:  # type: ignore[no-untyped-def]
    # Both kernel variants (GPUs build one lane, CPUs four) run on whatever device is here.
    return opencl.OpenCLBackend(lanes=request.param)


@pytest.fixture(scope="module")
def reference():  # type: ignore[no-untyped-def]
    from mergetool.post.backends.numpy_backend import NumpyBackend

    return NumpyBackend()


def _brute_force_vrf(full: np.ndarray, start: int, difficulty: bytes) -> tuple[int, bytes] | None:
    below = [(bytes(row), start + i) for i, row in enumerate(full) if bytes(row) < difficulty]
    if not below:
        return None
    label, index = min(below)
    return index, label


# --- vectors --------------------------------------------------------------------------------


@needs_device
@pytest.mark.parametrize(("case", "label"), POST_LABELS)
def test_post_label_vectors(backend, case, label) -> None:  # type: ignore[no-untyped-def]
    commitment = bytes.fromhex(case["commitment"])
    n = case["scrypt"]["n"]
    full = backend.compute_labels(commitment, label["index"], 1, n, True)
    short = backend.compute_labels(commitment, label["index"], 1, n, False)
    assert full.shape == (1, 32) and full.dtype == np.uint8
    assert full[0].tobytes().hex() == label["scrypt_output_32"]
    assert short.shape == (1, 16)
    assert short[0].tobytes().hex() == label["label_16"]


@needs_device
def test_vectors_in_one_batch_and_at_indices(backend) -> None:  # type: ignore[no-untyped-def]
    case = next(c for c in VECTORS["post_labels"] if c["scrypt"]["n"] == 8192)
    commitment = bytes.fromhex(case["commitment"])
    indices = [lab["index"] for lab in case["labels"]]
    expected = [lab["label_16"] for lab in case["labels"]]
    at = backend.compute_labels_at(commitment, indices, 8192, False)
    assert [row.tobytes().hex() for row in at] == expected
    if indices == list(range(len(indices))):
        run = backend.compute_labels(commitment, 0, len(indices), 8192, False)
        assert [row.tobytes().hex() for row in run] == expected


# --- against numpy --------------------------------------------------------------------------


@needs_device
@pytest.mark.parametrize("start", [2**32 - 3, 2**64 - 5])
def test_index_edges_match_numpy(backend, reference, start) -> None:  # type: ignore[no-untyped-def]
    commitment = bytes(range(32))
    got = backend.compute_labels(commitment, start, 5, 16, True)
    assert np.array_equal(got, reference.compute_labels(commitment, start, 5, 16, True))


@needs_device
def test_batches_split_like_one_launch(backend, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    commitment = bytes(32)
    whole = backend.compute_labels(commitment, 100, 10, 32, False)
    monkeypatch.setattr(backend, "batch_size", lambda n: 3)
    assert np.array_equal(backend.compute_labels(commitment, 100, 10, 32, False), whole)
    at = backend.compute_labels_at(commitment, list(range(100, 110)), 32, False)
    assert np.array_equal(at, whole)


@needs_device
@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    commitment=st.binary(min_size=32, max_size=32),
    start=st.integers(min_value=0, max_value=2**64 - 8),
    count=st.integers(min_value=1, max_value=8),
    log_n=st.integers(min_value=1, max_value=6),
    full=st.booleans(),
)
def test_random_labels_match_numpy(  # type: ignore[no-untyped-def]
    backend, reference, commitment, start, count, log_n, full
) -> None:
    n = 1 << log_n
    got = backend.compute_labels(commitment, start, count, n, full)
    assert np.array_equal(got, reference.compute_labels(commitment, start, count, n, full))


# --- VRF nonce ------------------------------------------------------------------------------


@needs_device
@pytest.mark.parametrize("first_byte", [0x00, 0x08, 0x40, 0xFF])
def test_vrf_nonce_equals_brute_force(backend, first_byte) -> None:  # type: ignore[no-untyped-def]
    commitment = bytes.fromhex(VECTORS["post_labels"][0]["commitment"])
    start, count = 2**32 - 150, 300
    difficulty = bytes([first_byte]) + b"\xff" * 31
    full = backend.compute_labels(commitment, start, count, 8, True)
    expected = _brute_force_vrf(full, start, difficulty)
    assert backend.find_vrf_nonce(commitment, start, count, 8, difficulty) == expected


@needs_device
def test_vrf_nonce_over_many_launches(backend, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    commitment = bytes(range(32, 64))
    difficulty = b"\x20" + bytes(31)
    full = backend.compute_labels(commitment, 0, 200, 4, True)
    # Three work items per launch: the later launches must only accept better labels.
    monkeypatch.setattr(backend, "batch_size", lambda n: 3)
    found = backend.find_vrf_nonce(commitment, 0, 200, 4, difficulty)
    assert found == _brute_force_vrf(full, 0, difficulty)
    assert found is not None


@needs_device
def test_vrf_nonce_at_mainnet_n(backend) -> None:  # type: ignore[no-untyped-def]
    case = next(c for c in VECTORS["post_labels"] if c["scrypt"]["n"] == 8192)
    commitment = bytes.fromhex(case["commitment"])
    outputs = {lab["index"]: lab["scrypt_output_32"] for lab in case["labels"]}
    best = min(range(4), key=lambda i: outputs[i])
    found = backend.find_vrf_nonce(commitment, 0, 4, 8192, b"\xff" * 32)
    assert found == (best, bytes.fromhex(outputs[best]))
    assert backend.find_vrf_nonce(commitment, 0, 4, 8192, bytes(32)) is None


# --- labels and VRF candidate in one launch (initialization) ---------------------------------


def _labels_and_vrf_expected(
    reference, commitment: bytes, start: int, count: int, n: int, difficulty: bytes
) -> tuple[np.ndarray, tuple[int, bytes] | None]:  # type: ignore[no-untyped-def]
    full = reference.compute_labels(commitment, start, count, n, True)
    return full[:, :16], _brute_force_vrf(full, start, difficulty)


@needs_device
@pytest.mark.parametrize("first_byte", [0x00, 0x08, 0x40, 0xFF])
@pytest.mark.parametrize("batch", [None, 3, 5])
def test_labels_and_vrf_equal_brute_force(  # type: ignore[no-untyped-def]
    backend, reference, monkeypatch, first_byte, batch
) -> None:
    commitment = bytes.fromhex(VECTORS["post_labels"][0]["commitment"])
    start, count = 2**32 - 150, 301
    difficulty = bytes([first_byte]) + b"\xff" * 31
    labels, best = _labels_and_vrf_expected(reference, commitment, start, count, 8, difficulty)
    if first_byte == 0xFF:
        assert best is not None
    # Both backends, in one launch and in many (later launches only accept better labels).
    for impl in (backend, reference):
        if batch is not None:
            monkeypatch.setattr(impl, "batch_size", lambda n, size=batch: size)
        got_labels, got_best = impl.compute_labels_and_vrf(commitment, start, count, 8, difficulty)
        assert got_labels.shape == (count, 16) and got_labels.dtype == np.uint8
        assert np.array_equal(got_labels, labels)
        assert got_best == best


@needs_device
def test_labels_and_vrf_exact_bounds(backend, reference) -> None:  # type: ignore[no-untyped-def]
    # The bound is strict: a difficulty equal to the smallest output finds the next one only.
    commitment = bytes(range(32, 64))
    full = reference.compute_labels(commitment, 2**64 - 40, 40, 4, True)
    ordered = sorted(bytes(row) for row in full)
    for difficulty in (ordered[0], ordered[1], ordered[-1], b"\xff" * 32, bytes(32)):
        expected = _brute_force_vrf(full, 2**64 - 40, difficulty)
        _, got = backend.compute_labels_and_vrf(commitment, 2**64 - 40, 40, 4, difficulty)
        assert got == expected
    assert backend.compute_labels_and_vrf(commitment, 0, 0, 4, b"\xff" * 32)[1] is None
    with pytest.raises(InvalidParameters):
        backend.compute_labels_and_vrf(commitment, 0, 1, 4, bytes(31))


@needs_device
def test_labels_and_vrf_at_mainnet_n(backend) -> None:  # type: ignore[no-untyped-def]
    case = next(c for c in VECTORS["post_labels"] if c["scrypt"]["n"] == 8192)
    commitment = bytes.fromhex(case["commitment"])
    outputs = {lab["index"]: lab["scrypt_output_32"] for lab in case["labels"]}
    best = min(range(4), key=lambda i: outputs[i])
    labels, found = backend.compute_labels_and_vrf(commitment, 0, 4, 8192, b"\xff" * 32)
    assert [row.tobytes().hex() for row in labels] == [outputs[i][:32] for i in range(4)]
    assert found == (best, bytes.fromhex(outputs[best]))
    assert backend.compute_labels_and_vrf(commitment, 0, 4, 8192, bytes(32))[1] is None


class _Stop(Exception):
    """Raised from the progress callback: an initialization interrupted mid-way."""


def _init(directory: Path, impl, difficulty: bytes | None, stop_at: int | None = None) -> None:  # type: ignore[no-untyped-def]
    from mergetool.post.initialize import initialize, plan_init
    from tests.post.post_helpers import ATX_ID, NODE_ID

    plan = plan_init(
        directory, node_id=NODE_ID, commitment_atx_id=ATX_ID, num_units=3, labels_per_unit=100,
        scrypt_n=4, max_file_size=16 * 64, vrf_difficulty=difficulty,
    )  # fmt: skip

    def progress(done: int, total: int) -> None:
        if stop_at is not None and done >= stop_at:
            raise _Stop

    try:
        initialize(plan, backend=impl, progress=progress)
    except _Stop:
        assert stop_at is not None
    else:
        assert stop_at is None


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.glob("postdata_*"))}


@needs_device
@pytest.mark.parametrize(
    "difficulty",
    [None, bytes(32), b"\x08" + b"\xff" * 31, b"\xff" * 32],
    ids=["no-vrf", "none-below", "few-below", "all-below"],
)
def test_init_files_equal_numpy(backend, monkeypatch, tmp_path, difficulty) -> None:  # type: ignore[no-untyped-def]
    from mergetool.post.backends.numpy_backend import NumpyBackend
    from mergetool.post.metadata import read_metadata

    expected = tmp_path / "numpy"
    _init(expected, NumpyBackend(memory_budget=60_000), difficulty)
    files = _files(expected)
    assert len(files) == 6  # 300 labels in files of 64, and the metadata
    nonce = read_metadata(expected).nonce
    assert (nonce is None) == (difficulty is None or difficulty == bytes(32))
    # Several launches per file, and a short last work item on the 4-lane kernel.
    monkeypatch.setattr(backend, "batch_size", lambda n: 7)
    _init(tmp_path / "opencl", backend, difficulty)
    assert _files(tmp_path / "opencl") == files
    # Interrupted mid-way (by either backend), then resumed on OpenCL: the same bytes.
    for first in (backend, NumpyBackend(memory_budget=60_000)):
        resumed = tmp_path / f"resumed-{first.name}"
        _init(resumed, first, difficulty, stop_at=150)
        assert read_metadata(resumed).last_position == 128
        (resumed / "postdata_3.bin").write_bytes(b"\x00" * 48)
        _init(resumed, backend, difficulty)
        assert _files(resumed) == files


# --- parameters, devices and errors ---------------------------------------------------------


@needs_device
@pytest.mark.parametrize(
    ("commitment", "start", "count", "n"),
    [
        (bytes(32), 0, 1, 3),
        (bytes(32), 0, 1, 1),
        (bytes(31), 0, 1, 2),
        (bytes(32), 2**64 - 1, 2, 2),
    ],
)
def test_invalid_parameters(backend, commitment, start, count, n) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidParameters):
        backend.compute_labels(commitment, start, count, n, False)


@needs_device
def test_batch_size_follows_device_memory(backend) -> None:  # type: ignore[no-untyped-def]
    info = backend.device_info
    items = backend.batch_size(8192)
    assert items >= 1 and items * 8192 * 128 <= min(info.global_memory // 4, info.max_alloc)
    with pytest.raises(OpenCLFailed, match="bytes per label"):
        backend.batch_size(1 << 31)


@needs_device
def test_devices_and_unknown_device() -> None:
    found = opencl.list_devices()
    assert found and all(d.id.count(":") == 1 for d in found)
    assert opencl.OpenCLBackend(found[0].id).device_info == found[0]
    with pytest.raises(NoOpenCLDevice, match="no OpenCL device '9:9'") as err:
        opencl.OpenCLBackend("9:9")
    assert found[0].id in str(err.value)


def test_no_platform_says_what_to_install(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Runs without pyopencl too: stand in for it and for an ICD loader with no platform.
    monkeypatch.setattr(opencl, "_cl", lambda: object())
    monkeypatch.setattr(opencl, "_devices", lambda cl: [])
    assert opencl.is_available() is False
    assert opencl.list_devices() == []
    with pytest.raises(NoOpenCLDevice, match="no OpenCL platform or device found") as err:
        opencl.OpenCLBackend()
    assert "apt-get install pocl-opencl-icd" in str(err.value)


def test_missing_pyopencl_says_which_extra(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setitem(sys.modules, "pyopencl", None)  # makes `import pyopencl` fail
    assert opencl.is_available() is False
    with pytest.raises(BackendUnavailable, match="pyopencl is not installed") as err:
        opencl.OpenCLBackend()
    assert "pip install 'mergetool[opencl]'" in str(err.value)


@needs_device
def test_runtime_errors_are_wrapped(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import pyopencl as cl

    fresh = opencl.OpenCLBackend()

    def fail(*args: object) -> None:
        raise cl.MemoryError("clEnqueueNDRangeKernel failed: OUT_OF_RESOURCES")

    monkeypatch.setattr(fresh, "_scratch_for", fail)
    with pytest.raises(OpenCLFailed) as err:
        fresh.compute_labels(bytes(32), 0, 4, 2, False)
    assert str(err.value).startswith(
        f"OpenCL device {fresh.device_info.id}: computing 4 labels failed "
        "(clEnqueueNDRangeKernel failed: OUT_OF_RESOURCES)\n"
    )
    assert isinstance(err.value.__cause__, cl.MemoryError)


def test_is_available_never_raises(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def broken(cl: object) -> list[object]:
        raise RuntimeError("driver crashed while listing devices")

    monkeypatch.setattr(opencl, "_cl", lambda: object())
    monkeypatch.setattr(opencl, "_devices", broken)
    assert opencl.is_available() is False
