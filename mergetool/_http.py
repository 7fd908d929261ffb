"""A small HTTP server for operator APIs (GETs answered by a route function, from a thread),
and the GET that reads such APIs within a time limit.

Shared by ``post prove --operator-address``, ``serve --operator-address``, ``k2pow-service``
and ``status``.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
import urllib.parse
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from mergetool._exceptions import InvalidParameters, PostError

#: ``route(path)`` -> (HTTP status, body, content type)
Route = Callable[[str], tuple[int, bytes, str]]


def parse_address(address: str, *, what: str = "operator address") -> tuple[str, int]:
    """``HOST:PORT`` or ``[IPv6]:PORT`` -> (host, port); raises InvalidParameters otherwise."""
    if address.startswith("[") and address.endswith("]"):  # [::1] alone: no port
        raise InvalidParameters(f"{what} must be HOST:PORT, got {address!r}: add the port")
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


def http_get(url: str, *, timeout_s: float, max_bytes: int) -> tuple[int, str, bytes]:
    """GET ``url``: (status, reason, at most ``max_bytes + 1`` bytes of the body); see
    :func:`http_request`."""
    return http_request("GET", url, timeout_s=timeout_s, max_bytes=max_bytes)


def http_request(
    method: str,
    url: str,
    *,
    timeout_s: float,
    max_bytes: int,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, str, bytes]:
    """``method`` ``url`` (with ``body``): (status, reason, at most ``max_bytes + 1`` bytes of
    the answer's body).

    The whole exchange ends within about ``timeout_s``: a socket timeout alone bounds each
    read, so a server trickling its answer a byte at a time is cut off too (TimeoutError).
    Other failures raise OSError or http.client.HTTPException (e.g. an answer that is not HTTP).
    """
    parts = urllib.parse.urlsplit(url)
    https = parts.scheme == "https"
    conn_class = http.client.HTTPSConnection if https else http.client.HTTPConnection
    conn = conn_class(parts.hostname or "", parts.port, timeout=timeout_s)
    cut = threading.Event()
    #: the connected socket (the response keeps reading it after ``conn.sock`` is let go)
    sockets: list[socket.socket] = []

    def cut_off() -> None:
        cut.set()
        for sock in sockets:  # shut down, a blocked read returns at once
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    timer = threading.Timer(timeout_s, cut_off)
    timer.daemon = True
    timer.start()
    try:
        conn.connect()
        assert conn.sock is not None
        sockets.append(conn.sock)
        if cut.is_set():
            raise TimeoutError
        target = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
        conn.request(method, target, body=body, headers=headers or {})
        response = conn.getresponse()
        body = response.read(max_bytes + 1)
        if cut.is_set():
            raise TimeoutError
        return response.status, response.reason, body
    except (OSError, http.client.HTTPException):
        if cut.is_set():
            raise TimeoutError from None
        raise
    finally:
        timer.cancel()
        conn.close()


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

    def __init__(self, address: str, route: Route, *, what: str = "operator address") -> None:

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

        self._httpd = listen(address, Handler, what=what)
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
