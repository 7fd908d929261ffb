"""Real ``watch --json`` and page documents from a node whose identities are in every state
the stand-in can show, checked against ``schemas/json/watch`` and ``page``."""

from __future__ import annotations

import json
from datetime import timedelta

from click.testing import CliRunner

from mergetool.cli.main import cli
from mergetool.nodeapi.proto import events_pb2 as ev
from mergetool.nodeapi.proto import v2alpha1_pb2 as v2
from mergetool.watch.page import page_view
from mergetool.watch.read import read_watch
from tests.schema_check import assert_valid, loads_valid
from tests.status.status_helpers import IdentitiesServer, serve_entry, url_of
from tests.watch.scenario import Scenario


def _every_state(s: Scenario) -> None:
    alpha, bad, beta, gamma = (s.healthy(n) for n in ("alpha", "bad", "beta", "gamma"))
    s.add_key("added", loaded=False)
    fresh = s.add_key("fresh")
    s.node.malfeasance.append(v2.MalfeasanceProof(smesher=bad, domain=1, type=1))
    s.node.proving.update({beta, gamma})
    end = s.node.epoch_start(5) + timedelta(minutes=50)
    s.node.publish(
        s.node.event("eligibilities", epoch=5, smesher=alpha,
                     eligibilities=[ev.ProposalEligibility(layer=510, count=2)]),
        s.node.event("proposal", layer=510, smesher=alpha),
        s.node.event("post_start", challenge=b"c" * 32, smesher=gamma),
        s.node.event("post_complete", failure=True, smesher=gamma, help="invalid POST proof"),
        s.node.event("waiting_for_poet_round_end", publish=5, target=6, round_end=end,
                     smesher=fresh),
        s.node.event("poet_wait_proof", publish=5, target=6, smesher=fresh),
        s.node.event("malfeasance", help="banned",
                     proof=ev.MalfeasanceProof(smesher_id=ev.SmesherId(id=bad), kind=2)),
    )  # fmt: skip


def _operator(s: Scenario) -> IdentitiesServer:
    api = IdentitiesServer()
    k2pow = {"name": "k2pow", "k2pow_groups_done": 1, "k2pow_groups_total": 4}
    api.serve(
        serve_entry(s.id("beta"), "proving", phase=k2pow),
        serve_entry(s.id("gamma"), "proving", phase={"name": "reading", "bytes_read": 3,
                                                     "bytes_total": 4}),
    )  # fmt: skip
    return api


def test_watch_json_of_every_state(s: Scenario) -> None:
    _every_state(s)
    api = _operator(s)
    try:
        result = CliRunner().invoke(
            cli, ["watch", "--config", str(s.config), "--node-dir", str(s.node_dir),
                  "--operator", url_of(api), "--json"],
        )  # fmt: skip
    finally:
        api.close()
    doc = loads_valid(result.stdout, "watch")
    assert result.exit_code == 1
    verdicts = {i["name"]: i["verdict"]["code"] for i in doc["identities"]}
    assert verdicts == {
        "alpha": "earning", "bad": "banned", "beta": "proving", "gamma": "post_failed",
        "added": "not_loaded", "fresh": "waiting_poet",
    }  # fmt: skip
    beta = next(i for i in doc["identities"] if i["name"] == "beta")
    assert beta["post"]["service"]["k2pow_groups"] == [1, 4]
    assert any(e["deprecated"] for e in doc["events"]) and doc["network"] is not None


def test_the_page_of_every_state(s: Scenario) -> None:
    _every_state(s)
    api = _operator(s)
    try:
        report = read_watch(config=s.config, node_dir=s.node_dir, operators=[url_of(api)],
                            events_idle_s=0.2)  # fmt: skip
    finally:
        api.close()
    page = assert_valid(json.loads(json.dumps(page_view(report))), "page")
    phases = {i["name"]: (i["post"] or {}).get("phase") for i in page["identities"]}
    assert phases == {
        "alpha": "idle", "bad": "idle", "beta": "k2pow", "gamma": "failed", "added": None,
        "fresh": "idle",
    }  # fmt: skip
    assert page["events"][0]["kind"] == "malfeasance"
