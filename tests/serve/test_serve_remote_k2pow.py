"""``serve --remote-k2pow``: k2pow from our k2pow-service or a scripted one, over loopback HTTP."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from mergetool.k2pow.job import parse_job_path
from mergetool.k2pow.service import K2powService
from mergetool.post.pow import find_pow
from tests.k2pow_stubs import StubServer, trickling_server
from tests.serve.node_standin import NodeStandin
from tests.serve.serve_helpers import NODE_IDS, config_for, serving
from tests.serve.test_serve_proofs import CHALLENGE, check_proof

OTHER = bytes(range(200, 232))
_ONE_VM = threading.Lock()  # find_pow's default RandomX VM is not for two threads at once


def solve(path: str) -> str:
    """The right answer to a job path (what a working k2pow-service says with 200)."""
    job = parse_job_path(path)
    with _ONE_VM:
        return str(find_pow(job.group, job.challenge8, job.miner, job.target))


def test_proofs_with_k2pow_from_our_k2pow_service_verify(
    node: NodeStandin, post_dirs: Callable[[int], list[Path]]
) -> None:
    jobs: list[object] = []
    with K2powService("127.0.0.1:0", cores=2, on_event=jobs.append) as k2pow:
        url = f"http://127.0.0.1:{k2pow.address[1]}"
        config = config_for(node.address, post_dirs(2), remote_k2pow=url)
        with serving(config) as run:
            assert run.service.host.fast is False  # the host only verifies: light cache
            node.wait_connected(NODE_IDS[:2])
            for node_id in NODE_IDS[:2]:
                node.request_proof(node_id, CHALLENGE)
            for node_id in NODE_IDS[:2]:
                check_proof(node.wait_proof(node_id, timeout=60), node_id, CHALLENGE)
    assert jobs, "the k2pow-service was never asked"
    assert node.protocol_errors == []


def test_waiting_answers_201_and_429_are_retried_until_200(
    node: NodeStandin,
    post_dirs: Callable[[int], list[Path]],
    stub_server: Callable[..., StubServer],
) -> None:
    answers = {0: (201, "running"), 1: (429, "busy")}
    stub = stub_server(lambda path, seen: answers.get(seen) or (200, solve(path)))
    with serving(config_for(node.address, post_dirs(1), remote_k2pow=stub.url)):
        node.request_proof(NODE_IDS[0], CHALLENGE)
        check_proof(node.wait_proof(NODE_IDS[0], timeout=60), NODE_IDS[0], CHALLENGE)
    # One nonce group (16 nonces), asked three times: 201, 429, then 200.
    assert len(stub.paths) == 3 and len(set(stub.paths)) == 1
    assert stub.paths[0].startswith(f"/job/{NODE_IDS[0].hex()}/0/{CHALLENGE[:8].hex()}/")


def test_a_500_is_retried_with_back_off_and_shown_until_the_service_recovers(
    node: NodeStandin,
    post_dirs: Callable[[int], list[Path]],
    stub_server: Callable[..., StubServer],
) -> None:
    broken = threading.Event()
    broken.set()
    stub = stub_server(
        lambda path, seen: (500, "randomx exploded") if broken.is_set() else (200, solve(path))
    )
    node_id = NODE_IDS[0]
    config = config_for(node.address, post_dirs(1), remote_k2pow=stub.url,
                        remote_k2pow_backoff_s=0.1)  # fmt: skip
    with serving(config) as run:
        node.request_proof(node_id, CHALLENGE)
        failing = run.wait_event("remote-k2pow-failing")
        assert failing.node_id == node_id and failing.level == "warning"
        assert failing.message == (
            f"remote k2pow {stub.url}{stub.paths[0]}: failed: HTTP 500: 'randomx exploded'; "
            "asking again every 0.1 s"
        )
        _, view = run.get("/identities")
        entry = view["identities"][0]
        assert (entry["state"], entry["problem"]) == ("proving", failing.message)
        node.wait_for(lambda n: len(stub.paths) >= 3)
        broken.clear()
        check_proof(node.wait_proof(node_id, timeout=60), node_id, CHALLENGE)
        run.wait_event("remote-k2pow-recovered")
        _, view = run.get("/identities")
        assert view["identities"][0]["problem"] is None
    assert "proof-failed" not in run.kinds() and "error-reported" not in run.kinds()
    assert run.kinds().count("remote-k2pow-failing") == 1  # the same failure again is no news


def test_a_k2pow_service_restarted_mid_proof_is_waited_for(
    node: NodeStandin, post_dirs: Callable[[int], list[Path]]
) -> None:
    first = K2powService("127.0.0.1:0", cores=1).start()
    address = f"127.0.0.1:{first.address[1]}"
    config = config_for(node.address, post_dirs(1), remote_k2pow=f"http://{address}",
                        remote_k2pow_backoff_s=0.1, nonces=64)  # fmt: skip
    node_id = NODE_IDS[0]
    with serving(config) as run:
        node.request_proof(node_id, CHALLENGE)
        node.wait_for(lambda n: n.identity(node_id).still_proving >= 1)
        first.stop()  # mid-proof: its jobs and results are lost
        run.wait_event("remote-k2pow-failing")
        with K2powService(address, cores=1):
            check_proof(node.wait_proof(node_id, timeout=60), node_id, CHALLENGE)
    assert "proof-failed" not in run.kinds() and "error-reported" not in run.kinds()


def test_a_failing_remote_falls_back_to_local_k2pow_after_s_seconds(
    node: NodeStandin,
    post_dirs: Callable[[int], list[Path]],
    stub_server: Callable[..., StubServer],
) -> None:
    stub = stub_server(lambda path, seen: (503, "down for maintenance"))
    config = config_for(node.address, post_dirs(1), remote_k2pow=stub.url,
                        remote_k2pow_backoff_s=0.05, remote_k2pow_fallback_after_s=0.3)  # fmt: skip
    node_id = NODE_IDS[0]
    with serving(config) as run:
        node.request_proof(node_id, CHALLENGE)
        check_proof(node.wait_proof(node_id, timeout=60), node_id, CHALLENGE)
    messages = [e.message for e in run.events if e.kind == "remote-k2pow-failing"]
    assert messages[-1].endswith(": solving k2pow locally")
    assert "; failing for 0 s" in messages[-1] or "; failing for 1 s" in messages[-1]


def test_a_trickling_k2pow_service_does_not_delay_the_stop(
    node: NodeStandin, post_dirs: Callable[[int], list[Path]]
) -> None:
    node_id = NODE_IDS[0]
    with trickling_server(1.0) as url:
        config = config_for(node.address, post_dirs(1), remote_k2pow=url)
        with serving(config) as run:
            node.request_proof(node_id, CHALLENGE)
            node.wait_for(lambda n: n.identity(node_id).still_proving >= 1)
            time.sleep(0.5)  # the request is on its way, one byte a second
            started = time.monotonic()
            run.stop()
            assert time.monotonic() - started < 5


def test_stale_remote_k2pow_is_dropped_for_a_new_challenge(
    node: NodeStandin,
    post_dirs: Callable[[int], list[Path]],
    stub_server: Callable[..., StubServer],
) -> None:
    old = CHALLENGE[:8].hex()
    # The job for the old challenge never finishes; the new one is answered at once.
    stub = stub_server(lambda path, seen: (201, "running") if old in path else (200, solve(path)))
    node_id = NODE_IDS[0]
    with serving(config_for(node.address, post_dirs(1), remote_k2pow=stub.url)) as run:
        node.request_proof(node_id, CHALLENGE)
        node.wait_for(lambda n: n.identity(node_id).still_proving >= 1)
        node.request_proof(node_id, OTHER)
        check_proof(node.wait_proof(node_id, timeout=60), node_id, OTHER)
        run.wait_event("stale-dropped")
        asked_old = sum(old in p for p in stub.paths)
        time.sleep(1.5)  # longer than the client's 1 s retry interval
        assert sum(old in p for p in stub.paths) == asked_old  # nobody polls the old job
    assert "proof-failed" not in run.kinds() and "error-reported" not in run.kinds()


def test_remote_k2pow_parallelism_caps_the_requests_in_flight(
    node: NodeStandin,
    post_dirs: Callable[[int], list[Path]],
    stub_server: Callable[..., StubServer],
) -> None:
    stub = stub_server(lambda path, seen: (200, solve(path)), delay_s=0.1)
    config = config_for(
        node.address, post_dirs(1), remote_k2pow=stub.url, remote_k2pow_parallelism=2, nonces=64
    )
    with serving(config) as run:
        assert run.service.solver.parallelism == 2
        node.request_proof(NODE_IDS[0], CHALLENGE)
        check_proof(node.wait_proof(NODE_IDS[0], timeout=60), NODE_IDS[0], CHALLENGE)
    assert len(set(stub.paths)) >= 4  # 64 nonces: 4 nonce groups per pass
    assert stub.peak == 2
