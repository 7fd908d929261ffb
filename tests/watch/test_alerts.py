"""Alert rules: one alert per cause, one on recovery, never a flood."""

from __future__ import annotations

from dataclasses import replace

from mergetool.watch.alerts import Alert, AlertRules
from mergetool.watch.facts import IdentityFacts, NodeFacts

A = "aa" * 32
B = "bb" * 32
HOUR = 3600.0


def _facts(at: float, *idents: IdentityFacts, synced: bool | None = True, **kw: object):
    return NodeFacts(at=at, synced=synced, sync_status="SYNCED" if synced else "SYNCING",
                     identities=idents, **kw)  # type: ignore[arg-type]  # fmt: skip


def _ident(node_id: str = A, **kw: object) -> IdentityFacts:
    return IdentityFacts(node_id=node_id, name="alice" if node_id == A else "bob", **kw)  # type: ignore[arg-type]


def _kinds(alerts: list[Alert]) -> list[tuple[str, str]]:
    return [(a.cause, a.state) for a in alerts]


def test_a_ban_alerts_once_and_silences_the_rest() -> None:
    rules = AlertRules()
    banned = _ident(banned="MALFEASANCE_ATX", post_failure="x", asked_without_service=True)
    first = rules.evaluate(_facts(0, banned, _ident(B)))
    assert _kinds(first) == [(f"banned:{A}", "firing")]
    assert first[0].text.startswith("CRITICAL: alice (aaaaaaaaaaaa): banned: MALFEASANCE_ATX;")
    for t in range(1, 20):  # the same facts again and again: silence
        assert rules.evaluate(_facts(t, banned, _ident(B))) == []


def test_post_failure_fires_once_then_recovers_once() -> None:
    rules = AlertRules()
    failed = _ident(post_failure="Node generated invalid POST proof.")
    assert _kinds(rules.evaluate(_facts(0, failed))) == [(f"post_failed:{A}", "firing")]
    assert rules.evaluate(_facts(1, failed)) == []
    recovered = rules.evaluate(_facts(2, _ident()))
    assert _kinds(recovered) == [(f"post_failed:{A}", "resolved")]
    assert recovered[0].text.startswith("RESOLVED: alice")
    assert rules.evaluate(_facts(3, _ident())) == []


def test_an_identity_missing_from_the_facts_resolves_nothing() -> None:
    rules = AlertRules()
    rules.evaluate(_facts(0, _ident(asked_without_service=True)))
    assert rules.evaluate(_facts(1, _ident(B))) == []  # alice's list was not read this time
    assert _kinds(rules.evaluate(_facts(2, _ident(), _ident(B)))) == [
        (f"asked_without_service:{A}", "resolved")
    ]


def test_each_missed_epoch_is_its_own_cause() -> None:
    rules = AlertRules()
    assert _kinds(rules.evaluate(_facts(0, _ident(missed_epoch=7)))) == [
        (f"missed_epoch:7:{A}", "firing")
    ]
    assert _kinds(rules.evaluate(_facts(1, _ident(missed_epoch=8)))) == [
        (f"missed_epoch:8:{A}", "firing"),
        (f"missed_epoch:7:{A}", "resolved"),
    ]


def test_not_synced_waits_for_the_threshold_and_keeps_state_while_unknown() -> None:
    rules = AlertRules(not_synced_after_s=HOUR / 2)
    assert rules.evaluate(_facts(0, synced=False)) == []
    assert rules.evaluate(_facts(HOUR / 2 - 1, synced=False)) == []
    fired = rules.evaluate(_facts(HOUR / 2, synced=False))
    assert _kinds(fired) == [("not_synced", "firing")]
    assert "not been synced for 30 min" in fired[0].summary
    assert rules.evaluate(_facts(HOUR, synced=None)) == []  # node unreachable: unknown
    assert _kinds(rules.evaluate(_facts(HOUR + 1))) == [("not_synced", "resolved")]
    assert rules.evaluate(_facts(HOUR + 2, synced=False)) == []  # a new spell starts over


def test_a_cycle_gap_without_a_service_alerts_per_gap() -> None:
    rules = AlertRules()
    gap = {"cycle_gap_start": 100 * HOUR, "cycle_gap_end": 112 * HOUR}
    lonely = _ident(service_connected=False)
    assert rules.evaluate(_facts(99 * HOUR, lonely, **gap)) == []
    fired = rules.evaluate(_facts(100 * HOUR, lonely, **gap))
    assert [a.kind for a in fired] == ["cycle_gap_without_service"]
    assert rules.evaluate(_facts(101 * HOUR, lonely, **gap)) == []
    connected = replace(lonely, service_connected=True)
    assert [a.state for a in rules.evaluate(_facts(102 * HOUR, connected, **gap))] == ["resolved"]


def test_alerts_round_trip_for_the_history_file() -> None:
    rules = AlertRules()
    (alert,) = rules.evaluate(_facts(1_700_000_000, _ident(post_failure="boom")))
    doc = alert.to_dict()
    assert doc["text"] == doc["content"] == alert.text
    assert Alert.from_dict(doc) == alert
    env = alert.environ()
    assert env["MERGETOOL_ALERT_KIND"] == "post_failed"
    assert env["MERGETOOL_ALERT_IDENTITY"] == A
    restarted = AlertRules(active={alert.cause: Alert.from_dict(doc)})
    assert restarted.evaluate(_facts(1_700_000_100, _ident(post_failure="boom"))) == []
