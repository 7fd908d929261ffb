"""PoS data verification: recompute a random sample of stored labels and compare."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mergetool._exceptions import InvalidParameters
from mergetool._progress import ProgressCallback, no_progress
from mergetool.post.backends import DEFAULT_MEMORY_BUDGET, LabelBackend, get_backend
from mergetool.post.labels import batches, commitment
from mergetool.post.metadata import LABEL_SIZE, PostMetadata, data_file_name, read_metadata
from mergetool.post.reader import stored_labels

FIRST_OFFSETS = 10  # byte offsets reported per file


#: Labels sampled per step: the sample of a window is drawn, checked and dropped, so memory
#: does not grow with the file (a 4 GiB file holds 2^28 labels).
WINDOW = 1 << 20


@dataclass(frozen=True)
class FileReport:
    """Sampled labels of one data file and the byte offsets of the first bad ones.

    ``problem`` says why labels could not all be read: ``missing``, ``truncated: X of Y
    bytes``, or ``not initialized yet`` (past the metadata's LastPosition; not counted bad).
    """

    index: int
    checked: int
    bad: int
    first_bad_offsets: tuple[int, ...]
    problem: str | None = None


@dataclass(frozen=True)
class VerifyDataReport:
    """The outcome of ``verify_data``; ``ok`` when no sampled label differed."""

    files: tuple[FileReport, ...]
    backend: str = "numpy"

    @property
    def checked(self) -> int:
        return sum(f.checked for f in self.files)

    @property
    def bad(self) -> int:
        return sum(f.bad for f in self.files)

    @property
    def ok(self) -> bool:
        return self.bad == 0

    @property
    def not_initialized(self) -> tuple[int, ...]:
        return tuple(f.index for f in self.files if f.problem == NOT_INITIALIZED)

    def to_dict(self) -> dict[str, object]:
        return {
            "format": 1,  # schemas/json/post-verify-data.schema.json
            "ok": self.ok,
            "checked": self.checked,
            "bad": self.bad,
            "backend": self.backend,
            "not_initialized": [data_file_name(i) for i in self.not_initialized],
            "files": [
                {"file": data_file_name(f.index), "checked": f.checked, "bad": f.bad,
                 "first_bad_offsets": list(f.first_bad_offsets), "problem": f.problem}
                for f in self.files
            ],
        }  # fmt: skip


NOT_INITIALIZED = "not initialized yet"


def _sample_size(count: int, fraction: float) -> int:
    return min(count, max(1, round(count * fraction / 100)))


def _windows(count: int, fraction: float) -> list[tuple[int, int, int]]:
    """``(start, length, picks)`` per window of a file holding ``count`` labels."""
    total = _sample_size(count, fraction)
    out, given = [], 0
    for start in range(0, count, WINDOW):
        length = min(WINDOW, count - start)
        # Picks proportional to the window, rounded so that the file's total is exact.
        upto = round(total * (start + length) / count)
        out.append((start, length, upto - given))
        given = upto
    return out


def _file_range(meta: PostMetadata, from_file: int, to_file: int | None) -> range:
    """The files ``from_file .. to_file`` (inclusive; all when None), refusing bad bounds."""
    last = meta.num_files - 1 if to_file is None else to_file
    if from_file > last:
        if to_file is None:
            raise InvalidParameters(
                f"`from_file` {from_file}: the data has files 0 .. {meta.num_files - 1}",
                parameter="from_file",
            )
        raise InvalidParameters(
            f"`from_file` {from_file} is after `to_file` {last}", parameter="from_file"
        )
    if last >= meta.num_files:
        raise InvalidParameters(
            f"file {last} does not exist: the data has files 0 .. {meta.num_files - 1}"
        )
    return range(from_file, last + 1)


class _Sampler:
    """Checks the sample of one file after another, counting progress over all of them."""

    def __init__(
        self,
        directory: Path,
        meta: PostMetadata,
        impl: LabelBackend,
        scrypt_n: int,
        fraction: float,
        rng: np.random.Generator,
        total: int,
        progress: ProgressCallback,
    ) -> None:
        self.directory, self.meta, self.impl, self.scrypt_n = directory, meta, impl, scrypt_n
        self.fraction, self.rng, self.total, self.progress = fraction, rng, total, progress
        self.key = commitment(meta.node_id, meta.commitment_atx_id)
        self.step = impl.batch_size(scrypt_n)
        self.done = 0

    def _advance(self, labels: int) -> None:
        self.done += labels
        self.progress(self.done, self.total)

    def check_file(self, index: int) -> FileReport:
        """Recompute the sampled labels of file ``index`` and compare them with the stored ones."""
        first, count = self.meta.file_labels(index)
        take = _sample_size(count, self.fraction)
        done_labels = self.meta.last_position
        if done_labels is not None and first + count > done_labels:  # init still running
            self._advance(take)
            return FileReport(index, 0, 0, (), NOT_INITIALIZED)
        rows, problem = stored_labels(self.directory / data_file_name(index), count)
        if problem == "missing":
            self.done += take
            return FileReport(index, take, take, (), problem)
        have = 0 if rows is None else len(rows)
        bad_positions: list[int] = []
        bad = 0
        for start, length, picks in _windows(count, self.fraction):
            chosen = start + np.sort(self.rng.choice(length, size=picks, replace=False))
            missing = chosen[chosen >= have]  # past the end of the file: bad, not computed
            present = chosen[chosen < have]
            for lo, n in batches(self.step, len(present)):
                part = present[lo : lo + n]
                expected = self.impl.compute_labels_at(
                    self.key, part + first, self.scrypt_n, full=False
                )
                assert rows is not None
                wrong = part[np.any(rows[part] != expected, axis=1)]
                bad += len(wrong)
                bad_positions.extend(wrong[: FIRST_OFFSETS - len(bad_positions)].tolist())
                self._advance(n)
            bad += len(missing)
            bad_positions.extend(missing[: FIRST_OFFSETS - len(bad_positions)].tolist())
            self.done += len(missing)
        del rows
        offsets = tuple(p * LABEL_SIZE for p in bad_positions[:FIRST_OFFSETS])
        return FileReport(index, take, bad, offsets, problem)


def verify_data(
    directory: Path,
    *,
    fraction: float,
    scrypt_n: int,
    from_file: int = 0,
    to_file: int | None = None,
    seed: int | None = None,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    progress: ProgressCallback | None = None,
    backend: str = "numpy",
    device: str | None = None,
) -> VerifyDataReport:
    """Sample ``fraction`` percent of the labels of files ``from_file .. to_file`` (inclusive).

    Every sampled label is recomputed and compared with the stored one. A missing file, or
    the part of a file past its end, counts as bad without computing anything; files the
    metadata says are not initialized yet are reported as such and not counted bad.
    """
    if not (math.isfinite(fraction) and 0 < fraction <= 100):
        raise InvalidParameters(f"fraction must be in (0, 100] percent, got {fraction}")
    if seed is not None and seed < 0:
        raise InvalidParameters(f"seed must be a non-negative integer, got {seed}")
    directory = Path(directory)
    meta = read_metadata(directory)
    files = _file_range(meta, from_file, to_file)
    impl = get_backend(backend, device, memory_budget=memory_budget)
    total = sum(_sample_size(meta.file_labels(i)[1], fraction) for i in files)
    sampler = _Sampler(
        directory, meta, impl, scrypt_n, fraction, np.random.default_rng(seed), total,
        progress or no_progress,
    )  # fmt: skip
    return VerifyDataReport(tuple(sampler.check_file(i) for i in files), impl.name)
