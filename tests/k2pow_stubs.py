"""A scripted HTTP server standing in for a k2pow-service (201, 429, 500, garbage, slow).

Shared by the k2pow client tests and the serve tests (``--remote-k2pow``); the
``stub_server`` fixture in ``tests/conftest.py`` starts them and always stops them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: A handler answers (status, body) for (path, how many times this path was asked before).
Script = Callable[[str, int], tuple[int, str]]


@dataclass
class StubServer:
    """A scripted k2pow server that records the paths it was asked and its peak concurrency."""

    script: Script
    delay_s: float = 0.0
    paths: list[str] = field(default_factory=list)
    in_flight: int = 0
    peak: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def answer(self, path: str) -> tuple[int, str]:
        with self.lock:
            seen = self.paths.count(path)
            self.paths.append(path)
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            time.sleep(self.delay_s)
            return self.script(path, seen)
        finally:
            with self.lock:
                self.in_flight -= 1


@contextmanager
def stub_servers() -> Iterator[Callable[..., StubServer]]:
    """``start(script, delay_s=0)`` serves on 127.0.0.1 (any port) until the block ends."""
    started: list[ThreadingHTTPServer] = []

    def start(script: Script, *, delay_s: float = 0.0) -> StubServer:
        stub = StubServer(script, delay_s)

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                status, text = stub.answer(self.path)
                body = text.encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        started.append(httpd)
        threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True).start()
        stub.url = f"http://127.0.0.1:{httpd.server_address[1]}"
        return stub

    try:
        yield start
    finally:
        for httpd in started:
            httpd.shutdown()
            httpd.server_close()


@contextmanager
def trickling_server(interval_s: float) -> Iterator[str]:
    """A server on 127.0.0.1 that answers every request one byte per ``interval_s`` (a
    200 whose body never ends); yields its URL. Each socket read succeeds, so only a total
    deadline per request cuts it off."""
    import socket

    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop = threading.Event()

    def trickle(conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)
                for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"7" * 1000:
                    if stop.wait(interval_s):
                        return
                    conn.sendall(bytes([byte]))
            except OSError:
                return

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=trickle, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        listener.close()
