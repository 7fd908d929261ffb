"""Test helper: typed per-identity rows, with the node's u64 encoding (two's-complement int64).

Reading goes through the SQLAlchemy models of :mod:`mergetool.node.schema`; a u64 read back as
a negative int64 becomes the unsigned value, and writing turns it back bit for bit.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

from mergetool.node.schema import identity_tables, u64_from_sql, u64_to_sql

#: Columns holding u64 values, per table (the node stores them as int64).
U64_COLUMNS: MappingProxyType[str, frozenset[str]] = MappingProxyType(
    {
        "initial_post": frozenset({"post_pow", "vrf_nonce"}),
        "post": frozenset({"post_pow", "vrf_nonce"}),
        "challenge": frozenset({"sequence", "post_pow"}),
        "nipost": frozenset({"post_pow", "vrf_nonce"}),
        "poet_registration": frozenset(),
        "poet_certificates": frozenset(),
    }
)


@dataclass(frozen=True)
class IdentityRow:
    """One row of a per-identity table; u64 columns hold unsigned Python ints."""

    table: str
    values: tuple[tuple[str, Any], ...]

    def get(self, column: str) -> Any:
        return dict(self.values)[column]

    @classmethod
    def from_sql(cls, table: str, row: dict[str, Any]) -> IdentityRow:
        u64 = U64_COLUMNS.get(table, frozenset())
        values = tuple(
            (k, u64_from_sql(v) if k in u64 and v is not None else v) for k, v in row.items()
        )
        return cls(table, values)

    def to_sql(self) -> dict[str, Any]:
        """Column -> value as the node stores it."""
        u64 = U64_COLUMNS.get(self.table, frozenset())
        return {k: u64_to_sql(v) if k in u64 and v is not None else v for k, v in self.values}


def read_identity_rows(conn: sqlite3.Connection, version: int, node_id: bytes) -> list[IdentityRow]:
    """Every row of ``node_id`` in the per-identity tables, typed, in table order."""

    engine = sa.create_engine("sqlite://", creator=lambda: conn, poolclass=StaticPool)
    found: list[IdentityRow] = []
    with engine.connect() as sa_conn:
        for ident in identity_tables(version):
            column = ident.table.c[ident.id_column]
            query = sa.select(ident.table).where(column == node_id)
            for row in sa_conn.execute(query).mappings():
                found.append(IdentityRow.from_sql(ident.name, dict(row)))
        sa_conn.rollback()
    return found
