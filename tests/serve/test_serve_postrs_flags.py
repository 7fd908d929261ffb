"""``mergetool serve`` as a drop-in for post-rs's ``service`` command line: every flag parses
with post-rs's meaning, the operator guide's command starts, --watch-pid, --labels-per-unit."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import click
from click.testing import CliRunner

from mergetool.cli.main import cli
from mergetool.cli.serve import serve
from mergetool.post.initialize import initialize, plan_init
from mergetool.post.params import MAX_THREADS, PRESETS
from tests.serve.node_standin import NodeStandin
from tests.serve.serve_helpers import ATX_ID, NODE_IDS

ENTRY = "from mergetool.cli.main import main; main()"
GUIDE = ["--address=http://localhost:9094", "--dir=../data1", "--operator-address=127.0.0.1:50051",
         "--threads=1", "--nonces=128", "--randomx-mode=fast"]  # fmt: skip


def _parse(*args: str) -> dict[str, object]:
    with click.Context(serve) as ctx:
        return dict(serve.make_context("serve", list(args), parent=ctx).params)


def test_the_operator_guides_command_parses_as_post_rs_means_it() -> None:
    params = _parse(*GUIDE)
    assert params["address"] == "http://localhost:9094"
    assert params["dirs"] == (Path("../data1"),)
    assert (params["operator_address"], params["threads"], params["nonces"]) == (
        "127.0.0.1:50051", 1, 128,
    )  # fmt: skip
    assert params["randomx_mode"] == "fast"


def test_post_rs_spellings_and_defaults() -> None:
    params = _parse(
        "-a", "http://127.0.0.1:9094", "-d", "/data", "-n", "8192", "-r", "1", "-p", "1",
        "--k1", "26", "--k2", "37", "--min-num-units", "4", "--max-num-units", "8",
        "--threads", "0", "--max-retries", "3", "--remote-k2pow", "http://k:3000",
        "--remote-k2pow-parallelism", "2", "--remote-k2pow-backoff", "7", "--watch-pid", "1",
        "--pinned-cores", "0,1",
    )  # fmt: skip
    assert (params["scrypt_n"], params["scrypt_r"], params["scrypt_p"]) == (8192, 1, 1)
    assert (params["min_units"], params["max_units"]) == (4, 8)
    assert params["threads"] == min(os.cpu_count() or 1, MAX_THREADS)  # 0: all cores
    assert (params["remote_k2pow_backoff_s"], params["watch_pid"]) == (7.0, 1)
    assert params["pinned_cores"] == [0, 1]
    defaults = _parse("-a", "http://127.0.0.1:9094", "-d", "/data")
    assert defaults["randomx_mode"] == "fast"  # as post-rs
    assert (defaults["reconnect_interval_s"], defaults["remote_k2pow_backoff_s"]) == (5.0, 5.0)
    assert defaults["remote_k2pow_parallelism"] == 5 and defaults["nonces"] == 128
    assert _parse("-a", "x", "-d", "/d", "--min-units", "2", "--max-units", "3")["max_units"] == 3


def test_unsupported_scrypt_r_and_p_are_refused_by_name() -> None:
    result = CliRunner().invoke(cli, ["serve", "-a", "http://127.0.0.1:1", "-d", "/d", "-r", "2"])
    assert result.exit_code == 2
    assert "Invalid value for '-r' / '--r': 2: the network's scrypt uses 1" in result.stderr


def test_the_operator_guides_flags_start_against_a_stand_in(
    node: NodeStandin, post_dirs: Callable[[int], list[Path]]
) -> None:
    (folder,) = post_dirs(1)
    # The guide's command with this test's addresses (and the test network's parameters).
    args = [f"--address={node.address.replace('127.0.0.1', 'localhost')}", f"--dir={folder}",
            "--operator-address=127.0.0.1:0", "--threads=1", "--nonces=128",
            "--randomx-mode=fast", "--preset", "test"]  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-c", ENTRY, "serve", *args],
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        node.wait_connected([NODE_IDS[0]], timeout=30)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "serving 1 identity for the node at http://localhost:" in err


def test_watch_pid_stops_serve_when_that_process_ends(
    node: NodeStandin, post_dirs: Callable[[int], list[Path]]
) -> None:
    (folder,) = post_dirs(1)
    watched = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    proc = subprocess.Popen(
        [sys.executable, "-c", ENTRY, "serve", "--preset", "test", "-a", node.address,
         "-d", str(folder), "--randomx-mode", "light", "--watch-pid", str(watched.pid),
         "--log-format", "json"],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        node.wait_connected([NODE_IDS[0]], timeout=30)
        watched.kill()
        watched.wait()
        started = time.monotonic()
        _, err = proc.communicate(timeout=20)
        took = time.monotonic() - started
    finally:
        for p in (watched, proc):
            if p.poll() is None:
                p.kill()
                p.wait()
    assert proc.returncode == 0, err
    assert took < 10  # one poll a second, then the ordinary stop
    events = [json.loads(line) for line in err.splitlines()]
    ended = [e for e in events if e["event"] == "watched-process-ended"]
    assert ended[0]["message"] == f"process {watched.pid} ended: stopping (--watch-pid)"
    assert events[-1]["event"] == "stopped"


def test_data_initialised_with_labels_per_unit_is_provable(tmp_path: Path) -> None:
    params = PRESETS["test"]
    data = tmp_path / "lpu"
    plan = plan_init(
        data, node_id=NODE_IDS[0], commitment_atx_id=ATX_ID, num_units=1, labels_per_unit=512,
        scrypt_n=params.scrypt_n, max_file_size=4096, vrf_difficulty=params.pow_difficulty,
    )  # fmt: skip
    initialize(plan, backend="numpy")
    prove = ["post", "prove", "--dir", str(data), "--challenge", "ab" * 32, "--preset", "test",
             "--json"]  # fmt: skip
    refused = CliRunner().invoke(cli, prove)
    assert refused.exit_code == 2
    assert "the data has 512 labels per unit, the parameters 256" in refused.stderr
    proved = CliRunner().invoke(cli, [*prove, "--labels-per-unit", "512"])
    assert proved.exit_code == 0, proved.output
    serve_args = [
        "serve",
        "--preset",
        "test",
        "-a",
        "http://127.0.0.1:1",
        "-d",
        str(data),
        "--max-retries",
        "0",
        "--randomx-mode",
        "light",
        "--reconnect-interval-s",
        "0.1",
    ]
    result = CliRunner().invoke(cli, serve_args)  # fmt: skip
    assert result.exit_code == 1
    assert "LabelsPerUnit 512 differs from the network's 256" in result.stderr
    result = CliRunner().invoke(cli, [*serve_args, "--labels-per-unit", "512"])
    assert result.exit_code == 1  # past the folder checks: the node is not there
    assert "cannot reach the node at http://127.0.0.1:1" in result.stderr
