"""read_journal: a journal we wrote reads back; anything else is refused, naming the journal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mergetool._exceptions import MergeFailed
from mergetool.merge.journal import Journal, StagedKey, journal_path, read_journal

ID = "0f" * 32


def _write(root: Path, data: object) -> Path:
    path = journal_path(root)
    path.write_text(json.dumps(data))
    return path


def _valid(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "format": 1,
        "source": "/data/src",
        "node_ids": [ID],
        "expected_rows": 3,
        "keys": [{"final": "a.key", "node_id": ID}],
    }
    return {**data, **changes}


def test_a_written_journal_reads_back(tmp_path: Path) -> None:
    journal = Journal(
        journal_path(tmp_path), "/data/src", (ID,), 3, (StagedKey(".odd name.key", ID),)
    )
    journal.write()
    assert read_journal(tmp_path) == journal


def test_a_journal_with_retire_moves_reads_back(tmp_path: Path) -> None:
    journal = Journal(
        journal_path(tmp_path),
        "/data/src",
        (ID,),
        3,
        (StagedKey("a.key", ID),),
        retire_folder="merged-20261130T214630Z-2",
        retire=(("a.key", ID),),
    )
    journal.write()
    assert read_journal(tmp_path) == journal


def test_no_journal_is_none(tmp_path: Path) -> None:
    assert read_journal(tmp_path) is None


def test_upper_case_hex_is_read_as_the_node_writes_ids(tmp_path: Path) -> None:
    _write(tmp_path, _valid(node_ids=[ID.upper()]))
    journal = read_journal(tmp_path)
    assert journal is not None and journal.node_ids == (ID,)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (_valid(node_ids=["zz"]), "an entry of node_ids is 'zz', not a node id"),
        (_valid(node_ids="abc"), "node_ids is str, not a list"),
        (_valid(node_ids=[ID[:-1]]), "not a node id of 64 hex characters"),
        (_valid(node_ids=[42]), "an entry of node_ids is 42"),
        (_valid(keys={"final": "a.key"}), "keys is dict, not a list"),
        (_valid(keys=[["a.key", ID]]), "key entry ['a.key', '" + ID[:20]),
        (_valid(keys=[{"final": "a/b.key", "node_id": ID}]), "'a/b.key' is not a plain"),
        (_valid(keys=[{"final": "/etc/x.key", "node_id": ID}]), "'/etc/x.key' is not a plain"),
        (_valid(keys=[{"final": "a.txt", "node_id": ID}]), "'a.txt' is not a plain <name>.key"),
        (_valid(keys=[{"final": ".key", "node_id": ID}]), "'.key' is not a plain <name>.key"),
        (_valid(keys=[{"final": 7, "node_id": ID}]), "key file name 7 is not a plain"),
        (_valid(keys=[{"final": "a.key", "node_id": "x"}]), "node_id is 'x', not a node id"),
        (_valid(keys=[{"node_id": ID}]), "'final' is missing"),
        (_valid(expected_rows=-1), "expected_rows is -1, not a count"),
        (_valid(expected_rows="3"), "expected_rows is '3', not a count"),
        (_valid(expected_rows=True), "expected_rows is True, not a count"),
        (_valid(expected_rows=1.5), "expected_rows is 1.5, not a count"),
        (_valid(source=["x"]), "source is ['x'], not a path"),
        ([1, 2], "it holds a list, not an object"),
        ({"format": 1}, "'source' is missing"),
        (_valid(retire=[]), "retire is [], not an object"),
        (
            _valid(retire={"folder": "../../etc", "keys": []}),
            "retire folder '../../etc' is not a merged-<UTC timestamp> name",
        ),
        (
            _valid(retire={"folder": "merged-20261130T214630Z", "keys": [{"name": "a/b.key"}]}),
            "'a/b.key' is not a plain",
        ),
    ],
)
def test_malformed_journal_is_refused(tmp_path: Path, data: object, reason: str) -> None:
    path = _write(tmp_path, data)
    with pytest.raises(MergeFailed) as info:
        read_journal(tmp_path)
    assert info.value.message.startswith(
        f"{path}: the journal of an interrupted merge cannot be read ("
    )
    assert reason in info.value.message
    assert info.value.hint is not None and "mergetool restore" in info.value.hint
    assert "sets this journal and any staged keys (*.mergetool-staged) aside" in info.value.hint


def test_long_values_are_shortened_in_the_message(tmp_path: Path) -> None:
    _write(tmp_path, _valid(node_ids=["z" * 10_000]))
    with pytest.raises(MergeFailed) as info:
        read_journal(tmp_path)
    assert len(info.value.message) < 400 and "..." in info.value.message


@pytest.mark.parametrize("content", [b"{not json", b"\xff\xfe", b""])
def test_unparsable_journal_is_refused(tmp_path: Path, content: bytes) -> None:
    journal_path(tmp_path).write_bytes(content)
    with pytest.raises(MergeFailed, match="the journal of an interrupted merge cannot be read"):
        read_journal(tmp_path)


def test_journal_that_is_a_folder_is_refused(tmp_path: Path) -> None:
    journal_path(tmp_path).mkdir()
    with pytest.raises(MergeFailed, match="cannot be read"):
        read_journal(tmp_path)
