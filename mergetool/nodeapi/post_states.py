"""The node's ``PostInfoService.PostStates`` (post listener): one entry per key file, saying
whether the node needs a proof from that identity now (PROVING) or not (IDLE)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mergetool.nodeapi.calls import call_unary

#: spacemesh.v1.PostState.State values, by number
NODE_STATES = ("UNUSED", "IDLE", "PROVING")


def state_name(number: int) -> str:
    """The name of a ``PostState.State`` number ("state N" for one this code does not know)."""
    return NODE_STATES[number] if 0 <= number < len(NODE_STATES) else f"state {number}"


@dataclass(frozen=True)
class PostStateEntry:
    """One ``PostState``: the identity, the key file's name, the state's name."""

    node_id: bytes
    name: str
    state: str


def post_states(address: str, channel: Any, *, timeout_s: float) -> tuple[PostStateEntry, ...]:
    """PostStates over ``channel`` (opened to ``address``); NodeCallFailed when it fails."""
    from mergetool.nodeapi.proto import post_pb2, post_pb2_grpc

    stub = post_pb2_grpc.PostInfoServiceStub(channel)
    answer = call_unary(
        address,
        "spacemesh.v1.PostInfoService",
        stub.PostStates,
        post_pb2.PostStatesRequest(),
        timeout_s=timeout_s,
    )
    return tuple(PostStateEntry(bytes(s.id), s.name, state_name(s.state)) for s in answer.states)
