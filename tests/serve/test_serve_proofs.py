"""``serve`` against the node stand-in: several identities on one channel, proofs verified."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mergetool.post.params import PRESETS
from mergetool.post.proof import Proof
from mergetool.post.verification import VerifyMode, verify_proof
from tests.serve.node_standin import NodeStandin
from tests.serve.serve_helpers import ATX_ID, NODE_IDS, config_for, serving

CHALLENGE = bytes(range(100, 132))


def check_proof(outcome, node_id: bytes, challenge: bytes) -> None:  # type: ignore[no-untyped-def]
    """The proof the node got verifies with mergetool.post's verifier (all k2 indices)."""
    assert outcome.error is None, outcome.error
    assert bytes(outcome.metadata.challenge) == challenge
    meta = outcome.metadata.meta
    assert bytes(meta.node_id) == node_id and bytes(meta.commitment_atx_id) == ATX_ID
    proof = Proof(outcome.proof.nonce, bytes(outcome.proof.indices), outcome.proof.pow)
    verify_proof(
        proof, node_id=node_id, commitment_atx_id=ATX_ID, challenge=challenge,
        num_units=meta.num_units, params=PRESETS["test"], mode=VerifyMode("all"),
    )  # fmt: skip


def test_several_identities_on_one_channel_each_get_a_verified_proof(
    node: NodeStandin, post_dirs: Callable[[int], list[Path]]
) -> None:
    dirs = post_dirs(3)
    with serving(config_for(node.address, dirs)) as run:
        node.wait_connected(NODE_IDS)
        # One channel: every stream comes from the same client address (one connection).
        assert len({node.identity(n).peers[0] for n in NODE_IDS}) == 1
        assert not run.service.host.running  # RandomX only once a proof is asked for
        for node_id in NODE_IDS:
            meta = node.identity(node_id).metadata[0]
            assert meta.HasField("nonce") and meta.num_units == 2 and meta.labels_per_unit == 256
            node.request_proof(node_id, CHALLENGE)
        for node_id in NODE_IDS:
            check_proof(node.wait_proof(node_id, timeout=60), node_id, CHALLENGE)
            assert node.identity(node_id).still_proving >= 1
        status, doc = run.get("/identities")
        assert status == 200
        views = {v["node_id"]: v for v in doc["identities"]}
        assert set(views) == {n.hex() for n in NODE_IDS}
        for view in views.values():
            assert view["state"] == "idle" and view["connected"] is True
            assert view["last_proof"]["challenge"] == CHALLENGE.hex()
            assert view["status"] == "Idle" and view["last_error"] is None
        status, doc = run.get("/status")
        assert doc == {n.hex(): "Idle" for n in NODE_IDS}
        assert run.get(f"/status/{NODE_IDS[1].hex()}") == (200, "Idle")
        assert run.get(f"/status/{'ab' * 32}")[0] == 404
        status, text = run.get("/metrics")
        assert f'mergetool_proofs_total{{identity="{NODE_IDS[0].hex()}"}} 1.0' in text
        assert f'mergetool_connected{{identity="{NODE_IDS[2].hex()}"}} 1.0' in text
        assert "mergetool_k2pow_duration_seconds_count" in text
        # Memory only while needed: with every proof handed out, RandomX is gone.
        run.wait_event("randomx-released")
        assert not run.service.host.running
    assert node.protocol_errors == []
    assert run.kinds().count("proof-delivered") == 3
