"""Real alert receivers for tests: a webhook HTTP server on 127.0.0.1 (port 0) that can
answer well, fail, hang or trickle; and an alert command that appends its stdin to a file."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class WebhookReceiver:
    """Collects POSTed JSON bodies in ``received``; ``mode``: ``ok``, ``fail`` (HTTP 500 for
    the first ``failures`` requests, then ok), ``reject`` (404), ``hang``, ``trickle``."""

    def __init__(self, mode: str = "ok", failures: int = 0) -> None:
        self.mode = mode
        self.failures = failures
        self.requests = 0
        self.received: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.requests += 1
                mode = receiver.mode
                if mode == "fail" and receiver.requests > receiver.failures:
                    mode = "ok"
                if mode == "hang":
                    receiver.release.wait(30)
                    return
                if mode == "trickle":
                    self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                    for _ in range(300):
                        if receiver.release.wait(0.1):
                            return
                        self.wfile.write(b"X-Slow: 1\r\n")
                        self.wfile.flush()
                    return
                status = {"ok": 200, "fail": 500, "reject": 404}[mode]
                if status == 200:
                    receiver.received.append(json.loads(body))
                    receiver.headers.append(dict(self.headers))
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/secret-token"

    def wait_for(self, count: int, timeout_s: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout_s
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.received


@contextmanager
def webhook_receiver(mode: str = "ok", failures: int = 0) -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(mode, failures)
    receiver.thread.start()
    try:
        yield receiver
    finally:
        receiver.release.set()
        receiver.server.shutdown()
        receiver.server.server_close()


_COMMAND = """
import json, os, sys
doc = json.load(sys.stdin)
doc["env"] = {k: v for k, v in os.environ.items() if k.startswith("MERGETOOL_ALERT_")}
with open(sys.argv[1], "a") as out:
    out.write(json.dumps(doc) + "\\n")
"""


def alert_command(tmp_path: Path) -> tuple[str, Path]:
    """(command line, the file it appends one JSON line per alert to)."""
    script = tmp_path / "alert_to_file.py"
    script.write_text(_COMMAND)
    out = tmp_path / "alerts.jsonl"
    return f"{sys.executable} {script} {out}", out


def read_alerts(path: Path, count: int, timeout_s: float = 10.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        lines = path.read_text().splitlines() if path.exists() else []
        if len(lines) >= count:
            break
        time.sleep(0.02)
    return [json.loads(line) for line in lines]
