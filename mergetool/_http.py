"""A small HTTP server for operator APIs: GETs answered by a route function, from a thread.

Shared by ``post prove --operator-address`` and ``serve --operator-address``.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from mergetool._exceptions import InvalidParameters, PostError

#: ``route(path)`` -> (HTTP status, body, content type)
Route = Callable[[str], tuple[int, bytes, str]]


def parse_address(address: str, *, what: str = "operator address") -> tuple[str, int]:
    """``HOST:PORT`` or ``[IPv6]:PORT`` -> (host, port); raises InvalidParameters otherwise."""
    host, sep, port = address.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise InvalidParameters(
            f"{what} {address!r}: write an IPv6 address in brackets, e.g. [::1]:50051"
        )
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise InvalidParameters(f"{what} must be HOST:PORT, got {address!r}")
    return host or "127.0.0.1", int(port)


def json_response(doc: Any, status: int = 200) -> tuple[int, bytes, str]:
    return status, json.dumps(doc).encode(), "application/json"


class _Server(ThreadingHTTPServer):
    daemon_threads = True


class _IPv6Server(_Server):
    address_family = socket.AF_INET6


def listen(
    address: str, handler: type[BaseHTTPRequestHandler], *, what: str = "operator address"
) -> ThreadingHTTPServer:
    """A threading HTTP server bound to ``address`` (``what`` names it in errors), not started."""
    host, port = parse_address(address, what=what)
    server_class = _IPv6Server if ":" in host else _Server
    try:
        return server_class((host, port), handler)
    except socket.gaierror as exc:  # a host name that does not resolve: a bad argument
        raise InvalidParameters(f"{what} {address!r}: {exc.strerror}") from exc
    except OSError as exc:
        raise PostError(f"cannot listen on {address}: {exc.strerror or exc}") from exc


class HttpServer:
    """Listens on ``address`` (port 0: any free one) and answers GETs through ``route``."""

    def __init__(self, address: str, route: Route) -> None:

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                try:
                    status, body, ctype = route(self.path.split("?")[0])
                except Exception as exc:  # noqa: BLE001 - answer, never kill the thread
                    status, body, ctype = json_response({"error": str(exc)}, 500)
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the library never prints

        self._httpd = listen(address, Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        """The bound (host, port); port 0 in the request becomes the real one."""
        host, port = self._httpd.server_address[:2]
        return str(host), int(port)

    def start(self) -> HttpServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
