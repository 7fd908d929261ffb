"""``mergetool serve`` as a process: however it ends (SIGKILL, SIGTERM, a full disk), no
child outlives it and no finished proof is thrown away."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest

from tests.serve.node_standin import NodeStandin
from tests.serve.serve_helpers import NODE_IDS
from tests.serve.test_serve_proofs import check_proof

C1 = bytes(range(100, 132))
ID = NODE_IDS[0]
HARD_POW = "00" * 12 + "ff" * 20  # no k2pow is found before the test ends it

_RUN = """
import signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past RLIMIT_FSIZE fails with EFBIG
from mergetool.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


class Serve:
    """A ``mergetool serve`` process with its JSON log lines collected."""

    def __init__(self, args: list[str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _RUN, "serve", *args, "--log-format", "json"],
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def events(self) -> list[dict[str, Any]]:
        found = []
        for line in list(self.lines):
            try:
                found.append(json.loads(line))
            except ValueError:
                continue
        return found

    def wait_event(self, kind: str, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.events():
                if event.get("event") == kind:
                    return event
            assert self.proc.poll() is None, "\n".join(self.lines)
            time.sleep(0.05)
        raise TimeoutError(f"no {kind!r} event; log:\n" + "\n".join(self.lines))


@contextmanager
def serve(node: NodeStandin, folder: Path, *extra: str) -> Iterator[Serve]:
    args = ["--address", node.address, "--dir", str(folder), "--preset", "test",
            "--nonces", "16", "--reconnect-interval-s", "0.1", "--randomx-mode", "light",
            *extra]  # fmt: skip
    running = Serve(args)
    try:
        yield running
    finally:
        for pid in [running.proc.pid, *descendants(running.proc.pid)]:
            _kill(pid)
        running.proc.wait(10)


def _kill(pid: int) -> None:
    with suppress(OSError):
        os.kill(pid, signal.SIGKILL)


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) from /proc; None when the process is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], int(fields[1])


def descendants(pid: int) -> set[int]:
    """Live (not zombie) processes below ``pid`` (Linux /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None and stat[0] != "Z":
                parents[int(entry.name)] = stat[1]
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pids: set[int]) -> set[int]:
    return {pid for pid in pids if (stat := _stat(pid)) is not None and stat[0] != "Z"}


def _wait_gone(pids: set[int], seconds: float) -> set[int]:
    deadline = time.monotonic() + seconds
    while alive(pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive(pids)


def _mid_k2pow(node: NodeStandin, run: Serve) -> set[int]:
    """Ask for a proof whose k2pow never ends; the process tree once the host hashes."""
    node.wait_connected([ID], timeout=60)
    node.request_proof(ID, C1)
    run.wait_event("phase-k2pow")
    deadline = time.monotonic() + 60
    while len(descendants(run.proc.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)  # at least the resource tracker and the RandomX host
    time.sleep(1.0)  # (the host has built its cache and hashes)
    tree = descendants(run.proc.pid)
    assert len(tree) >= 2, tree
    return tree


def test_kill_9_mid_k2pow_leaves_no_process_of_the_tree(
    node: NodeStandin, post_dirs: Callable[[int], list[Path]]
) -> None:
    (folder,) = post_dirs(1)
    with serve(node, folder, "--pow-difficulty", HARD_POW) as run:
        tree = _mid_k2pow(node, run)
        os.kill(run.proc.pid, signal.SIGKILL)
        run.proc.wait(10)
        assert _wait_gone(tree, 5.0) == set()


def test_sigterm_mid_k2pow_ends_serve_and_every_child_within_10_s(
    node: NodeStandin, post_dirs: Callable[[int], list[Path]]
) -> None:
    (folder,) = post_dirs(1)
    with serve(node, folder, "--pow-difficulty", HARD_POW) as run:
        tree = _mid_k2pow(node, run)
        started = time.monotonic()
        run.proc.send_signal(signal.SIGTERM)
        run.proc.wait(10)
        assert time.monotonic() - started < 10
        assert _wait_gone(tree, 1.0) == set()
        assert run.proc.returncode == 0, "\n".join(run.lines)
        kinds = [e["event"] for e in run.events()]
        assert kinds[-1] == "stopped" and "stopped-mid-proof" in kinds


def test_a_full_state_folder_hands_the_proof_over_from_memory(
    node: NodeStandin, post_dirs: Callable[[int], list[Path]], tmp_path: Path
) -> None:
    (folder,) = post_dirs(1)
    state = tmp_path / "state"
    with serve(node, folder, "--state-dir", str(state)) as run:
        run.wait_event("started")
        node.wait_connected([ID], timeout=60)
        # From now on no file of serve's may grow past 64 bytes: the proof file cannot be kept.
        resource.prlimit(run.proc.pid, resource.RLIMIT_FSIZE, (64, 64))
        node.request_proof(ID, C1)
        check_proof(node.wait_proof(ID, timeout=60), ID, C1)
        warning = run.wait_event("store-failed")
        assert run.wait_event("proof-ready")["message"].endswith("; kept in memory only")
    path = state / f"{ID.hex()}.proof.json"
    assert warning["level"] == "warning" and warning["path"] == str(path)
    assert warning["message"].startswith(f"cannot write {path}: File too large; ")
    assert "give --state-dir a folder with room" in warning["message"]
    assert list(state.iterdir()) == []  # no temporary file left either


def test_a_full_disk_at_start_up_names_the_lock_file_and_leaves_none(
    post_dirs: Callable[[int], list[Path]],
) -> None:
    (folder,) = post_dirs(1)
    limited = _RUN.replace(
        "from mergetool", "import resource\nresource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))\n"
        "from mergetool", 1,
    )  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-c", limited, "serve", "--address", "http://127.0.0.1:9",
         "--dir", str(folder), "--preset", "test"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    lock = folder / ".mergetool.lock"
    assert proc.stderr.startswith(f"Error: {folder}: the disk is full, or we may not write ")
    assert f"(writing {lock}: File too large)" in proc.stderr
    assert not lock.exists()


def _workers(pids: set[int]) -> set[int]:
    """The engine's spawned worker processes among ``pids`` (not multiprocessing's tracker)."""
    found = set()
    for pid in pids:
        with suppress(OSError):
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.add(pid)
    return found


def _stop_ends_everything(run: Serve, tree: set[int]) -> list[str]:
    """SIGTERM: serve and every child end within 10 s, exit 0; the event kinds logged."""
    started = time.monotonic()
    run.proc.send_signal(signal.SIGTERM)
    try:
        run.proc.wait(10)
    except subprocess.TimeoutExpired:
        raise AssertionError("serve did not end within 10 s:\n" + "\n".join(run.lines)) from None
    assert time.monotonic() - started < 10
    assert _wait_gone(tree | descendants(run.proc.pid), 1.0) == set()
    assert run.proc.returncode == 0, "\n".join(run.lines)
    return [e["event"] for e in run.events()]


def test_sigterm_while_reading_on_a_stuck_disk_ends_everything_within_10_s(
    node: NodeStandin, post_dirs: Callable[[int], list[Path]]
) -> None:
    """A pass whose worker no longer runs (a read stuck on a bad disk: here SIGSTOP) is
    killed, not waited for."""
    (folder,) = post_dirs(1)
    with serve(node, folder) as run:
        run.wait_event("started")
        node.wait_connected([ID], timeout=60)
        stuck = _workers(descendants(run.proc.pid))
        assert stuck
        for pid in stuck:
            os.kill(pid, signal.SIGSTOP)
        node.request_proof(ID, C1)
        run.wait_event("phase-reading")
        time.sleep(0.3)  # (the pass is handed to the stopped workers)
        kinds = _stop_ends_everything(run, descendants(run.proc.pid))
    assert kinds[-1] == "stopped" and "stopped-mid-proof" in kinds
    assert "proof-ready" not in kinds


def _rss_mib(pid: int) -> float:
    with suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


@pytest.mark.parametrize("when", ["starting", "checking"])
def test_sigterm_while_verifying_keeps_the_proof_and_ends_within_10_s(
    node: NodeStandin,
    post_dirs: Callable[[int], list[Path]],
    stub_server: Callable[..., Any],
    tmp_path: Path,
    when: str,
) -> None:
    """The pass is done, its check hangs (the verifier process stuck, here by SIGSTOP, while
    it starts or once it builds its RandomX cache): the stop ends everything in time, and
    the unchecked proof is kept for the next start."""
    from tests.serve.test_serve_remote_k2pow import solve

    (folder,) = post_dirs(1)
    state = tmp_path / "state"
    k2pow = stub_server(lambda path, seen: (200, solve(path)))
    # k2pow comes from outside: the only process serve starts for this proof is its verifier.
    with serve(node, folder, "--remote-k2pow", k2pow.url, "--state-dir", str(state)) as run:
        run.wait_event("started")
        node.wait_connected([ID], timeout=60)
        before = descendants(run.proc.pid)
        node.request_proof(ID, C1)
        deadline = time.monotonic() + 60
        while not (verifier := _workers(descendants(run.proc.pid) - before)) or (
            when == "checking" and max(map(_rss_mib, verifier)) < 150  # (the 256 MiB cache)
        ):
            assert time.monotonic() < deadline, "\n".join(run.lines)
            time.sleep(0.005)
        for pid in verifier:
            os.kill(pid, signal.SIGSTOP)
        run.wait_event("phase-verifying")
        kinds = _stop_ends_everything(run, descendants(run.proc.pid))
    assert "proof-kept-unchecked" in kinds and "proof-ready" not in kinds
    assert "stopped-mid-proof" not in kinds  # (nothing was lost)
    assert kinds[-1] == "stopped", "\n".join(run.lines)
    kept = json.loads((state / f"{ID.hex()}.proof.json").read_text())
    assert kept["challenge"] == C1.hex()
    # The next start checks the kept proof and hands it to the node without proving again.
    with serve(node, folder, "--remote-k2pow", k2pow.url, "--state-dir", str(state)) as run:
        assert run.wait_event("stored-proof")["challenge"] == C1.hex()
        asked = len(k2pow.paths)
        node.request_proof(ID, C1)
        check_proof(node.wait_proof(ID, timeout=60), ID, C1)
        assert len(k2pow.paths) == asked
