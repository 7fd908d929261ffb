"""read_watch against the stand-in: the verdicts of spec/node-watch.md on whole scenarios."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from mergetool.nodeapi.proto import v2alpha1_pb2 as v2
from mergetool.post.operator_api import OperatorServer
from mergetool.watch.read import read_watch
from tests.schema_check import assert_valid
from tests.watch.node_standin import PRIVATE
from tests.watch.scenario import Scenario, build, write_config


def _read(s: Scenario, **kw: object) -> object:
    kw.setdefault("events_idle_s", 0.2)
    return read_watch(config=s.config, node_dir=s.node_dir, **kw)  # type: ignore[arg-type]


def _verdicts(report: object) -> dict[str | None, tuple[str, str]]:
    return {r.name: (r.verdict.code, r.verdict.text) for r in report.identities}  # type: ignore[attr-defined]


def test_three_healthy_identities(s: Scenario) -> None:
    for name in ("alpha", "beta", "gamma"):
        s.healthy(name)
    report = _read(s)
    assert report.errors == ()
    assert _verdicts(report) == {n: ("earning", "earning") for n in ("alpha", "beta", "gamma")}
    row = report.identities[0]
    assert (row.atx.publish_epoch, row.atx.target_epoch) == (4, 5)
    assert (row.rewards.last_layer, row.rewards.epoch, row.rewards.smh_epoch) == (490, 4, 3.5)
    assert row.post.node_state == "IDLE" and row.loaded is True
    assert report.node.sync == "synced" and report.clock.epoch == 5
    assert report.clock.cycle_gap_start == s.now + timedelta(minutes=30)
    assert report.clock.cycle_gap_end == s.now + timedelta(minutes=50)
    assert not report.needs_attention
    doc = assert_valid(report.to_dict(), "watch")
    assert doc["format"] == "mergetool-watch/1"
    assert doc["identities"][0]["verdict"] == {
        "code": "earning", "text": "earning", "level": "ok", "advice": ""
    }  # fmt: skip


def test_one_that_missed_an_epoch(s: Scenario) -> None:
    s.healthy("alpha")
    s.add_key("late")
    s.atx("late", 2, 3)
    report = _read(s)
    assert _verdicts(report)["late"] == ("missed_epoch", "missed epoch 5")
    late = next(r for r in report.identities if r.name == "late")
    assert "No ATX was published in epoch 4" in late.verdict.advice
    assert report.needs_attention


def test_one_that_published_this_epoch_will_earn_in_the_next(s: Scenario) -> None:
    s.add_key("new")
    s.atx("new", 5)
    assert _verdicts(_read(s))["new"] == ("will_earn", "will earn in epoch 6")


def test_one_banned(s: Scenario) -> None:
    s.healthy("alpha")
    bad = s.healthy("bad")
    s.node.malfeasance.append(v2.MalfeasanceProof(smesher=bad, domain=1, type=1))
    report = _read(s)
    assert _verdicts(report)["bad"] == ("banned", "banned: double-published ATX")
    assert _verdicts(report)["alpha"][0] == "earning"


def test_banned_told_by_an_event(s: Scenario) -> None:
    from mergetool.nodeapi.proto import events_pb2 as ev

    bad = s.healthy("bad")
    proof = ev.MalfeasanceProof(smesher_id=ev.SmesherId(id=bad), kind=2)
    help_text = "Node committed malicious behavior. Identity will be canceled."
    s.node.publish(s.node.event("malfeasance", proof=proof, help=help_text))
    assert _verdicts(_read(s))["bad"] == ("banned", "banned: two ballots in one layer")


def test_a_key_added_after_the_node_started(s: Scenario) -> None:
    s.healthy("alpha")
    s.add_key("added", loaded=False)
    report = _read(s)
    assert _verdicts(report)["added"] == ("not_loaded", "not loaded by the node: restart it")
    row = next(r for r in report.identities if r.name == "added")
    assert row.loaded is False and row.post.node_state is None


def test_post_failed_names_the_nodes_help(s: Scenario) -> None:
    node_id = s.healthy("alpha")
    s.node.publish(
        s.node.event("post_start", challenge=b"c" * 32, smesher=node_id),
        s.node.event("post_complete", failure=True, smesher=node_id,
                     help="Node generated invalid POST proof. Please verify your POST data."),
    )  # fmt: skip
    report = _read(s)
    assert _verdicts(report)["alpha"] == (
        "post_failed",
        "PoST failed: Node generated invalid POST proof. Please verify your POST data.",
    )
    assert report.identities[0].post.asked_at is not None


def test_waiting_for_the_poet_round(s: Scenario) -> None:
    node_id = s.add_key("fresh")
    end = s.node.epoch_start(5) + timedelta(minutes=50)
    s.node.publish(
        s.node.event("waiting_for_poet_round_end", publish=5, target=6, round_end=end,
                     smesher=node_id),
        s.node.event("poet_wait_proof", publish=5, target=6, smesher=node_id),
    )  # fmt: skip
    text = _verdicts(_read(s))["fresh"]
    assert text == ("waiting_poet", f"waiting for the PoET round (ends {end:%Y-%m-%dT%H:%M:%SZ})")


def test_eligibility_and_proposals_from_events(s: Scenario) -> None:
    from mergetool.nodeapi.proto import events_pb2 as ev

    node_id = s.healthy("alpha")
    s.node.publish(
        s.node.event("eligibilities", epoch=5, smesher=node_id,
                     eligibilities=[ev.ProposalEligibility(layer=510, count=2)]),
        s.node.event("proposal", layer=510, smesher=node_id),
    )  # fmt: skip
    elig = _read(s).identities[0].eligibility
    assert (elig.epoch, elig.slots, elig.proposals) == (5, 2, 1)


def test_no_service_while_the_node_asks_for_a_proof(s: Scenario) -> None:
    with OperatorServer("127.0.0.1:0") as post_rs:
        node_id = s.healthy("alpha")
        s.node.proving.add(node_id)
        post_rs.set_idle()
        url = f"http://127.0.0.1:{post_rs.address[1]}"
        report = _read(s, operators=[f"alpha={url}"])
        assert _verdicts(report)["alpha"] == (
            "no_service",
            "no service connected while the node asks for a proof",
        )
        post_rs.set_proving(0, 128, 0)
        report = _read(s, operators=[f"alpha={url}"])
    assert _verdicts(report)["alpha"] == ("proving", "proving: k2pow")
    assert report.identities[0].post.describe() == "PROVING / k2pow"


def test_a_wrong_listener_is_named(tmp_path: Path) -> None:
    s = build(tmp_path)
    s.node.start(public=PRIVATE)
    try:
        write_config(s)
        s.healthy("alpha")
        report = _read(s)
    finally:
        s.node.stop()
    public = s.node.address("public")
    assert any(
        e.startswith(f"{public} does not serve spacemesh.v2alpha1.NodeService: point `public` "
                     "at grpc-public-listener")
        for e in report.errors
    ), report.errors  # fmt: skip
    assert _verdicts(report)["alpha"][0] == "unknown"
    assert report.needs_attention


def test_an_unreachable_listener_is_told_within_the_timeout(s: Scenario, tmp_path: Path) -> None:
    import socket

    s.healthy("alpha")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"127.0.0.1:{sock.getsockname()[1]}"
    started = time.monotonic()
    report = _read(s, public=closed, timeout_s=1.0)
    assert time.monotonic() - started < 5
    assert len([e for e in report.errors if e.startswith(closed)]) == 1, report.errors
    assert report.node is None and report.clock is None
    assert _verdicts(report)["alpha"][0] == "unknown"


def test_a_jammed_list_is_not_asked_again_per_identity(s: Scenario) -> None:
    for n in range(12):
        s.healthy(f"id{n:02}")
    s.node.list_delay_s = 1.0
    report = _read(s, timeout_s=0.5)
    public = s.node.address("public")
    assert [e for e in report.errors if e.startswith(public)] == [
        f"{public}: no answer from spacemesh.v2alpha1.ActivationService within 0.5 s "
        "(Is the node running, and is this its api.grpc-public-listener?)"
    ]
    assert not [m for m, _ in s.node.calls if m == "RewardRequest"]
    assert {r.verdict.code for r in report.identities} == {"unknown"}


def test_a_serve_operator_api_reports_each_identity(s: Scenario) -> None:
    from tests.status.status_helpers import IdentitiesServer, serve_entry, url_of

    alpha, beta, gamma = (s.healthy(n) for n in ("alpha", "beta", "gamma"))
    s.node.proving.update({alpha, beta})
    api = IdentitiesServer()
    try:
        phase = {"name": "reading", "bytes_read": 3, "bytes_total": 4}
        api.serve(
            serve_entry(alpha, "proving", phase=phase),
            serve_entry(beta, "proving", connected=False, phase={"name": "k2pow"}),
        )
        report = _read(s, operators=[url_of(api)])
    finally:
        api.close()
    verdicts = _verdicts(report)
    assert verdicts["alpha"] == ("proving", "proving: reading 75 %")
    assert verdicts["beta"][0] == "no_service"
    assert verdicts["gamma"][0] == "earning"  # IDLE on the node: no service needed now
    gamma_row = next(r for r in report.identities if r.name == "gamma")
    assert gamma_row.post.service_problem == "no operator API answered for it"
    assert gamma == gamma_row.node_id


def test_events_a_follower_kept_replace_the_replay(s: Scenario) -> None:
    from mergetool.watch.events import parse_event

    node_id = s.healthy("alpha")
    s.node.publish(s.node.event("post_complete", failure=True, help="in the ring", smesher=node_id))
    kept = parse_event(
        s.node.event("post_complete", failure=True, help="kept earlier", smesher=node_id)
    )
    report = _read(s, events=[kept], now=lambda: s.now + timedelta(minutes=40))
    assert _verdicts(report)["alpha"] == ("post_failed", "PoST failed: kept earlier")
    assert not [m for m, _ in s.node.calls if m == "EventsStream"]
    assert report.clock.in_cycle_gap and report.events == (kept,)
