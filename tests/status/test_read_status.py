"""``read_status`` and ``wait_safe`` against the node stand-in (real gRPC PostStates) and
real operator APIs over loopback; unreachable ones included."""

from __future__ import annotations

import pytest

from mergetool._exceptions import InvalidParameters
from mergetool.serve.post_rs import OperatorServer
from mergetool.status.node import node_target
from mergetool.status.read import read_status, wait_safe
from tests.status.status_helpers import (
    ALPHA,
    BETA,
    IdentitiesServer,
    NodeStandin,
    serve_entry,
    url_of,
)


def _rows(report: object) -> list[tuple[object, ...]]:
    return [
        (i.name, i.node_state, i.service_state, i.safe_to_stop, i.reason)
        for i in report.identities  # type: ignore[attr-defined]
    ]


def test_node_states_and_a_post_rs_service_named_by_key_file(
    node: NodeStandin, node_address: str, post_rs: OperatorServer
) -> None:
    node.request_proof(BETA, bytes(32))
    post_rs.set_proving(0, 128, 0)
    report = read_status(node_address, operators=[f"beta={url_of(post_rs)}"], timeout_s=2)
    assert report.errors == ()
    assert _rows(report) == [
        ("alpha.key", "IDLE", "unknown", False,
         "no --operator answered for it: its service's state is unknown"),
        ("beta.key", "PROVING", "k2pow", False,
         "the node is waiting for a proof (PROVING); the service is proving (k2pow)"),
    ]  # fmt: skip
    assert [i.node_id for i in report.identities] == [ALPHA, BETA]
    assert not report.safe_to_stop


def test_every_identity_safe(
    node_address: str, post_rs: OperatorServer, serve_api: IdentitiesServer
) -> None:
    serve_api.serve(serve_entry(BETA, connected=False))
    operators = [f"{ALPHA.hex()}={url_of(post_rs)}", url_of(serve_api)]
    report = read_status(node_address, operators=operators, timeout_s=2)
    assert _rows(report) == [
        ("alpha.key", "IDLE", "idle", True, "the node is IDLE and the service is not proving"),
        ("beta.key", "IDLE", "not connected", True,
         "the node is IDLE and the service is not proving"),
    ]  # fmt: skip
    assert report.safe_to_stop
    doc = report.to_dict()
    assert doc["safe_to_stop"] is True and doc["errors"] == []
    assert doc["identities"][1] == {
        "node_id": BETA.hex(), "name": "beta.key", "node_state": "IDLE",
        "service_state": "not connected", "safe_to_stop": True,
        "reason": "the node is IDLE and the service is not proving",
        "operator": url_of(serve_api) + "/identities", "connected": False, "phase": None,
        "bytes_read": None, "bytes_total": None, "last_error": None,
    }  # fmt: skip


def test_a_done_proof_not_fetched_and_an_identity_the_node_does_not_list(
    node_address: str, serve_api: IdentitiesServer
) -> None:
    stranger = bytes([0xC3]) * 32
    serve_api.serve(
        serve_entry(ALPHA, "done"), serve_entry(BETA), serve_entry(stranger, name="c.key")
    )
    report = read_status(node_address, operators=[url_of(serve_api)], timeout_s=2)
    assert _rows(report) == [
        ("alpha.key", "IDLE", "done, not fetched", False,
         "the service holds a proof the node has not fetched yet"),
        ("beta.key", "IDLE", "idle", True, "the node is IDLE and the service is not proving"),
        ("c.key", None, "idle", False,
         "the node does not list this identity (is --node the right node?)"),
    ]  # fmt: skip


def test_one_identity_served_twice_is_an_error(
    node_address: str, serve_api: IdentitiesServer, post_rs: OperatorServer
) -> None:
    serve_api.serve(serve_entry(ALPHA))
    report = read_status(
        node_address, operators=[url_of(serve_api), f"alpha.key={url_of(post_rs)}"], timeout_s=2
    )
    assert report.errors == (
        f"identity {ALPHA.hex()} is served by both {url_of(serve_api)}/identities and "
        f"{url_of(post_rs)}/status: only one service may run for an identity",
    )
    assert not report.safe_to_stop


def test_unreachable_node_and_services_are_errors_naming_the_address(
    node_address: str, closed_port: int
) -> None:
    gone = f"http://127.0.0.1:{closed_port}"
    report = read_status(node_address, operators=[f"alpha={gone}", gone], timeout_s=2)
    assert report.errors == (
        f"service {gone}/status: no answer (Connection refused)",
        f"service {gone}/identities: no answer (Connection refused)",
    )
    assert report.identities[0].reason == f"its service at {gone} did not answer"
    report = read_status(f"127.0.0.1:{closed_port}", operators=["nobody=" + gone], timeout_s=2)
    assert report.identities == ()
    assert report.errors[0].startswith(
        f"node 127.0.0.1:{closed_port}: PostStates failed (UNAVAILABLE"
    )
    assert report.errors[1] == (
        f"--operator nobody={gone}: cannot tell which identity 'nobody' is while the node does "
        "not answer (name it by its node id, 64 hex digits)"
    )
    assert not report.safe_to_stop


def test_an_operator_name_the_node_does_not_know(
    node_address: str, post_rs: OperatorServer
) -> None:
    report = read_status(node_address, operators=[f"gamma={url_of(post_rs)}"], timeout_s=2)
    assert report.errors == (
        f"--operator gamma={url_of(post_rs)}: 'gamma' is neither a key file of the node "
        "(alpha.key, beta.key) nor a node id (64 hex)",
    )


def test_wait_safe_polls_until_safe_with_an_injected_clock(
    node: NodeStandin, node_address: str, post_rs: OperatorServer
) -> None:
    node.request_proof(ALPHA, bytes(32))
    post_rs.set_done()
    now = [0.0]
    polls = []

    def sleep(seconds: float) -> None:  # time passes; the node fetches the proof
        now[0] += seconds
        if len(polls) == 2:
            node.identity(ALPHA).needs_proof = False
            post_rs.set_idle()

    operators = [f"alpha={url_of(post_rs)}", f"beta={url_of(post_rs)}"]
    report = wait_safe(
        node_address, operators=operators, timeout_s=2, wait_s=60, interval_s=5,
        clock=lambda: now[0], sleep=sleep, on_poll=polls.append,
    )  # fmt: skip
    assert report.safe_to_stop
    assert [p.safe_to_stop for p in polls] == [False, False, True]
    assert now[0] == 10


def test_wait_safe_gives_up_at_the_timeout(node: NodeStandin, node_address: str) -> None:
    node.request_proof(ALPHA, bytes(32))
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    report = wait_safe(
        node_address, wait_s=12, interval_s=5, timeout_s=2, clock=lambda: now[0], sleep=sleep
    )
    assert not report.safe_to_stop and now[0] == 12


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("localhost", "--node must be http://HOST:PORT or https://HOST:PORT, got 'localhost'"),
        ("h:1/x", "--node must be http://HOST:PORT or https://HOST:PORT, got 'h:1/x'"),
        ("grpc://h:1", "--node 'grpc://h:1': the scheme must be http:// or https://, not grpc://"),
        ("https://h:1", "--node 'https://h:1' is https: it needs --ca-cert, --cert and --key"),
    ],
)
def test_bad_node_addresses_are_bad_arguments(address: str, message: str) -> None:
    with pytest.raises(InvalidParameters) as info:
        read_status(address)
    assert info.value.message == message and info.value.exit_code == 2
    assert node_target("http://h:9094/", None) == "h:9094"
    assert node_target("[::1]:9094", None) == "[::1]:9094"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"wait_s": float("nan")}, "`wait_s` must be a number of seconds >= 0"),
        ({"wait_s": 1, "interval_s": float("inf")}, "`interval_s` must be a number of seconds"),
        ({"wait_s": 1, "interval_s": 0}, "`interval_s` must be a number of seconds >= 0.001"),
    ],
)
def test_wait_safe_refuses_waits_that_never_end(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(InvalidParameters) as info:
        wait_safe("127.0.0.1:1", **kwargs)
    assert info.value.message.startswith(message)


def test_a_service_given_twice_is_one_service(
    node_address: str, serve_api: IdentitiesServer
) -> None:
    serve_api.serve(serve_entry(ALPHA))
    report = read_status(
        node_address, operators=[url_of(serve_api), url_of(serve_api) + "/"], timeout_s=2
    )
    assert report.errors == ()
    assert [(i.name, i.safe_to_stop) for i in report.identities] == [
        ("alpha.key", True),
        ("beta.key", False),
    ]
