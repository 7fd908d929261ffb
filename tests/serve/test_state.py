"""The per-identity state machine, driven by events and a fake clock (no network)."""

from __future__ import annotations

from mergetool.serve.state import Decision, IdentityState, Progress

C1, C2 = b"\x01" * 32, b"\x02" * 32
PROOF = object()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def proving(challenge: bytes = C1) -> tuple[IdentityState, Clock]:
    clock = Clock()
    state = IdentityState(clock)
    assert state.on_request(challenge) == Decision("proving", start=challenge)
    return state, clock


def finish(state: IdentityState, challenge: bytes = C1) -> None:
    finished = state.finish(challenge, PROOF)
    assert finished is not None and state.on_proof(finished)


def test_new_challenge_starts_and_the_same_one_is_still_proving() -> None:
    state, _ = proving()
    assert state.on_request(C1) == Decision("proving")
    assert state.public_state == "proving"
    assert state.post_rs_status() == {"Proving": {"nonces": {"start": 0, "end": 0}, "position": 0}}


def test_ready_proof_is_handed_out_with_its_duration_then_idle() -> None:
    state, clock = proving()
    state.on_progress(C1, Progress("reading", 2, (16, 32), bytes_read=4096, bytes_total=8192))
    assert state.post_rs_status() == {
        "Proving": {"nonces": {"start": 16, "end": 32}, "position": 4096}
    }
    clock.now += 30
    finish(state)
    assert state.post_rs_status() == "DoneProving" and state.public_state == "done"
    assert state.last_proof is not None and state.last_proof.duration_s == 30
    assert state.on_request(C1) == Decision("proof", proof=PROOF)
    assert state.public_state == "idle" and state.post_rs_status() == "Idle"


def test_the_same_challenge_after_delivery_gets_the_proof_again_without_work() -> None:
    state, _ = proving()
    finish(state)
    state.on_request(C1)  # delivered, but the stream dropped before the node got it
    assert state.on_request(C1) == Decision("proof", proof=PROOF)


def test_different_challenge_while_proving_drops_the_stale_work() -> None:
    state, _ = proving()
    assert state.on_request(C2) == Decision("proving", start=C2)
    assert state.finish(C1, PROOF) is None  # the stale run's result is ignored
    assert state.on_failure(C1, "stale") is False
    finish(state, C2)
    assert state.on_request(C2).proof is PROOF


def test_different_challenge_while_done_drops_the_stale_proof() -> None:
    state, _ = proving()
    finish(state)
    assert state.on_request(C2) == Decision("proving", start=C2)
    assert state.ready is None and state.public_state == "proving"


def test_after_an_error_one_error_reply_then_the_next_request_starts_afresh() -> None:
    state, _ = proving()
    assert state.on_failure(C1, "the proof failed its own verification")
    assert state.public_state == "idle"
    assert state.on_request(C1) == Decision("error")
    assert state.on_request(C1) == Decision("proving", start=C1)
    assert state.last_error == "the proof failed its own verification"
    finish(state)
    assert state.last_error is None


def test_stored_proof_is_offered_unless_already_delivered() -> None:
    state, _ = proving()
    finish(state)
    finished = state.last_proof
    assert finished is not None
    fresh = IdentityState(Clock())
    fresh.on_stored_proof(finished, delivered=False)
    assert fresh.post_rs_status() == "DoneProving"
    assert fresh.on_request(C1).proof is PROOF
    delivered = IdentityState(Clock())
    delivered.on_stored_proof(finished, delivered=True)
    assert delivered.post_rs_status() == "Idle"
    assert delivered.on_request(C1).proof is PROOF  # still answers a repeated request


def test_stop_reports_the_challenge_that_was_mid_proof() -> None:
    state, _ = proving()
    assert state.on_stop() == C1
    assert state.on_stop() is None


def test_after_the_pass_the_check_and_the_save_keep_its_pass_and_bytes() -> None:
    state, _ = proving()
    state.on_progress(C1, Progress("reading", 2, (16, 32), 8192, 8192, rate_bytes_s=1e6, eta_s=0))
    for phase in ("verifying", "saving"):
        state.on_progress(C1, state.next_phase(phase))
        assert state.progress == Progress(phase, 2, (16, 32), 8192, 8192)
        # post-rs's /status: still proving, at the end of the data
        assert state.post_rs_status() == {
            "Proving": {"nonces": {"start": 16, "end": 32}, "position": 8192}
        }
