"""Faults around a running serve (in this process, real gRPC and RandomX): leftovers and
special files in the state folder, a data folder swapped under it, a busy RandomX host."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from mergetool.post.k2pow import LocalK2pow
from tests.serve.node_standin import NodeStandin
from tests.serve.serve_helpers import NODE_IDS, config_for, serving
from tests.serve.test_serve_proofs import check_proof

C1 = bytes(range(100, 132))
ID = NODE_IDS[0]


def test_a_leftover_temp_file_with_our_pid_does_not_block_saving(
    node: NodeStandin, post_dirs: Callable[[int], list[Path]], tmp_path: Path
) -> None:
    state = tmp_path / "state"
    state.mkdir()
    # what a killed run with our PID (PID 1 in every container) leaves behind
    leftover = state / f".{ID.hex()}.proof.json.mergetool-tmp-{os.getpid()}"
    leftover.write_text("half a proof")
    os.utime(leftover, (time.time() - 3600, time.time() - 3600))
    with serving(config_for(node.address, post_dirs(1), state_dir=state)) as run:
        node.wait_connected([ID])
        node.request_proof(ID, C1)
        check_proof(node.wait_proof(ID, timeout=60), ID, C1)
        ready = run.wait_event("proof-ready")
    assert f"saved to {state.resolve()}/{ID.hex()}.proof.json" in ready.message
    assert "store-failed" not in run.kinds()
    assert not leftover.exists()  # ours, from a dead run: swept
    assert [p.name for p in state.iterdir()] == [f"{ID.hex()}.proof.json"]


def test_a_folder_swapped_under_serve_is_an_error_naming_it(
    node: NodeStandin, post_dirs: Callable[[int], list[Path]]
) -> None:
    a, b = post_dirs(2)
    with serving(config_for(node.address, [a])) as run:
        node.wait_connected([ID])
        for data in sorted(b.glob("postdata_*")):  # now another identity's data and metadata
            shutil.copy(data, a / data.name)
        node.request_proof(ID, C1)
        outcome = node.wait_proof(ID, timeout=60)
        failed = run.wait_event("proof-failed")
    assert outcome.error == "GEN_PROOF_STATUS_ERROR"  # never another identity's proof
    assert failed.message.startswith(f"{a.resolve()}: the data folder changed under serve (")
    assert f"no longer match identity {ID.hex()})" in failed.message


def test_a_proof_check_does_not_wait_behind_k2pow_on_the_randomx_host(
    node: NodeStandin, post_dirs: Callable[[int], list[Path]]
) -> None:
    config = config_for(node.address, post_dirs(1))
    solver = LocalK2pow(threads=1, fast=False)  # this identity's k2pow: not on the host
    with serving(config, solver=solver) as run:
        node.wait_connected([ID])
        host, done = run.service.host, threading.Event()

        def hard_k2pow() -> None:  # another identity's k2pow that takes for ever
            with contextlib.suppress(Exception):  # ended by the test: any way is fine
                host.solve_groups(b"\x09" * 32, [0], C1, bytes(32), cancelled=done.is_set)

        busy = threading.Thread(target=hard_k2pow, daemon=True)
        busy.start()
        try:
            deadline = time.monotonic() + 30
            while not host.running and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.5)  # (the job is on the host now)
            node.request_proof(ID, C1)
            check_proof(node.wait_proof(ID, timeout=45), ID, C1)
        finally:
            done.set()
            busy.join(20)


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _dev_zero(path: Path) -> None:
    path.symlink_to("/dev/zero")


def _deep(path: Path) -> None:
    path.write_text("[" * 200_000)


def _directory(path: Path) -> None:
    path.mkdir()


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (_fifo, "it is a FIFO (named pipe), not a regular file"),
        (_dev_zero, "it is a device, not a regular file"),
        (_deep, "malformed (JSON nested too deeply)"),
        (_directory, "it is a directory, not a regular file"),
    ],
)
def test_special_files_in_the_state_folder_are_discarded_with_a_reason(
    node: NodeStandin,
    post_dirs: Callable[[int], list[Path]],
    tmp_path: Path,
    make: Callable[[Path], None],
    reason: str,
) -> None:
    state = tmp_path / "state"
    state.mkdir()
    path = state / f"{ID.hex()}.proof.json"
    make(path)
    with serving(config_for(node.address, post_dirs(1), state_dir=state)) as run:
        event = run.wait_event("stored-proof-discarded")
        node.wait_connected([ID])
        node.request_proof(ID, C1)
        check_proof(node.wait_proof(ID, timeout=60), ID, C1)  # from memory, if need be
    assert event.message == f"discarding {path.resolve()}: {reason}"


def test_an_absurd_finished_at_never_breaks_identities(
    node: NodeStandin, post_dirs: Callable[[int], list[Path]], tmp_path: Path
) -> None:
    folders, state = post_dirs(1), tmp_path / "state"
    with serving(config_for(node.address, folders, state_dir=state)) as first:
        node.wait_connected([ID])
        node.request_proof(ID, C1)
        first.wait_event("proof-started")
        node.withdraw(ID)
        first.wait_event("proof-ready")
    path = state / f"{ID.hex()}.proof.json"
    doc = json.loads(path.read_text())
    path.write_text(json.dumps({**doc, "finished_at": 1e300, "duration_s": -1e308}))
    with serving(config_for(node.address, folders, state_dir=state)) as second:
        second.wait_event("stored-proof")
        status, view = second.get("/identities")
    assert status == 200
    last = view["identities"][0]["last_proof"]
    assert last == {"challenge": C1.hex(), "finished_at": "1970-01-01T00:00:00.000Z",
                    "duration_s": 0.0}  # fmt: skip
