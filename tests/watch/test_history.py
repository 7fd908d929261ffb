"""The watcher's history file: dedupe, timeline, versions, and a kill -9 in mid-write."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mergetool._exceptions import DatabaseError, UnsupportedVersion
from mergetool.watch.history import (
    SCHEMA_VERSION,
    History,
    Record,
    default_state_path,
)
from tests.schema_check import assert_valid

ALICE = "aa" * 32
BOB = "bb" * 32


def _rec(key: str, kind: str, at: float, identity: str = ALICE, **kw: object) -> Record:
    return Record(key=key, identity=identity, at=at, kind=kind, **kw)  # type: ignore[arg-type]


def test_default_state_path_follows_xdg(tmp_path: Path) -> None:
    assert default_state_path({"XDG_STATE_HOME": str(tmp_path)}) == (
        tmp_path / "mergetool" / "watch.sqlite"
    )
    relative = default_state_path({"XDG_STATE_HOME": "relative/ignored"})
    assert relative == Path.home() / ".local" / "state" / "mergetool" / "watch.sqlite"


def test_records_are_deduplicated_by_key(tmp_path: Path) -> None:
    with History.open(tmp_path / "s" / "watch.sqlite") as h:
        first = h.record([_rec("e1", "post_start", 1.0), _rec("e2", "post_complete", 5.0)])
        again = h.record([_rec("e1", "post_start", 1.0), _rec("e3", "proposal", 9.0)])
        assert [r.key for r in first] == ["e1", "e2"]
        assert [r.key for r in again] == ["e3"]
        assert [r.key for r in h.records(ALICE)] == ["e1", "e2", "e3"]
    assert (tmp_path / "s" / "watch.sqlite").stat().st_mode & 0o777 == 0o600


def test_timeline_pairs_proofs_with_requests_and_finds_names(tmp_path: Path) -> None:
    with History.open(tmp_path / "w.sqlite") as h:
        h.name_identities({ALICE: "alice", BOB: "bob"})
        h.record(
            [
                _rec("r", "poet_registered", 100.0, data={"url": "https://poet"}),
                _rec("w", "poet_round", 101.0, data={"until": 400.0}),
                _rec("s", "post_start", 500.0, data={"challenge": "c1"}),
                _rec("c", "post_complete", 560.0, data={"challenge": "c1"}),
                _rec("s2", "post_start", 600.0, data={"challenge": "c2"}),
                _rec("f", "post_complete", 630.0, failure=True, help="invalid POST proof"),
                _rec("x", "proposal", 700.0, identity=BOB),
            ]
        )
        timeline = h.timeline("alice")
        assert_valid(timeline.to_dict(), "watch-history")
        assert timeline.identity == ALICE and timeline.name == "alice"
        durations = {e.record.key: e.duration_s for e in timeline.entries}
        assert durations == {"r": None, "w": 300.0, "s": None, "c": 60.0, "s2": None, "f": 30.0}
        assert timeline.entries[-1].what == "proof delivered (failed)"
        assert h.timeline("bbbb").identity == BOB  # a node id prefix
        with pytest.raises(DatabaseError, match="no identity 'carol'.*") as err:
            h.timeline("carol")
        assert "Known names: alice, bob." in str(err.value)


def test_active_alerts_survive_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "w.sqlite"
    with History.open(path) as h:
        h.save_alerts({"banned:aa": {"kind": "banned"}})
    with History.open(path) as h:
        assert h.active_alerts() == {"banned:aa": {"kind": "banned"}}
        h.save_alerts({})
        assert h.active_alerts() == {}


def test_a_newer_schema_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "w.sqlite"
    History.open(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    before = path.read_bytes()
    with pytest.raises(UnsupportedVersion, match="newer mergetool") as err:
        History.open(path)
    assert err.value.hint == "Upgrade mergetool, or pass another `state` file."
    assert path.read_bytes() == before


def test_foreign_files_are_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(DatabaseError, match="not a mergetool watch history"):
        History.open(junk)
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE accounts (x)")
    with pytest.raises(DatabaseError, match="holds other tables"):
        History.open(other)
    with pytest.raises(DatabaseError, match="no watch history here"):
        History.open(tmp_path / "missing.sqlite", create=False)


_WRITER = """
import sys, time
from mergetool.watch.history import History, Record
h = History.open(sys.argv[1])
n = 0
print("ready", flush=True)
while True:
    # a batch of 50: the kill must leave either all of a batch or none of it
    h.record([Record(f"b{n}-{i}", "aa" * 32, time.time(), "proposal", data={"batch": n})
              for i in range(50)])
    n += 1
"""


def test_a_kill_in_mid_write_leaves_whole_batches(tmp_path: Path) -> None:
    path = tmp_path / "w.sqlite"
    writer = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline() == "ready\n"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # let it commit some batches first
            time.sleep(0.2)
            with sqlite3.connect(path) as peek:
                if peek.execute("SELECT count(*) FROM events").fetchone()[0] >= 500:
                    break
        writer.send_signal(signal.SIGKILL)
    finally:
        writer.kill()
        writer.wait(10)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    with History.open(path) as h:
        records = h.records("aa" * 32)
        counts: dict[int, int] = {}
        for r in records:
            counts[r.data["batch"]] = counts.get(r.data["batch"], 0) + 1
        assert len(records) >= 500
        assert set(counts.values()) == {50}
        assert sorted(counts) == list(range(len(counts)))
        assert h.record([Record("after", "aa" * 32, 1.0, "proposal")])  # still writable
