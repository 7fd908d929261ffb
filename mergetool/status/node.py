"""The node's ``PostInfoService.PostStates`` on its post listener (plaintext, or mutual TLS
with :class:`mergetool.nodeapi.address.TlsFiles`)."""

from __future__ import annotations

from mergetool._exceptions import InvalidParameters, Unreachable
from mergetool.nodeapi.address import TlsFiles, parse_node_address
from mergetool.nodeapi.channel import open_channel
from mergetool.nodeapi.post_states import state_name
from mergetool.status.model import NodeIdentity


def node_target(address: str, tls: TlsFiles | None) -> str:
    """``--node`` as ``HOST:PORT``; InvalidParameters (exit 2) for a bad one, or https without
    the TLS files."""
    target, https = parse_node_address(address, flag="--node")
    if https and tls is None:
        raise InvalidParameters(
            f"--node {address!r} is https: it needs --ca-cert, --cert and --key"
        )
    return target


def read_post_states(address: str, *, tls: TlsFiles | None, timeout_s: float) -> list[NodeIdentity]:
    """The node's identities and their PostStates (one per key file), bounded by ``timeout_s``."""
    import grpc

    from mergetool.nodeapi.proto import post_pb2, post_pb2_grpc

    target = node_target(address, tls)
    channel = open_channel(target, tls)
    try:
        stub = post_pb2_grpc.PostInfoServiceStub(channel)
        answer = stub.PostStates(post_pb2.PostStatesRequest(), timeout=timeout_s)
    except grpc.RpcError as exc:
        code = exc.code() if hasattr(exc, "code") else None
        if code == grpc.StatusCode.DEADLINE_EXCEEDED:
            reason = f"no answer to PostStates within {timeout_s:g} s"
        else:
            details = exc.details() if hasattr(exc, "details") else str(exc)
            reason = f"PostStates failed ({code.name if code else 'error'}: {details})"
        raise Unreachable(
            address,
            reason,
            hint="Is the node running, and is this its api.grpc-post-listener "
            "(or api.grpc-tls-listener with the TLS flags)?",
        ) from exc
    finally:
        channel.close()
    return [NodeIdentity(bytes(s.id), s.name, state_name(s.state)) for s in answer.states]
