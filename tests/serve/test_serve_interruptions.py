"""Work survives what happens around it: dropped streams, new challenges, restarts, bad data."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from tests.serve.node_standin import NodeStandin
from tests.serve.serve_helpers import NODE_IDS, config_for, serving
from tests.serve.test_serve_proofs import check_proof

C1, C2 = bytes(range(100, 132)), bytes(range(200, 232))
ID = NODE_IDS[0]


def test_node_drops_mid_proof_and_resends_the_same_challenge(
    node: NodeStandin, post_dirs: Callable[[int], list[Path]]
) -> None:
    with serving(config_for(node.address, post_dirs(1)), gated=True) as run:
        node.wait_connected([ID])
        node.request_proof(ID, C1)
        assert run.solver.waiting.wait(20)
        status, doc = run.get("/identities")
        (view,) = doc["identities"]
        assert (view["state"], view["challenge"]) == ("proving", C1.hex())
        assert view["phase"] == {
            "name": "k2pow", "pass": 1, "bytes_read": 0, "bytes_total": 8192,
            "rate_bytes_s": None, "eta_s": None, "k2pow_groups_done": 0, "k2pow_groups_total": 1,
        }  # fmt: skip
        assert run.get("/status") == (
            200,
            {"Proving": {"nonces": {"start": 0, "end": 16}, "position": 0}},
        )
        node.drop(ID)
        node.wait_for(lambda n: n.identity(ID).streams == 2 and n.connected(ID))
        node.wait_for(lambda n: n.identity(ID).still_proving >= 3)  # asked again, same run
        run.solver.gate.set()
        check_proof(node.wait_proof(ID, timeout=30), ID, C1)
    assert run.kinds().count("proof-started") == 1
    assert run.solver.calls == [(ID, C1)]
    assert run.kinds().count("connected") == 2
    lost = run.wait_event("disconnected")
    assert (lost.node_id, lost.level) == (ID, "warning")
    assert lost.message == (
        f"lost the connection to the node at {node.address}: dropped by the node stand-in; "
        "reconnecting"
    )


def test_new_challenge_mid_proof_drops_the_stale_work(
    node: NodeStandin, post_dirs: Callable[[int], list[Path]]
) -> None:
    with serving(config_for(node.address, post_dirs(1)), gated=True) as run:
        node.wait_connected([ID])
        node.request_proof(ID, C1)
        assert run.solver.waiting.wait(20)
        node.request_proof(ID, C2)
        run.wait_event("proof-started", 2)
        run.solver.gate.set()
        check_proof(node.wait_proof(ID, timeout=30), ID, C2)
    assert [c for _, c in run.solver.calls] == [C1, C2]
    assert "stale-dropped" in run.kinds()
    assert "proof-failed" not in run.kinds()


def test_restart_hands_out_a_finished_unfetched_proof_without_a_new_pass(
    node: NodeStandin, post_dirs: Callable[[int], list[Path]]
) -> None:
    config = config_for(node.address, post_dirs(1))
    with serving(config) as first:
        node.wait_connected([ID])
        node.request_proof(ID, C1)
        first.wait_event("proof-started")
        node.withdraw(ID)  # the node stops asking before the proof is ready
        first.wait_event("proof-ready")
    stored = config.identities[0].state_dir / f"{ID.hex()}.proof.json"
    assert stored.exists()
    with serving(config, gated=True) as second:  # a pass would block at the closed gate
        node.wait_connected([ID])
        status, view = second.get(f"/status/{ID.hex()}")
        assert (status, view) == (200, "DoneProving")
        node.request_proof(ID, C1)
        check_proof(node.wait_proof(ID, timeout=30), ID, C1)
    assert second.solver.calls == []
    assert "stored-proof" in second.kinds() and "proof-started" not in second.kinds()


def test_stored_proof_for_another_data_set_is_discarded(
    node: NodeStandin, post_dirs: Callable[[int], list[Path]], tmp_path: Path
) -> None:
    a, b = post_dirs(2)
    state = tmp_path / "state"
    with serving(config_for(node.address, [a], state_dir=state)) as first:
        node.wait_connected([ID])
        node.request_proof(ID, C1)
        first.wait_event("proof-started")
        node.withdraw(ID)
        first.wait_event("proof-ready")
    shutil.rmtree(a)
    shutil.copytree(b, a)  # the folder now holds another identity's data
    (state / f"{NODE_IDS[1].hex()}.proof.json").write_bytes(
        (state / f"{ID.hex()}.proof.json").read_bytes()
    )
    with serving(config_for(node.address, [a], state_dir=state)) as second:
        event = second.wait_event("stored-proof-discarded")
    assert "made for another data set (node_id" in event.message


def test_corrupt_data_answers_error_naming_the_folder_then_a_clean_retry(
    node: NodeStandin, post_dirs: Callable[[int], list[Path]], tmp_path: Path
) -> None:
    (folder,) = post_dirs(1)
    originals = tmp_path / "originals"
    shutil.copytree(folder, originals)
    for data in sorted(folder.glob("postdata_*.bin")):
        data.write_bytes(bytes(b ^ 0x5A for b in data.read_bytes()))
    with serving(config_for(node.address, [folder])) as run:
        node.wait_connected([ID])
        node.request_proof(ID, C1)
        assert node.wait_proof(ID, timeout=60).error == "GEN_PROOF_STATUS_ERROR"
        failed = run.wait_event("proof-failed")
        assert failed.level == "error" and str(folder.resolve()) in failed.message
        assert f"mergetool post verify-data --dir {folder.resolve()}" in failed.message
        status, doc = run.get("/identities")
        assert doc["identities"][0]["last_error"] == failed.message
        for data in originals.glob("postdata_*.bin"):
            shutil.copy(data, folder / data.name)
        node.request_proof(ID, C1)  # the node retries later, from higher up
        check_proof(node.wait_proof(ID, timeout=60), ID, C1)
    assert run.kinds().count("proof-started") == 2
