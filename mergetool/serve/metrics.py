"""Prometheus metrics of ``serve`` (``GET /metrics``), labelled by identity (node id hex)."""

from __future__ import annotations

from typing import Any


class Metrics:
    """Counters ``mergetool_…_total``, histograms ``…_seconds``, a connection gauge."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()
        labels = ["identity"]
        durations = (1, 5, 30, 60, 300, 900, 1800, 3600, 7200, 14400, 28800, 43200)
        self.passes = Counter(
            "mergetool_passes", "Data passes finished.", labels, registry=self.registry
        )
        self.bytes_read = Counter(
            "mergetool_bytes_read", "PoST data bytes read by passes.", labels,
            registry=self.registry,
        )  # fmt: skip
        self.proofs = Counter(
            "mergetool_proofs", "Proofs made and verified.", labels, registry=self.registry
        )
        self.delivered = Counter(
            "mergetool_proofs_delivered", "Proofs handed to the node.", labels,
            registry=self.registry,
        )  # fmt: skip
        self.errors = Counter(
            "mergetool_errors", "Failed proving runs.", labels, registry=self.registry
        )
        self.proof_seconds = Histogram(
            "mergetool_proof_duration_seconds", "Time from request to verified proof.", labels,
            buckets=durations, registry=self.registry,
        )  # fmt: skip
        self.k2pow_seconds = Histogram(
            "mergetool_k2pow_duration_seconds", "k2pow time per pass.", labels,
            buckets=durations, registry=self.registry,
        )  # fmt: skip
        self.connected = Gauge(
            "mergetool_connected", "1 while the identity's stream to the node is open.", labels,
            registry=self.registry,
        )  # fmt: skip

    def add_identity(self, node_id: bytes) -> None:
        """Every series of ``node_id`` exists from the start (zero), not only after first use."""
        label = self.label(node_id)
        for metric in (
            self.passes, self.bytes_read, self.proofs, self.delivered, self.errors,
            self.proof_seconds, self.k2pow_seconds, self.connected,
        ):  # fmt: skip
            metric.labels(**label)

    def render(self) -> tuple[bytes, str]:
        """The text exposition format and its content type."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    @staticmethod
    def label(node_id: bytes) -> dict[str, Any]:
        return {"identity": node_id.hex()}
