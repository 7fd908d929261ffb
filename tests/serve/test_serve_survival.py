"""``mergetool serve`` as a process against what kills parts of it: a worker process killed
(the OOM killer), signals at odd moments, a kill -9 mid-save, a slow disk, a fatal error in
JSON mode. Each one is survived: the node never gets ERROR for it, no proof is lost."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from mergetool._fs import temp_name
from tests.schema_check import assert_valid
from tests.serve.node_standin import NodeStandin
from tests.serve.serve_helpers import NODE_IDS
from tests.serve.test_serve_processes import _RUN, Serve, _workers, descendants, serve
from tests.serve.test_serve_proofs import check_proof

ID = NODE_IDS[0]
Dirs = Callable[[int], list[Path]]


def _challenge(n: int) -> bytes:
    return bytes([n]) * 32


def _not_json(lines: list[str]) -> list[str]:
    bad = []
    for line in lines:
        try:
            if not isinstance(json.loads(line), dict):
                bad.append(line)
        except ValueError:
            bad.append(line)
    return bad


def _started(node: NodeStandin, run: Serve) -> None:
    run.wait_event("started")
    node.wait_connected([ID], timeout=60)


def test_a_pass_worker_killed_by_the_system_is_replaced(node: NodeStandin, post_dirs: Dirs) -> None:
    (folder,) = post_dirs(1)
    with serve(node, folder) as run:
        _started(node, run)
        workers = _workers(descendants(run.proc.pid))
        assert workers
        for pid in workers:
            os.kill(pid, signal.SIGKILL)  # as the OOM killer does
        time.sleep(0.5)
        for n in range(3):
            node.request_proof(ID, _challenge(40 + n))
            check_proof(node.wait_proof(ID, timeout=90), ID, _challenge(40 + n))
        assert not [e for e in run.events() if e["level"] == "error"]


def test_a_verifier_killed_mid_check_is_replaced_and_the_proof_delivered(
    node: NodeStandin, post_dirs: Dirs
) -> None:
    (folder,) = post_dirs(1)
    with serve(node, folder) as run:
        _started(node, run)
        before = descendants(run.proc.pid)
        node.request_proof(ID, C := _challenge(50))
        run.wait_event("phase-verifying")
        deadline = time.monotonic() + 30
        while not (new := _workers(descendants(run.proc.pid) - before)):
            assert time.monotonic() < deadline, "\n".join(run.lines)
            time.sleep(0.005)
        for pid in new:  # the RandomX processes: the k2pow host and the verifier
            os.kill(pid, signal.SIGKILL)
        check_proof(node.wait_proof(ID, timeout=90), ID, C)
        assert not [e for e in run.events() if e["level"] == "error"]


def test_a_verifier_killed_while_a_stored_proof_is_checked_at_start_up(
    node: NodeStandin, post_dirs: Dirs, tmp_path: Path
) -> None:
    (folder,) = post_dirs(1)
    state = tmp_path / "state"
    with serve(node, folder, "--state-dir", str(state)) as run:
        _started(node, run)
        node.request_proof(ID, C := _challenge(9))
        check_proof(node.wait_proof(ID, timeout=60), ID, C)
        run.wait_event("proof-delivered")
        run.proc.send_signal(signal.SIGTERM)
        run.proc.wait(15)
    with serve(node, folder, "--state-dir", str(state)) as run:
        deadline = time.monotonic() + 30
        while len(workers := _workers(descendants(run.proc.pid))) < 2:  # pass worker, verifier
            assert time.monotonic() < deadline, "\n".join(run.lines)
            time.sleep(0.005)
        os.kill(max(workers), signal.SIGKILL)  # the newest: the verifier
        assert run.wait_event("stored-proof")["challenge"] == C.hex()  # checked once more
        run.wait_event("started")
        assert run.proc.poll() is None


@pytest.mark.parametrize("gap_s", [0.5, 2.0])
def test_a_second_sigterm_while_stopping_still_exits_0(
    node: NodeStandin, post_dirs: Dirs, gap_s: float
) -> None:
    (folder,) = post_dirs(1)
    with serve(node, folder) as run:
        _started(node, run)
        run.proc.send_signal(signal.SIGTERM)
        time.sleep(gap_s)
        run.proc.send_signal(signal.SIGTERM)
        run.proc.wait(15)
        assert run.proc.returncode == 0, "\n".join(run.lines)


def _catches_sigterm(pid: int) -> bool:
    """Whether the process has a handler for SIGTERM (``SigCgt`` of /proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) >> (signal.SIGTERM - 1) & 1)
    return False


def test_a_sigterm_while_serve_is_starting_exits_0(node: NodeStandin, post_dirs: Dirs) -> None:
    (folder,) = post_dirs(1)
    with serve(node, folder) as run:
        deadline = time.monotonic() + 30
        while not _catches_sigterm(run.proc.pid):  # the command runs: it plans, then starts
            assert time.monotonic() < deadline and run.proc.poll() is None
            time.sleep(0.002)
        assert "started" not in [e["event"] for e in run.events()]
        run.proc.send_signal(signal.SIGTERM)
        run.proc.wait(15)
        assert run.proc.returncode == 0, "\n".join(run.lines)
        assert [e["event"] for e in run.events()][-1] == "stopped"


def test_a_temp_file_left_by_a_kill_mid_save_is_swept_at_start(
    node: NodeStandin, post_dirs: Dirs, tmp_path: Path
) -> None:
    (folder,) = post_dirs(1)
    state = tmp_path / "state"
    state.mkdir()
    proof_file = state / f"{ID.hex()}.proof.json"
    leftover = temp_name(proof_file)  # the name a save had when kill -9 came
    leftover.write_bytes(b'{"vers')
    with serve(node, folder, "--state-dir", str(state)) as run:
        _started(node, run)
        assert not leftover.exists()
        node.request_proof(ID, C := _challenge(7))
        check_proof(node.wait_proof(ID, timeout=60), ID, C)
        run.wait_event("proof-delivered")
    assert sorted(p.name for p in state.iterdir()) == [proof_file.name]


def test_a_fatal_error_in_json_mode_is_a_json_line(node: NodeStandin, post_dirs: Dirs) -> None:
    (folder,) = post_dirs(1)
    with serve(node, folder) as first:
        first.wait_event("started")
        second = subprocess.run(
            [sys.executable, "-c", _RUN, "serve", "--address", node.address, "--dir", str(folder),
             "--preset", "test", "--randomx-mode", "light", "--log-format", "json"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert second.returncode == 1
    lines = second.stderr.splitlines()
    assert _not_json(lines) == [], lines
    (line,) = [json.loads(text) for text in lines if json.loads(text)["event"] == "fatal"]
    assert_valid(line, "serve-event")
    assert line["level"] == "error" and line["error"] == "FolderLocked"
    assert line["message"].startswith(f"{folder} is locked by process {first.proc.pid}")


def _strace_works() -> bool:
    if shutil.which("strace") is None:
        return False
    probe = subprocess.run(["strace", "-qq", "-o", "/dev/null", "true"], capture_output=True)
    return probe.returncode == 0


@pytest.mark.skipif(not _strace_works(), reason="needs a working strace (fsync delays)")
def test_a_sigterm_while_saving_on_a_slow_disk_keeps_the_proof_in_time(
    node: NodeStandin, post_dirs: Dirs, tmp_path: Path
) -> None:
    """Every fsync takes 2 s (strace fault injection): the save is not cut short by the stop,
    the proof is kept and not reported as lost, and serve ends within 10 s."""
    (folder,) = post_dirs(1)
    state = tmp_path / "state"
    with serve(node, folder, "--state-dir", str(state)) as run:
        _started(node, run)
        tracer = subprocess.Popen(
            ["strace", "-f", "-qq", "-o", "/dev/null", "-p", str(run.proc.pid),
             "-e", "trace=fsync,fdatasync", "-e", "inject=fsync,fdatasync:delay_enter=2000000"],
        )  # fmt: skip
        try:
            time.sleep(1.0)  # (attached to every thread)
            node.request_proof(ID, C := _challenge(33))
            run.wait_event("phase-saving")
            time.sleep(0.3)
            started = time.monotonic()
            run.proc.send_signal(signal.SIGTERM)
            run.proc.wait(30)
            took = time.monotonic() - started
        finally:
            tracer.kill()
            tracer.wait(10)
        kinds = [e["event"] for e in run.events()]
    assert took < 10, took
    assert "proof-kept" in kinds and "stopped-mid-proof" not in kinds, kinds
    kept = json.loads((state / f"{ID.hex()}.proof.json").read_text())
    assert kept["challenge"] == C.hex()
