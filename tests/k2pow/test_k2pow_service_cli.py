"""``mergetool k2pow-service`` as operators run it: a real process, stopped with SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from mergetool.cli.main import cli
from mergetool.k2pow.client import RemoteK2pow
from mergetool.k2pow.job import make_job
from mergetool.k2pow.service import HARDEST_TARGET
from mergetool.post.pow import find_pow

ENTRY = "from mergetool.cli.main import main; main()"
NODE_ID = b"\x33" * 32
CHALLENGE = b"\x44" * 32
ONE_IN_8 = b"\x20" + b"\xff" * 31


@pytest.fixture
def service_process() -> Iterator[tuple[subprocess.Popen[str], str]]:
    """The service on 127.0.0.1 (any port) and its URL, read from its first log line."""
    proc = subprocess.Popen(
        [sys.executable, "-c", ENTRY, "k2pow-service", "--bind-address", "127.0.0.1:0",
         "--cores", "2", "--randomx-mode", "light"],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        line = proc.stderr.readline() if proc.stderr else ""
        found = re.search(
            r"listening on (http://127\.0\.0\.1:\d+) \(2 workers, RandomX light", line
        )
        assert found, line
        yield proc, found.group(1)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_serves_the_client_and_stops_on_sigterm(
    service_process: tuple[subprocess.Popen[str], str],
) -> None:
    proc, url = service_process
    pows = RemoteK2pow(url, retry_interval_s=0.02).solve_groups(NODE_ID, [7], CHALLENGE, ONE_IN_8)
    assert pows == {7: find_pow(7, CHALLENGE, NODE_ID, ONE_IN_8)}
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    events = [line.split(" ", 1)[1] for line in err.splitlines()]
    what = f"miner {NODE_ID.hex()} nonce group 7 challenge {CHALLENGE[:8].hex()}"
    assert events == [
        f"job created: {what}",
        *[e for e in events if e.startswith("job done")],
        "stopping",
        "stopped",
    ]
    assert re.fullmatch(rf"job done: {what}: pow {pows[7]} in \d+\.\d\d s", events[1])


def test_ctrl_c_cancels_running_jobs_and_says_which(
    service_process: tuple[subprocess.Popen[str], str],
) -> None:
    proc, url = service_process
    endless = make_job(NODE_ID, 9, CHALLENGE, HARDEST_TARGET)  # one hash in ~2^52 solves it
    with urllib.request.urlopen(url + endless.path, timeout=5) as resp:
        assert resp.status == 201
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    what = f"miner {NODE_ID.hex()} nonce group 9 challenge {CHALLENGE[:8].hex()}"
    assert [line.split(" ", 1)[1] for line in err.splitlines()] == [
        f"job created: {what}",
        "stopping",
        f"job cancelled: {what}",
        "stopped",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bind-address", "nowhere"], "bind address must be HOST:PORT, got 'nowhere'"),
        (["--bind-address", "::1:3000"], "write an IPv6 address in brackets"),
        (["--bind-address", "[::1]"], "bind address must be HOST:PORT, got '[::1]': add the port"),
        (["--cores", "-1"], "Invalid value for '--cores'"),
        (["--randomx-mode", "turbo"], "Invalid value for '--randomx-mode'"),
    ],
)
def test_bad_option_values_exit_2(args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["k2pow-service", *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_more_cpus_than_workers_allowed_is_no_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 1000)
    result = CliRunner().invoke(cli, ["k2pow-service", "--bind-address", "nowhere"])
    assert (result.exit_code, result.stderr) == (
        2,
        "Error: bind address must be HOST:PORT, got 'nowhere'\n",
    )


def test_a_taken_port_exits_1_naming_the_address() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        taken = f"127.0.0.1:{sock.getsockname()[1]}"
        result = CliRunner().invoke(
            cli, ["k2pow-service", "--bind-address", taken, "--randomx-mode", "light"]
        )
    assert result.exit_code == 1
    assert f"Error: cannot listen on {taken}: Address already in use" in result.output


def test_post_rs_flags_cores_0_short_bind_and_large_pages() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", ENTRY, "k2pow-service", "-b", "127.0.0.1:0", "--cores", "0",
         "--randomx-large-pages", "--randomx-mode", "light"],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        line = proc.stderr.readline() if proc.stderr else ""
        workers = min(os.cpu_count() or 1, 256)
        assert re.search(
            rf"listening on http://127\.0\.0\.1:\d+ \({workers} workers?, RandomX light", line
        ), line
        assert "warning" not in line
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)
    assert proc.returncode == 0


def test_binds_loopback_by_default_and_warns_of_any_other_address() -> None:
    help_text = CliRunner().invoke(cli, ["k2pow-service", "--help"]).output
    assert "[default: 127.0.0.1:3000]" in " ".join(help_text.split())
    # 192.0.2.1 (TEST-NET-1) is no address of this machine: warned of, then not bound.
    result = CliRunner().invoke(
        cli, ["k2pow-service", "-b", "192.0.2.1:3000", "--randomx-mode", "light"]
    )
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0].split(" ", 1)[1] == (
        "warning: 192.0.2.1 is not a loopback address: other machines can reach the API, "
        "which has no "
        "authentication: anyone who can connect can keep its workers busy (bind 127.0.0.1, "
        "or allow only your PoST services in a firewall)"
    )
    assert lines[1] == "Error: cannot listen on 192.0.2.1:3000: Cannot assign requested address"
