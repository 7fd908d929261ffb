"""The verdict rules: pure, one function of what was read about an identity.

In order (the first that applies): not loaded by the node; banned; PoST failed; the node asks
for a proof (no service connected, or proving); then by its ATXs in the current epoch C:
earning (an ATX published in C − 1), will earn in C + 1 (published in C), waiting for the
PoET round, else missed epoch C. Nothing known about the epoch: unknown.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from mergetool.serviceapi.state import ServiceState
from mergetool.watch.model import Verdict
from mergetool.watch.records import iso


@dataclass(frozen=True)
class Facts:
    """What the verdict looks at for one identity."""

    #: the current epoch (None: the public listener did not answer)
    epoch: int | None
    #: in SmesherIDs (None: unknown)
    loaded: bool | None = None
    #: publish epochs of its ATXs (None: unknown)
    atx_epochs: Collection[int] | None = None
    banned: tuple[str, ...] = ()
    #: the node's help text of an unrecovered PoST failure
    post_failure: str | None = None
    #: PostStates: IDLE / PROVING (None: not asked or not listed)
    node_state: str | None = None
    service: ServiceState | None = None
    #: operator APIs were given, so a missing service state means none serves it
    operators_given: bool = False
    #: the PoET round it waits for ends then (None: not waiting, as far as events tell)
    poet_round_end: datetime | None = None
    now: datetime | None = None


def judge(f: Facts) -> Verdict:
    """The verdict for ``f`` (see the module's docstring for the order)."""
    if f.loaded is False:
        return Verdict(
            "not_loaded", "not loaded by the node: restart it", "bad",
            "The node reads identities/*.key only at start-up: restart the node.",
        )  # fmt: skip
    if f.banned:
        return Verdict(
            "banned", f"banned: {', '.join(f.banned)}", "bad",
            "Cancelled for good: it never earns again. Find out how the key came to run twice "
            "(two nodes, a copied key) before starting a new identity: its PoST data is bound "
            "to this key and serves no other.",
        )  # fmt: skip
    if f.post_failure:
        return Verdict(
            "post_failed", f"PoST failed: {f.post_failure}", "bad",
            "Check the PoST service's log and its data (mergetool post verify); the node "
            "asks again later.",
        )  # fmt: skip
    if f.node_state == "PROVING":
        asked = _proof_asked(f)
        if asked is not None:
            return asked
    if f.epoch is None or f.atx_epochs is None:
        return Verdict(
            "unknown", "unknown: the node's public listener did not answer", "warn",
            "Point `public` at the node's grpc-public-listener.",
        )  # fmt: skip
    epochs = set(f.atx_epochs)
    if f.epoch - 1 in epochs:
        return Verdict("earning", "earning", "ok")
    if f.epoch in epochs:
        return Verdict("will_earn", f"will earn in epoch {f.epoch + 1}", "info")
    if f.poet_round_end is not None and (f.now is None or f.poet_round_end > f.now):
        return Verdict(
            "waiting_poet", f"waiting for the PoET round (ends {iso(f.poet_round_end)})", "info"
        )
    return Verdict(
        "missed_epoch", f"missed epoch {f.epoch}", "bad",
        f"No ATX was published in epoch {f.epoch - 1}, so it earns nothing in epoch "
        f"{f.epoch}. It must publish in epoch {f.epoch} to earn in {f.epoch + 1}: check that "
        "its PoST service runs and that the node registered it with a PoET.",
    )  # fmt: skip


def _proof_asked(f: Facts) -> Verdict | None:
    """The node asks for a proof: who is making it (None: cannot tell, judge by ATXs)."""
    service = f.service
    no_service = Verdict(
        "no_service", "no service connected while the node asks for a proof", "bad",
        "Start (or reconnect) this identity's PoST service: the proof is due within the "
        "cycle gap.",
    )  # fmt: skip
    if service is None:
        return no_service if f.operators_given else Verdict("proving", "proving", "info")
    if service.connected is False or service.kind == "idle":
        # a connected service is asked every 2 s and starts at once: idle means not connected
        return no_service
    if service.kind == "done":
        return Verdict("proving", "proving: proof ready, the node fetches it", "info")
    return Verdict("proving", f"proving: {service.describe()}", "info")
