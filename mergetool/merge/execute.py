"""Carrying out a :class:`MergePlan`, all or nothing, also across crashes.

Order of writes (each step durable before the next):
  1. finish or undo an interrupted earlier merge (its journal);
  2. create the target database if the plan says so; back up the target;
  3. write the journal, then stage keys under names the node ignores;
  4. copy every row in one SQLite transaction;
  5. rename staged keys into place; with ``--retire-source`` move the merged source key files
     aside (:mod:`mergetool.merge.retire`); then remove the journal.
A crash before 4 commits leaves the target as it was (the next run rolls the staging back);
a crash after leaves it merged (the next run rolls the renames and moves forward).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mergetool._exceptions import DatabaseError, DiskFull, MergeFailed, MergetoolError
from mergetool._fs import (
    NO_SPACE,
    TEMP_MARK,
    disk_full,
    ensure_private_dir,
    fsync_dir,
    missing_dirs,
    write_new_file,
)
from mergetool._progress import StageProgressCallback, no_stage_progress
from mergetool.backup.store import make_backup, sweep_partial_backups
from mergetool.merge.journal import Journal, StagedKey, journal_path, read_journal
from mergetool.merge.model import MergePlan, MergeResult
from mergetool.merge.recovery import install_staged, recover
from mergetool.merge.retire import retire_keys
from mergetool.node import sqlite as sq
from mergetool.node.folder import NodeFolder
from mergetool.node.keys import IdentityKey, load_key
from mergetool.node.migrate import create_database, run_statements
from mergetool.node.state import count_rows

Trace = Callable[[str], None]


def sweep_temporaries(folder: NodeFolder) -> None:
    """Remove temporary files an interrupted run of ours left (never anything else)."""
    for directory in (folder.root, folder.identities_dir):
        if directory.is_dir():
            for path in directory.iterdir():
                if TEMP_MARK in path.name and path.is_file():
                    path.unlink()
    sweep_partial_backups(folder)


def _prepare_source(plan: MergePlan, workdir: Path, trace: Trace | None) -> Path:
    """A private copy of the source, upgraded by exactly the plan's migration statements."""
    snap = sq.snapshot(NodeFolder(plan.source).db_path, workdir)
    if plan.source_migration:
        run_statements(snap, plan.source_migration, from_version=plan.source_version, trace=trace)
    return snap


def _verify_unchanged(plan: MergePlan, snap: Path) -> None:
    """The source as executed must be the source as planned."""
    with sq.connection(snap, readonly=True) as conn:
        rows = count_rows(conn, sq.user_version(conn))
    planned = {bytes.fromhex(i.node_id): sum(n for _, n in i.rows) for i in plan.identities}
    found = {k: sum(v.values()) for k, v in rows.items()}
    if planned != found:
        raise MergeFailed(
            f"{plan.source}: the source changed since the merge was planned",
            hint="Make sure its node is stopped, then run the merge again.",
        )


def _copy_rows(
    plan: MergePlan, snap: Path, progress: StageProgressCallback, trace: Trace | None
) -> int:
    """Run the plan's copy statements in one transaction; the row count must match the plan."""
    db = NodeFolder(plan.target).db_path
    conn = sq.connect(db, timeout=sq.BUSY_TIMEOUT_S)
    conn.set_trace_callback(trace)
    try:
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("ATTACH DATABASE ? AS src", (sq.file_uri(snap, "ro"),))
        copied = 0
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise sq.translate(db, exc) from exc
        try:
            for n, (_table, sql) in enumerate(plan.copy_sql):
                copied += conn.execute(sql).rowcount
                progress("rows", n + 1, len(plan.copy_sql))
            expected = sum(i.total for i in plan.identities)
            if copied != expected:
                raise MergeFailed(f"copied {copied} rows where the plan counted {expected}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("DETACH DATABASE src")
    except sqlite3.Error as exc:
        raise sq.translate(db, exc) from exc
    finally:
        conn.close()
    return copied


def _stage_keys(plan: MergePlan, journal: Journal, progress: StageProgressCallback) -> None:
    """Write every key under its staged name, durably, before the database commit."""
    ids = NodeFolder(plan.target).identities_dir
    total = len(plan.keys)
    for n, (install, staged) in enumerate(zip(plan.keys, journal.keys, strict=True)):
        key: IdentityKey = load_key(install.source_file)
        if key.node_id_hex != install.node_id:
            raise MergeFailed(f"{install.source_file}: changed since the merge was planned")
        write_new_file(ids / staged.staged, key.to_file_bytes())
        progress("stage keys", n + 1, total)
    fsync_dir(ids)


def _prepare_target(plan: MergePlan, folder: NodeFolder) -> _Made:
    """Folders, a new database, the backup: what exists before the journal is written."""
    made = _Made(
        had_backups=folder.backups_dir.exists(),
        dirs=list(missing_dirs(folder.identities_dir)),
    )
    try:
        ensure_private_dir(folder.root)
        ensure_private_dir(folder.identities_dir)
        if plan.create_target_db:
            create_database(folder.db_path, plan.target_version)
            made.database = True
        if plan.backup:
            made.backup_dir = make_backup(folder, source=plan.source)
    except (OSError, MergetoolError) as exc:
        made.undo(folder)
        if isinstance(exc, DiskFull) or (isinstance(exc, OSError) and exc.errno in NO_SPACE):
            raise _failed(plan, exc, committed=False) from exc
        if isinstance(exc, MergetoolError):
            raise
        raise MergeFailed(f"{exc.filename or plan.target}: {exc.strerror}") from exc
    return made


def _journal(plan: MergePlan, folder: NodeFolder) -> Journal:
    return Journal(
        path=journal_path(folder.root),
        source=os.path.abspath(plan.source),  # a re-run may start in another folder
        node_ids=tuple(i.node_id for i in plan.identities),
        expected_rows=sum(i.total for i in plan.identities),
        keys=tuple(StagedKey(k.target_name, k.node_id) for k in plan.keys),
        retire_folder=plan.retire[0].new.parent.name if plan.retire else None,
        retire=tuple((m.old.name, m.node_id) for m in plan.retire),
    )


def _failed(
    plan: MergePlan, exc: OSError | sqlite3.Error | DiskFull, *, committed: bool
) -> MergeFailed:
    if isinstance(exc, OSError) and exc.errno in NO_SPACE:
        exc = disk_full(Path(exc.filename or plan.target), exc.strerror or str(exc))
    if isinstance(exc, DiskFull):  # the cause and the next step are known
        exc = exc.during("merge")
        state = (
            "rows are merged but keys are not all in place"
            if committed
            else "the merge was rolled back, the target is unchanged"
        )
        return MergeFailed(f"{exc.message}; {state}", hint=exc.hint)
    where = getattr(exc, "filename", None) or plan.target
    detail = getattr(exc, "strerror", None) or str(exc)
    if not committed:
        return MergeFailed(f"{where}: {detail}; the merge was rolled back, the target is unchanged")
    return MergeFailed(
        f"{where}: {detail}; rows are merged but keys are not all in place",
        hint="Run the same command again to finish the merge.",
    )


def execute_merge(
    plan: MergePlan, progress: StageProgressCallback | None = None, *, trace: Trace | None = None
) -> MergeResult:
    """Carry out ``plan`` exactly; on any failure the target is left as it was.

    ``trace`` receives every SQL statement run on the source copy and the target database
    (SQLite's trace callback), e.g. to log them or to check them against the plan.
    """
    progress = progress or no_stage_progress
    folder = NodeFolder(plan.target)
    recovered = None
    if plan.recovery is not None:
        recovered = recover(folder, plan.recovery)
    if folder.root.exists():
        sweep_temporaries(folder)
    retired = plan.recovery.retire if plan.recovery is not None else ()
    if plan.nothing_to_do:
        if plan.retire:  # merged earlier: only the source's keys move, under a journal
            journal = _journal(plan, folder)
            try:
                journal.write()
                retire_keys(plan.retire, progress)
                journal.remove()
            except OSError as exc:
                raise _failed(plan, exc, committed=True) from exc
        return MergeResult(
            plan,
            merged=False,
            backup_dir=None,
            keys_installed=(),
            rows_copied=0,
            recovered=recovered,
            keys_retired=retired + plan.retire,
        )
    sq.ensure_not_in_use(folder.db_path)
    made = _prepare_target(plan, folder)
    journal = _journal(plan, folder)
    committed = False
    try:
        with tempfile.TemporaryDirectory(prefix="mergetool-src-") as tmp:
            snap = _prepare_source(plan, Path(tmp), trace)
            _verify_unchanged(plan, snap)
            journal.write()
            _stage_keys(plan, journal, progress)
            rows = _copy_rows(plan, snap, progress, trace) if plan.copy_sql else 0
            committed = True
        for n, staged in enumerate(journal.keys):
            install_staged(folder.identities_dir, staged.staged, staged.final)
            progress("install keys", n + 1, len(journal.keys))
        fsync_dir(folder.identities_dir)
        retire_keys(plan.retire, progress)
        journal.remove()
    except (MergetoolError, OSError, sqlite3.Error) as exc:
        if not committed:
            _undo_staging(folder, journal)
            made.undo(folder)
        if isinstance(exc, MergetoolError) and not isinstance(exc, DiskFull):
            raise
        raise _failed(plan, exc, committed=committed) from exc
    return MergeResult(
        plan,
        merged=True,
        backup_dir=made.backup_dir,
        keys_installed=tuple(k.final for k in journal.keys),
        rows_copied=rows,
        recovered=recovered,
        keys_retired=retired + plan.retire,
    )


#: The name before plan/execute pairs were named alike (``plan_merge``/``execute_merge``).
execute = execute_merge


def _undo_staging(folder: NodeFolder, journal: Journal) -> None:
    try:
        for staged in journal.keys:
            (folder.identities_dir / staged.staged).unlink(missing_ok=True)
        if read_journal(folder.root) is not None:
            journal.remove()
        sweep_temporaries(folder)
    except (OSError, DatabaseError):
        pass  # the journal stays; the next run rolls back from it


@dataclass
class _Made:
    """What this run created before its commit: a failure takes it away again."""

    had_backups: bool
    dirs: list[Path]
    database: bool = False
    backup_dir: Path | None = None

    def undo(self, folder: NodeFolder) -> None:
        """Rolled back, the target equals its state before this run: leave no trace."""
        with contextlib.suppress(OSError):
            if self.backup_dir is not None:
                shutil.rmtree(self.backup_dir, ignore_errors=True)
            if not self.had_backups:
                folder.backups_dir.rmdir()
        with contextlib.suppress(OSError):
            if self.database:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{folder.db_path}{suffix}").unlink(missing_ok=True)
            for directory in reversed(self.dirs):  # identities/ before the folder holding it
                directory.rmdir()  # only ever removes an empty folder
