"""Watch fixtures: the node stand-in (three listeners on 127.0.0.1) alone or in a scenario
(``s``: a node folder and config, see ``scenario.py``), stopped even on failure."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.watch.node_standin import WatchNode
from tests.watch.scenario import Scenario, build, write_config


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


@pytest.fixture
def s(tmp_path: Path) -> Iterator[Scenario]:
    scenario = build(tmp_path)
    scenario.node.start()
    write_config(scenario)
    try:
        yield scenario
    finally:
        scenario.node.stop()
