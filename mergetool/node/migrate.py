"""Create and upgrade ``local.sql`` with the Alembic revisions that replay the node's migrations.

Alembic's usual runner records progress in an ``alembic_version`` table, which the node's drift
check would reject. We walk the same revision scripts ourselves, inside one transaction, and
keep the version where the node keeps it: ``PRAGMA user_version``.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path

import sqlalchemy as sa
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.pool import StaticPool

from mergetool._exceptions import DatabaseError, UnsupportedVersion
from mergetool._fs import TEMP_MARK, take_owner
from mergetool.node import sqlite as sq
from mergetool.node.versions import LATEST_VERSION

_MIGRATIONS = Path(__file__).with_name("migrations")


@cache
def _revisions() -> tuple[object, ...]:
    """Revision scripts in order v01 … v09."""
    script = ScriptDirectory(str(_MIGRATIONS))
    ordered = list(script.walk_revisions("base", "heads"))
    ordered.reverse()
    return tuple(ordered)


def _number(revision: object) -> int:
    return int(revision.revision.lstrip("v"))  # type: ignore[attr-defined]


def _steps(from_version: int, to_version: int) -> list[object]:
    if not 0 <= from_version <= to_version <= LATEST_VERSION:
        raise UnsupportedVersion(
            Path("<migration>"),
            to_version,
            f"cannot migrate from version {from_version} to {to_version}",
        )
    return [r for r in _revisions() if from_version < _number(r) <= to_version]


def _run(steps: list[object], context: object) -> None:
    with Operations.context(context):  # type: ignore[arg-type]
        for rev in steps:
            rev.module.upgrade()  # type: ignore[attr-defined]


class _CallerOwnsTransaction:
    """DB-API connection proxy whose commit/rollback are no-ops.

    SQLAlchemy commits or rolls back when its connection closes; the transaction here
    belongs to our caller, who ends it once ``user_version`` is set too.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def commit(self) -> None:
        pass

    def rollback(self) -> None:
        pass

    def close(self) -> None:
        pass

    def __getattr__(self, name: str) -> object:
        return getattr(self._conn, name)


def apply_migrations(conn: sqlite3.Connection, from_version: int, to_version: int) -> None:
    """Run the revisions after ``from_version`` up to ``to_version`` on an open connection.

    The caller owns the transaction; ``user_version`` is set inside it.
    """
    steps = _steps(from_version, to_version)
    if not steps:
        return
    engine = sa.create_engine(
        "sqlite://", creator=lambda: _CallerOwnsTransaction(conn), poolclass=StaticPool
    )
    try:
        with engine.connect() as sa_conn:
            # The pysqlite connection is in autocommit mode: statements join our open transaction.
            _run(steps, MigrationContext.configure(connection=sa_conn))
    except sa.exc.DBAPIError as exc:
        # Hand callers the sqlite3 error they translate (SQLAlchemy's wrapper stays the cause).
        if isinstance(exc.orig, sqlite3.Error):
            raise type(exc.orig)(str(exc.orig)) from exc
        raise
    conn.execute(f"PRAGMA user_version = {to_version}")


class _Statements:
    """An output buffer for Alembic's offline mode that keeps each statement apart."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def write(self, text: str) -> None:
        if text.strip():
            self.statements.append(text.strip())

    def flush(self) -> None:
        pass


def migration_statements(from_version: int, to_version: int) -> tuple[str, ...]:
    """The statements an upgrade runs, one per item, without running them (offline mode).

    The last one sets ``user_version``; :func:`run_statements` runs them as they are.
    """
    buf = _Statements()
    ctx = MigrationContext.configure(
        dialect_name="sqlite", opts={"as_sql": True, "output_buffer": buf}
    )
    _run(_steps(from_version, to_version), ctx)
    return (*buf.statements, f"PRAGMA user_version = {to_version};")


def migration_sql(from_version: int, to_version: int) -> str:
    """The SQL an upgrade runs, as one script."""
    return "".join(f"{stmt}\n\n" for stmt in migration_statements(from_version, to_version))


def run_statements(
    path: Path,
    statements: Sequence[str],
    *,
    from_version: int,
    trace: Callable[[str], None] | None = None,
) -> None:
    """Run ``statements`` (a plan's migration) on ``path`` at ``from_version``, all or nothing."""
    with sq.connection(path) as conn:
        conn.set_trace_callback(trace)
        found = sq.user_version(conn)
        if found != from_version:
            raise DatabaseError(path, f"is at version {found}, the plan expected {from_version}")
        try:
            conn.execute("BEGIN IMMEDIATE")
            for stmt in statements:
                conn.execute(stmt)
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            conn.execute("ROLLBACK") if conn.in_transaction else None
            raise sq.translate(path, exc) from exc


def upgrade_database(path: Path, to_version: int = LATEST_VERSION) -> int:
    """Upgrade ``path`` in place, all or nothing; return the version it had before."""
    with sq.connection(path) as conn:
        before = sq.user_version(conn)
        if before > to_version:
            raise UnsupportedVersion(path, before, f"database is newer than version {to_version}")
        try:
            conn.execute("BEGIN IMMEDIATE")
            apply_migrations(conn, before, to_version)
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            conn.execute("ROLLBACK") if conn.in_transaction else None
            raise sq.translate(path, exc) from exc
    return before


def create_database(path: Path, version: int = LATEST_VERSION) -> None:
    """Write a fresh ``local.sql`` at ``version`` (WAL mode), atomically: all or no file."""
    if path.exists():
        raise DatabaseError(path, "already exists", hint="Refusing to overwrite a database.")
    tmp = path.with_name(f".{path.name}{TEMP_MARK}{os.getpid()}")
    try:
        conn = sqlite3.connect(tmp, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            apply_migrations(conn, 0, version)
            conn.execute("COMMIT")
            # Rollback journal while the file has a temporary name: a WAL would be left behind
            # under that name. The node's own mode is set once the file has its real name.
            conn.execute("PRAGMA journal_mode = DELETE")
        finally:
            conn.close()
        os.chmod(tmp, 0o600)
        take_owner(tmp, path.parent)  # SQLite gives its -wal and -shm the owner of this file
        os.replace(tmp, path)
        with sq.connection(path) as final:
            final.execute("PRAGMA journal_mode = WAL")
    except sqlite3.Error as exc:
        raise sq.translate(path, exc) from exc
    except OSError as exc:
        raise DatabaseError(path, f"cannot create it ({exc.strerror})") from exc
    finally:
        tmp.unlink(missing_ok=True)
