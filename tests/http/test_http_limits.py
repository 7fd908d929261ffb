"""The one HTTP server's limits, over real sockets on 127.0.0.1: idle and trickling
connections are cut, connections are capped, the file-descriptor limit is no busy loop and
leaves the service its files, and a client that resets is not a traceback."""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from mergetool._http import HttpServer, Request, Response, json_response

REPO = Path(__file__).resolve().parents[2]


def _route(request: Request) -> Response:
    return json_response({"path": request.path, "token": request.header("X-Token")})


@pytest.fixture
def server() -> Iterator[HttpServer]:
    with HttpServer("127.0.0.1:0", _route, idle_timeout_s=0.5, max_connections=16) as running:
        yield running


def _open_idle(port: int, count: int) -> list[socket.socket]:
    """``count`` connections that never send a byte (non-blocking: the backlog may be full)."""
    socks = []
    for _ in range(count):
        sock = socket.socket()
        sock.setblocking(False)
        sock.connect_ex(("127.0.0.1", port))
        socks.append(sock)
    return socks


def _get(url: str, timeout: float = 20) -> dict[str, object]:
    request = urllib.request.Request(url, headers={"X-Token": "t0k"})
    with urllib.request.urlopen(request, timeout=timeout) as resp:
        return json.loads(resp.read())


def test_a_route_sees_path_query_and_headers(server: HttpServer) -> None:
    assert _get(server.url + "/status?x=1") == {"path": "/status", "token": "t0k"}


def test_200_idle_connections_are_capped_then_closed(server: HttpServer) -> None:
    base = threading.active_count()
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            peak[0] = max(peak[0], threading.active_count() - base)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    socks = _open_idle(server.address[1], 200)
    try:
        # Answered once idle ones are cut, although 200 came first.
        assert _get(server.url + "/status")["path"] == "/status"
        closed = 0
        deadline = time.monotonic() + 5
        while closed == 0 and time.monotonic() < deadline:
            for sock in socks:
                with contextlib.suppress(BlockingIOError, ConnectionError):
                    closed += sock.recv(1) == b""
            time.sleep(0.05)
        assert closed > 0, "no idle connection was ever closed by the server"
    finally:
        done.set()
        sampler.join()
        for sock in socks:
            sock.close()
    assert peak[0] <= 16 + 2, f"{peak[0]} threads for 200 idle connections"


def test_a_trickling_request_is_cut_off(server: HttpServer) -> None:
    sock = socket.create_connection(server.address, timeout=5)
    started = time.monotonic()
    try:
        with pytest.raises((BrokenPipeError, ConnectionResetError)):  # noqa: PT012
            for byte in b"GET /status HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100:
                sock.send(bytes([byte]))
                time.sleep(0.1)
                if time.monotonic() - started > 5:
                    break
            raise ConnectionResetError("still open")
    finally:
        sock.close()
    assert time.monotonic() - started < 3


def _child(nofile: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.http.http_child", str(nofile)],
        cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def _ask(child: subprocess.Popen[str], what: str) -> object:
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write(what + "\n")
    child.stdin.flush()
    return json.loads(child.stdout.readline())[what]


def test_at_the_file_descriptor_limit_no_busy_loop_and_files_still_open() -> None:
    child = _child(64)
    socks: list[socket.socket] = []
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        deadline = time.monotonic() + 5
        while len(socks) < 100 and time.monotonic() < deadline:  # more than the child's fds
            with contextlib.suppress(OSError):
                socks.append(socket.create_connection(("127.0.0.1", port), timeout=0.3))
        time.sleep(0.2)
        cpu = _ask(child, "cpu")
        assert isinstance(cpu, float) and cpu < 0.5, f"{cpu:.2f} CPU seconds in 1 s: spinning"
        assert _ask(child, "files") is True  # the service's own files never run short
        assert _get(f"http://127.0.0.1:{port}/status")["path"] == "/status"
    finally:
        for sock in socks:
            sock.close()
        child.kill()
        child.communicate()


def test_a_client_reset_is_not_a_traceback() -> None:
    child = _child(1024)
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        for _ in range(3):
            sock = socket.create_connection(("127.0.0.1", port))
            sock.send(b"GET /sta")
            time.sleep(0.05)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()  # RST
        time.sleep(0.3)
        _ask(child, "cpu")
        _, err = child.communicate("", timeout=10)  # end of input: the child stops
    finally:
        child.kill()
    assert "Traceback" not in err and err == ""
