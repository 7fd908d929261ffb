"""Status fixtures: the node stand-in the serve tests use (with key-file names, so that its
PostStates lists them), a post-rs-shaped ``/status`` server and a minimal ``/identities``
server shaped as ``mergetool serve`` answers; every server is stopped even on failure."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mergetool.serve.post_rs import OperatorServer
from tests.status.status_helpers import NAMES, IdentitiesServer, NodeStandin


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
