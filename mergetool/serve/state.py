"""The per-identity state machine: what to answer the node, and which proving work to run.

A plain class with no I/O: the gRPC layer turns node requests into ``on_request`` calls and
the prover's results into ``on_proof``/``on_failure``; ``clock`` (wall-clock seconds) is
injected so that tests drive time. The state lives outside any connection, so it survives
reconnects; a finished proof is also kept on disk by the caller (``store.py``).

Unlike post-rs: a different challenge drops stale work and starts the new one; a failed run
is answered with ERROR once and the next request starts afresh; a delivered proof is kept so
a repeated request for the same challenge (a dropped stream) gets it again without a pass.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

Clock = Callable[[], float]
Reply = Literal["proving", "proof", "error"]
Phase = Literal["waiting-for-disk", "k2pow", "reading", "verifying", "saving"]


@dataclass(frozen=True)
class Decision:
    """The answer to one GenProof request and the work it sets off.

    ``start``: begin proving this challenge (any stale work is to be dropped first).
    """

    reply: Reply
    proof: Any = None  # a mergetool.post.proof.Proof when reply == "proof"
    start: bytes | None = None


@dataclass(frozen=True)
class Progress:
    """Where a running proof is: its pass, the phase and how far the phase has got."""

    phase: Phase
    pass_number: int = 1
    nonces: tuple[int, int] = (0, 0)
    bytes_read: int = 0
    bytes_total: int = 0
    rate_bytes_s: float | None = None
    eta_s: float | None = None
    k2pow_groups_done: int = 0
    k2pow_groups_total: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.phase, "pass": self.pass_number, "bytes_read": self.bytes_read,
            "bytes_total": self.bytes_total, "rate_bytes_s": self.rate_bytes_s,
            "eta_s": self.eta_s, "k2pow_groups_done": self.k2pow_groups_done,
            "k2pow_groups_total": self.k2pow_groups_total,
        }  # fmt: skip


@dataclass(frozen=True)
class Finished:
    """A proof made for ``challenge``, when it was finished and how long it took."""

    challenge: bytes
    proof: Any
    finished_at: float
    duration_s: float


class IdentityState:
    """Idle -> Proving(challenge) -> Done(proof) -> (handed out) Idle, per identity."""

    def __init__(self, clock: Clock = time.time) -> None:
        self.clock = clock
        self.state: Literal["idle", "proving", "done", "failed"] = "idle"
        self.challenge: bytes | None = None
        self.started_at: float | None = None
        self.progress: Progress | None = None
        self.ready: Finished | None = None  # a proof not handed out yet (state "done")
        self.last_proof: Finished | None = None  # the latest proof, delivered or not
        self.last_error: str | None = None

    # --- events --------------------------------------------------------------------------

    def on_request(self, challenge: bytes) -> Decision:
        """The node asks for a proof of ``challenge``."""
        if self.state == "failed":
            self.state, self.challenge = "idle", None
            return Decision("error")  # the next request starts afresh
        if self.state == "done" and self.ready and self.ready.challenge == challenge:
            return self._hand_out()
        if self.state == "proving" and self.challenge == challenge:
            return Decision("proving")
        if self.last_proof and self.last_proof.challenge == challenge and self.state != "proving":
            return Decision("proof", proof=self.last_proof.proof)  # sent before, stream dropped
        self.state, self.challenge, self.ready = "proving", challenge, None
        self.started_at, self.progress = self.clock(), None
        return Decision("proving", start=challenge)

    def on_stored_proof(self, finished: Finished, *, delivered: bool) -> None:
        """A verified proof found in the state folder at start-up: offer it (again)."""
        self.last_proof = finished
        if not delivered:
            self.state, self.challenge, self.ready = "done", finished.challenge, finished

    def on_progress(self, challenge: bytes, progress: Progress) -> None:
        if self.state == "proving" and self.challenge == challenge:
            self.progress = progress

    def next_phase(self, phase: Phase) -> Progress:
        """The running proof's Progress once its pass is over and ``phase`` begins (the pass
        and the bytes read kept)."""
        was = self.progress or Progress(phase)
        return replace(was, phase=phase, rate_bytes_s=None, eta_s=None)

    def finish(self, challenge: bytes, proof: Any) -> Finished | None:
        """The record of a proof for the current run (no transition); None when stale."""
        if self.state != "proving" or self.challenge != challenge:
            return None
        now = self.clock()
        started = self.started_at if self.started_at is not None else now
        return Finished(challenge, proof, now, max(0.0, now - started))

    def on_proof(self, finished: Finished) -> bool:
        """A verified (and stored) proof is ready to hand out; False when it is stale."""
        if self.state != "proving" or self.challenge != finished.challenge:
            return False
        self.state, self.ready, self.last_proof, self.progress = "done", finished, finished, None
        self.last_error = None
        return True

    def on_failure(self, challenge: bytes, message: str) -> bool:
        """The work for ``challenge`` failed; False when it is stale (already replaced)."""
        if self.state != "proving" or self.challenge != challenge:
            return False
        self.state, self.progress, self.last_error = "failed", None, message
        return True

    def on_stop(self) -> bytes | None:
        """The service stops: the challenge that was mid-proof, if any (work is lost)."""
        if self.state != "proving":
            return None
        challenge = self.challenge
        self.state, self.challenge, self.progress = "idle", None, None
        return challenge

    def _hand_out(self) -> Decision:
        assert self.ready is not None
        proof = self.ready.proof
        self.state, self.challenge, self.ready = "idle", None, None
        return Decision("proof", proof=proof)

    # --- views ---------------------------------------------------------------------------

    @property
    def public_state(self) -> Literal["idle", "proving", "done"]:
        return "idle" if self.state == "failed" else self.state

    def post_rs_status(self) -> Any:
        """Exactly post-rs's ``/status`` value: "Idle", {"Proving": …} or "DoneProving"."""
        from mergetool.serve.post_rs import post_rs_status

        if self.state != "proving":
            return post_rs_status(self.public_state)
        progress = self.progress or Progress("k2pow")
        position = 0 if progress.phase in ("k2pow", "waiting-for-disk") else progress.bytes_read
        return post_rs_status("proving", nonces=progress.nonces, position=position)
