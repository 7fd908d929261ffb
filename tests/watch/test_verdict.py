"""The verdict rules, one fact at a time, and their order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mergetool.serviceapi.state import ServiceState
from mergetool.watch.verdict import Facts, judge

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _code(**kw: object) -> tuple[str, str, str]:
    kw.setdefault("epoch", 5)
    kw.setdefault("atx_epochs", {3, 4})
    v = judge(Facts(now=NOW, **kw))  # type: ignore[arg-type]
    return v.code, v.text, v.level


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        ({}, ("earning", "earning", "ok")),
        ({"atx_epochs": {4, 5}}, ("earning", "earning", "ok")),
        ({"atx_epochs": {5}}, ("will_earn", "will earn in epoch 6", "info")),
        ({"atx_epochs": {2, 3}}, ("missed_epoch", "missed epoch 5", "bad")),
        ({"atx_epochs": set()}, ("missed_epoch", "missed epoch 5", "bad")),
        (
            {"atx_epochs": {3}, "poet_round_end": NOW + timedelta(hours=1)},
            ("waiting_poet", "waiting for the PoET round (ends 2026-01-01T01:00:00Z)", "info"),
        ),
        ({"atx_epochs": {3}, "poet_round_end": NOW - timedelta(hours=1)},
         ("missed_epoch", "missed epoch 5", "bad")),
        ({"loaded": False, "banned": ("hare equivocation",)},
         ("not_loaded", "not loaded by the node: restart it", "bad")),
        ({"banned": ("hare equivocation",), "post_failure": "x"},
         ("banned", "banned: hare equivocation", "bad")),
        ({"post_failure": "Node failed PoST execution.", "node_state": "PROVING"},
         ("post_failed", "PoST failed: Node failed PoST execution.", "bad")),
        ({"epoch": None, "atx_epochs": None},
         ("unknown", "unknown: the node's public listener did not answer", "warn")),
    ],
)  # fmt: skip
def test_rules(facts: dict[str, object], expected: tuple[str, str, str]) -> None:
    assert _code(**facts) == expected


def test_the_node_asking_for_a_proof() -> None:
    reading = ServiceState("u", "proving", phase="reading", bytes_read=1, bytes_total=4)
    assert _code(node_state="PROVING", service=reading)[:2] == ("proving", "proving: reading 25 %")
    assert _code(node_state="PROVING")[:2] == ("proving", "proving")  # no --operator: cannot tell
    assert _code(node_state="PROVING", operators_given=True)[0] == "no_service"
    idle = ServiceState("u", "idle")
    assert _code(node_state="PROVING", service=idle)[0] == "no_service"
    gone = ServiceState("u", "proving", connected=False, phase="k2pow")
    assert _code(node_state="PROVING", service=gone)[0] == "no_service"
    done = ServiceState("u", "done")
    assert (
        _code(node_state="PROVING", service=done)[1] == "proving: proof ready, the node fetches it"
    )
    assert _code(node_state="IDLE", service=idle)[0] == "earning"
