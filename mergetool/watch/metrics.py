"""Prometheus gauges of ``watch --follow`` (``--metrics-address``), per identity, named
``mergetool_watch_…``; ``docs/monitoring/`` holds alert rules and a dashboard over them."""

from __future__ import annotations

import contextlib
from typing import Any

from mergetool._http import HttpServer
from mergetool.watch.alerts import KINDS
from mergetool.watch.facts import VERDICTS, NodeFacts

#: Every metric name exposed (a test checks docs/monitoring/ uses no other).
NAMES = (
    "mergetool_watch_atx_publish_epoch",
    "mergetool_watch_eligible_slots",
    "mergetool_watch_rewards_last_epoch_smidge",
    "mergetool_watch_last_reward_layer",
    "mergetool_watch_banned",
    "mergetool_watch_verdict",
    "mergetool_watch_service_connected",
    "mergetool_watch_node_synced",
    "mergetool_watch_current_layer",
    "mergetool_watch_current_epoch",
    "mergetool_watch_seconds_to_cycle_gap",
    "mergetool_watch_in_cycle_gap",
    "mergetool_watch_stream_connected",
    "mergetool_watch_events_total",
    "mergetool_watch_alerts_firing",
    "mergetool_watch_last_refresh_timestamp_seconds",
)

_LABELS = ["identity", "name"]


class WatchMetrics:
    """A private registry of gauges, set from :class:`NodeFacts` by :meth:`update`."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Enum, Gauge

        self.registry = r = CollectorRegistry()

        def gauge(name: str, doc: str, labels: list[str] | None = None) -> Gauge:
            return Gauge(f"mergetool_watch_{name}", doc, labels or [], registry=r)

        self.atx_epoch = gauge("atx_publish_epoch", "Publish epoch of the newest ATX.", _LABELS)
        self.eligible = gauge("eligible_slots", "Proposal slots in the current epoch.", _LABELS)
        self.rewards = gauge(
            "rewards_last_epoch_smidge", "Rewards of the last full epoch (smidge).", _LABELS
        )
        self.reward_layer = gauge("last_reward_layer", "Layer of the newest reward.", _LABELS)
        self.banned = gauge("banned", "1 when a malfeasance proof cancels it for good.", _LABELS)
        self.verdict = Enum(
            "mergetool_watch_verdict", "What the identity is doing.", _LABELS,
            states=list(VERDICTS), registry=r,
        )  # fmt: skip
        self.service = gauge(
            "service_connected", "1 while a PoST service is connected for it.", _LABELS
        )
        self.synced = gauge("node_synced", "1 when the node is synced.")
        self.layer = gauge("current_layer", "The node's current layer.")
        self.epoch = gauge("current_epoch", "The current epoch.")
        self.to_gap = gauge("seconds_to_cycle_gap", "Seconds until the next cycle gap (0 in one).")
        self.in_gap = gauge("in_cycle_gap", "1 during a cycle gap.")
        self.stream = gauge("stream_connected", "1 while subscribed to the node's events.")
        self.events = Counter(
            "mergetool_watch_events", "Node events recorded (replays not counted).", ["kind"],
            registry=r,
        )  # fmt: skip
        self.alerts = gauge("alerts_firing", "Alerts firing, by kind.", ["kind"])
        self.refreshed = gauge(
            "last_refresh_timestamp_seconds", "When the node's lists were last read."
        )
        self._identities: set[tuple[str, str]] = set()

    def update(self, facts: NodeFacts) -> None:
        """Set every gauge from ``facts``; identities no longer there are removed."""
        seen = set()
        for ident in facts.identities:
            labels = (ident.node_id, ident.name)
            seen.add(labels)
            _set(self.atx_epoch, labels, ident.atx_epoch)
            _set(self.eligible, labels, ident.eligible_slots)
            _set(self.rewards, labels, ident.rewards_smidge)
            _set(self.reward_layer, labels, ident.last_reward_layer)
            _set(self.banned, labels, int(ident.banned is not None))
            verdict = ident.verdict if ident.verdict in VERDICTS else "unknown"
            self.verdict.labels(*labels).state(verdict)
            connected = ident.service_connected
            _set(self.service, labels, None if connected is None else int(connected))
        for gone in self._identities - seen:
            for metric in (self.atx_epoch, self.eligible, self.rewards, self.reward_layer,
                           self.banned, self.verdict, self.service):  # fmt: skip
                with contextlib.suppress(KeyError):
                    metric.remove(*gone)
        self._identities = seen
        if facts.synced is not None:
            self.synced.set(int(facts.synced))
        _set(self.layer, (), facts.current_layer)
        _set(self.epoch, (), facts.current_epoch)
        start, end = facts.cycle_gap_start, facts.cycle_gap_end
        if start is not None and end is not None:
            inside = start <= facts.at < end
            self.in_gap.set(int(inside))
            self.to_gap.set(0 if inside else max(0.0, start - facts.at))
        self.refreshed.set(facts.at)

    def set_alerts(self, kinds: list[str]) -> None:
        for kind in KINDS:
            self.alerts.labels(kind).set(kinds.count(kind))

    def render(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def serve(self, address: str) -> HttpServer:
        """An HTTP server answering ``GET /metrics`` on ``address``, started."""

        def route(path: str) -> tuple[int, bytes, str]:
            if path in ("/metrics", "/"):
                body, ctype = self.render()
                return 200, body, ctype
            return 404, b"not found: try /metrics\n", "text/plain"

        return HttpServer(address, route, what="metrics address").start()


def _set(metric: Any, labels: tuple[str, ...], value: float | None) -> None:
    """Set a gauge, or drop the series when the value is unknown (no made-up zero)."""
    if value is None:
        if labels:
            with contextlib.suppress(KeyError):
                metric.remove(*labels)
        return
    (metric.labels(*labels) if labels else metric).set(value)
