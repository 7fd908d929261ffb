"""Helpers of the status tests (import this, not conftest: conftest names collide): the
identities of the node stand-in, and a minimal ``/identities`` server shaped as
``mergetool serve`` answers, for states and defects a real serve is slow or unable to show
(test_status_with_serve.py runs the real one)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.serve.node_standin import NodeStandin  # shared with the serve tests

__all__ = ["NAMES", "ALPHA", "BETA", "IdentitiesServer", "NodeStandin", "serve_entry", "url_of"]

#: key file name -> node id of the node the tests ask
NAMES = {"alpha.key": bytes([0xA1]) * 32, "beta.key": bytes([0xB2]) * 32}
ALPHA, BETA = NAMES["alpha.key"], NAMES["beta.key"]


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
        # (entries may be partial or odd on purpose: status must cope with what a serve sends)
        self.doc = {"format": 1, "identities": list(entries)}

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
        "num_units": 4,
        "problem": None,
    }
    entry.update(changes)
    return entry
