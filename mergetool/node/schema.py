"""SQLAlchemy models of the per-identity tables of ``local.sql``, at every schema version.

These describe the columns for queries and copies; the DDL the node checks is produced by the
Alembic revisions in :mod:`mergetool.node.migrations`, never by ``metadata.create_all``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

# Column types as the node declares them (SQLite stores them by affinity).
_ID = sa.LargeBinary
_U32 = sa.Integer
_U64 = sa.BigInteger


@dataclass(frozen=True)
class IdentityTable:
    """A table holding rows of one identity each, and the column naming that identity."""

    table: sa.Table
    id_column: str

    @property
    def name(self) -> str:
        return self.table.name

    @property
    def columns(self) -> list[str]:
        return [c.name for c in self.table.columns]


def _post_columns(version: int) -> list[sa.Column]:
    cols = [
        sa.Column("id", _ID, primary_key=True),
        sa.Column("post_nonce", _U32, nullable=False),
        sa.Column("post_indices", sa.LargeBinary, nullable=False),
        sa.Column("post_pow", _U64, nullable=False),
    ]
    if version >= 2:
        cols.append(sa.Column("num_units", _U32, nullable=False))
    cols.append(sa.Column("commit_atx", _ID, nullable=version < 2))
    if version >= 2:
        cols.append(sa.Column("vrf_nonce", _U64, nullable=False))
    if version >= 8:
        cols.append(sa.Column("challenge", _ID, nullable=False))
    return cols


def _challenge_columns(*, with_poet: bool) -> list[sa.Column]:
    cols = [
        sa.Column("id", _ID, primary_key=True),
        sa.Column("epoch", _U32, nullable=False),
        sa.Column("sequence", _U64, nullable=False),
        sa.Column("prev_atx", _ID, nullable=False),
        sa.Column("pos_atx", _ID, nullable=False),
        sa.Column("commit_atx", _ID),
        sa.Column("post_nonce", _U32),
        sa.Column("post_indices", sa.LargeBinary),
        sa.Column("post_pow", _U64),
    ]
    if with_poet:
        cols += [
            sa.Column("poet_proof_ref", _ID),
            sa.Column("poet_proof_membership", sa.LargeBinary),
        ]
    return cols


def _nipost_columns() -> list[sa.Column]:
    return [
        sa.Column("id", _ID, primary_key=True),
        sa.Column("post_nonce", _U32, nullable=False),
        sa.Column("post_indices", sa.LargeBinary, nullable=False),
        sa.Column("post_pow", _U64, nullable=False),
        sa.Column("num_units", _U32, nullable=False),
        sa.Column("vrf_nonce", _U64, nullable=False),
        sa.Column("poet_proof_membership", sa.LargeBinary, nullable=False),
        sa.Column("poet_proof_ref", _ID, nullable=False),
        sa.Column("labels_per_unit", _U32, nullable=False),
    ]


def _poet_registration_columns() -> list[sa.Column]:
    return [
        sa.Column("id", _ID, primary_key=True),
        sa.Column("hash", _ID, nullable=False),
        sa.Column("address", sa.Text, primary_key=True),
        sa.Column("round_id", sa.Text, nullable=False),
        sa.Column("round_end", sa.BigInteger, nullable=False),
    ]


def _poet_certificates_columns() -> list[sa.Column]:
    return [
        sa.Column("node_id", _ID, nullable=False),
        sa.Column("certifier_id", _ID, nullable=False),
        sa.Column("certificate", sa.LargeBinary, nullable=False),
        sa.Column("signature", sa.LargeBinary, nullable=False),
    ]


@cache
def identity_tables(version: int, schema: str | None = None) -> tuple[IdentityTable, ...]:
    """The per-identity tables present at ``version``, in copy order.

    ``schema`` names an attached database (``ATTACH … AS src``) to address its tables.
    """
    md = sa.MetaData(schema=schema)
    if version <= 0:
        return ()
    post_name = "post" if version >= 8 else "initial_post"
    tables = [IdentityTable(sa.Table(post_name, md, *_post_columns(version)), "id")]
    if version <= 2:
        # 1.3.x: the old "nipost" is what later became "challenge".
        tables.append(
            IdentityTable(sa.Table("nipost", md, *_challenge_columns(with_poet=False)), "id")
        )
        return tuple(tables)
    tables += [
        IdentityTable(sa.Table("challenge", md, *_challenge_columns(with_poet=True)), "id"),
        IdentityTable(sa.Table("poet_registration", md, *_poet_registration_columns()), "id"),
        IdentityTable(sa.Table("nipost", md, *_nipost_columns()), "id"),
    ]
    if version >= 8:
        tables.append(
            IdentityTable(
                sa.Table("poet_certificates", md, *_poet_certificates_columns()), "node_id"
            )
        )
    return tuple(tables)


def identity_table_names(version: int) -> list[str]:
    return [t.name for t in identity_tables(version)]


U64_MASK = (1 << 64) - 1


def u64_to_sql(value: int) -> int:
    """A u64 as the node stores it: two's-complement int64."""
    value &= U64_MASK
    return value - (1 << 64) if value >= 1 << 63 else value


def u64_from_sql(value: int) -> int:
    """Inverse of :func:`u64_to_sql`: the bit pattern read back as unsigned."""
    return value & U64_MASK


def copy_statements(
    version: int, source: str = "src", target: str = "main"
) -> list[tuple[str, str]]:
    """``(table, SQL)`` copying every per-identity row from one attached database to another.

    Built from the models: explicit column lists on both sides (never ``SELECT *``, whose
    meaning depends on column order).
    """
    dialect = sqlite.dialect()
    statements = []
    for dst, src in zip(
        identity_tables(version, target), identity_tables(version, source), strict=True
    ):
        query = sa.select(*(src.table.c[name] for name in dst.columns))
        stmt = sa.insert(dst.table).from_select(dst.columns, query)
        statements.append((dst.name, str(stmt.compile(dialect=dialect))))
    return statements
