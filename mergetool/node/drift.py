"""The node's drift check: dump the schema as text and compare it with the expected snapshot."""

from __future__ import annotations

import difflib
import re
import sqlite3
from dataclasses import dataclass
from functools import cache

from mergetool._formats import node_schema_text

_WS = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Collapse every run of white space to one space, as the node does before comparing."""
    return _WS.sub(" ", text).strip()


def dump_statements(conn: sqlite3.Connection) -> list[str]:
    """The statements of the node's schema dump, in the node's order."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    rows = conn.execute(
        "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND tbl_name NOT LIKE 'sqlite_%' "
        "ORDER BY CASE WHEN type = 'table' THEN 0 ELSE 1 END, tbl_name, name"
    ).fetchall()
    return [f"PRAGMA user_version = {version};"] + [f"{sql};" for (sql,) in rows]


def dump_schema(conn: sqlite3.Connection) -> str:
    """The text the node builds from a database for its drift check."""
    return "\n".join(dump_statements(conn)) + "\n"


def _split(text: str) -> list[str]:
    parts = [normalize(p) for p in re.split(r";\s*(?:\n|$)", text)]
    return [p + ";" for p in parts if p]


@cache
def expected_schema(version: int) -> str:
    """The snapshot the node expects at ``version`` (shipped from ``schemas/node/``)."""
    if version == 0:
        return "PRAGMA user_version = 0;\n"
    return node_schema_text(version)


@dataclass(frozen=True)
class DriftReport:
    """Result of the drift check; ``diff`` is a unified diff, empty when there is no drift."""

    version: int
    diff: str

    @property
    def drifted(self) -> bool:
        return bool(self.diff)


def check_drift(conn: sqlite3.Connection, version: int) -> DriftReport:
    """Compare the database's schema with the snapshot for ``version``, white space aside."""
    have = [normalize(s) for s in dump_statements(conn)]
    want = _split(expected_schema(version))
    if have == want:
        return DriftReport(version, "")
    diff = difflib.unified_diff(
        want, have, "expected (node schema)", "found in database", lineterm="", n=1
    )
    return DriftReport(version, "\n".join(diff))
