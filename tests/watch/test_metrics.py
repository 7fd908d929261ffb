"""The watcher's Prometheus gauges, scraped over real HTTP; docs/monitoring/ uses only them."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

import pytest

from mergetool._exceptions import InvalidParameters
from mergetool.watch.facts import IdentityFacts, NodeFacts
from mergetool.watch.metrics import NAMES, WatchMetrics

MONITORING = Path(__file__).resolve().parents[2] / "docs" / "monitoring"
A, B = "aa" * 32, "bb" * 32


def _scrape(metrics: WatchMetrics) -> str:
    server = metrics.serve("127.0.0.1:0")
    try:
        host, port = server.address
        with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=5) as answer:
            assert answer.headers["Content-Type"].startswith("text/plain")
            return answer.read().decode()
    finally:
        server.stop()


def _facts(*idents: IdentityFacts, at: float = 1000.0) -> NodeFacts:
    return NodeFacts(
        at=at, synced=True, sync_status="SYNCED", current_layer=40, current_epoch=10,
        cycle_gap_start=4600.0, cycle_gap_end=9000.0, identities=idents,
    )  # fmt: skip


def test_gauges_per_identity_over_http() -> None:
    metrics = WatchMetrics()
    alice = IdentityFacts(
        A, "alice", verdict="earning", atx_epoch=9, eligible_slots=3,
        rewards_smidge=5 * 10**9, last_reward_layer=39, service_connected=True,
    )  # fmt: skip
    bob = IdentityFacts(B, "bob", verdict="banned", banned="MALFEASANCE_ATX")
    metrics.update(_facts(alice, bob))
    metrics.events.labels("proposal").inc()
    metrics.set_alerts(["banned"])
    text = _scrape(metrics)
    assert f'mergetool_watch_atx_publish_epoch{{identity="{A}",name="alice"}} 9.0' in text
    assert f'mergetool_watch_eligible_slots{{identity="{A}",name="alice"}} 3.0' in text
    assert f'mergetool_watch_rewards_last_epoch_smidge{{identity="{A}",name="alice"}} 5e+09' in text
    assert f'mergetool_watch_banned{{identity="{B}",name="bob"}} 1.0' in text
    verdict = 'mergetool_watch_verdict{identity="%s",mergetool_watch_verdict="%s",name="%s"}'
    assert verdict % (A, "earning", "alice") + " 1.0" in text
    assert verdict % (A, "banned", "alice") + " 0.0" in text
    assert verdict % (B, "banned", "bob") + " 1.0" in text
    assert "mergetool_watch_seconds_to_cycle_gap 3600.0" in text
    assert "mergetool_watch_node_synced 1.0" in text
    assert 'mergetool_watch_alerts_firing{kind="banned"} 1.0' in text
    # an unknown value is no series at all, never a made-up zero
    assert f'mergetool_watch_atx_publish_epoch{{identity="{B}"' not in text
    exposed = set(re.findall(r"^(mergetool_watch_\w+?)(?:\{| )", text, re.M))
    assert exposed - {"mergetool_watch_events_created"} == set(NAMES)

    metrics.update(_facts(alice, at=5000.0))  # bob is gone; the cycle gap runs
    text = _scrape(metrics)
    assert f'identity="{B}"' not in text
    assert "mergetool_watch_in_cycle_gap 1.0" in text
    assert "mergetool_watch_seconds_to_cycle_gap 0.0" in text


def test_a_bad_metrics_address_is_named() -> None:
    with pytest.raises(InvalidParameters, match="metrics address must be HOST:PORT"):
        WatchMetrics().serve("localhost")


def test_docs_monitoring_uses_only_exposed_metrics() -> None:
    rules = (MONITORING / "prometheus-alerts.yml").read_text()
    dashboard = (MONITORING / "grafana-dashboard.json").read_text()
    json.loads(dashboard)
    used = set(re.findall(r"mergetool_watch_[a-z_]+", rules + dashboard))
    assert used, "docs/monitoring/ uses no mergetool_watch_ metric"
    assert used - set(NAMES) == set(), "metrics the watcher does not expose"
    assert {"mergetool_watch_banned", "mergetool_watch_verdict"} <= used
