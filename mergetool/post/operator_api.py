"""The post-service operator API: ``GET /status`` over plain HTTP from a background thread."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from mergetool._exceptions import InvalidParameters, PostError


def parse_address(address: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[IPv6]:PORT`` -> (host, port); raises InvalidParameters otherwise."""
    host, sep, port = address.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise InvalidParameters(
            f"operator address {address!r}: write an IPv6 address in brackets, e.g. [::1]:50051"
        )
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise InvalidParameters(f"operator address must be HOST:PORT, got {address!r}")
    return host or "127.0.0.1", int(port)


class _IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


class OperatorServer:
    """Serves the prover's state as post-service does: Idle, Proving{…} or DoneProving."""

    def __init__(self, address: str) -> None:
        host, port = parse_address(address)
        self._lock = threading.Lock()
        self._status: Any = "Idle"
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                if self.path.rstrip("/") != "/status":
                    self.send_error(404)
                    return
                body = json.dumps(server.status).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the library never prints

        server_class = _IPv6Server if ":" in host else ThreadingHTTPServer
        try:
            self._httpd = server_class((host, port), Handler)
        except socket.gaierror as exc:  # a host name that does not resolve: a bad argument
            raise InvalidParameters(f"operator address {address!r}: {exc.strerror}") from exc
        except OSError as exc:
            raise PostError(f"cannot listen on {address}: {exc}") from exc
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        """The bound (host, port); port 0 in the request becomes the real one."""
        host, port = self._httpd.server_address[:2]
        return str(host), int(port)

    @property
    def status(self) -> Any:
        with self._lock:
            return self._status

    def set_idle(self) -> None:
        with self._lock:
            self._status = "Idle"

    def set_proving(
        self, start: int, end: int, position: int, k2pow: dict[str, object] | None = None
    ) -> None:
        """Proving nonces ``start .. end``; ``position`` bytes scanned (0 while k2pow runs,
        when ``k2pow`` says how far it got: an extra key, post-service has none)."""
        proving: dict[str, object] = {"nonces": {"start": start, "end": end}, "position": position}
        if k2pow is not None:
            proving["k2pow"] = k2pow
        with self._lock:
            self._status = {"Proving": proving}

    def set_done(self) -> None:
        with self._lock:
            self._status = "DoneProving"

    def __enter__(self) -> OperatorServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
