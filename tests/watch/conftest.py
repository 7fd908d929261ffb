"""Watch fixtures: the node stand-in (three listeners on 127.0.0.1), stopped even on failure."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.watch.node_standin import WatchNode


@pytest.fixture
def node() -> Iterator[WatchNode]:
    standin = WatchNode().start()
    try:
        yield standin
    finally:
        standin.stop()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
