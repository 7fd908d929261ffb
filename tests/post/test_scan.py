"""The proving scan against a naive per-label reference: candidates, lazy ties, spans."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mergetool.post.cipher import group_cipher, lazy_passes
from mergetool.post.difficulty import Difficulty, proving_difficulty
from mergetool.post.metadata import read_metadata
from mergetool.post.scan import (
    GroupScanner,
    Scratch,
    candidate_positions,
    flag_words,
    pick_winner,
    scan_range,
)
from tests.post.post_helpers import CHALLENGE, build, make_params

MSBS = [0, 1, 7, 128, 255]


def _positions(cipher: np.ndarray, msb: int) -> np.ndarray:
    mask = np.empty(len(cipher), dtype=bool)
    words = np.zeros(-(-len(cipher) // 64) * 8, dtype=bool)  # whole uint64s, as the scan
    flag_words(cipher, msb, mask, words[: len(cipher) // 8])
    return candidate_positions(mask, words)


@settings(max_examples=200, deadline=None)
@given(
    data=st.binary(min_size=16, max_size=4096).map(lambda b: b[: len(b) // 16 * 16]),
    msb=st.sampled_from(MSBS),
)
def test_candidates_equal_bytewise_reference(data: bytes, msb: int) -> None:
    cipher = np.frombuffer(data, dtype=np.uint8)
    assert _positions(cipher, msb).tolist() == np.flatnonzero(cipher <= msb).tolist()


@pytest.mark.parametrize("msb", MSBS)
@pytest.mark.parametrize("density", [0.0, 1 / 256, 0.05, 0.5, 1.0])
def test_candidates_at_every_density(msb: int, density: float) -> None:
    # numpy's nonzero switches algorithm at 10 % density: cover both sides of it.
    rng = np.random.default_rng(int(density * 1000) + msb)
    cipher = rng.integers(msb + 1 if msb < 255 else 255, 256, 1 << 14, dtype=np.uint8)
    hits = rng.random(len(cipher)) < density
    cipher[hits] = rng.integers(0, msb + 1, int(hits.sum()), dtype=np.uint8)
    assert np.array_equal(_positions(cipher, msb), np.flatnonzero(cipher <= msb))


def _reference(labels: np.ndarray, group: int, pow_value: int, msb: int, lsb: int) -> list:
    """(nonce, label index) pairs that count, straight from the spec, by nonce then label."""
    out = group_cipher(CHALLENGE, group, pow_value).encryptor().update(labels.tobytes())
    cipher = np.frombuffer(out, dtype=np.uint8).reshape(-1, 16)
    found = []
    for index, j in zip(*np.nonzero(cipher <= msb), strict=True):
        nonce = 16 * group + int(j)
        label = labels[index].tobytes()
        if cipher[index, j] < msb or lazy_passes(CHALLENGE, group, pow_value, nonce, label, lsb):
            found.append((nonce, int(index)))
    return sorted(found)


@pytest.mark.parametrize(
    ("msb", "lsb"), [(0, 1 << 55), (0, 1), (1, 1 << 54), (7, (1 << 56) - 1), (255, 1 << 40)]
)
@pytest.mark.parametrize("chunk", [7, 64, 1000])
def test_group_scanner_equals_reference(msb: int, lsb: int, chunk: int) -> None:
    rng = np.random.default_rng(msb * 31 + chunk)
    labels = rng.integers(0, 256, (3000, 16), dtype=np.uint8)
    scratch = Scratch(chunk * 16)
    scanner = GroupScanner(CHALLENGE, 3, 12345, Difficulty(msb << 56 | lsb))
    got: list[tuple[int, int]] = []

    def flush() -> None:
        nonces, indices = scanner.flush(scratch)
        got.extend(zip(nonces.tolist(), indices.tolist(), strict=True))

    for first in range(0, len(labels), chunk):
        part = labels[first : first + chunk].reshape(-1)
        if scanner.add(np.ascontiguousarray(part), first, scratch):
            flush()
    flush()
    assert sorted(got) == _reference(labels, 3, 12345, msb, lsb)
    # per nonce, the labels come in data order (the proof lists them as found)
    for nonce in {n for n, _ in got}:
        mine = [i for n, i in got if n == nonce]
        assert mine == sorted(mine)


@pytest.mark.parametrize(
    ("units", "per_unit", "file_size", "k1", "k2", "chunk"),
    [
        (1, 64, 256, 6, 4, 1 << 16),
        (3, 100, 480, 20, 10, 7),
        (2, 128, 4096, 40, 30, 16),
    ],
)
def test_scan_range_equals_reference(
    tmp_path: Path, units: int, per_unit: int, file_size: int, k1: int, k2: int, chunk: int
) -> None:
    """The round-trip data sets of test_prove_verify: same winner as a naive full scan."""
    ds = build(tmp_path, make_params(labels_per_unit=per_unit, k1=k1, k2=k2, k3=k2), units,
               file_size)  # fmt: skip
    meta = read_metadata(ds.directory)
    d = proving_difficulty(meta.num_labels, k1)
    pows = {0: 0, 1: 7, 2: 99}
    labels = np.concatenate(
        [np.fromfile(p, dtype=np.uint8) for p in sorted(ds.directory.glob("postdata_*.bin"),
                                                         key=lambda p: int(p.stem.split("_")[1]))]
    ).reshape(-1, 16)[: meta.num_labels]  # fmt: skip
    per_nonce: dict[int, list[int]] = {}
    for group, pow_value in pows.items():
        for nonce, index in _reference(labels, group, pow_value, d.msb, d.lsb):
            per_nonce.setdefault(nonce, []).append(index)
    complete = [(got[k2 - 1], n) for n, got in per_nonce.items() if len(got) >= k2]
    expected = None
    if complete:
        nonce = min(complete)[1]
        expected = (nonce, per_nonce[nonce][:k2])
    args = (ds.directory, meta, CHALLENGE, pows, d, k2)
    assert pick_winner([scan_range(*args, (0, meta.num_labels), chunk)], k2) == expected
