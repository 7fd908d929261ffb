"""PoS data verification: recompute a random sample of stored labels and compare."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mergetool._exceptions import InvalidParameters, PostError
from mergetool.post.backends import DEFAULT_MEMORY_BUDGET
from mergetool.post.metadata import LABEL_SIZE, data_file_name, read_metadata
from mergetool.post.progress import Progress

FIRST_OFFSETS = 10  # byte offsets reported per file


@dataclass(frozen=True)
class FileReport:
    """Sampled labels of one data file and the byte offsets of the first bad ones."""

    index: int
    checked: int
    bad: int
    first_bad_offsets: tuple[int, ...]


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

    def to_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "bad": self.bad,
            "backend": self.backend,
            "files": [
                {"file": data_file_name(f.index), "checked": f.checked, "bad": f.bad,
                 "first_bad_offsets": list(f.first_bad_offsets)}
                for f in self.files
            ],
        }  # fmt: skip


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
    """Sample ``fraction`` percent of the labels of files ``from_file .. to_file`` (inclusive)."""
    import numpy as np

    from mergetool.post.backends import get_backend
    from mergetool.post.labels import commitment

    if not 0 < fraction <= 100:
        raise InvalidParameters(f"fraction must be in (0, 100] percent, got {fraction}")
    directory = Path(directory)
    meta = read_metadata(directory)
    last = meta.num_files - 1 if to_file is None else to_file
    if not 0 <= from_file <= last < meta.num_files:
        raise InvalidParameters(
            f"file range {from_file} .. {last} is outside 0 .. {meta.num_files - 1}"
        )
    rng = np.random.default_rng(seed)
    impl = get_backend(backend, device, memory_budget=memory_budget)
    key = commitment(meta.node_id, meta.commitment_atx_id)
    plans = []
    for index in range(from_file, last + 1):
        first, count = meta.file_labels(index)
        take = min(count, max(1, round(count * fraction / 100)))
        plans.append((index, first, np.sort(rng.choice(count, size=take, replace=False))))
    total = sum(len(picks) for _, _, picks in plans)
    step = impl.batch_size(scrypt_n)
    done = 0
    reports = []
    for index, first, picks in plans:
        path = directory / data_file_name(index)
        try:
            size = path.stat().st_size if path.exists() else 0
            # A missing or empty file cannot be mapped; all of its labels count as bad.
            stored = np.memmap(path, dtype=np.uint8, mode="r") if size else np.zeros(0, np.uint8)
        except (OSError, ValueError) as exc:
            raise PostError(f"cannot read {path}: {exc}") from exc
        have = len(stored) // LABEL_SIZE
        rows = stored[: have * LABEL_SIZE].reshape(have, LABEL_SIZE)
        bad_positions: list[int] = []
        for lo in range(0, len(picks), step):
            part = picks[lo : lo + step]
            expected = impl.compute_labels_at(key, part + first, scrypt_n, False)
            present = part[part < have]
            got = np.zeros((len(part), LABEL_SIZE), dtype=np.uint8)
            got[: len(present)] = rows[present]
            differs = np.any(got != expected, axis=1) | (part >= have)
            bad_positions.extend(part[differs].tolist())
            done += len(part)
            if progress:
                progress(done, total)
        del stored, rows
        reports.append(
            FileReport(index, len(picks), len(bad_positions),
                       tuple(p * LABEL_SIZE for p in bad_positions[:FIRST_OFFSETS]))
        )  # fmt: skip
    return VerifyDataReport(tuple(reports), impl.name)
