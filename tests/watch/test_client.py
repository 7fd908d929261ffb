"""NodeClient against the stand-in: every call, the paging rule, errors naming the listener,
bounded time, and the events iterator under a trickle and a flood."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest

from mergetool.nodeapi.calls import NodeCallFailed
from mergetool.nodeapi.proto import events_pb2
from mergetool.nodeapi.proto import v2alpha1_pb2 as v2
from mergetool.watch.client import NodeClient
from tests.watch.node_standin import PRIVATE, PUBLIC, WatchNode

A, B, C = bytes([1]) * 32, bytes([2]) * 32, bytes([3]) * 32


def _client(node: WatchNode, **kw: object) -> NodeClient:
    return NodeClient(
        private=node.address("private"), public=node.address("public"),
        post=node.address("post"), **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def test_smesher_ids_status_info_and_post_states(node: WatchNode) -> None:
    node.smesher_ids = [A, B]
    node.key_names = {"a.key": A, "b.key": B}
    node.proving = {B}
    node.current_layer = 250
    with _client(node) as client:
        assert client.smesher_ids() == (A, B)
        status = client.node_status()
        assert (status.sync, status.current_layer, status.connected_peers) == ("synced", 250, 20)
        info = client.network_info()
        assert info.genesis_time == node.genesis and info.layer_duration_s == 60.0
        assert info.layers_per_epoch == 100
        states = client.post_states()
    assert [(s.name, s.node_id, s.state) for s in states] == [
        ("a.key", A, "IDLE"),
        ("b.key", B, "PROVING"),
    ]


def test_lists_page_within_the_nodes_limit(node: WatchNode) -> None:
    node.activations = [
        v2.Activation(id=bytes([e]) * 32, smesher_id=A if e % 2 else B, publish_epoch=e)
        for e in range(1, 251)
    ]
    node.rewards = [v2.Reward(layer=layer, total=10**9, smesher=A) for layer in range(1, 231)]
    with _client(node) as client:
        atxs = client.list_activations([A])
        rewards = client.list_rewards(A)
        few = client.list_rewards(A, start_layer=200, newest_first=False)
    assert [a.publish_epoch for a in atxs] == list(range(1, 251, 2))
    assert [r.layer for r in rewards] == list(range(230, 0, -1))
    assert [r.layer for r in few] == list(range(200, 231))
    limits = [r.limit for m, r in node.calls if m in ("ActivationRequest", "RewardRequest")]
    assert limits and all(0 < limit <= 100 for limit in limits)
    offsets = [r.offset for m, r in node.calls if m == "ActivationRequest"]
    assert offsets == [0, 100]  # 125 rows: a full page, then a short one


def test_the_standin_refuses_a_limit_over_100(node: WatchNode) -> None:
    import grpc

    from mergetool.nodeapi.channel import open_channel
    from mergetool.nodeapi.proto import v2alpha1_pb2_grpc

    channel = open_channel(node.address("public"))
    try:
        stub = v2alpha1_pb2_grpc.MalfeasanceServiceStub(channel)
        for limit in (0, 101):
            with pytest.raises(grpc.RpcError) as err:
                stub.List(v2.MalfeasanceRequest(limit=limit), timeout=5)
            assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    finally:
        channel.close()


def test_malfeasance_kind_in_words(node: WatchNode) -> None:
    node.malfeasance = [v2.MalfeasanceProof(smesher=C, domain=1, type=1)]
    with _client(node) as client:
        (proof,) = client.list_malfeasance([A, C])
    assert (proof.smesher, proof.domain, proof.kind) == (C, "activation", "double-published ATX")


def test_a_listener_without_the_service_is_named() -> None:
    node = WatchNode().start(public=PRIVATE, private=PUBLIC)
    try:
        with _client(node) as client, pytest.raises(NodeCallFailed) as err:
            client.list_activations([A])
    finally:
        node.stop()
    assert err.value.code == "UNIMPLEMENTED"
    assert err.value.message == (
        f"{node.address('public')} does not serve spacemesh.v2alpha1.ActivationService: "
        "point `public` at grpc-public-listener"
    )
    assert "api.grpc-public-services" in (err.value.hint or "")


def test_an_unreachable_listener_fails_in_bounded_time(closed_port: int) -> None:
    client = NodeClient(private=f"127.0.0.1:{closed_port}", timeout_s=0.5)
    started = time.monotonic()
    with client, pytest.raises(NodeCallFailed) as err:
        client.smesher_ids()
    assert time.monotonic() - started < 3
    assert err.value.address == f"127.0.0.1:{closed_port}"
    assert "spacemesh.v1.SmesherService" in err.value.message


def test_events_replay_the_ring_of_100_then_stream(node: WatchNode) -> None:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    events = [
        node.event("proposal", at=base.replace(second=i % 60, minute=i // 60), layer=i,
                   smesher=A)
        for i in range(150)
    ]  # fmt: skip
    node.publish(*events)
    with _client(node) as client:
        seen = list(client.events(idle_s=0.3, total_s=10))
    assert [e.layer for e in seen] == list(range(50, 150))
    assert seen[0].kind == "proposal" and seen[0].smesher == A
    with _client(node) as client:  # a second subscription replays the same keys
        again = [e.key for e in client.events(idle_s=0.3, total_s=10)]
    assert again == [e.key for e in seen] and len(set(again)) == 100


def test_event_details_are_parsed(node: WatchNode) -> None:
    until = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    node.publish(
        node.event("atx_published", current=7, target=8, id=b"x" * 32, smesher=A),
        node.event("waiting_for_poet_round_end", publish=7, target=8, round_end=until,
                   smesher=B),
        node.event("eligibilities", epoch=8, smesher=A,
                   eligibilities=[events_pb2.ProposalEligibility(layer=1, count=2),
                                  events_pb2.ProposalEligibility(layer=5, count=1)]),
        node.event("post_complete", failure=True, help="Node failed PoST execution.", smesher=C),
        node.event("poet_wait_proof", publish=7, target=8, smesher=B),
        node.event("beacon", epoch=8, beacon=b"\1\2\3\4"),
    )  # fmt: skip
    with _client(node) as client:
        atx, wait, elig, failed, old, beacon = client.events(idle_s=0.3, total_s=10)
    assert (atx.publish_epoch, atx.target_epoch, atx.smesher) == (7, 8, A)
    assert (wait.publish_epoch, wait.until, wait.smesher) == (7, until, B)
    assert (elig.epoch, elig.slots) == (8, 3)
    assert failed.failure and failed.help == "Node failed PoST execution."
    assert old.deprecated and not wait.deprecated
    assert beacon.smesher is None and beacon.epoch == 8
    assert atx.to_dict()["smesher"] == A.hex()


def test_a_trickling_node_does_not_hold_the_reader_past_its_bound(node: WatchNode) -> None:
    stop = threading.Event()

    def trickle() -> None:
        while not stop.wait(0.05):
            node.publish(node.event("proposal", layer=1, smesher=A))

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    try:
        started = time.monotonic()
        with _client(node) as client:
            seen = list(client.events(idle_s=0.5, total_s=1.0))
        assert time.monotonic() - started < 3
        assert len(seen) >= 5
    finally:
        stop.set()
        thread.join()


def test_a_flood_is_cut_by_the_node_and_told_as_such() -> None:
    with WatchNode(buffer=50).start() as node:
        node.publish(node.event("proposal", layer=0, smesher=A))
        with _client(node) as client:
            stream = client.events(total_s=10)
            next(stream)
            node.wait_subscribed()
            node.publish(*[node.event("proposal", layer=i, smesher=A) for i in range(500)])
            with pytest.raises(NodeCallFailed) as err:
                for _ in stream:
                    pass
    assert err.value.code == "CANCELLED" and "buffer is full" in err.value.message
