"""Alert rules of ``watch --follow``: a state machine over :class:`NodeFacts`.

Each cause (``banned:<node id>``, ``missed_epoch:<epoch>:<node id>`` …) raises one alert
when it appears and one more when it goes away: evaluating the same facts again says
nothing. Pure: no clock (the facts carry the time), no network; delivery is ``notify.py``'s.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from mergetool.watch.facts import IdentityFacts, NodeFacts

State = Literal["firing", "resolved"]

#: kind -> severity
KINDS = {
    "banned": "critical",
    "post_failed": "critical",
    "missed_epoch": "critical",
    "not_synced": "warning",
    "asked_without_service": "critical",
    "cycle_gap_without_service": "warning",
}

NOT_SYNCED_AFTER_S = 30 * 60.0


def iso_utc(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Alert:
    """One alert; ``cause`` is its stable key, ``state`` says whether it fires or is over."""

    cause: str
    kind: str
    state: State
    at: float
    summary: str
    identity: str | None = None
    name: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def severity(self) -> str:
        return KINDS.get(self.kind, "warning")

    @property
    def text(self) -> str:
        """One line for a chat channel."""
        if self.state == "resolved":
            return f"RESOLVED: {self.summary}"
        return f"{self.severity.upper()}: {self.summary}"

    def to_dict(self) -> dict[str, Any]:
        """The JSON a webhook or command gets: ``text`` (Slack), ``content`` (Discord), and the
        structured fields."""
        return {
            "text": self.text,
            "content": self.text,
            "cause": self.cause,
            "kind": self.kind,
            "state": self.state,
            "severity": self.severity,
            "at": iso_utc(self.at),
            "summary": self.summary,
            "identity": self.identity,
            "name": self.name,
            "details": dict(self.details),
        }

    def environ(self) -> dict[str, str]:
        """``MERGETOOL_ALERT_*`` variables for an alert command."""
        doc = self.to_dict()
        keys = ("cause", "kind", "state", "severity", "at", "summary", "text", "identity", "name")
        return {f"MERGETOOL_ALERT_{k.upper()}": str(doc[k] or "") for k in keys}

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> Alert:
        at = datetime.fromisoformat(str(doc["at"]).replace("Z", "+00:00")).timestamp()
        return cls(
            cause=str(doc["cause"]),
            kind=str(doc["kind"]),
            state="resolved" if doc.get("state") == "resolved" else "firing",
            at=at,
            summary=str(doc.get("summary", "")),
            identity=doc.get("identity"),
            name=doc.get("name"),
            details=dict(doc.get("details") or {}),
        )


class AlertRules:
    """Turns successive facts into the alerts that changed; ``active`` holds those firing."""

    def __init__(
        self,
        *,
        not_synced_after_s: float = NOT_SYNCED_AFTER_S,
        active: Mapping[str, Alert] | None = None,
    ) -> None:
        self.not_synced_after_s = not_synced_after_s
        self.active: dict[str, Alert] = dict(active or {})
        #: when the node was first seen not synced (None: synced or unknown)
        self.not_synced_since: float | None = None

    def evaluate(self, facts: NodeFacts) -> list[Alert]:
        """The alerts to send for ``facts``: new causes firing, old ones resolved."""
        wanted = {a.cause: a for a in self._causes(facts)}
        changed = [a for cause, a in wanted.items() if cause not in self.active]
        self.active.update({a.cause: a for a in changed})
        known = {i.node_id for i in facts.identities}
        for cause, alert in list(self.active.items()):
            if cause in wanted:
                continue
            # an identity missing from these facts (a list not read) proves nothing: wait
            if alert.identity is not None and alert.identity not in known:
                continue
            if alert.kind == "not_synced" and facts.synced is None:
                continue
            del self.active[cause]
            changed.append(replace(alert, state="resolved", at=facts.at))
        return changed

    def _causes(self, facts: NodeFacts) -> Iterator[Alert]:
        yield from self._not_synced(facts)
        in_gap = (
            facts.cycle_gap_start is not None
            and facts.cycle_gap_end is not None
            and facts.cycle_gap_start <= facts.at < facts.cycle_gap_end
        )
        for ident in facts.identities:
            yield from _identity_causes(ident, facts, in_gap)

    def _not_synced(self, facts: NodeFacts) -> Iterator[Alert]:
        if facts.synced is None:  # unknown: keep whatever was there
            if "not_synced" in self.active:
                yield self.active["not_synced"]
            return
        if facts.synced:
            self.not_synced_since = None
            return
        if self.not_synced_since is None:
            self.not_synced_since = facts.at
        elapsed = facts.at - self.not_synced_since
        if elapsed >= self.not_synced_after_s:
            minutes = int(elapsed // 60)
            yield Alert(
                "not_synced",
                "not_synced",
                "firing",
                facts.at,
                f"the node has not been synced for {minutes} min (status {facts.sync_status}):"
                " a node that is not synced publishes nothing",
                details={"since": iso_utc(self.not_synced_since), "status": facts.sync_status},
            )


def _identity_causes(ident: IdentityFacts, facts: NodeFacts, in_gap: bool) -> Iterator[Alert]:
    def alert(cause: str, kind: str, summary: str, **details: Any) -> Alert:
        return Alert(
            f"{cause}:{ident.node_id}",
            kind,
            "firing",
            facts.at,
            f"{ident.name} ({ident.node_id[:12]}): {summary}",
            identity=ident.node_id,
            name=ident.name,
            details=details,
        )

    if ident.banned is not None:
        yield alert(
            "banned",
            "banned",
            f"banned: {ident.banned}; the identity is cancelled for good (the same key "
            "running on two nodes is the usual cause): stop every other copy of it",
            malfeasance=ident.banned,
        )
        return  # nothing else is worth telling about a cancelled identity
    if ident.post_failure is not None:
        yield alert(
            "post_failed",
            "post_failed",
            f"PoST failed: {ident.post_failure}",
            help=ident.post_failure,
        )
    if ident.missed_epoch is not None:
        yield alert(
            f"missed_epoch:{ident.missed_epoch}",
            "missed_epoch",
            f"missed epoch {ident.missed_epoch}: no ATX was published in epoch "
            f"{ident.missed_epoch - 1}, so it earns nothing in epoch {ident.missed_epoch}",
            epoch=ident.missed_epoch,
        )
    if ident.asked_without_service:
        yield alert(
            "asked_without_service",
            "asked_without_service",
            "the node asks for a proof and no PoST service is connected for this identity:"
            " start its service before the cycle gap ends",
        )
    if in_gap and ident.service_connected is False and not ident.asked_without_service:
        assert facts.cycle_gap_start is not None and facts.cycle_gap_end is not None
        yield alert(
            f"cycle_gap_without_service:{int(facts.cycle_gap_start)}",
            "cycle_gap_without_service",
            f"the cycle gap began at {iso_utc(facts.cycle_gap_start)} and no PoST service is "
            f"connected for this identity; it ends at {iso_utc(facts.cycle_gap_end)}",
            cycle_gap_start=iso_utc(facts.cycle_gap_start),
            cycle_gap_end=iso_utc(facts.cycle_gap_end),
        )
