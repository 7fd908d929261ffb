"""Servers for the k2pow tests: our k2pow-service, and small scripted HTTP servers."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from k2pow_stubs import Script, StubServer

from mergetool.k2pow.service import K2powService


@pytest.fixture
def stub_server() -> Iterator[Callable[..., StubServer]]:
    """``stub_server(script, delay_s=0)`` serves on 127.0.0.1 (any port) until the test ends."""
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

    yield start
    for httpd in started:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def service() -> Iterator[K2powService]:
    """Our k2pow-service on 127.0.0.1 (any port), 2 workers, RandomX light mode."""
    with K2powService("127.0.0.1:0", cores=2) as running:
        yield running
