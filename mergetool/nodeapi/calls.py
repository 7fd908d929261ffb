"""One boundary for the node's gRPC errors: every call bounded in time, every failure a
:class:`NodeCallFailed` naming the address, the service and what to do.

``UNIMPLEMENTED`` means the listener does not serve the service (the node's
``grpc-*-services`` lists choose which listener serves what): the message names the listener
to point at, e.g. "127.0.0.1:9092 does not serve spacemesh.v2alpha1.ActivationService: point
`public` at grpc-public-listener" (a CLI shows `public` as its flag, ``--public``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mergetool._exceptions import Unreachable

#: service full name prefix -> (the caller's parameter naming the listener, the config key)
_LISTENERS = (
    ("spacemesh.v1.AdminService", "private", "grpc-private-listener"),
    ("spacemesh.v1.SmesherService", "private", "grpc-private-listener"),
    ("spacemesh.v1.PostInfoService", "post", "grpc-post-listener"),
    ("spacemesh.v1.PostService", "post", "grpc-post-listener"),
    ("spacemesh.v2alpha1.", "public", "grpc-public-listener"),
)


def listener_of(service: str) -> tuple[str, str]:
    """(parameter, config key) of the node listener that serves ``service`` by default."""
    for prefix, parameter, key in _LISTENERS:
        if service.startswith(prefix):
            return parameter, key
    return "address", "api"


class NodeCallFailed(Unreachable):
    """A call to ``service`` (full gRPC name) at ``address`` failed; ``code`` is the gRPC
    status name (``UNIMPLEMENTED``, ``DEADLINE_EXCEEDED``, ``UNAVAILABLE``…), ``details`` the
    node's text."""

    def __init__(
        self, address: str, service: str, code: str, details: str, *, timeout_s: float
    ) -> None:
        parameter, key = listener_of(service)
        self.service, self.code, self.details = service, code, details
        if code == "UNIMPLEMENTED":
            reason = f"does not serve {service}: point `{parameter}` at {key}"
            section = key.replace("-listener", "-services")
            hint = f"Or add {service.rpartition('.')[2]} to api.{section} in the node's config."
        elif code == "DEADLINE_EXCEEDED":
            reason = f"no answer from {service} within {timeout_s:g} s"
            hint = f"Is the node running, and is this its api.{key}?"
        else:
            reason = f"{service} failed ({code}: {details})"
            hint = f"Is the node running, and is this its api.{key}?"
        super().__init__(address, reason, hint=hint)
        if code == "UNIMPLEMENTED":  # "HOST:PORT does not serve …" reads as a sentence
            self.message = f"{address} {reason}"
            self.args = (self.message,)

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "service": self.service, "code": self.code}


def status_name(exc: Any) -> tuple[str, str]:
    """(gRPC status name, details) of an ``grpc.RpcError``."""
    code = exc.code() if hasattr(exc, "code") else None
    details = exc.details() if hasattr(exc, "details") else str(exc)
    return (code.name if code is not None else "UNKNOWN"), str(details or "")


def call_unary(
    address: str, service: str, method: Callable[..., Any], request: Any, *, timeout_s: float
) -> Any:
    """``method(request)`` within ``timeout_s``; NodeCallFailed on any gRPC error."""
    import grpc

    try:
        return method(request, timeout=timeout_s)
    except grpc.RpcError as exc:
        code, details = status_name(exc)
        raise NodeCallFailed(address, service, code, details, timeout_s=timeout_s) from exc
