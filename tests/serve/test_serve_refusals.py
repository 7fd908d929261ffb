"""What the operator is told when the node refuses, is unreachable, or a folder is in use."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from mergetool._exceptions import FolderLocked, ServeError
from mergetool.cli.main import cli
from mergetool.serve.service import Service
from tests.serve.node_standin import NodeStandin
from tests.serve.serve_helpers import NODE_IDS, Running, config_for, serving

ID = NODE_IDS[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_coinbase_refusal_says_what_to_set_and_does_not_use_up_max_retries(
    node: NodeStandin, post_dirs: Callable[[int], list[Path]]
) -> None:
    node.refuse_coinbase = True
    with serving(config_for(node.address, post_dirs(1), max_retries=1)) as run:
        node.wait_for(lambda n: len(n.refusals) >= 3)  # refused again and again: still running
        assert run.error is None
        node.refuse_coinbase = False  # the operator sets the coinbase and restarts the node
        run.wait_event("connected")
    refused = [e for e in run.events if e.kind == "disconnected"]
    assert len(refused) == 1 and refused[0].level == "error"  # the same refusal again is no news
    assert refused[0].message == (
        f"the node at {node.address} refuses PoST services: it has no coinbase; set "
        "smeshing-coinbase in the node's config (and restart the node)"
    )


def test_max_retries_counts_failed_connects_in_a_row(
    post_dirs: Callable[[int], list[Path]],
) -> None:
    address = f"http://127.0.0.1:{free_port()}"
    run = Running(Service(config_for(address, post_dirs(1), max_retries=2)))
    error = run.start().join()
    assert isinstance(error, ServeError)
    assert error.message.startswith(
        f"giving up after 3 failed attempts to connect identity {ID.hex()}"
    )


def test_unreachable_node_is_named_with_its_address(
    post_dirs: Callable[[int], list[Path]],
) -> None:
    address = f"http://127.0.0.1:{free_port()}"
    run = Running(Service(config_for(address, post_dirs(1), max_retries=0)))
    error = run.start().join()
    assert isinstance(error, ServeError)
    assert f"cannot reach the node at {address}" in error.message


def test_second_service_for_one_identity_is_refused_as_equivocation_risk(
    node: NodeStandin, post_dirs: Callable[[int], list[Path]], tmp_path: Path
) -> None:
    (folder,) = post_dirs(1)
    copy = Path(shutil.copytree(folder, tmp_path / "copy"))  # the same identity elsewhere
    with serving(config_for(node.address, [folder])):
        node.wait_connected([ID])
        with serving(config_for(node.address, [copy])) as second:
            event = second.wait_event("disconnected")
    assert event.level == "error"
    assert event.message == (
        f"the node at {node.address} refused identity {ID.hex()} ({copy.resolve()}): another "
        "PoST service for this identity is already connected; two provers for one identity "
        "risk equivocation, so stop the other one"
    )


def test_a_served_folder_is_locked_against_a_second_service_and_post_prove(
    node: NodeStandin, post_dirs: Callable[[int], list[Path]]
) -> None:
    import os

    (folder,) = post_dirs(1)
    with serving(config_for(node.address, [folder])):
        run = Running(Service(config_for(node.address, [folder])))
        with pytest.raises(AssertionError, match="ended before it was ready"):
            run.start()
        assert isinstance(run.error, FolderLocked)
        assert run.error.message == f"{folder.resolve()} is locked by process {os.getpid()}"
        result = CliRunner().invoke(
            cli, ["post", "prove", "--dir", str(folder), "--challenge", "00" * 32,
                  "--preset", "test"],
        )  # fmt: skip
        assert result.exit_code == 1
        assert result.stderr.startswith(f"Error: {folder} is locked by process {os.getpid()}\n")
        result = CliRunner().invoke(
            cli, ["post", "init", "--dir", str(folder), "--node-id", ID.hex(),
                  "--commitment-atx", "20" * 32, "--num-units", "2", "--preset", "test"],
        )  # fmt: skip
        assert result.exit_code == 1
        assert result.stderr.startswith(f"Error: {folder} is locked by process {os.getpid()}\n")
    assert not (folder / ".mergetool.lock").exists()  # released when the service stopped


def test_max_retries_counts_failed_connects_in_a_row_and_resets_on_success(
    node: NodeStandin, post_dirs: Callable[[int], list[Path]]
) -> None:
    run = Running(Service(config_for(node.address, post_dirs(1), max_retries=1)))
    run.start()
    try:
        for dropped in range(1, 4):  # more drops than --max-retries allows failures in a row
            node.wait_for(lambda n, d=dropped: n.identity(ID).streams == d and n.connected(ID))
            node.drop(ID)
        node.wait_for(lambda n: n.identity(ID).streams == 4 and n.connected(ID))
        assert run.error is None  # each drop followed a stream the node accepted
        node.stop()  # now every attempt fails: the second one in a row ends the service
        error = run.join()
    finally:
        run.stop()
    assert isinstance(error, ServeError)
    assert error.message.startswith(
        f"giving up after 2 failed attempts to connect identity {ID.hex()}"
    )
