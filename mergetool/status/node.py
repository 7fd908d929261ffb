"""The node's ``PostInfoService.PostStates`` on its post listener (plaintext, or mutual TLS)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mergetool._exceptions import InvalidParameters, MergetoolError, Unreachable, UsageProblem
from mergetool.status.model import NODE_STATES, NodeIdentity


@dataclass(frozen=True)
class TlsFiles:
    """Mutual TLS to the node's ``api.grpc-tls-listener``: the CA that signed the node's
    certificate, our client certificate and key, and the name to expect in the node's one."""

    ca_cert: Path
    cert: Path
    key: Path
    domain: str | None = None


def parse_node_address(address: str, tls: TlsFiles | None) -> str:
    """``HOST:PORT`` (optionally ``http://`` or, with TLS files, ``https://``) -> ``HOST:PORT``."""
    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = ("https" if tls else "http"), address
    if scheme not in ("http", "https"):
        raise InvalidParameters(f"--node {address!r}: the scheme must be http or https")
    if scheme == "https" and tls is None:
        raise UsageProblem(
            f"--node {address!r} is https: give --ca-cert, --cert and --key for mutual TLS"
        )
    if scheme == "http" and tls is not None:
        raise UsageProblem(f"--node {address!r} is http: TLS files are for an https:// node")
    host, sep, port = rest.rstrip("/").rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) <= 65535:
        raise InvalidParameters(
            f"--node {address!r}: expected HOST:PORT (the node's api.grpc-post-listener), "
            "e.g. 127.0.0.1:9094"
        )
    return f"{host}:{port}"


def _read(path: Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise MergetoolError(f"cannot read {path}: {exc.strerror or exc}") from exc


def read_post_states(address: str, *, tls: TlsFiles | None, timeout_s: float) -> list[NodeIdentity]:
    """The node's identities and their PostStates (one per key file), bounded by ``timeout_s``."""
    import grpc

    from mergetool.serve.proto import post_pb2, post_pb2_grpc

    target = parse_node_address(address, tls)
    if tls is None:
        channel = grpc.insecure_channel(target)
    else:
        credentials = grpc.ssl_channel_credentials(
            root_certificates=_read(tls.ca_cert),
            private_key=_read(tls.key),
            certificate_chain=_read(tls.cert),
        )
        options = [("grpc.ssl_target_name_override", tls.domain)] if tls.domain else []
        channel = grpc.secure_channel(target, credentials, options=options)
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
    return [
        NodeIdentity(
            bytes(s.id),
            s.name,
            NODE_STATES[s.state] if 0 <= s.state < len(NODE_STATES) else f"state {s.state}",
        )
        for s in answer.states
    ]
