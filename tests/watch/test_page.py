"""page_view: a WatchReport as the page contract's JSON (pure: built by hand here)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from mergetool.serviceapi.state import ServiceState
from mergetool.watch.clock import NetworkClock
from mergetool.watch.events import NodeEvent
from mergetool.watch.model import (
    AtxInfo,
    Eligibility,
    IdentityRow,
    PostView,
    Rewards,
    Verdict,
    WatchReport,
)
from mergetool.watch.page import page_view
from mergetool.watch.records import NodeStatus
from tests.schema_check import assert_valid

NOW = datetime(2023, 8, 1, 12, 0, tzinfo=UTC)
A, B = bytes([0xA]) * 32, bytes([0xB]) * 32


def _report() -> WatchReport:
    clock = NetworkClock().window(NOW)
    reading = ServiceState("http://s", "proving", phase="reading", bytes_read=10, bytes_total=40)
    rows = (
        IdentityRow(
            A, "alpha", True, AtxInfo(0, 1), Eligibility(1, 3, 1), Rewards(5000, 0, 2_500_000_000),
            PostView("PROVING", reading, None, NOW, None), (), None,
            Verdict("proving", "proving: reading 25 %", "info"),
        ),
        IdentityRow(
            B, None, False, None, None, None, PostView(), (), None,
            Verdict("not_loaded", "not loaded by the node: restart it", "bad", "restart"),
        ),
    )  # fmt: skip
    events = (
        NodeEvent("k1", NOW, False, "old", "post_start", smesher=A),
        NodeEvent("k2", NOW, False, "dup", "poet_wait_proof", smesher=A),
        NodeEvent("k3", NOW, True, "Node failed PoST execution.", "post_complete", smesher=B),
    )
    return WatchReport(
        NOW, {"private": "p", "public": "q", "post": None},
        NodeStatus("synced", 7, 4100, 4100, 4099, 4099), None, clock, rows, events, (),
    )  # fmt: skip


def test_the_page_follows_the_contract() -> None:
    page = assert_valid(json.loads(json.dumps(page_view(_report()))), "page")  # plain JSON
    assert page["format"] == "mergetool-page/1" and page["source"] == "watch"
    assert page["generated_at"] == "2023-08-01T12:00:00Z"
    assert page["node"] == {
        "sync": "synced", "current_layer": 4100, "current_epoch": 1, "connected_peers": 7
    }  # fmt: skip
    assert page["clock"] == {
        "epoch": 1,
        "epoch_start": "2023-07-28T08:00:00Z",
        "epoch_end": "2023-08-11T08:00:00Z",
        "poet_round_end": "2023-08-06T20:00:00Z",
        "cycle_gap_start": "2023-08-06T20:00:00Z",
        "cycle_gap_end": "2023-08-07T08:00:00Z",
        "proof_deadline": "2023-08-10T20:00:00Z",
        "publish_deadline": "2023-08-11T08:00:00Z",
        "in_cycle_gap": False,
    }
    alpha, b = page["identities"]
    assert alpha == {
        "name": "alpha",
        "node_id": A.hex(),
        "verdict": {"code": "proving", "text": "proving: reading 25 %", "level": "info"},
        "post": {
            "phase": "reading", "done": 10, "total": 40, "unit": "bytes", "pass": None,
            "rate": None, "eta": None, "eta_after_gap": False, "disk": None,
            "asked_at": "2023-08-01T12:00:00Z", "delivered_at": None,
        },
        "atx": {"publish_epoch": 0, "target_epoch": 1},
        "eligibility": {"epoch": 1, "slots": 3, "proposals": 1},
        "rewards": {"last_layer": 5000, "smh_epoch": 2.5},
        "last_error": None,
    }  # fmt: skip
    assert b["post"] is None and b["name"] is None and b["verdict"]["level"] == "bad"
    assert page["events"] == [  # newest first, the deprecated duplicate left out
        {"time": "2023-08-01T12:00:00Z", "identity": f"{B.hex()[:8]}…{B.hex()[-4:]}",
         "kind": "post_complete", "failure": True, "help": "Node failed PoST execution."},
        {"time": "2023-08-01T12:00:00Z", "identity": "alpha", "kind": "post_start",
         "failure": False, "help": "old"},
    ]  # fmt: skip


def test_unknown_parts_are_null() -> None:
    report = _report()
    bare = WatchReport(NOW, report.listeners, None, None, None, (), (), ("x: no answer",))
    page = assert_valid(page_view(bare), "page")
    assert (page["node"], page["clock"], page["identities"], page["events"]) == (
        None, None, [], []
    )  # fmt: skip


def test_the_watch_package_names_its_api() -> None:
    import mergetool.watch as watch

    assert watch.__all__ == sorted(watch.__all__)
    for name in watch.__all__:
        assert getattr(watch, name) is not None
    assert watch.read_watch.__module__ == "mergetool.watch.read"


def test_serve_progress_pass_rate_and_eta_and_the_live_view() -> None:
    from dataclasses import replace

    from mergetool.watch.page import live_view

    report = _report()
    row = report.identities[0]

    def post(eta_s: float) -> dict[str, object]:
        service = replace(row.post.service, pass_number=2, rate_bytes_s=1024.0, eta_s=eta_s)
        rows = (replace(row, post=replace(row.post, service=service)), *report.identities[1:])
        page = assert_valid(page_view(replace(report, identities=rows)), "page")
        return page["identities"][0]["post"]  # type: ignore[no-any-return]

    soon = post(60.0)
    assert (soon["pass"], soon["rate"], soon["eta"]) == (2, 1024.0, "2023-08-01T12:01:00Z")
    assert soon["eta_after_gap"] is False
    late = post(6 * 86400.0)  # past the gap's end, 2023-08-07T08:00
    assert late["eta"] == "2023-08-07T12:00:00Z" and late["eta_after_gap"] is True
    later = datetime(2023, 8, 1, 12, 0, 7, tzinfo=UTC)
    assert assert_valid(live_view(report, later), "page")["generated_at"] == "2023-08-01T12:00:07Z"
    empty = assert_valid(live_view(None, later), "page")
    assert (empty["identities"], empty["clock"], empty["source"]) == ([], None, "watch")
