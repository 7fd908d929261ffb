"""Initialization: plan which ``postdata_N.bin`` files to (re)write, then write them.

Resumable: files already complete (and covered by the metadata's ``LastPosition``) are kept;
work restarts at the first file that is missing, short, or newer than the metadata.
``LastPosition`` is the number of labels written so far (the next label index).
"""

from __future__ import annotations

import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from mergetool._exceptions import InvalidParameters, MetadataError, PostError
from mergetool._fs import fsync_dir, write_new_file
from mergetool._progress import ProgressCallback, no_progress
from mergetool.node.keys import IdentityKey, load_key
from mergetool.post.backends import DEFAULT_MEMORY_BUDGET, LabelBackend, get_backend
from mergetool.post.labels import batches, commitment, compute_labels_with
from mergetool.post.metadata import (
    IDENTITY_FILE,
    LABEL_SIZE,
    METADATA_FILE,
    PostMetadata,
    data_file_name,
    layout_problem,
    read_metadata,
    write_metadata,
)
from mergetool.post.params import check_32_bytes
from mergetool.post.reader import data_entries, data_file_size
from mergetool.post.scrypt import check_n

DEFAULT_MAX_FILE_SIZE = 1 << 32
GIB = 1 << 30
#: How the limits of ``layout_problem`` name the values given to ``plan_init``.
_ARGUMENT_NAMES = (
    ("MaxFileSize", "max file size"),
    ("NumUnits", "num units"),
    ("LabelsPerUnit", "labels per unit"),
)
_LAYOUT_HINTS = {
    "NumFiles": "Use a larger max file size (the default is 4 GiB per file).",
    "NumLabels": "Use fewer units or fewer labels per unit.",
}


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
    #: ``identity.key`` when the node id was read from it or will be written to it.
    identity_file: Path | None = None
    #: A key made for this run, written to ``identity_file`` only when ``initialize`` starts.
    new_identity: IdentityKey | None = field(default=None, repr=False, compare=False)

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
    #: The plan's directory, identity file and complete files it kept.
    directory: Path = Path()
    identity_file: Path | None = None
    files_kept: int = 0

    def to_dict(self) -> dict[str, object]:
        """The documented JSON form (``post init --json``)."""
        meta = self.metadata
        return {
            "format": 1,  # schemas/json/post-init.schema.json
            "dir": str(self.directory),
            "node_id": meta.node_id.hex(),
            "identity_file": str(self.identity_file) if self.identity_file else None,
            "backend": self.backend,
            "num_units": meta.num_units,
            "labels_per_unit": meta.labels_per_unit,
            "files_kept": self.files_kept,
            "files_written": self.files_written,
            "labels_written": self.labels_written,
            "nonce": meta.nonce,
            "nonce_value": self.nonce_value.hex() if self.nonce_value else None,
        }


def _check_arguments(
    node_id: bytes | None,
    commitment_atx_id: bytes,
    num_units: int,
    labels_per_unit: int,
    scrypt_n: int,
    max_file_size: int,
    vrf_difficulty: bytes | None,
) -> None:
    """Raise InvalidParameters for the first value that cannot describe PoST data."""
    check_n(scrypt_n)
    problem = layout_problem(labels_per_unit, num_units, max_file_size)
    if problem is not None:
        field_name, reason = problem
        for name, label in _ARGUMENT_NAMES:
            reason = reason.replace(name, label)
        raise InvalidParameters(reason, hint=_LAYOUT_HINTS.get(field_name))
    if node_id is not None:
        check_32_bytes("node id", node_id)
    check_32_bytes("commitment ATX id", commitment_atx_id)
    if vrf_difficulty is not None:
        check_32_bytes("VRF difficulty", vrf_difficulty)


def _refuse_orphan_data(directory: Path, entries: list[tuple[int, Path]]) -> None:
    """Data files without metadata may belong to another node: never write over them."""
    if not entries:
        return
    names = [path.name for _, path in entries]
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    raise PostError(
        f"{directory} holds PoST data files but no {METADATA_FILE}: {shown}",
        hint="They may be another node's data and would be overwritten. Move them out of the "
        f"folder, or restore their {METADATA_FILE} to resume them.",
    )


def _resolve_identity(
    directory: Path, node_id: bytes | None, existing: PostMetadata | None
) -> tuple[bytes, Path | None, IdentityKey | None]:
    """``(node id, identity file, key to create)`` without writing anything."""
    if node_id is not None:
        return node_id, None, None
    path = directory / IDENTITY_FILE
    if path.exists() or path.is_symlink():
        return load_key(path).node_id, path, None
    if existing is not None:
        raise PostError(
            f"{directory} already holds PoST data (for node {existing.node_id.hex()}) "
            f"but no {IDENTITY_FILE}, and no node id was given",
            hint=f"To resume that data, pass `node_id={existing.node_id.hex()}`; "
            "for a new identity, use another folder.",
        )
    key = IdentityKey.generate()
    return key.node_id, path, key


def _check_same_data(
    metadata_path: Path, existing: PostMetadata, wanted: PostMetadata, identity_file: Path | None
) -> None:
    """Refuse a request for other data than ``existing`` describes, naming each difference."""
    if existing.with_progress(None, None) == wanted:
        return

    def source(name: str) -> str:
        """Where the requested value came from: only the node id can come from the key."""
        return f"{IDENTITY_FILE} has" if name == "node_id" and identity_file else "asked"

    differ = [
        f"{label} {show(getattr(existing, name))} ({source(name)}: {show(getattr(wanted, name))})"
        for name, label, show in (
            ("node_id", "node", bytes.hex),
            ("commitment_atx_id", "commitment ATX", bytes.hex),
            ("num_units", "num units", str),
            ("labels_per_unit", "labels per unit", str),
            ("max_file_size", "max file size", str),
        )
        if getattr(existing, name) != getattr(wanted, name)
    ]
    raise MetadataError(
        f"{metadata_path} describes different PoST data: " + "; ".join(differ),
        hint="Use another folder, or the same parameters to resume.",
    )


def _kept_files(wanted: PostMetadata, entries: list[tuple[int, Path]]) -> int:
    """How many leading files are complete (right size, covered by ``LastPosition``)."""
    done_labels = wanted.last_position or 0
    # Every entry a run may keep or write over must be a data file (or a link to one).
    sizes = {
        index: data_file_size(path)
        for index, path in entries
        if index < wanted.num_files and path.name == data_file_name(index)
    }
    kept = 0
    for index in range(wanted.num_files):
        first, count = wanted.file_labels(index)
        if sizes.get(index) != count * LABEL_SIZE or first + count > done_labels:
            break
        kept += 1
    return kept


def plan_init(
    directory: Path,
    *,
    node_id: bytes | None = None,
    commitment_atx_id: bytes,
    num_units: int,
    labels_per_unit: int,
    scrypt_n: int,
    max_file_size: int = DEFAULT_MAX_FILE_SIZE,
    vrf_difficulty: bytes | None = None,
) -> InitPlan:
    """Decide which files to write, checking any existing metadata matches the request.

    Without ``node_id`` the identity in ``directory/identity.key`` is used; when there is none
    (and no data yet), a new key is made, which ``initialize`` writes before anything else.
    """
    _check_arguments(
        node_id, commitment_atx_id, num_units, labels_per_unit, scrypt_n, max_file_size,
        vrf_difficulty,
    )  # fmt: skip
    directory = Path(directory)
    metadata_path = directory / METADATA_FILE
    existing = None
    if metadata_path.exists() or metadata_path.is_symlink():
        existing = read_metadata(directory)
    entries = data_entries(directory)
    if existing is None:
        _refuse_orphan_data(directory, entries)
    node_id, identity_file, new_identity = _resolve_identity(directory, node_id, existing)
    wanted = PostMetadata(
        node_id=node_id,
        commitment_atx_id=commitment_atx_id,
        labels_per_unit=labels_per_unit,
        num_units=num_units,
        max_file_size=max_file_size,
    )
    if existing is not None:
        _check_same_data(metadata_path, existing, wanted, identity_file)
        wanted = existing
    kept = _kept_files(wanted, entries)
    if kept == 0:
        wanted = wanted.with_progress(None, None)
    tasks = tuple(FileTask(i, *wanted.file_labels(i)) for i in range(kept, wanted.num_files))
    return InitPlan(
        directory, wanted, scrypt_n, vrf_difficulty, tasks, kept, identity_file, new_identity
    )


def _write_identity(path: Path, key: IdentityKey) -> None:
    """Create ``path`` with ``key`` (0600), never replacing a file that appeared meanwhile."""
    try:
        # The node's own file writer: one place knows the format (seed || public, hex).
        write_new_file(path, key.to_file_bytes(), mode=0o600, folder_owner=False)
        fsync_dir(path.parent)
    except OSError as exc:
        raise PostError(f"cannot write {path}: {exc.strerror or exc}") from exc


def _open_data_file(path: Path) -> BinaryIO:
    """``path`` emptied for writing; a FIFO or device there is refused, never waited on."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NONBLOCK, 0o666)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise PostError(f"cannot write {path}: not a regular file")
        os.ftruncate(fd, 0)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "wb")
    except BaseException:
        os.close(fd)
        raise


def _check_free_space(plan: InitPlan) -> None:
    """Refuse a plan whose files would not fit: an init must not run until the disk is full."""
    needed = 0
    for task in plan.tasks:  # each planned file is rewritten from its start
        try:
            have = (plan.directory / data_file_name(task.index)).stat().st_size
        except OSError:
            have = 0
        needed += max(0, task.count * LABEL_SIZE - have)
    where = plan.directory
    while not where.exists() and where != where.parent:
        where = where.parent
    free = shutil.disk_usage(where).free
    if needed > free:
        raise PostError(
            f"{plan.directory}: {needed} bytes ({needed / GIB:.1f} GiB) still to write, but its "
            f"file system has {free} bytes ({free / GIB:.1f} GiB) free",
            hint="Free some space or use fewer units; `space_check=False` starts anyway.",
            parameter="space_check",
        )


class _LabelWriter:
    """Computes labels batch by batch into data files, keeping the best VRF nonce so far."""

    def __init__(self, plan: InitPlan, impl: LabelBackend, report: ProgressCallback) -> None:
        self.plan, self.impl, self.report = plan, impl, report
        self.step = impl.batch_size(plan.scrypt_n)  # refuses an N the device cannot do
        meta = plan.metadata
        self.key = commitment(meta.node_id, meta.commitment_atx_id)
        self.best_index, self.best_value = meta.nonce, None
        if plan.vrf_difficulty is not None and self.best_index is not None:
            self.best_value = compute_labels_with(
                impl, self.key, self.best_index, 1, scrypt_n=plan.scrypt_n, full=True
            )[0].tobytes()
        self.done = 0

    def _batch(self, first: int, n: int) -> np.ndarray:
        plan = self.plan
        if plan.vrf_difficulty is None:
            return self.impl.compute_labels(self.key, first, n, plan.scrypt_n, full=False)
        # The running difficulty: the configured one, then the best so far.
        bound = self.best_value if self.best_value is not None else plan.vrf_difficulty
        labels, found = self.impl.compute_labels_and_vrf(self.key, first, n, plan.scrypt_n, bound)
        if found is not None:
            self.best_index, self.best_value = found
        return labels

    def write(self, task: FileTask) -> None:
        """Write the file of ``task``, on disk (fsynced) before the metadata says so."""
        path = self.plan.directory / data_file_name(task.index)
        try:
            with _open_data_file(path) as out:
                for lo, n in batches(self.step, task.count):
                    labels = self._batch(task.first_label + lo, n)
                    out.write(np.ascontiguousarray(labels).tobytes())
                    self.done += len(labels)
                    self.report(self.done, self.plan.labels_to_write)
                out.flush()
                os.fsync(out.fileno())
        except OSError as exc:
            raise PostError(f"cannot write {path}: {exc}") from exc


def execute_init(
    plan: InitPlan,
    *,
    backend: str = "auto",
    device: str | None = None,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    progress: ProgressCallback | None = None,
    space_check: bool = True,
) -> InitResult:
    """Carry out ``plan``: write each planned file and the metadata after each one.

    Unless ``space_check`` is False, a plan whose files do not fit the free space of the
    file system is refused before anything is written.
    """
    impl = get_backend(backend, device, memory_budget=memory_budget)
    writer = _LabelWriter(plan, impl, progress or no_progress)  # checks N: before any write
    if space_check:
        _check_free_space(plan)
    meta = plan.metadata
    if plan.tasks and meta.last_position is None:
        # Say from the start how far the data goes, so a reader never takes a data set
        # whose first file is still being written for a complete one.
        meta = meta.with_progress(meta.nonce, plan.tasks[0].first_label)
    try:
        plan.directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PostError(f"cannot create {plan.directory}: {exc.strerror or exc}") from exc
    if plan.new_identity is not None and plan.identity_file is not None:
        _write_identity(plan.identity_file, plan.new_identity)
    write_metadata(plan.directory, meta)
    for task in plan.tasks:
        writer.write(task)
        meta = meta.with_progress(writer.best_index, task.first_label + task.count)
        write_metadata(plan.directory, meta)
    return InitResult(
        meta, impl.name, plan.labels_to_write, len(plan.tasks), writer.best_value, plan.directory,
        plan.identity_file, plan.kept_files,
    )  # fmt: skip


#: The name before plan/execute pairs were named alike (``plan_init``/``execute_init``).
initialize = execute_init
