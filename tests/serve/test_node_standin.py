"""The node stand-in itself, driven by a minimal synchronous client (no mergetool.serve)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from mergetool.nodeapi.proto import post_pb2, post_pb2_grpc
from tests.serve.node_standin import ALREADY_REGISTERED, NO_COINBASE, NodeStandin
from tests.serve.serve_helpers import NODE_IDS

CHALLENGE = bytes(range(32))


class Client:
    """One Register stream answering metadata, then 'still proving' ``pending`` times."""

    def __init__(self, channel: grpc.Channel, node_id: bytes, pending: int = 2) -> None:
        self.node_id, self.pending = node_id, pending
        self.out: queue.Queue[Any] = queue.Queue()
        self.calls = post_pb2_grpc.PostServiceStub(channel).Register(iter(self.out.get, None))
        self.error: grpc.RpcError | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            for request in self.calls:
                self.out.put(self._answer(request))
        except grpc.RpcError as exc:
            self.error = exc
        finally:
            self.out.put(None)

    def _answer(self, request: Any) -> Any:
        meta = post_pb2.Metadata(
            node_id=self.node_id, commitment_atx_id=bytes(32), nonce=7, num_units=4,
            labels_per_unit=256,
        )  # fmt: skip
        if request.WhichOneof("kind") == "metadata":
            return post_pb2.ServiceResponse(metadata=post_pb2.MetadataResponse(meta=meta))
        status = post_pb2.GEN_PROOF_STATUS_OK
        if self.pending:
            self.pending -= 1
            return post_pb2.ServiceResponse(gen_proof=post_pb2.GenProofResponse(status=status))
        proof = post_pb2.Proof(nonce=3, indices=b"\x01", pow=9)
        pmeta = post_pb2.ProofMetadata(challenge=request.gen_proof.challenge, meta=meta)
        response = post_pb2.GenProofResponse(status=status, proof=proof, metadata=pmeta)
        return post_pb2.ServiceResponse(gen_proof=response)


@pytest.fixture
def channel(node: NodeStandin) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(f"127.0.0.1:{node.port}") as ch:
        yield ch


def test_metadata_first_then_gen_proof_resent_until_a_proof(
    node: NodeStandin, channel: grpc.Channel
) -> None:
    node.names = {"a.key": NODE_IDS[0], "b.key": NODE_IDS[1]}
    client = Client(channel, NODE_IDS[0], pending=3)
    node.wait_connected([NODE_IDS[0]])
    node.request_proof(NODE_IDS[0], CHALLENGE)
    states = post_pb2_grpc.PostInfoServiceStub(channel).PostStates(post_pb2.PostStatesRequest())
    assert [(s.name, s.state) for s in states.states] == [
        ("a.key", post_pb2.PostState.PROVING), ("b.key", post_pb2.PostState.IDLE),
    ]  # fmt: skip
    outcome = node.wait_proof(NODE_IDS[0], timeout=10)
    assert outcome.error is None and outcome.proof.pow == 9
    ident = node.identity(NODE_IDS[0])
    assert ident.still_proving == 3
    assert ident.gen_requests == [CHALLENGE] * 4
    assert ident.metadata[0].nonce == 7
    states = post_pb2_grpc.PostInfoServiceStub(channel).PostStates(post_pb2.PostStatesRequest())
    assert states.states[0].state == post_pb2.PostState.IDLE
    assert node.protocol_errors == []
    client.out.put(None)


def test_a_second_stream_for_one_identity_is_refused(
    node: NodeStandin, channel: grpc.Channel
) -> None:
    first = Client(channel, NODE_IDS[0])
    node.wait_connected([NODE_IDS[0]])
    second = Client(channel, NODE_IDS[0])
    second.thread.join(10)
    assert second.error is not None and second.error.code() == grpc.StatusCode.UNKNOWN
    assert second.error.details() == ALREADY_REGISTERED
    assert node.connected(NODE_IDS[0])
    first.out.put(None)


def test_coinbase_refusal_and_drop(node: NodeStandin, channel: grpc.Channel) -> None:
    node.refuse_coinbase = True
    refused = Client(channel, NODE_IDS[0])
    refused.thread.join(10)
    assert refused.error is not None
    assert refused.error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert refused.error.details() == NO_COINBASE
    node.refuse_coinbase = False
    client = Client(channel, NODE_IDS[1])
    node.wait_connected([NODE_IDS[1]])
    node.drop(NODE_IDS[1])
    client.thread.join(10)
    assert client.error is not None and client.error.code() == grpc.StatusCode.UNAVAILABLE
    assert not node.connected(NODE_IDS[1])
