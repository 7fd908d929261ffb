"""Status fixtures: the node stand-in the serve tests use (with key-file names, so that its
PostStates lists them), a post-rs-shaped ``/status`` server and a minimal ``/identities``
server shaped as ``mergetool serve`` answers; every server is stopped even on failure."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "serve"))  # the shared stand-in

from node_standin import NodeStandin  # noqa: E402

from mergetool.post.operator_api import OperatorServer  # noqa: E402

#: key file name -> node id of the node the tests ask
NAMES = {"alpha.key": bytes([0xA1]) * 32, "beta.key": bytes([0xB2]) * 32}
ALPHA, BETA = NAMES["alpha.key"], NAMES["beta.key"]


@pytest.fixture
def node() -> Iterator[NodeStandin]:
    standin = NodeStandin(names=NAMES).start()
    try:
        yield standin
    finally:
        standin.stop()


@pytest.fixture
def node_address(node: NodeStandin) -> str:
    return f"127.0.0.1:{node.port}"


@pytest.fixture(scope="session")
def _post_rs_server() -> Iterator[OperatorServer]:
    with OperatorServer("127.0.0.1:0") as server:  # its shutdown takes 0.5 s: once, at the end
        yield server


@pytest.fixture
def post_rs(_post_rs_server: OperatorServer) -> OperatorServer:
    """A post-rs-shaped operator API (``GET /status``), Idle until a test says otherwise."""
    _post_rs_server.set_idle()
    return _post_rs_server


def url_of(server: Any) -> str:
    host, port = server.address
    return f"http://{host}:{port}"


class IdentitiesServer:
    """``GET /identities`` as ``mergetool serve`` answers it; ``doc``/``code`` set by tests."""

    def __init__(self) -> None:
        self.doc: Any = {"identities": []}
        self.code = 200
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                found = self.path.rstrip("/") == "/identities"
                body = json.dumps(owner.doc if found else {"error": "not found"}).encode()
                self.send_response(owner.code if found else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = self.httpd.server_address[:2]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def serve(self, *entries: dict[str, Any]) -> None:
        self.doc = {"identities": list(entries)}

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def serve_entry(node_id: bytes, state: str = "idle", **changes: Any) -> dict[str, Any]:
    """One ``/identities`` entry with every documented key."""
    entry = {
        "node_id": node_id.hex(),
        "folder": f"/data/post-{node_id.hex()[:4]}",
        "name": None,
        "connected": True,
        "state": state,
        "status": {"idle": "Idle", "done": "DoneProving"}.get(state)
        or {"Proving": {"nonces": {"start": 0, "end": 128}, "position": 0}},
        "phase": None,
        "challenge": None,
        "last_proof": None,
        "last_error": None,
    }
    entry.update(changes)
    return entry


@pytest.fixture
def serve_api() -> Iterator[IdentitiesServer]:
    server = IdentitiesServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
