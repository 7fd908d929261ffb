"""The watcher's own history of each identity, in a small SQLite file (``--state``).

The node keeps only its last 100 events of all identities together; this file keeps every
one ``watch --follow`` saw, deduplicated by a key, so ``watch --history NAME`` can tell what
happened epochs ago. WAL journal and one transaction per batch: a kill at any instant leaves
the batch either wholly in or wholly out.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mergetool._exceptions import DatabaseError, UnsupportedVersion

#: PRAGMA user_version of the schema below; a file with a larger one is refused.
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    identity TEXT NOT NULL,
    at REAL NOT NULL,
    kind TEXT NOT NULL,
    failure INTEGER NOT NULL DEFAULT 0,
    help TEXT NOT NULL DEFAULT '',
    data TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS events_by_identity ON events (identity, at, seq);
CREATE TABLE IF NOT EXISTS identities (
    identity TEXT PRIMARY KEY,
    name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS active_alerts (
    cause TEXT PRIMARY KEY,
    alert TEXT NOT NULL
);
"""

#: Record kinds, in the words of the timeline.
KINDS = {
    "poet_wait_registration": "waiting for the PoET registration window",
    "poet_registered": "registered in PoET",
    "poet_round": "PoET round running",
    "poet_best_proof": "PoET proof selected",
    "post_start": "node asked for a proof",
    "post_complete": "proof delivered",
    "atx_published": "ATX published",
    "eligibilities": "eligible for proposals",
    "proposal": "proposal published",
    "reward": "reward",
    "malfeasance": "proven malicious: banned for good",
    "init_start": "PoST initialisation started",
    "init_complete": "PoST initialisation complete",
    "init_failed": "PoST initialisation failed",
    "failure": "failure",
}


def default_state_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_STATE_HOME/mergetool/watch.sqlite``, else ``~/.local/state/mergetool/…``."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_STATE_HOME") or ""
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".local" / "state"
    return root / "mergetool" / "watch.sqlite"


@dataclass(frozen=True)
class Record:
    """One thing that happened to ``identity`` (node id hex; ``""``: node-wide) at ``at``
    (Unix seconds). ``key`` is unique: the same record seen twice is stored once."""

    key: str
    identity: str
    at: float
    kind: str
    failure: bool = False
    help: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "identity": self.identity,
            "at": self.at,
            "kind": self.kind,
            "failure": self.failure,
            "help": self.help,
            "data": dict(self.data),
        }


@dataclass(frozen=True)
class TimelineEntry:
    """A record as the timeline shows it; ``duration_s``: for a delivered proof, the time
    since the node asked for it; for a PoET registration, the time until the round ended."""

    record: Record
    what: str
    duration_s: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**self.record.to_dict(), "what": self.what, "duration_s": self.duration_s}


@dataclass(frozen=True)
class Timeline:
    identity: str
    name: str | None
    entries: tuple[TimelineEntry, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "identity": self.identity,
            "name": self.name,
            "entries": [e.to_dict() for e in self.entries],
        }


class History:
    """The state file, opened (created when missing) by :meth:`open`; thread-safe."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self._conn = conn
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path: Path, *, create: bool = True) -> History:
        path = Path(path)
        if not create and not path.exists():
            raise DatabaseError(
                path,
                "no watch history here",
                hint="`watch --follow` writes it; pass the same `state` file it used.",
            )
        if path.exists() and not path.is_file():
            raise DatabaseError(path, "not a regular file", hint="Pass a file for `state`.")
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fresh = not path.exists()
            conn = sqlite3.connect(path, timeout=10, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise DatabaseError(path, f"cannot open the watch history: {exc}") from exc
        try:
            if fresh:
                with contextlib.suppress(OSError):
                    os.chmod(path, 0o600)
            _prepare(path, conn)
        except BaseException:
            conn.close()
            raise
        return cls(path, conn)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def record(self, records: Iterable[Record]) -> list[Record]:
        """Store ``records`` in one transaction; returns those not seen before, in order."""
        fresh: list[Record] = []
        with self._lock, self._write("record events"):
            for r in records:
                cur = self._conn.execute(
                    "INSERT OR IGNORE INTO events (key, identity, at, kind, failure, help, data)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (r.key, r.identity, r.at, r.kind, int(r.failure), r.help, _dump(r.data)),
                )
                if cur.rowcount:
                    fresh.append(r)
        return fresh

    def name_identities(self, names: Mapping[str, str]) -> None:
        """Remember ``names`` (node id hex -> key name) for ``--history NAME``."""
        with self._lock, self._write("record identity names"):
            self._conn.executemany(
                "INSERT INTO identities (identity, name) VALUES (?, ?)"
                " ON CONFLICT (identity) DO UPDATE SET name = excluded.name",
                sorted(names.items()),
            )

    def save_alerts(self, active: Mapping[str, Mapping[str, Any]]) -> None:
        """Replace the alerts still firing (cause -> alert), so a restart does not re-send."""
        with self._lock, self._write("record active alerts"):
            self._conn.execute("DELETE FROM active_alerts")
            self._conn.executemany(
                "INSERT INTO active_alerts (cause, alert) VALUES (?, ?)",
                [(cause, _dump(alert)) for cause, alert in sorted(active.items())],
            )

    def active_alerts(self) -> dict[str, dict[str, Any]]:
        rows = self._read("SELECT cause, alert FROM active_alerts ORDER BY cause", ())
        return {cause: json.loads(alert) for cause, alert in rows}

    def find_identity(self, name: str) -> tuple[str, str | None]:
        """(node id hex, key name) for a key name, a node id or a unique prefix of one."""
        rows = self._read("SELECT identity, name FROM identities WHERE name = ?", (name,))
        if rows:
            return rows[0][0], rows[0][1]
        prefix = name.lower().removeprefix("0x")
        if prefix and all(c in "0123456789abcdef" for c in prefix):
            ids = {
                i
                for (i,) in self._read(
                    "SELECT DISTINCT identity FROM events WHERE identity LIKE ? || '%'"
                    " UNION SELECT identity FROM identities WHERE identity LIKE ? || '%'",
                    (prefix, prefix),
                )
                if i
            }
            if len(ids) == 1:
                (found,) = ids
                named = self._read("SELECT name FROM identities WHERE identity = ?", (found,))
                return found, named[0][0] if named else None
        known = [n for (n,) in self._read("SELECT name FROM identities ORDER BY name", ())]
        raise DatabaseError(
            self.path,
            f"no identity {name!r} in the watch history",
            hint=("Known names: " + ", ".join(known) + "." if known else "It holds no names yet.")
            + " A node id (or a unique prefix of one) works too.",
        )

    def records(self, identity: str) -> list[Record]:
        rows = self._read(
            "SELECT key, identity, at, kind, failure, help, data FROM events"
            " WHERE identity = ? ORDER BY at, seq",
            (identity,),
        )
        return [
            Record(key, ident, at, kind, bool(failure), help_, json.loads(data))
            for key, ident, at, kind, failure, help_, data in rows
        ]

    def timeline(self, name: str) -> Timeline:
        """What happened to the identity called ``name`` (see :meth:`find_identity`)."""
        identity, key_name = self.find_identity(name)
        return Timeline(identity, key_name, build_timeline(self.records(identity)))

    def _read(self, sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._conn.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise DatabaseError(self.path, f"cannot read the watch history: {exc}") from exc

    @contextlib.contextmanager
    def _write(self, what: str) -> Any:
        try:
            with self._conn:  # one transaction: committed at the end, rolled back on error
                yield
        except sqlite3.Error as exc:
            raise DatabaseError(self.path, f"cannot {what}: {exc}") from exc


def build_timeline(records: Iterable[Record]) -> tuple[TimelineEntry, ...]:
    """Records in order, each delivered proof paired with the request before it."""
    asked: dict[str, float] = {}  # challenge hex ("" when unknown) -> when the node asked
    registered: float | None = None
    entries = []
    for r in records:
        duration = None
        challenge = str(r.data.get("challenge", ""))
        if r.kind == "post_start":
            asked[challenge] = r.at
        elif r.kind == "post_complete":
            start = asked.pop(challenge, None)
            if start is None and asked:  # a failure carries no challenge: the latest request
                start = asked.pop(max(asked, key=asked.__getitem__))
            duration = None if start is None else r.at - start
        elif r.kind == "poet_registered":
            registered = r.at if registered is None else registered
        elif r.kind == "poet_round" and registered is not None:
            until = r.data.get("until")
            duration = float(until) - registered if isinstance(until, int | float) else None
            registered = None
        what = KINDS.get(r.kind, r.kind.replace("_", " "))
        if r.failure:
            what = f"{what} (failed)" if r.kind != "failure" else what
        entries.append(TimelineEntry(r, what, duration))
    return tuple(entries)


def _dump(doc: Mapping[str, Any]) -> str:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)


def _prepare(path: Path, conn: sqlite3.Connection) -> None:
    """Check the file is ours and of a version we know; create or bring the schema up."""
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise UnsupportedVersion(
                path,
                version,
                "the watch history was written by a newer mergetool (this one knows "
                f"schema version {SCHEMA_VERSION} at most)",
                hint="Upgrade mergetool, or pass another `state` file.",
            )
        tables = {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if version == 0 and tables - {"events", "identities", "active_alerts"}:
            raise DatabaseError(
                path,
                "not a mergetool watch history (it holds other tables)",
                hint="Pass a new file for `state`; this one was left untouched.",
            )
        conn.execute("PRAGMA journal_mode=WAL")
        if version < SCHEMA_VERSION:  # the schema and its version in one transaction
            conn.executescript(f"BEGIN; {_SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;")
    except sqlite3.DatabaseError as exc:
        raise DatabaseError(
            path,
            f"not a mergetool watch history ({exc})",
            hint="Pass a new file for `state`; this one was left untouched.",
        ) from exc
