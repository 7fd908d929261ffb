"""Reading PoST data files: which ``postdata_N.bin`` entries exist, their sizes, and labels.

The scan streams labels through ``iter_chunks``; ``verify_data`` maps a file's labels with
``stored_labels``; ``plan_init`` lists and sizes the entries it may keep or write over.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from mergetool._exceptions import PostError, ProvingFailed
from mergetool._fs import Symlinks, irregular_kind
from mergetool.post.metadata import LABEL_SIZE, PostMetadata, data_file_name

_DATA_FILE = re.compile(r"postdata_(\d+)\.bin")


def data_entries(directory: Path) -> list[tuple[int, Path]]:
    """``(index, path)`` of every ``postdata_<N>.bin`` entry in ``directory``, of any type."""
    try:
        with os.scandir(directory) as entries:
            found = [(e.name, m) for e in entries if (m := _DATA_FILE.fullmatch(e.name))]
    except FileNotFoundError:
        return []
    except NotADirectoryError as exc:
        raise PostError(f"{directory} is not a folder") from exc
    except OSError as exc:
        raise PostError(f"cannot list {directory}: {exc.strerror or exc}") from exc
    return sorted((int(m[1]), directory / name) for name, m in found)


def data_file_size(path: Path) -> int:
    """The size of the data file ``path``; refuses what ``initialize`` must not open."""
    try:
        # a link to a data file elsewhere is fine; writes go to its target
        kind = irregular_kind(path, Symlinks.FOLLOW)
        size = path.stat().st_size if kind is None else 0
    except OSError as exc:
        raise PostError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if kind == "a symbolic link to a missing file":
        raise PostError(
            f"{path} is {kind}",
            hint="Remove the link, or make it point at the data file it stands for.",
        )
    if kind is not None:
        raise PostError(
            f"{path} is {kind}, not a PoST data file",
            hint="Move it out of the PoST data folder, then run `post init` again.",
        )
    return size


def _missing(path: Path) -> ProvingFailed:
    """A data file the metadata counts on is not there."""
    return ProvingFailed(f"{path} is missing", hint="Initialization is incomplete.")


def check_files(directory: Path, meta: PostMetadata) -> None:
    """Fail before any work when a data file is missing or shorter than the metadata says."""
    for index in range(meta.num_files):
        path = directory / data_file_name(index)
        expected = meta.file_labels(index)[1] * LABEL_SIZE
        if not path.exists():
            raise _missing(path)
        if path.stat().st_size < expected:
            raise ProvingFailed(f"{path} holds {path.stat().st_size} bytes, expected {expected}")


def iter_chunks(
    directory: Path,
    meta: PostMetadata,
    buffer: np.ndarray,
    start: int = 0,
    stop: int | None = None,
    on_read: Callable[[int], None] | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(first_label, labels)`` for labels ``start .. stop-1``, read into ``buffer``."""
    stop = meta.num_labels if stop is None else stop
    capacity = len(buffer) // LABEL_SIZE
    per_file = meta.labels_per_file
    for index in range(start // per_file, -(-stop // per_file)):
        first, count = meta.file_labels(index)
        lo, hi = max(start, first), min(stop, first + count)
        path = directory / data_file_name(index)
        try:
            with open(path, "rb", buffering=0) as f:
                f.seek((lo - first) * LABEL_SIZE)
                while lo < hi:
                    n = min(capacity, hi - lo)
                    view = memoryview(buffer)[: n * LABEL_SIZE]
                    got = 0
                    while got < len(view):
                        more = f.readinto(view[got:])
                        if not more:
                            raise ProvingFailed(f"{path} ended early at label {lo - first}")
                        got += more
                    if on_read:
                        on_read(n * LABEL_SIZE)
                    yield lo, buffer[: n * LABEL_SIZE]
                    lo += n
        except FileNotFoundError as exc:
            raise _missing(path) from exc
        except OSError as exc:
            raise PostError(f"cannot read {path}: {exc}") from exc


def stored_labels(path: Path, count: int) -> tuple[np.ndarray | None, str | None]:
    """The labels of a file meant to hold ``count``, memory-mapped as (have, 16) uint8 rows.

    Returns ``(rows, problem)``: rows is None when the file is missing or empty; problem is
    ``missing`` or ``truncated: X of Y bytes`` (rows then hold what is there), else None.
    """
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None, "missing"
    except OSError as exc:
        raise PostError(f"cannot read {path}: {exc.strerror or exc}") from exc
    have = min(count, size // LABEL_SIZE)
    problem = None
    if size < count * LABEL_SIZE:
        problem = f"truncated: {size} of {count * LABEL_SIZE} bytes"
    if not have:
        return None, problem
    try:
        stored = np.memmap(path, dtype=np.uint8, mode="r")
    except (OSError, ValueError) as exc:
        raise PostError(f"cannot read {path}: {exc}") from exc
    return stored[: have * LABEL_SIZE].reshape(have, LABEL_SIZE), problem
