"""compute_labels: shapes, batching under a memory budget, and backend selection."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from mergetool._exceptions import BackendUnavailable, InvalidParameters
from mergetool.post.backends import get_backend
from mergetool.post.backends.numpy_backend import batch_size
from mergetool.post.labels import commitment, compute_labels

KEY = commitment(bytes(32), bytes(32))


def test_small_budget_gives_the_same_labels_in_many_batches() -> None:
    whole = compute_labels(KEY, 10, 50, scrypt_n=16, backend="numpy")
    calls = []
    tiny = 3 * (704 * 16 + 4096)  # three labels of the packed (small batch) ROMix
    assert batch_size(16, tiny) == 3
    pieces = compute_labels(
        KEY, 10, 50, scrypt_n=16, backend="numpy", memory_budget=tiny,
        progress=lambda done, total: calls.append((done, total)),
    )  # fmt: skip
    assert (whole == pieces).all()
    assert calls[-1] == (50, 50) and len(calls) == 17


def test_labels_are_the_prefix_of_the_full_output() -> None:
    full = compute_labels(KEY, 0, 8, scrypt_n=4, backend="numpy", full=True)
    short = compute_labels(KEY, 0, 8, scrypt_n=4, backend="numpy")
    assert full.dtype == np.uint8 and (full[:, :16] == short).all()


def test_budget_too_small_for_one_label() -> None:
    with pytest.raises(InvalidParameters, match="too small for one label at scrypt N=8192"):
        compute_labels(KEY, 0, 1, scrypt_n=8192, backend="numpy", memory_budget=1 << 20)


def test_zero_labels() -> None:
    assert compute_labels(KEY, 5, 0, scrypt_n=2, backend="numpy").shape == (0, 16)


def test_auto_falls_back_to_numpy_without_opencl(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mergetool.post.backends.opencl", None)
    assert get_backend("auto").name == "numpy"


def test_opencl_missing_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mergetool.post.backends.opencl", None)
    with pytest.raises(BackendUnavailable) as info:
        get_backend("opencl")
    assert "pip install 'mergetool[opencl]'" in str(info.value)


def test_unknown_backend() -> None:
    with pytest.raises(BackendUnavailable, match="unknown label backend 'cuda'"):
        get_backend("cuda")


def test_bad_commitment_length() -> None:
    with pytest.raises(InvalidParameters, match="commitment must be 32 bytes"):
        compute_labels(b"x", 0, 1, scrypt_n=2, backend="numpy")


@pytest.mark.parametrize(("budget", "count"), [(2 << 20, 40), (16 << 20, 600)])
def test_memory_stays_within_the_budget(budget: int, count: int) -> None:
    import tracemalloc

    tracemalloc.start()
    try:
        compute_labels(KEY, 0, count, scrypt_n=256, backend="numpy", memory_budget=budget)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= budget + count * 16
