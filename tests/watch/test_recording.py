"""Node events and list rows as history records: keys that make one fact one record."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from mergetool.watch.events import parse_event
from mergetool.watch.history import History
from mergetool.watch.recording import atx_record, describe, record_of_event, reward_record
from tests.watch.node_standin import WatchNode

ALICE = bytes([0xA1]) * 32
AT = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)


def _event(kind: str, **kw: object) -> object:
    return parse_event(WatchNode().event(kind, at=AT, **kw))  # builds messages only


def test_an_atx_told_by_event_and_by_list_is_one_record(tmp_path: Path) -> None:
    told = record_of_event(_event("atx_published", current=7, target=8, smesher=ALICE, id=b"x"))
    assert told is not None and told.key == f"atx:{ALICE.hex()}:7"
    assert told.at == AT.timestamp()
    assert describe(told) == "ATX published in epoch 7: eligible in epoch 8"
    listed = atx_record(ALICE.hex(), 7, 0.0, atx="78")
    with History.open(tmp_path / "w.sqlite") as h:
        assert h.record([told]) == [told]
        assert h.record([listed, reward_record(ALICE.hex(), 99, 1.0, 2 * 10**9)])[0].kind == (
            "reward"
        )
        assert [r.kind for r in h.records(ALICE.hex())] == ["reward", "atx_published"]


def test_deprecated_duplicates_are_not_recorded_and_failures_are_told() -> None:
    assert record_of_event(_event("poet_wait_round", current=1, publish=2, smesher=ALICE)) is None
    failed = record_of_event(
        _event("post_complete", failure=True, help="Node failed PoST execution.", smesher=ALICE)
    )
    assert failed is not None and failed.key.startswith("event:") and failed.failure
    assert describe(failed) == "PoST failed: Node failed PoST execution."
    ban = record_of_event(_event("malfeasance", help="Node committed malicious behavior."))
    assert ban is not None and ban.identity == "" and ban.kind == "malfeasance"
    beacon = record_of_event(_event("beacon", epoch=3, beacon=b"b"))
    assert beacon is not None and beacon.identity == ""
