"""Where the node listens and how we prove who we are: ``HOST:PORT`` addresses and TLS files.

Shared by every client of the node's gRPC API (``serve``, ``status``, ``watch``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from mergetool._exceptions import InvalidParameters
from mergetool._fs import read_regular_file


@dataclass(frozen=True)
class TlsFiles:
    """Mutual TLS: the CA that signed the node's certificate, our certificate and key (PEM)."""

    ca_cert: bytes
    cert: bytes
    key: bytes
    domain: str | None = None


def parse_node_address(address: str, *, flag: str = "--address") -> tuple[str, bool]:
    """``http://HOST:PORT``, ``https://…`` or bare ``HOST:PORT`` -> (host:port, uses TLS);
    errors name the option ``flag`` the address came from."""
    parts = urlsplit(address if "://" in address else f"http://{address}")
    if parts.scheme not in ("http", "https"):
        raise InvalidParameters(
            f"{flag} {address!r}: the scheme must be http:// or https://, not {parts.scheme}://"
        )
    try:
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname or port is None or parts.path not in ("", "/"):
        raise InvalidParameters(
            f"{flag} must be http://HOST:PORT or https://HOST:PORT, got {address!r}",
            hint="Use the node's api.grpc-post-listener (or grpc-tls-listener for https).",
        )
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{host}:{port}", parts.scheme == "https"


MAX_PEM_BYTES = 1 << 20


def read_tls(
    ca_cert: Path | None, cert: Path | None, key: Path | None, domain: str | None
) -> TlsFiles:
    """The three PEM files an https:// address needs (exit 2 naming what is missing)."""
    missing = [
        flag for flag, v in (("--ca-cert", ca_cert), ("--cert", cert), ("--key", key)) if not v
    ]
    if missing:
        raise InvalidParameters(f"an https:// address needs {', '.join(missing)}")
    assert ca_cert is not None and cert is not None and key is not None
    return TlsFiles(read_pem(ca_cert), read_pem(cert), read_pem(key, private=True), domain=domain)


def read_pem(path: Path, *, private: bool = False) -> bytes:
    """A PEM certificate (or private key) file; InvalidParameters naming it when it is none.

    A FIFO or device is refused before reading (it would hang, or never end), and so is a file
    without the PEM line gRPC needs (it would only say "failed to create security handshaker").
    """
    try:
        data = read_regular_file(Path(path), MAX_PEM_BYTES)
    except OSError as exc:
        raise InvalidParameters(f"{path}: cannot read it ({exc.strerror or exc})") from exc
    if len(data) > MAX_PEM_BYTES:
        raise InvalidParameters(f"{path}: far too large for a PEM file")
    marker = b"PRIVATE KEY-----" if private else b"-----BEGIN CERTIFICATE-----"
    if marker not in data:
        what = "private key" if private else "certificate"
        raise InvalidParameters(f"{path}: not a PEM {what} (no {marker.decode()} line in it)")
    return data
