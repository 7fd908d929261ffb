"""Build node data folders for tests, demos and benchmarks: real SQLite files in the node's format.

Keys made here are derived from public labels: they are TEST KEYS ONLY, never smesh with them.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mergetool._exceptions import UsageProblem
from mergetool._fs import ensure_private_dir
from mergetool.node.folder import NodeFolder
from mergetool.node.keys import IdentityKey, write_key
from mergetool.node.migrate import create_database
from mergetool.node.schema import identity_tables, u64_to_sql
from mergetool.node.versions import LATEST_VERSION

#: Schema versions the builder writes rows for (1 and 2 lack columns its rows need).
FIXTURE_VERSIONS = tuple(range(3, LATEST_VERSION + 1))


def test_key(label: str) -> IdentityKey:
    """A deterministic key derived from ``label``: reproducible, and public, so test-only."""
    return IdentityKey.from_seed(hashlib.sha256(f"mergetool-test-key:{label}".encode()).digest())


test_key.__test__ = False  # type: ignore[attr-defined]  # a helper, not a pytest test


def _b32(*parts: object) -> bytes:
    return hashlib.sha256(":".join(map(str, parts)).encode()).digest()


def _post_rows(node_id: bytes, n: int, version: int) -> list[dict[str, object]]:
    return [
        {
            "id": node_id,
            "post_nonce": 7 + n,
            "post_indices": _b32("indices", node_id.hex())[:24],
            "post_pow": u64_to_sql(0xF000_0000_0000_0000 + n),
            "num_units": 4,
            "commit_atx": _b32("commit", n),
            "vrf_nonce": u64_to_sql((1 << 64) - 1 - n),
            "challenge": bytes(32),
        }
    ]


def _challenge_rows(node_id: bytes, n: int, version: int) -> list[dict[str, object]]:
    return [
        {
            "id": node_id,
            "epoch": 20 + n % 3,
            "sequence": u64_to_sql(n),
            "prev_atx": _b32("prev", n),
            "pos_atx": _b32("pos", n),
            "commit_atx": None,
            "post_nonce": None,
            "post_indices": None,
            "post_pow": None,
            "poet_proof_ref": _b32("ref", n),
            "poet_proof_membership": b"\x01\x02" + _b32("member", n),
        }
    ]


def _registration_rows(node_id: bytes, n: int, version: int) -> list[dict[str, object]]:
    return [
        {
            "id": node_id,
            "hash": _b32("hash", n, host),
            "address": f"https://{host}.spacemesh.network",
            "round_id": str(20 + n % 3),
            "round_end": 1_732_000_000 + n,
        }
        for host in ("poet-110", "poet-111")
    ]


def _nipost_rows(node_id: bytes, n: int, version: int) -> list[dict[str, object]]:
    return [
        {
            "id": node_id,
            "post_nonce": 3,
            "post_indices": _b32("nipost-indices", n)[:24],
            "post_pow": u64_to_sql(0x8000_0000_0000_0001 + n),
            "num_units": 4,
            "vrf_nonce": u64_to_sql(n),
            "poet_proof_membership": b"\x00" + _b32("membership", n),
            "poet_proof_ref": _b32("poet-ref", n),
            "labels_per_unit": 4_294_967_296 if version >= 8 else 1024,
        }
    ]


def _certificate_rows(node_id: bytes, n: int, version: int) -> list[dict[str, object]]:
    return [
        {
            "node_id": node_id,
            "certifier_id": _b32("certifier", 1),
            "certificate": b"cert" + _b32("certificate", n),
            "signature": _b32("sig", n) * 2,
        }
    ]


_ROWS = {
    "post": _post_rows,
    "initial_post": _post_rows,
    "challenge": _challenge_rows,
    "poet_registration": _registration_rows,
    "nipost": _nipost_rows,
    "poet_certificates": _certificate_rows,
}


def identity_rows(version: int, node_id: bytes, n: int) -> dict[str, list[dict[str, object]]]:
    """Realistic rows for one identity in every per-identity table present at ``version``.

    u64 values above 2^63 are included on purpose: the node stores them as negative int64.
    Columns a version does not have are left out.
    """
    rows: dict[str, list[dict[str, object]]] = {}
    for ident in identity_tables(version):
        cols = set(ident.columns)
        made = _ROWS[ident.name](node_id, n, version)
        rows[ident.name] = [{k: v for k, v in row.items() if k in cols} for row in made]
    return rows


def insert_rows(
    conn: sqlite3.Connection, version: int, rows: dict[str, list[dict[str, object]]]
) -> None:
    """Insert rows with explicit column lists (through the SQLAlchemy table models)."""
    by_name = {t.name: t for t in identity_tables(version)}
    for name, batch in rows.items():
        table = by_name[name].table
        cols = [c.name for c in table.columns]
        sql = f'INSERT INTO "{name}" ({", ".join(cols)}) VALUES ({", ".join("?" * len(cols))})'
        conn.executemany(sql, [tuple(r.get(c) for c in cols) for r in batch])


def _global_rows(conn: sqlite3.Connection, version: int) -> None:
    # Node-global state a real node has; a merge must leave the target's alone.
    if version >= 4:
        conn.execute(
            "INSERT INTO atx_sync_state (epoch, id, requests) VALUES (20, ?, 1)", (_b32("g"),)
        )
    if version >= 6:
        conn.execute(
            "INSERT INTO prepared_activeset (kind, epoch, id, weight, data)"
            " VALUES (1, 20, ?, 9, ?)",
            (_b32("set"), b"\x00" * 8),
        )


@dataclass(frozen=True)
class FixtureNode:
    """What the builder made: the folder and the identities (file name -> node id hex)."""

    folder: NodeFolder
    version: int
    identities: dict[str, str]
    orphans: tuple[str, ...] = ()
    wal_identities: tuple[str, ...] = ()


def _keep_wal(db: Path, conn: sqlite3.Connection) -> None:
    """Close ``conn`` but leave its last transaction only in the WAL, as a crash would."""
    side = db.with_name(db.name + ".keep")
    side.mkdir()
    shutil.copyfile(db, side / db.name)
    shutil.copyfile(db.with_name(db.name + "-wal"), side / (db.name + "-wal"))
    conn.close()
    for name in (db.name, db.name + "-wal"):
        os.replace(side / name, db.with_name(name))
    db.with_name(db.name + "-shm").unlink(missing_ok=True)
    side.rmdir()


def build_node(
    root: Path,
    *,
    version: int = 9,
    identities: Sequence[str] = ("id-1", "id-2"),
    prefix: str = "",
    supervised: bool = False,
    orphan_rows: int = 0,
    wal_identities: Sequence[str] = (),
    duplicate_key: bool = False,
    keys_without_rows: Sequence[str] = (),
) -> FixtureNode:
    """Create a node data folder at ``root`` with a ``local.sql`` at ``version``.

    ``identities`` get a key file ``<name>.key`` and rows; ``prefix`` varies the derived keys;
    ``wal_identities`` get a key and rows that live only in an un-checkpointed WAL;
    ``orphan_rows`` identities have rows but no key; ``keys_without_rows`` the reverse;
    ``duplicate_key`` writes the first identity's key a second time as ``<name>-copy.key``;
    ``supervised`` adds ``local.key``.
    """
    if version not in FIXTURE_VERSIONS:
        raise UsageProblem(
            f"fixture version {version} is not supported",
            hint=f"Supported versions: {', '.join(map(str, FIXTURE_VERSIONS))}.",
            parameter="version",
        )
    folder = NodeFolder(Path(root))
    ensure_private_dir(folder.identities_dir)
    create_database(folder.db_path, version)
    names: dict[str, str] = {}
    conn = sqlite3.connect(folder.db_path, isolation_level=None)
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    conn.execute("BEGIN")
    _global_rows(conn, version)
    for n, name in enumerate(identities):
        key = test_key(prefix + name)
        write_key(key, folder.identities_dir / f"{name}.key")
        names[f"{name}.key"] = key.node_id_hex
        insert_rows(conn, version, identity_rows(version, key.node_id, n))
    orphans = []
    for n in range(orphan_rows):
        key = test_key(f"{prefix}orphan-{n}")
        orphans.append(key.node_id_hex)
        insert_rows(conn, version, identity_rows(version, key.node_id, 1000 + n))
    extra = [(name, f"{name}.key") for name in keys_without_rows]
    if duplicate_key and identities:
        extra.append((identities[0], f"{identities[0]}-copy.key"))
    if supervised:
        extra.append(("supervised", folder.supervised_key.name))
    for seed, file_name in extra:
        key = test_key(prefix + seed)
        write_key(key, folder.identities_dir / file_name)
        names[file_name] = key.node_id_hex
    conn.execute("COMMIT")
    if wal_identities:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("BEGIN")
        for n, name in enumerate(wal_identities):
            key = test_key(prefix + name)
            write_key(key, folder.identities_dir / f"{name}.key")
            names[f"{name}.key"] = key.node_id_hex
            insert_rows(conn, version, identity_rows(version, key.node_id, 500 + n))
        conn.execute("COMMIT")
        _keep_wal(folder.db_path, conn)
    else:
        conn.close()
    return FixtureNode(folder, version, names, tuple(orphans), tuple(wal_identities))
