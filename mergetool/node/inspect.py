"""``inspect``: what a node data folder holds and what would trouble a merge or the node."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mergetool import findings
from mergetool._exceptions import UnsupportedVersion
from mergetool.findings import ReportWarning
from mergetool.node import sqlite as sq
from mergetool.node.folder import is_new_folder, open_folder
from mergetool.node.state import NodeState, read_node
from mergetool.node.versions import check_supported, describe

JSON_FORMAT_VERSION = 1


@dataclass(frozen=True)
class IdentityReport:
    file: str
    node_id: str | None
    valid: bool
    problem: str | None
    supervised: bool
    rows: dict[str, int]


@dataclass(frozen=True)
class NodeReport:
    """The result of :func:`inspect_node`; :meth:`to_dict` is the documented ``--json`` form."""

    path: Path
    user_version: int
    releases: str
    version_problem: str | None
    drift_diff: str | None
    #: False when the version has no known schema to compare with (e.g. newer than we know)
    drift_checked: bool
    identities: tuple[IdentityReport, ...]
    orphan_rows: dict[str, dict[str, int]]
    warnings: tuple[ReportWarning, ...]

    def to_dict(self) -> dict[str, object]:
        return {
            "format": JSON_FORMAT_VERSION,
            "path": str(self.path),
            "schema": {
                "user_version": self.user_version,
                "releases": self.releases,
                "problem": self.version_problem,
                "drift_checked": self.drift_checked,
                "drifted": bool(self.drift_diff) if self.drift_checked else None,
                "drift_diff": self.drift_diff or None,
            },
            "identities": [vars(i) for i in self.identities],
            "orphan_rows": [{"node_id": k, "rows": v} for k, v in self.orphan_rows.items()],
            "warnings": [{"code": w.code, "message": w.message} for w in self.warnings],
        }


def _key_findings(state: NodeState) -> list[ReportWarning]:
    found: list[ReportWarning] = []
    seen: dict[bytes, str] = {}
    for entry in state.keys:
        if entry.file.supervised:
            found.append(
                ReportWarning(
                    "supervised",
                    f"{entry.file.path} exists: this is a supervised node; it cannot be merged "
                    "until local.key is renamed to a unique *.key name",
                )
            )
        if entry.error is not None:
            found.append(findings.invalid_key(entry.error.message))
        if entry.file.is_symlink:
            found.append(findings.symlink_key(entry.file.path))
        key = entry.node_view  # the node follows symbolic links
        if key is None:
            continue
        other = seen.setdefault(key.node_id, entry.file.name)
        if other != entry.file.name:
            found.append(findings.duplicate_identity(other, entry.file.name, key.node_id_hex))
    return found


def _warnings(state: NodeState, holders: list[tuple[int, str]]) -> list[ReportWarning]:
    found = _key_findings(state)
    keyed = state.valid_keys
    found += [findings.rows_without_key(node_id) for node_id in state.rows if node_id not in keyed]
    found += [
        findings.key_without_rows(entry.file.name, "local.sql yet")
        for node_id, entry in keyed.items()
        if not state.rows_of(node_id) and state.folder.db_path.exists()
    ]
    found += [
        ReportWarning("bad_node_id", f"{state.folder.db_path}: {b.describe()}")
        for b in state.bad_ids
    ]
    if state.pending_wal:
        found.append(findings.pending_wal(state.folder.wal_path, then="node running or crashed"))
    for pid, name in holders:
        found.append(
            ReportWarning(
                "in_use", f"{name} (pid {pid}) has the database open: stop the node first"
            )
        )
    return found


def inspect_node(path: Path, *, database_optional: bool = False) -> NodeReport:
    """Read ``path`` (never modifying it) and report version, drift, identities, rows, warnings.

    ``database_optional``: a folder the node has not started in yet (no ``local.sql``, no
    1.3.x ``node_state.sql``) is reported with its keys alone, at version 0.
    """
    new = database_optional and is_new_folder(Path(path))
    folder = open_folder(path, must_exist=not new)
    holders = [] if new else sq.processes_holding(folder.db_path)
    state = read_node(folder)
    problem = None
    try:
        if not new:
            check_supported(state.version, folder.db_path)
    except UnsupportedVersion as exc:
        problem = str(exc)
    identities = tuple(
        IdentityReport(
            file=e.file.name,
            node_id=e.node_id_hex,
            valid=e.key is not None,
            problem=e.error.reason if e.error else None,
            supervised=e.file.supervised,
            rows=dict(state.rows_of(e.key.node_id)) if e.key else {},
        )
        for e in state.keys
    )
    keyed = state.valid_keys
    orphans = {k.hex(): dict(v) for k, v in state.rows.items() if k not in keyed}
    return NodeReport(
        path=folder.root,
        user_version=state.version,
        releases=describe(state.version),
        version_problem=problem,
        drift_diff=state.drift.diff if state.drift and state.drift.drifted else None,
        drift_checked=state.drift is not None,
        identities=identities,
        orphan_rows=orphans,
        warnings=tuple(_warnings(state, holders)),
    )
