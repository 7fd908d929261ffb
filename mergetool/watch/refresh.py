"""The follower's periodic re-read of the node (SmesherIDs, the v2alpha1 lists, Status,
Info, PostStates): facts for the alerts and metrics, and records for the history, so
nothing depends on having seen an event (the node's ring forgets; a restart empties it).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from mergetool.watch.clock import NetworkClock, PoetTiming
from mergetool.watch.facts import IdentityFacts, NodeFacts
from mergetool.watch.history import Record
from mergetool.watch.recording import atx_record, malfeasance_record, reward_record

#: how many epochs back the lists are read (the history keeps what was read before)
LOOKBACK_EPOCHS = 3


@dataclass(frozen=True)
class EventState:
    """What only the node's events tell about one identity, kept by the follower: the help
    text of a PoST failure not yet followed by a good proof, a ban seen as an event."""

    post_failure: str | None = None
    banned: str | None = None
    #: proposal slots the node's eligibilities event gave, and for which epoch
    slots: int = 0
    slots_epoch: int | None = None

    def after(self, record: Record) -> EventState:
        """The state once ``record`` happened: a good proof clears a failure."""
        if record.kind == "post_complete":
            failure = (record.help or "the node reports a failed PoST") if record.failure else None
            return replace(self, post_failure=failure)
        if record.kind == "init_failed":
            return replace(self, post_failure=str(record.data.get("error") or record.help))
        if record.kind == "malfeasance":
            return replace(self, banned=str(record.data.get("malfeasance", "malfeasance")))
        if record.kind == "eligibilities" and isinstance(record.data.get("epoch"), int):
            return replace(
                self, slots=int(record.data.get("slots", 0)), slots_epoch=record.data["epoch"]
            )
        return self


@dataclass(frozen=True)
class Refresh:
    """One re-read: the facts, the records for the history, and names by node id hex."""

    facts: NodeFacts
    records: tuple[Record, ...]
    names: dict[str, str] = field(default_factory=dict)


def read_node(
    client: object,
    *,
    names: Mapping[str, str] | None = None,
    poet: PoetTiming | None = None,
    events: Mapping[str, EventState] | None = None,
    services: Callable[[], Mapping[str, bool]] | None = None,
    now: Callable[[], float] = time.time,
    lookback_epochs: int = LOOKBACK_EPOCHS,
) -> Refresh:
    """Read the node through ``client`` (a ``NodeClient``); NodeCallFailed when a listener
    fails. ``names``: key names by node id hex (``--node-dir``), ``services``: whether a PoST
    service is connected, per node id hex (``--operator``)."""
    c = client  # NodeClient: typed loosely so this module needs no gRPC to import
    ids: tuple[bytes, ...] = c.smesher_ids()  # type: ignore[attr-defined]
    info = c.network_info()  # type: ignore[attr-defined]
    status = c.node_status()  # type: ignore[attr-defined]
    clock = NetworkClock(
        info.genesis_time, info.layer_duration_s, info.layers_per_epoch, poet or PoetTiming()
    )
    at = now()
    window = clock.window(datetime.fromtimestamp(at, UTC))
    epoch = window.epoch
    known = dict(names or {})
    asked: set[str] = set()
    if c.addresses.get("post"):  # type: ignore[attr-defined]
        for entry in c.post_states():  # type: ignore[attr-defined]
            known.setdefault(entry.node_id.hex(), entry.name.removesuffix(".key"))
            if entry.state == "PROVING":
                asked.add(entry.node_id.hex())
    first = max(0, epoch - 1 - lookback_epochs)
    atxs = c.list_activations(ids, start_epoch=first) if ids else ()  # type: ignore[attr-defined]
    bans = c.list_malfeasance(ids) if ids else ()  # type: ignore[attr-defined]
    connected = dict(services()) if services is not None else {}
    records: list[Record] = []
    by_id: dict[str, set[int]] = {}
    for a in atxs:
        who = a.smesher_id.hex()
        by_id.setdefault(who, set()).add(a.publish_epoch)
        start = clock.epoch_start(a.publish_epoch).timestamp()
        records.append(atx_record(who, a.publish_epoch, start, atx=a.id.hex(), source="list"))
    banned = {p.smesher.hex(): p.kind for p in bans}
    records += [malfeasance_record(who, at, kind) for who, kind in banned.items()]
    identities = []
    for node_id in ids:
        who = node_id.hex()
        rewards = c.list_rewards(  # type: ignore[attr-defined]
            node_id, start_layer=clock.first_layer(max(0, epoch - 1 - lookback_epochs))
        )
        for r in rewards:
            layer_time = info.genesis_time.timestamp() + r.layer * info.layer_duration_s
            records.append(reward_record(who, r.layer, layer_time, r.total))
        last_epoch = [r.total for r in rewards if clock.epoch_of_layer(r.layer) == epoch - 1]
        seen = events.get(who, EventState()) if events else EventState()
        epochs = by_id.get(who, set())
        facts = IdentityFacts(
            node_id=who,
            name=known.get(who, who[:12]),
            atx_epoch=max(epochs) if epochs else None,
            rewards_smidge=sum(last_epoch),
            last_reward_layer=max((r.layer for r in rewards), default=None),
            banned=banned.get(who) or seen.banned,
            post_failure=seen.post_failure,
            eligible_slots=seen.slots if seen.slots_epoch == epoch else 0,
            missed_epoch=_missed(epochs, epoch),
            asked_without_service=who in asked and connected.get(who) is False,
            service_connected=connected.get(who),
        )
        identities.append(_with_verdict(facts, epochs, epoch, who in asked, window.in_cycle_gap))
    node = NodeFacts(
        at=at,
        synced=status.sync == "synced" if status.sync != "unknown" else None,
        sync_status=status.sync,
        current_layer=status.current_layer,
        current_epoch=epoch,
        cycle_gap_start=window.cycle_gap_start.timestamp(),
        cycle_gap_end=window.cycle_gap_end.timestamp(),
        identities=tuple(identities),
    )
    return Refresh(node, tuple(records), {i.node_id: i.name for i in identities})


def _missed(publish_epochs: set[int], epoch: int) -> int | None:
    """The current epoch when the identity published before but not in the epoch before it
    (an identity with no ATX yet is new, not missing)."""
    if not publish_epochs or epoch - 1 in publish_epochs or epoch in publish_epochs:
        return None
    return epoch if min(publish_epochs) < epoch - 1 else None


def _with_verdict(
    f: IdentityFacts, epochs: set[int], epoch: int, asked: bool, in_gap: bool
) -> IdentityFacts:
    """The coarse verdict the metrics show (the one-shot ``watch`` explains it in words)."""
    if f.banned is not None:
        verdict, text = "banned", f"banned: {f.banned}"
    elif f.post_failure is not None:
        verdict, text = "post_failed", f"PoST failed: {f.post_failure}"
    elif f.asked_without_service:
        verdict, text = "no_service", "no service connected while the node asks for a proof"
    elif f.missed_epoch is not None:
        verdict, text = "missed_epoch", f"missed epoch {f.missed_epoch}"
    elif asked:
        verdict, text = "proving", "proving"
    elif epoch - 1 in epochs:
        verdict, text = "earning", "earning"
    elif epoch in epochs:
        verdict, text = "will_earn", f"will earn in epoch {epoch + 1}"
    elif in_gap:
        verdict, text = "waiting_poet", "waiting for the PoET round"
    else:
        verdict, text = "unknown", "no ATX seen yet"
    return replace(f, verdict=verdict, verdict_text=text)


def with_report(facts: NodeFacts, report: Any) -> NodeFacts:
    """``facts`` with what the one-shot ``read_watch`` judged (a ``WatchReport``): each row's
    verdict, its name, whether a PoST service answers for it (``--operator``)."""
    rows = {row.node_id.hex(): row for row in report.identities}
    idents = []
    for ident in facts.identities:
        row = rows.get(ident.node_id)
        if row is None:
            idents.append(ident)
            continue
        service, problem = row.post.service, row.post.service_problem
        connected = ident.service_connected
        slots = ident.eligible_slots
        if row.eligibility is not None and row.eligibility.epoch == facts.current_epoch:
            slots = max(slots, row.eligibility.slots)
        if service is not None:
            connected = True if service.connected is None else bool(service.connected)
        elif problem:
            connected = False
        idents.append(
            replace(
                ident,
                name=row.name or ident.name,
                verdict=row.verdict.code,
                verdict_text=row.verdict.text,
                service_connected=connected,
                eligible_slots=slots,
                asked_without_service=row.verdict.code == "no_service",
            )
        )
    seen = {i.node_id for i in idents}
    idents += [  # keys in --node-dir the node did not load: shown, with their verdict
        IdentityFacts(node_id=who, name=row.name or who[:12], verdict=row.verdict.code,
                      verdict_text=row.verdict.text)
        for who, row in rows.items() if who not in seen and row.loaded is False
    ]  # fmt: skip
    return replace(facts, identities=tuple(idents))
