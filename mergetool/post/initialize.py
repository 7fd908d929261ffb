"""Initialization: plan which ``postdata_N.bin`` files to (re)write, then write them.

Resumable: files already complete (and covered by the metadata's ``LastPosition``) are kept;
work restarts at the first file that is missing, short, or newer than the metadata.
``LastPosition`` is the number of labels written so far (the next label index).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mergetool._exceptions import InvalidParameters, MetadataError, PostError
from mergetool.post.backends import DEFAULT_MEMORY_BUDGET
from mergetool.post.metadata import (
    IDENTITY_FILE,
    LABEL_SIZE,
    METADATA_FILE,
    PostMetadata,
    data_file_name,
    read_metadata,
    write_metadata,
)
from mergetool.post.params import check_32_bytes
from mergetool.post.progress import Progress, no_progress

DEFAULT_MAX_FILE_SIZE = 1 << 32


@dataclass(frozen=True)
class FileTask:
    """One data file to write: its index and the labels it holds."""

    index: int
    first_label: int
    count: int


@dataclass(frozen=True)
class InitPlan:
    """What ``initialize`` will do; computing it reads but never writes."""

    directory: Path
    metadata: PostMetadata
    scrypt_n: int
    vrf_difficulty: bytes | None
    tasks: tuple[FileTask, ...]
    kept_files: int

    @property
    def labels_to_write(self) -> int:
        return sum(t.count for t in self.tasks)


@dataclass(frozen=True)
class InitResult:
    """The outcome of ``initialize``: final metadata and which backend computed the labels."""

    metadata: PostMetadata
    backend: str
    labels_written: int
    files_written: int
    nonce_value: bytes | None


def load_or_create_identity(directory: Path) -> bytes:
    """The node id in ``directory/identity.key``, creating a fresh ed25519 key (0600) if absent.

    An existing key must pass the node's own rules: data made for a key the node then refuses
    would be days of initialization lost.
    """
    from mergetool.node.keys import IdentityKey, load_key, write_new_file

    path = Path(directory) / IDENTITY_FILE
    if path.exists() or path.is_symlink():
        return load_key(path).node_id
    # The node's own key type and file writer: one place knows the format (seed || public, hex).
    key = IdentityKey.generate()
    Path(directory).mkdir(parents=True, exist_ok=True)
    write_new_file(path, key.to_file_bytes(), mode=0o600)
    return key.public_key


def plan_init(
    directory: Path,
    *,
    node_id: bytes,
    commitment_atx_id: bytes,
    num_units: int,
    labels_per_unit: int,
    scrypt_n: int,
    max_file_size: int = DEFAULT_MAX_FILE_SIZE,
    vrf_difficulty: bytes | None = None,
) -> InitPlan:
    """Decide which files to write, checking any existing metadata matches the request."""
    from mergetool.post.scrypt import check_n

    check_n(scrypt_n)
    directory = Path(directory)
    if max_file_size < LABEL_SIZE or max_file_size % LABEL_SIZE:
        raise InvalidParameters(f"max file size {max_file_size} must be a positive multiple of 16")
    if num_units < 1 or labels_per_unit < 1:
        raise InvalidParameters("num_units and labels_per_unit must be >= 1")
    if vrf_difficulty is not None:
        check_32_bytes("VRF difficulty", vrf_difficulty)
    wanted = PostMetadata(
        node_id=node_id,
        commitment_atx_id=commitment_atx_id,
        labels_per_unit=labels_per_unit,
        num_units=num_units,
        max_file_size=max_file_size,
    )
    done_labels = 0
    if (directory / METADATA_FILE).exists():
        existing = read_metadata(directory)
        if existing.with_progress(None, None) != wanted:
            differ = [
                f"{label} {show(getattr(existing, field))} (asked: {show(getattr(wanted, field))})"
                for field, label, show in (
                    ("node_id", "node", bytes.hex),
                    ("commitment_atx_id", "commitment ATX", bytes.hex),
                    ("num_units", "num units", str),
                    ("labels_per_unit", "labels per unit", str),
                    ("max_file_size", "max file size", str),
                )
                if getattr(existing, field) != getattr(wanted, field)
            ]
            raise MetadataError(
                f"{directory / METADATA_FILE} describes different PoST data: " + "; ".join(differ),
                hint="Use another directory, or the same parameters to resume.",
            )
        wanted = existing
        done_labels = existing.last_position or 0
    kept = 0
    for index in range(wanted.num_files):
        first, count = wanted.file_labels(index)
        path = directory / data_file_name(index)
        complete = path.exists() and path.stat().st_size == count * LABEL_SIZE
        if not complete or first + count > done_labels:
            break
        kept += 1
    if kept == 0:
        wanted = wanted.with_progress(None, None)
    tasks = tuple(FileTask(i, *wanted.file_labels(i)) for i in range(kept, wanted.num_files))
    return InitPlan(directory, wanted, scrypt_n, vrf_difficulty, tasks, kept)


def _batches(size: int, count: int) -> Iterator[tuple[int, int]]:
    """``(offset, length)`` of the backend-sized batches covering ``count`` labels."""
    return ((lo, min(size, count - lo)) for lo in range(0, count, size))


def initialize(
    plan: InitPlan,
    *,
    backend: str = "auto",
    device: str | None = None,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    progress: Progress | None = None,
) -> InitResult:
    """Carry out ``plan``: write each planned file and the metadata after each one."""
    import numpy as np

    from mergetool.post.backends import get_backend
    from mergetool.post.labels import commitment, compute_labels_with

    impl = get_backend(backend, device, memory_budget=memory_budget)
    step = impl.batch_size(plan.scrypt_n)  # refuses an N the device cannot do: before any write
    meta = plan.metadata
    key = commitment(meta.node_id, meta.commitment_atx_id)
    search = plan.vrf_difficulty is not None
    best_index = meta.nonce
    best_value: bytes | None = None
    if search and best_index is not None:
        best_value = compute_labels_with(
            impl, key, best_index, 1, scrypt_n=plan.scrypt_n, full=True
        )[0].tobytes()
    total = plan.labels_to_write
    done = 0
    report = progress or no_progress
    if plan.tasks and meta.last_position is None:
        # Say from the start how far the data goes, so a reader never takes a data set
        # whose first file is still being written for a complete one.
        meta = meta.with_progress(meta.nonce, plan.tasks[0].first_label)
    plan.directory.mkdir(parents=True, exist_ok=True)
    write_metadata(plan.directory, meta)
    for task in plan.tasks:
        path = plan.directory / data_file_name(task.index)
        try:
            with open(path, "wb") as out:
                for lo, n in _batches(step, task.count):
                    first = task.first_label + lo
                    if plan.vrf_difficulty is not None:
                        # The running difficulty: the configured one, then the best so far.
                        bound = best_value if best_value is not None else plan.vrf_difficulty
                        labels, found = impl.compute_labels_and_vrf(
                            key, first, n, plan.scrypt_n, bound
                        )
                        if found is not None:
                            best_index, best_value = found
                    else:
                        labels = impl.compute_labels(key, first, n, plan.scrypt_n, False)
                    out.write(np.ascontiguousarray(labels).tobytes())
                    done += len(labels)
                    report(done, total)
                # On disk before the metadata says the file is complete.
                out.flush()
                os.fsync(out.fileno())
        except OSError as exc:
            raise PostError(f"cannot write {path}: {exc}") from exc
        meta = meta.with_progress(best_index, task.first_label + task.count)
        write_metadata(plan.directory, meta)
    return InitResult(meta, impl.name, total, len(plan.tasks), best_value)
