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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from mergetool._exceptions import InvalidParameters, PostError

#: ``route(path)`` -> (HTTP status, body, content type)
Route = Callable[[str], tuple[int, bytes, str]]


@dataclass(frozen=True)
class Request:
    """One HTTP request as an app sees it: ``query`` decoded (last value wins), header names
    in lower case."""

    method: str
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Response:
    """What an app answers; ``headers``: extra (name, value) pairs."""

    status: int
    body: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...] = ()


#: ``app(request)`` -> Response: answers every method (a route function answers GETs only)
App = Callable[[Request], Response]


def route_app(route: Route) -> App:
    """A route function as an app: GETs go to ``route``, other methods get 405."""

    def app(request: Request) -> Response:
        if request.method != "GET":
            status, body, ctype = json_response({"error": "read-only: only GET is answered"}, 405)
            return Response(status, body, ctype, (("Allow", "GET"),))
        return Response(*route(request.path))

    return app


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
    """Listens on ``address`` (port 0: any free one) and answers through ``route`` (GETs) or
    ``app`` (every method)."""

    def __init__(
        self,
        address: str,
        route: Route | None = None,
        *,
        app: App | None = None,
        what: str = "operator address",
    ) -> None:
        if app is None:
            assert route is not None, "give route or app"
            app = route_app(route)
        answer = app

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                parts = urllib.parse.urlsplit(self.path)
                request = Request(
                    self.command,
                    parts.path,
                    dict(urllib.parse.parse_qsl(parts.query)),
                    {k.lower(): v for k, v in self.headers.items()},
                )
                try:
                    response = answer(request)
                except Exception as exc:  # noqa: BLE001 - answer, never kill the thread
                    response = Response(*json_response({"error": str(exc)}, 500))
                self.send_response(response.status)
                self.send_header("Content-Type", response.content_type)
                self.send_header("Content-Length", str(len(response.body)))
                for name, value in response.headers:
                    self.send_header(name, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(response.body)

            do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = _answer  # noqa: N815

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
