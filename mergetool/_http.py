"""The one HTTP server of mergetool's services, and the GET that reads such APIs in time.

``HttpServer(address, route)`` answers every request with ``route(Request) -> Response``
from a thread per connection. It serves the operator APIs of ``serve`` and ``post prove``
and the k2pow-service, so its limits hold for all of them: a connection idle (or trickling
its request) for ``idle_timeout_s`` is closed, at most ``max_connections`` are open at once
(more wait in the listen backlog), and running out of file descriptors pauses accepting
instead of spinning. Clients that vanish are not errors: nothing is printed.
"""

from __future__ import annotations

import contextlib
import errno
import http.client
import json
import resource
import socket
import socketserver
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import MappingProxyType
from typing import Any

from mergetool._exceptions import InvalidParameters, PostError

#: An idle keep-alive connection, or one that has not sent a whole request, is closed after it.
IDLE_TIMEOUT_S = 30.0
#: Connections open at once, unless the file-descriptor limit calls for fewer.
MAX_CONNECTIONS = 64
#: The largest request body read (operator APIs take small forms, if anything).
MAX_BODY = 64 * 1024
#: Out of file descriptors: how long the accept loop rests before it tries again.
_FD_PAUSE_S = 0.25
_CANCEL_POLL_S = 0.05
_OUT_OF_FDS = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}


@dataclass(frozen=True)
class Request:
    """One HTTP request as a route sees it; ``headers`` names are lower-case."""

    method: str
    path: str
    query: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    body: bytes = b""

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)


@dataclass(frozen=True)
class Response:
    """What a route answers; ``headers`` are extra (name, value) pairs."""

    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()


#: ``route(request) -> response``; an exception becomes a 500 with its message.
Route = Callable[[Request], Response]


def json_response(
    doc: Any, status: int = 200, *, headers: tuple[tuple[str, str], ...] = ()
) -> Response:
    return Response(status, json.dumps(doc).encode(), "application/json", headers)


def text_response(text: str, status: int = 200) -> Response:
    return Response(status, text.encode())


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


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost: only this machine can connect."""
    return host == "localhost" or host.startswith("127.") or host == "::1"


def default_max_connections() -> int:
    """MAX_CONNECTIONS, or an eighth of the file-descriptor limit when that is less: the
    service's own files (data, proofs, worker pipes) must never run short because of HTTP."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return MAX_CONNECTIONS
    return max(2, min(MAX_CONNECTIONS, soft // 8))


def http_get(
    url: str,
    *,
    timeout_s: float,
    max_bytes: int,
    headers: dict[str, str] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> tuple[int, str, bytes]:
    """GET ``url``: (status, reason, at most ``max_bytes + 1`` bytes of the body); see
    :func:`http_request`."""
    return http_request(
        "GET", url, timeout_s=timeout_s, max_bytes=max_bytes, headers=headers, cancelled=cancelled
    )


def http_request(
    method: str,
    url: str,
    *,
    timeout_s: float,
    max_bytes: int,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> tuple[int, str, bytes]:
    """``method`` ``url`` (with ``body``): (status, reason, at most ``max_bytes + 1`` bytes of
    the answer's body).

    The whole exchange ends within about ``timeout_s``: a socket timeout alone bounds each
    read, so a server trickling its answer a byte at a time is cut off too (TimeoutError),
    as it is as soon as ``cancelled()`` (polled a few times a second) is true.
    Other failures raise OSError or http.client.HTTPException (e.g. an answer that is not HTTP).
    """
    parts = urllib.parse.urlsplit(url)
    https = parts.scheme == "https"
    conn_class = http.client.HTTPSConnection if https else http.client.HTTPConnection
    conn = conn_class(parts.hostname or "", parts.port, timeout=timeout_s)
    cut, done = threading.Event(), threading.Event()
    #: the connected socket (the response keeps reading it after ``conn.sock`` is let go)
    sockets: list[socket.socket] = []

    def watch() -> None:
        end = time.monotonic() + timeout_s
        while not done.wait(max(0.0, min(_CANCEL_POLL_S, end - time.monotonic()))):
            if time.monotonic() >= end or (cancelled is not None and cancelled()):
                cut.set()
                for sock in sockets:  # shut down, a blocked read returns at once
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)
                return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
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
        done.set()
        conn.close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)  # not HTTPServer's: no reverse DNS look-up
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def setup_limits(self, max_connections: int, idle_timeout_s: float) -> None:
        self.slots = threading.BoundedSemaphore(max_connections)
        self.idle_timeout_s = idle_timeout_s
        self.closing = threading.Event()
        self.lock = threading.Lock()
        self.deadlines: dict[socket.socket, float] = {}  # open connection -> when it is cut

    def get_request(self) -> tuple[socket.socket, Any]:
        # At the cap, wait for a slot instead of accepting: the rest wait in the backlog.
        while not self.slots.acquire(timeout=0.1):
            if self.closing.is_set():
                raise OSError("server closing")
        try:
            sock, addr = super().get_request()
        except OSError as exc:
            self.slots.release()
            if exc.errno in _OUT_OF_FDS:  # the listener stays readable: rest, do not spin
                self.closing.wait(_FD_PAUSE_S)
            raise
        with self.lock:
            self.deadlines[sock] = time.monotonic() + self.idle_timeout_s
        return sock, addr

    def close_request(self, request: Any) -> None:
        with self.lock:
            known = self.deadlines.pop(request, None) is not None
        super().close_request(request)
        if known:
            self.slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that went away (reset, timeout): not worth a traceback

    def extend(self, sock: socket.socket) -> None:
        """A request was answered: the connection gets a fresh idle timeout."""
        with self.lock:
            if sock in self.deadlines:
                self.deadlines[sock] = time.monotonic() + self.idle_timeout_s

    def watch(self) -> None:
        """Cut connections past their deadline (idle, or trickling a request)."""
        tick = min(0.25, self.idle_timeout_s / 4)
        while not self.closing.wait(tick):
            now = time.monotonic()
            with self.lock:
                late = [s for s, deadline in self.deadlines.items() if deadline <= now]
            for sock in late:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def cut_all(self) -> None:
        with self.lock:
            open_now = list(self.deadlines)
        for sock in open_now:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _IPv6Server(_Server):
    address_family = socket.AF_INET6


def _handler_class(route: Route, idle_timeout_s: float) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "mergetool"
        sys_version = ""
        protocol_version = "HTTP/1.1"
        timeout = idle_timeout_s  # per read; the watchdog bounds the whole request

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self._answer(b"")

        def do_HEAD(self) -> None:  # noqa: N802
            self._answer(b"", head=True)

        def do_POST(self) -> None:  # noqa: N802
            length = self.headers.get("Content-Length", "0")
            if not length.isdigit() or int(length) > MAX_BODY:
                self._send(text_response(f"a body of at most {MAX_BODY} bytes, please", 413))
                self.close_connection = True
                return
            self._answer(self.rfile.read(int(length)))

        def _answer(self, body: bytes, *, head: bool = False) -> None:
            parts = urllib.parse.urlsplit(self.path)
            request = Request(
                method=self.command,
                path=parts.path or "/",
                query=MappingProxyType(dict(urllib.parse.parse_qsl(parts.query))),
                headers=MappingProxyType({k.lower(): v for k, v in self.headers.items()}),
                body=body,
            )
            try:
                response = route(request)
            except Exception as exc:  # noqa: BLE001 - answer, never kill the thread
                response = json_response({"error": str(exc)}, 500)
            self._send(response, head=head)
            assert isinstance(self.server, _Server)
            self.server.extend(self.connection)

        def _send(self, response: Response, *, head: bool = False) -> None:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers:
                self.send_header(name, value)
            self.end_headers()
            if not head:
                self.wfile.write(response.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the library never prints

    return Handler


class HttpServer:
    """Listens on ``address`` (port 0: any free one) and answers through ``route``.

    ``what`` names the address in errors ("--operator-address", "bind address").
    """

    def __init__(
        self,
        address: str,
        route: Route,
        *,
        what: str = "operator address",
        idle_timeout_s: float = IDLE_TIMEOUT_S,
        max_connections: int | None = None,
    ) -> None:
        host, port = parse_address(address, what=what)
        self.host = host
        server_class = _IPv6Server if ":" in host else _Server
        handler = _handler_class(route, idle_timeout_s)
        try:
            self._httpd = server_class((host, port), handler, bind_and_activate=False)
            self._httpd.setup_limits(max_connections or default_max_connections(), idle_timeout_s)
            try:
                self._httpd.server_bind()
                self._httpd.server_activate()
            except BaseException:
                self._httpd.server_close()
                raise
        except socket.gaierror as exc:  # a host name that does not resolve: a bad argument
            raise InvalidParameters(f"{what} {address!r}: {exc.strerror}") from exc
        except OSError as exc:
            raise PostError(f"cannot listen on {address}: {exc.strerror or exc}") from exc
        self._threads = [
            threading.Thread(target=self._httpd.serve_forever, args=(0.1,), daemon=True),
            threading.Thread(target=self._httpd.watch, daemon=True),
        ]
        self._started = False

    @property
    def address(self) -> tuple[str, int]:
        """The bound (host, port); port 0 in the request becomes the real one."""
        host, port = self._httpd.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://{f'[{host}]' if ':' in host else host}:{port}"

    def start(self) -> HttpServer:
        self._started = True
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, cut open connections and close the socket (safe if never started)."""
        self._httpd.closing.set()
        if self._started:
            self._httpd.shutdown()
        self._httpd.cut_all()
        self._httpd.server_close()

    def __enter__(self) -> HttpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
