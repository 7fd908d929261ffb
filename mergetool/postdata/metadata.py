"""``postdata_metadata.json`` as post-rs / postcli write it (PascalCase, base64 ids).

The file format only, below the PoST engine (:mod:`mergetool.post` re-exports it) so that
``merge`` and ``check`` can read a PoST folder without importing the engine.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import stat
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mergetool._exceptions import MetadataError
from mergetool._fs import write_file_atomic

U64_MAX = (1 << 64) - 1  # sizes, label indices and pow values are u64 in the node
MAX_NUM_UNITS = (1 << 32) - 1  # units are a u32 in the node

METADATA_FILE = "postdata_metadata.json"
#: Where postcli leaves the identity it created for the data.
IDENTITY_FILE = "identity.key"
LABEL_SIZE = 16
#: Unknown fields that describe the nonce; dropped when the nonce changes.
_NONCE_DERIVED = ("NonceValue",)
MAX_FILES = 1 << 24  # more postdata_N.bin files than this means the metadata is wrong
#: post-rs writes a few hundred bytes; anything far larger is not PoST metadata.
_MAX_METADATA_BYTES = 1 << 20
_KNOWN_FIELDS = (
    "NodeId",
    "CommitmentAtxId",
    "LabelsPerUnit",
    "NumUnits",
    "MaxFileSize",
    "Nonce",
    "LastPosition",
)


def data_file_name(index: int) -> str:
    """``postdata_<index>.bin``."""
    return f"postdata_{index}.bin"


@dataclass(frozen=True)
class PostMetadata:
    """What a PoST data folder claims about itself."""

    node_id: bytes
    commitment_atx_id: bytes
    labels_per_unit: int
    num_units: int
    max_file_size: int
    nonce: int | None = None
    last_position: int | None = None
    #: Fields this version does not know, kept as read and written back after the known
    #: ones, so that rewriting the file (a resumed init) loses nothing a newer tool put there.
    extra: tuple[tuple[str, Any], ...] = field(default=(), compare=False, repr=False)

    @property
    def num_labels(self) -> int:
        return self.num_units * self.labels_per_unit

    @property
    def labels_per_file(self) -> int:
        return self.max_file_size // LABEL_SIZE

    @property
    def num_files(self) -> int:
        return -(-self.num_labels // self.labels_per_file)

    def file_labels(self, index: int) -> tuple[int, int]:
        """(first label, label count) held by ``postdata_<index>.bin``."""
        first = index * self.labels_per_file
        return first, max(0, min(self.labels_per_file, self.num_labels - first))

    def with_progress(self, nonce: int | None, last_position: int | None) -> PostMetadata:
        extra = self.extra
        if nonce != self.nonce:  # a kept NonceValue (postcli) would describe the old nonce
            extra = tuple((k, v) for k, v in extra if k not in _NONCE_DERIVED)
        return replace(self, nonce=nonce, last_position=last_position, extra=extra)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object post-rs writes (key order as post-rs), then any ``extra`` fields."""
        doc: dict[str, Any] = {
            "NodeId": base64.b64encode(self.node_id).decode(),
            "CommitmentAtxId": base64.b64encode(self.commitment_atx_id).decode(),
            "LabelsPerUnit": self.labels_per_unit,
            "NumUnits": self.num_units,
            "MaxFileSize": self.max_file_size,
            "Nonce": self.nonce,
            "LastPosition": self.last_position,
        }
        doc.update(self.extra)
        return doc


def layout_problem(
    labels_per_unit: int, num_units: int, max_file_size: int
) -> tuple[str, str] | None:
    """Why these values cannot describe PoST data, as ``(field, reason)``; None when they can.

    The one set of limits for metadata read from disk and for a new ``post init``: the node
    keeps sizes and label indices in u64 and units in u32, and more than ``MAX_FILES`` files
    is a mistake (a new init would also spend ages and memory just listing them). ``reason``
    names the fields by their metadata names; ``field`` is ``MaxFileSize``, ``NumUnits``,
    ``LabelsPerUnit``, ``NumLabels`` or ``NumFiles``.
    """
    if not LABEL_SIZE <= max_file_size <= U64_MAX or max_file_size % LABEL_SIZE:
        return "MaxFileSize", (
            f"MaxFileSize must be a multiple of 16 between 16 and {U64_MAX}, got {max_file_size}"
        )
    if not 1 <= num_units <= MAX_NUM_UNITS:
        return "NumUnits", f"NumUnits must be between 1 and {MAX_NUM_UNITS}, got {num_units}"
    if not 1 <= labels_per_unit <= U64_MAX:
        return "LabelsPerUnit", (
            f"LabelsPerUnit must be between 1 and {U64_MAX}, got {labels_per_unit}"
        )
    total = num_units * labels_per_unit
    if total > U64_MAX:
        return "NumLabels", (
            f"NumUnits x LabelsPerUnit is {total} labels, more than a 64-bit index can address"
        )
    files = -(-total // (max_file_size // LABEL_SIZE))
    if files > MAX_FILES:
        return "NumFiles", (
            f"NumUnits x LabelsPerUnit / (MaxFileSize / 16) = {num_units} x {labels_per_unit} "
            f"/ {max_file_size // LABEL_SIZE} gives {files} data files (more than {MAX_FILES})"
        )
    return None


def _value(doc: dict[str, Any], name: str, path: Path) -> Any:
    if name not in doc:
        raise MetadataError(f"{path}: missing field {name!r}")
    return doc[name]


def _id_field(doc: dict[str, Any], name: str, path: Path) -> bytes:
    """A base64 field holding a 32-byte id."""
    value = _value(doc, name, path)
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, TypeError, ValueError) as exc:
        raise MetadataError(f"{path}: {name} is not base64: {value!r}") from exc
    if len(raw) != 32:
        raise MetadataError(f"{path}: {name} must decode to 32 bytes, got {len(raw)}")
    return raw


def _int_field(doc: dict[str, Any], name: str, path: Path, *, optional: bool = False) -> Any:
    """A non-negative integer field; ``optional`` ones may be absent or null (None)."""
    if optional and doc.get(name) is None:
        return None
    value = _value(doc, name, path)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise MetadataError(f"{path}: {name} must be a non-negative integer, got {value!r}")
    return value


def _read_bytes(path: Path) -> bytes:
    """The bytes of ``path``, refusing anything but a regular file (a FIFO must not hang us)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise MetadataError(f"cannot read {path}: not a regular file")
        if info.st_size > _MAX_METADATA_BYTES:
            raise MetadataError(
                f"cannot read {path}: {info.st_size} bytes is far too large for PoST metadata"
            )
        return fh.read(_MAX_METADATA_BYTES + 1)


def read_metadata(directory: Path) -> PostMetadata:
    """Read and validate ``postdata_metadata.json`` in ``directory``."""
    path = Path(directory) / METADATA_FILE
    try:
        doc = json.loads(_read_bytes(path))
    except FileNotFoundError as exc:
        if path.is_symlink():
            raise MetadataError(f"{path} is a symbolic link to a missing file") from exc
        raise MetadataError(
            f"{path} does not exist", hint="Is this a PoST data folder? Run `post init` first."
        ) from exc
    except OSError as exc:
        raise MetadataError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise MetadataError(f"cannot read {path}: not valid JSON ({exc})") from exc
    except RecursionError as exc:
        raise MetadataError(
            f"cannot read {path}: not valid metadata (JSON nested too deeply)"
        ) from exc
    if not isinstance(doc, dict):
        raise MetadataError(f"{path}: expected a JSON object")
    meta = PostMetadata(
        node_id=_id_field(doc, "NodeId", path),
        commitment_atx_id=_id_field(doc, "CommitmentAtxId", path),
        labels_per_unit=_int_field(doc, "LabelsPerUnit", path),
        num_units=_int_field(doc, "NumUnits", path),
        max_file_size=_int_field(doc, "MaxFileSize", path),
        nonce=_int_field(doc, "Nonce", path, optional=True),
        last_position=_int_field(doc, "LastPosition", path, optional=True),
        extra=tuple((k, v) for k, v in doc.items() if k not in _KNOWN_FIELDS),
    )
    problem = layout_problem(meta.labels_per_unit, meta.num_units, meta.max_file_size)
    if problem is not None:
        raise MetadataError(f"{path}: {problem[1]}; the metadata is not plausible")
    if meta.nonce is not None and meta.nonce >= meta.num_labels:
        raise MetadataError(
            f"{path}: Nonce {meta.nonce} is not a label index of this data "
            f"(it holds {meta.num_labels} labels, 0 .. {meta.num_labels - 1})",
            hint="The metadata is damaged: restore it from a backup, or re-initialize.",
        )
    return meta


def write_metadata(directory: Path, meta: PostMetadata) -> Path:
    """Write ``postdata_metadata.json`` durably: a crash leaves the old file or the new one."""
    path = Path(directory) / METADATA_FILE
    # A symlinked metadata file (data kept elsewhere) is updated where it lives: replacing
    # the link would leave its target stale for whoever else reads it.
    target = path.resolve() if path.is_symlink() and path.exists() else path
    try:
        write_file_atomic(
            target, json.dumps(meta.to_dict(), indent=2).encode(), mode=0o644, folder_owner=False
        )
    except OSError as exc:
        raise MetadataError(f"cannot write {path}: {exc}") from exc
    return path
