"""gRPC channels to the node: plaintext or mutual TLS, with the keepalive the node allows.

``open_channel`` gives a blocking channel (one-shot calls such as ``status``);
``open_aio_channel`` an asyncio one (``serve``'s long-lived streams).
"""

from __future__ import annotations

from typing import Any

from mergetool.nodeapi.address import TlsFiles

#: The node allows client pings at most once a minute (more gets GOAWAY too_many_pings).
KEEPALIVE_MS = 120_000
MAX_MESSAGE = 10 << 20


def channel_options(*, max_reconnect_backoff_s: float = 5.0) -> list[tuple[str, Any]]:
    """Keepalive within the node's ping policy, message limits, and a short reconnect back-off
    (callers keep their own retry timing)."""
    return [
        ("grpc.keepalive_time_ms", KEEPALIVE_MS),
        ("grpc.keepalive_timeout_ms", 20_000),
        ("grpc.keepalive_permit_without_calls", 0),
        ("grpc.http2.max_pings_without_data", 0),
        ("grpc.max_receive_message_length", MAX_MESSAGE),
        ("grpc.max_send_message_length", MAX_MESSAGE),
        ("grpc.initial_reconnect_backoff_ms", 200),
        ("grpc.max_reconnect_backoff_ms", max(1000, int(max_reconnect_backoff_s * 1000))),
    ]


def _credentials(tls: TlsFiles, options: list[tuple[str, Any]]) -> Any:
    import grpc

    if tls.domain:
        options.append(("grpc.ssl_target_name_override", tls.domain))
    return grpc.ssl_channel_credentials(
        root_certificates=tls.ca_cert, private_key=tls.key, certificate_chain=tls.cert
    )


def open_channel(target: str, tls: TlsFiles | None = None, **option_args: float) -> Any:
    """A blocking ``grpc.Channel`` to ``target`` (``HOST:PORT``)."""
    import grpc

    options = channel_options(**option_args)
    if tls is None:
        return grpc.insecure_channel(target, options=options)
    return grpc.secure_channel(target, _credentials(tls, options), options=options)


def open_aio_channel(target: str, tls: TlsFiles | None = None, **option_args: float) -> Any:
    """A ``grpc.aio.Channel`` to ``target`` (``HOST:PORT``)."""
    import grpc

    options = channel_options(**option_args)
    if tls is None:
        return grpc.aio.insecure_channel(target, options=options)
    return grpc.aio.secure_channel(target, _credentials(tls, options), options=options)
