"""Read a node data folder, without writing a byte anywhere, into one frozen value."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from mergetool._exceptions import InvalidKeyFile
from mergetool.node import sqlite as sq
from mergetool.node.drift import DriftReport, check_drift
from mergetool.node.folder import IdentityFile, NodeFolder
from mergetool.node.keys import IdentityKey, load_key
from mergetool.node.schema import identity_tables
from mergetool.node.versions import LATEST_VERSION
from mergetool.node.wal import open_image

RowCounts = Mapping[str, int]


@dataclass(frozen=True)
class KeyEntry:
    """An identity file and what the node would make of it: a key, or the reason it refuses."""

    file: IdentityFile
    key: IdentityKey | None
    error: InvalidKeyFile | None = field(default=None, compare=False)
    #: for a symbolic link (which we never load as a key): the key the node reads through it
    linked: IdentityKey | None = field(default=None, compare=False)

    @property
    def node_id_hex(self) -> str | None:
        return self.key.node_id_hex if self.key else None

    @property
    def node_view(self) -> IdentityKey | None:
        """The identity the node loads from this file: it follows symbolic links."""
        return self.key or self.linked


@dataclass(frozen=True)
class BadNodeId:
    """Rows of a per-identity table whose node id the node cannot use (not 32 bytes of blob)."""

    table: str
    node_id: object
    rows: int

    def describe(self) -> str:
        value = self.node_id
        if isinstance(value, bytes):
            shown = f"a {len(value)}-byte blob ({value.hex()[:64]})"
        elif isinstance(value, str):
            shown = f"text {value[:40]!r}"
        else:
            shown = "NULL" if value is None else f"{type(value).__name__} {value!r}"
        return f"table {self.table}: {self.rows} row(s) whose node id is {shown}, not 32 bytes"


@dataclass(frozen=True)
class NodeState:
    """Everything a check needs to know about one node folder, read at one moment."""

    folder: NodeFolder
    version: int
    drift: DriftReport | None
    keys: tuple[KeyEntry, ...]
    #: node id -> table -> row count, for every id present in a per-identity table
    rows: Mapping[bytes, RowCounts]
    pending_wal: bool
    #: rows whose node id is not a 32-byte blob (never counted in ``rows``)
    bad_ids: tuple[BadNodeId, ...] = ()

    @property
    def valid_keys(self) -> dict[bytes, KeyEntry]:
        """Node id -> first valid key file holding it."""
        found: dict[bytes, KeyEntry] = {}
        for entry in self.keys:
            if entry.key is not None:
                found.setdefault(entry.key.node_id, entry)
        return found

    def rows_of(self, node_id: bytes) -> RowCounts:
        return self.rows.get(node_id, MappingProxyType({}))


def _through_link(path: Path) -> IdentityKey | None:
    """The key the node would load through the symbolic link ``path``, if any."""
    try:
        return load_key(path.resolve(strict=True))
    except (InvalidKeyFile, OSError, RuntimeError):  # (RuntimeError: a link loop)
        return None


def load_keys(folder: NodeFolder) -> tuple[KeyEntry, ...]:
    entries = []
    for ident in folder.identity_files():
        try:
            entries.append(KeyEntry(ident, load_key(ident.path)))
        except InvalidKeyFile as exc:
            linked = _through_link(ident.path) if ident.is_symlink else None
            entries.append(KeyEntry(ident, None, exc, linked))
    return tuple(entries)


def _id_counts(conn: sqlite3.Connection, version: int) -> list[tuple[str, object, int]]:
    """``(table, node id, rows)`` of every per-identity table (missing tables skipped)."""
    present = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    found = []
    for ident in identity_tables(min(version, LATEST_VERSION)):
        if ident.name in present:
            query = f'SELECT "{ident.id_column}", count(*) FROM "{ident.name}" GROUP BY 1'
            found += [(ident.name, node_id, n) for node_id, n in conn.execute(query)]
    return found


def _usable(node_id: object) -> bool:
    return isinstance(node_id, bytes) and len(node_id) == 32


def count_rows(conn: sqlite3.Connection, version: int) -> dict[bytes, dict[str, int]]:
    """Rows per identity per per-identity table; ids that are not 32-byte blobs are left out."""
    counts: dict[bytes, dict[str, int]] = {}
    for table, node_id, n in _id_counts(conn, version):
        if _usable(node_id):
            counts.setdefault(node_id, {})[table] = n  # type: ignore[index]
    return counts


def bad_node_ids(conn: sqlite3.Connection, version: int) -> tuple[BadNodeId, ...]:
    """Rows whose node id the node cannot use: text, NULL, or a blob of another length."""
    found = _id_counts(conn, version)
    return tuple(BadNodeId(t, node_id, n) for t, node_id, n in found if not _usable(node_id))


def read_node(folder: NodeFolder) -> NodeState:
    """Read keys, version, drift and rows of ``folder`` without writing a byte anywhere."""
    keys = load_keys(folder)
    pending = folder.has_pending_wal()
    if not folder.db_path.exists():
        return NodeState(folder, 0, None, keys, MappingProxyType({}), pending)
    conn = open_image(folder.db_path)
    try:
        version = sq.user_version(conn)
        drift = check_drift(conn, version) if 0 <= version <= LATEST_VERSION else None
        rows = count_rows(conn, version)
        bad = bad_node_ids(conn, version)
    except sqlite3.DatabaseError as exc:
        raise sq.translate(folder.db_path, exc) from exc
    finally:
        conn.close()
    frozen_rows = MappingProxyType({k: MappingProxyType(v) for k, v in rows.items()})
    return NodeState(folder, version, drift, keys, frozen_rows, pending, bad)
