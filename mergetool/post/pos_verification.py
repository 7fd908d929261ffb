"""PoS data verification: recompute a random sample of stored labels and compare."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mergetool._exceptions import InvalidParameters, PostError
from mergetool.post.backends import DEFAULT_MEMORY_BUDGET
from mergetool.post.metadata import LABEL_SIZE, data_file_name, read_metadata
from mergetool.post.progress import Progress

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

    def to_json(self) -> dict[str, object]:
        return {
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


def verify_data(
    directory: Path,
    *,
    fraction: float,
    scrypt_n: int,
    from_file: int = 0,
    to_file: int | None = None,
    seed: int | None = None,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    progress: Progress | None = None,
    backend: str = "numpy",
    device: str | None = None,
) -> VerifyDataReport:
    """Sample ``fraction`` percent of the labels of files ``from_file .. to_file`` (inclusive).

    Every sampled label is recomputed and compared with the stored one. A missing file, or
    the part of a file past its end, counts as bad without computing anything; files the
    metadata says are not initialized yet are reported as such and not counted bad.
    """
    import math

    import numpy as np

    from mergetool.post.backends import get_backend
    from mergetool.post.labels import commitment

    if not (math.isfinite(fraction) and 0 < fraction <= 100):
        raise InvalidParameters(f"fraction must be in (0, 100] percent, got {fraction}")
    if seed is not None and seed < 0:
        raise InvalidParameters(f"seed must be a non-negative integer, got {seed}")
    directory = Path(directory)
    meta = read_metadata(directory)
    last = meta.num_files - 1 if to_file is None else to_file
    if from_file > last:
        if to_file is None:
            raise InvalidParameters(
                f"--from-file {from_file}: the data has files 0 .. {meta.num_files - 1}"
            )
        raise InvalidParameters(f"--from-file {from_file} is after --to-file {last}")
    if last >= meta.num_files:
        raise InvalidParameters(
            f"file {last} does not exist: the data has files 0 .. {meta.num_files - 1}"
        )
    rng = np.random.default_rng(seed)
    impl = get_backend(backend, device, memory_budget=memory_budget)
    key = commitment(meta.node_id, meta.commitment_atx_id)
    done_labels = meta.last_position
    files = range(from_file, last + 1)
    total = sum(_sample_size(meta.file_labels(i)[1], fraction) for i in files)
    step = impl.batch_size(scrypt_n)
    done = 0
    reports = []
    for index in files:
        first, count = meta.file_labels(index)
        path = directory / data_file_name(index)
        take = _sample_size(count, fraction)
        if done_labels is not None and first + count > done_labels:  # init still running
            reports.append(FileReport(index, 0, 0, (), NOT_INITIALIZED))
            done += take
            if progress:
                progress(done, total)
            continue
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            reports.append(FileReport(index, take, take, (), "missing"))
            done += take
            continue
        except OSError as exc:
            raise PostError(f"cannot read {path}: {exc.strerror or exc}") from exc
        have = min(count, size // LABEL_SIZE)
        problem = None
        if size < count * LABEL_SIZE:
            problem = f"truncated: {size} of {count * LABEL_SIZE} bytes"
        try:
            stored = np.memmap(path, dtype=np.uint8, mode="r") if have else None
        except (OSError, ValueError) as exc:
            raise PostError(f"cannot read {path}: {exc}") from exc
        rows = stored[: have * LABEL_SIZE].reshape(have, LABEL_SIZE) if stored is not None else None
        bad_positions: list[int] = []
        bad = 0
        for start, length, picks in _windows(count, fraction):
            chosen = start + np.sort(rng.choice(length, size=picks, replace=False))
            missing = chosen[chosen >= have]  # past the end of the file: bad, not computed
            present = chosen[chosen < have]
            for lo in range(0, len(present), step):
                part = present[lo : lo + step]
                expected = impl.compute_labels_at(key, part + first, scrypt_n, False)
                assert rows is not None
                differs = np.any(rows[part] != expected, axis=1)
                wrong = part[differs]
                bad += len(wrong)
                if len(bad_positions) < FIRST_OFFSETS:
                    bad_positions.extend(wrong[: FIRST_OFFSETS - len(bad_positions)].tolist())
                done += len(part)
                if progress:
                    progress(done, total)
            bad += len(missing)
            if len(bad_positions) < FIRST_OFFSETS:
                bad_positions.extend(missing[: FIRST_OFFSETS - len(bad_positions)].tolist())
            done += len(missing)
        del stored, rows
        reports.append(
            FileReport(index, take, bad,
                       tuple(p * LABEL_SIZE for p in bad_positions[:FIRST_OFFSETS]), problem)
        )  # fmt: skip
    return VerifyDataReport(tuple(reports), impl.name)
