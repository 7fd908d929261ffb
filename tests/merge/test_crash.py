"""Crash safety: kill -9 a real merge process at many points, then check and re-run it.

``crash_runner.py`` runs ``merge-nodes`` in a child process and SIGKILLs it at the N-th
file-system call or SQLite progress tick once execution has started. After each kill the
target must be a node that can start (valid keys, intact database, no drift, no key without
its rows), and running the same command again must finish the merge exactly, leaving nothing
of ours behind.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from mergetool.cli.merge_nodes import merge_cmd
from mergetool.merge.journal import JOURNAL_NAME, STAGED_SUFFIX
from mergetool.node.fixtures import FixtureNode, build_node
from tests.merge.merge_helpers import (
    assert_healthy,
    global_rows,
    key_names,
    leftovers,
    rows_of,
    table_rows,
)

RUNNER = Path(__file__).with_name("crash_runner.py")
#: SQLite VM instructions per event: small enough for many kill points inside the transaction.
SQL_STEPS = "20"
NEVER = 10**9


@dataclass
class Scenario:
    source: FixtureNode
    pristine: Path  # the target before the merge (copied for every run)
    events: list[str]  # event names of an uninterrupted merge, in order
    merged_keys: list[str]
    merged_rows: dict[str, list[tuple]]
    merged_globals: dict[str, list[tuple]]
    options: tuple[str, ...] = ()  # passed on to merge-nodes

    @property
    def retires(self) -> bool:
        return "--retire-source" in self.options


def _run_child(
    src: Path, dst: Path, limit: int, work: Path, options: tuple[str, ...] = ()
) -> tuple[int, list[str], str]:
    count_file = work / "events.txt"
    count_file.unlink(missing_ok=True)
    tmp = work / "tmp"  # the child's TemporaryDirectory leftovers stay in here
    tmp.mkdir(exist_ok=True)
    proc = subprocess.run(
        [
            *(sys.executable, str(RUNNER), str(src), str(dst), str(limit), str(count_file)),
            *(SQL_STEPS, *options),
        ],
        capture_output=True,
        text=True,
        env={"TMPDIR": str(tmp), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    events = count_file.read_text().split()[1:] if count_file.exists() else []
    return proc.returncode, events, proc.stdout + proc.stderr


def _fresh_target(scenario: Scenario, dst: Path) -> None:
    shutil.rmtree(dst, ignore_errors=True)
    if scenario.pristine.exists():
        shutil.copytree(scenario.pristine, dst)


def _fresh_source(scenario: Scenario, work: Path) -> Path:
    """The source to merge from: a fresh copy when the merge moves its keys."""
    if not scenario.retires:
        return scenario.source.folder.root
    copy = work / "src"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(scenario.source.folder.root, copy)
    return copy


def _make_scenario(
    tmp: Path, source: FixtureNode, pristine: Path, options: tuple[str, ...] = ()
) -> Scenario:
    dst = tmp / "reference"
    if pristine.exists():
        shutil.copytree(pristine, dst)
    src = source.folder.root
    if options:
        src = tmp / "reference-src"
        shutil.copytree(source.folder.root, src)
    code, events, output = _run_child(src, dst, NEVER, tmp, options)
    assert code == 0, output
    assert_healthy(dst)
    return Scenario(
        source=source,
        pristine=pristine,
        events=events,
        merged_keys=key_names(dst),
        merged_rows=table_rows(dst / "local.sql"),
        merged_globals=global_rows(dst / "local.sql"),
        options=options,
    )


@pytest.fixture(scope="module")
def into_existing(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    tmp = tmp_path_factory.mktemp("crash-existing")
    source = build_node(tmp / "src", identities=["s1", "s2"], prefix="crash-s-")
    build_node(tmp / "pristine", identities=["d1"], prefix="crash-d-")
    return _make_scenario(tmp, source, tmp / "pristine")


@pytest.fixture(scope="module")
def retiring(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    """``--retire-source``: the source's keys move after the commit, under the journal."""
    tmp = tmp_path_factory.mktemp("crash-retire")
    source = build_node(tmp / "src", identities=["s1", "s2"], prefix="crash-r-")
    build_node(tmp / "pristine", identities=["d1"], prefix="crash-rd-")
    return _make_scenario(tmp, source, tmp / "pristine", ("--retire-source",))


@pytest.fixture(scope="module")
def into_missing(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    tmp = tmp_path_factory.mktemp("crash-missing")
    source = build_node(tmp / "src", identities=["s1", "s2"], prefix="crash-m-")
    return _make_scenario(tmp, source, tmp / "pristine-does-not-exist")


@pytest.fixture(scope="module")
def keys_only(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    """A source with keys but no rows: no transaction marks the commit point."""
    tmp = tmp_path_factory.mktemp("crash-keys-only")
    source = build_node(tmp / "src", identities=[], keys_without_rows=["k1", "k2"], prefix="ko-")
    build_node(tmp / "pristine", identities=["d1"], prefix="crash-ko-d-")
    return _make_scenario(tmp, source, tmp / "pristine")


def _source_keys_where(scenario: Scenario, src: Path) -> dict[str, list[Path]]:
    """Each source key's files: in identities/ or retired into a merged-* sub-folder."""
    ids = src / "identities"
    return {
        name: [p for p in (ids / name, *ids.glob(f"merged-*/{name}")) if p.exists()]
        for name in scenario.source.identities
    }


def _check_source(scenario: Scenario, src: Path, dst: Path, where: str, *, done: bool) -> None:
    """The source database never changes; each key is in one place, byte-identical."""
    original = scenario.source.folder
    assert (src / "local.sql").read_bytes() == original.db_path.read_bytes(), where
    places = _source_keys_where(scenario, src)
    for name, found in places.items():
        assert len(found) == 1, f"{where}: {name} at {found}"
        assert found[0].read_bytes() == (original.identities_dir / name).read_bytes(), where
    retired = [name for name, found in places.items() if found[0].parent.name != "identities"]
    if retired:  # never before the target has every key in place
        assert set(scenario.source.identities) <= set(key_names(dst)), where
    if done:
        assert sorted(retired) == sorted(scenario.source.identities), where
        assert len(list((src / "identities").glob("merged-*"))) == 1, where
        for found in places.values():
            assert found[0].stat().st_mode & 0o777 == 0o600, where


def _phase(scenario: Scenario, dst: Path, event: str, src: Path) -> str:
    """Which step of the merge the kill interrupted, read off what it left behind."""
    db = dst / "local.sql"
    if not db.exists():
        return "creating the target"
    if list((dst / "backups").glob(".partial-*")):
        return "backup"
    installed = set(key_names(dst)) & set(scenario.source.identities)
    merged = installed or any(rows_of(db, n) for n in scenario.source.identities.values())
    if not (dst / JOURNAL_NAME).exists():
        return "after the journal" if merged else "before the journal"
    if merged and list((src / "identities").glob("merged-*")):
        return "retiring source keys"
    if merged:
        return "installing keys"
    if not list((dst / "identities").glob(f"*{STAGED_SUFFIX}")):
        return "journal written"
    return "row transaction" if event == "sql" else "staging keys"


def _check_after_kill(scenario: Scenario, dst: Path, where: str) -> None:
    if not (dst / "local.sql").exists():
        # Killed before the new target database got its name: nothing installed yet.
        assert not dst.exists() or not key_names(dst), where
        return
    assert_healthy(dst)
    source_keys = scenario.source.identities
    installed = [name for name in key_names(dst) if name in source_keys]
    if installed:
        for name, node_id in source_keys.items():
            expected = rows_of(scenario.source.folder.db_path, node_id)
            assert rows_of(dst / "local.sql", node_id) == expected, (
                f"{where}: {name} installed without all source rows"
            )


def _rerun_and_compare(scenario: Scenario, dst: Path, where: str, src: Path) -> str:
    result = CliRunner().invoke(merge_cmd, ["-f", str(src), "-t", str(dst), *scenario.options])
    assert result.exit_code == 0, f"{where}: re-run failed:\n{result.output}"
    assert "Traceback" not in result.output
    assert key_names(dst) == scenario.merged_keys, where
    assert table_rows(dst / "local.sql") == scenario.merged_rows, where
    assert global_rows(dst / "local.sql") == scenario.merged_globals, where
    assert_healthy(dst)
    assert leftovers(dst) == [], where
    for name in scenario.merged_keys:
        assert (dst / "identities" / name).stat().st_mode & 0o777 == 0o600, where
    if scenario.retires:
        _check_source(scenario, src, dst, where, done=True)
    return result.output


def _kill_at(scenario: Scenario, work: Path, points: list[int]) -> Counter[str]:
    """Kill at each event number in ``points``; return how often each phase was interrupted."""
    dst = work / "dst"
    total = len(scenario.events)
    phases: Counter[str] = Counter()
    for n in points:
        where = f"kill at event {n}/{total} ({scenario.events[n - 1]})"
        _fresh_target(scenario, dst)
        src = _fresh_source(scenario, work)
        code, _, output = _run_child(src, dst, n, work, scenario.options)
        assert code == -signal.SIGKILL, f"{where}: child exited {code}:\n{output}"
        phases[_phase(scenario, dst, scenario.events[n - 1], src)] += 1
        _check_after_kill(scenario, dst, where)
        if scenario.retires:
            _check_source(scenario, src, dst, where, done=False)
        _rerun_and_compare(scenario, dst, where, src)
        # And once finished, the same command has nothing left to do.
        again = CliRunner().invoke(merge_cmd, ["-f", str(src), "-t", str(dst), *scenario.options])
        assert again.exit_code == 0 and "Already merged: nothing to do." in again.output, where
    return phases


def test_uninterrupted_run_goes_through_every_phase(into_existing: Scenario) -> None:
    seen = set(into_existing.events)
    # backup (mkdir, SQLite backup API), journal and staged keys (open/write/fsync/replace),
    # the row copy (sql), installing keys (link/unlink) and removing the journal (unlink).
    assert {"mkdir", "sql", "open", "write", "fsync", "replace", "link", "unlink"} <= seen
    assert len(into_existing.events) >= 40


def test_kill_anywhere_merging_into_an_existing_node(
    into_existing: Scenario, tmp_path: Path
) -> None:
    # Every file-system event, and every other SQLite tick (one per 40 VM instructions).
    events = into_existing.events
    points = [n for n, name in enumerate(events, 1) if name != "sql" or n % 2 == 0]
    phases = _kill_at(into_existing, tmp_path, points)
    assert set(phases) == {
        "before the journal",  # setup, snapshot of the source
        "backup",
        "journal written",
        "staging keys",
        "row transaction",
        "installing keys",
        "after the journal",  # journal removed, folder synced
    }, phases
    assert phases["row transaction"] >= 10, phases


def test_kill_anywhere_merging_into_a_missing_folder(
    into_missing: Scenario, tmp_path: Path
) -> None:
    # The phases after the database exists are the ones above; here the interest is in
    # creating the folder and the database, so every event that is not a SQL tick, plus a
    # spread of those.
    events = into_missing.events
    points = [n for n, name in enumerate(events, 1) if name != "sql" or n % 16 == 0]
    phases = _kill_at(into_missing, tmp_path, points)
    assert {"creating the target", "staging keys", "installing keys"} <= set(phases), phases
    assert "backup" not in phases  # a new target needs none


def test_kill_anywhere_merging_keys_without_rows(keys_only: Scenario, tmp_path: Path) -> None:
    points = [n for n, name in enumerate(keys_only.events, 1) if name != "sql"]
    phases = _kill_at(keys_only, tmp_path, points)
    assert {"backup", "journal written", "staging keys", "installing keys"} <= set(phases), phases


def test_kill_anywhere_while_retiring_the_source_keys(retiring: Scenario, tmp_path: Path) -> None:
    # The steps before the keys are installed are covered above: here every event from the
    # journal on (the key moves come last), and a sample of those before.
    events = retiring.events
    # From the first replace (the backup's, then the journal's) every event: a sample alone
    # may step over the few events while only the journal is written.
    first = events.index("replace")
    points = [n for n, name in enumerate(events, 1) if name != "sql" and (n > first or n % 8 == 0)]
    phases = _kill_at(retiring, tmp_path, points)
    assert {"journal written", "installing keys", "retiring source keys"} <= set(phases), phases
    assert phases["retiring source keys"] >= 3, phases
