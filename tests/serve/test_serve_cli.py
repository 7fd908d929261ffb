"""``mergetool serve`` on the command line: bad input, and SIGTERM on a real process."""

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
from click.testing import CliRunner

from mergetool.cli.main import cli
from tests.schema_check import loads_valid
from tests.serve.node_standin import NodeStandin
from tests.serve.serve_helpers import NODE_IDS

ADDRESS = "http://127.0.0.1:1"  # never dialled: every check here fails before connecting


def serve(*args: str) -> object:
    return CliRunner().invoke(cli, ["serve", "--preset", "test", *args])


def test_folder_defects_exit_1_naming_the_folder(
    post_dirs: Callable[[int], list[Path]], tmp_path: Path
) -> None:
    a, b = post_dirs(2)
    result = serve("--address", ADDRESS, "--dir", str(tmp_path))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {tmp_path}/postdata_metadata.json does not exist\n")
    (b / "postdata_3.bin").unlink()
    result = serve("--address", ADDRESS, "--dir", str(a), "--dir", str(b))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {b}/postdata_3.bin is missing\n")
    twin = shutil.copytree(a, tmp_path / "twin")
    result = serve("--address", ADDRESS, "--dir", str(a), "--dir", str(twin))
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"Error: {a.resolve()} and {twin} hold data of the same identity {NODE_IDS[0].hex()}\n"
    )
    result = serve("--address", ADDRESS, "--dir", str(a), "--max-units", "1")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {a}: NumUnits 2 is outside the network's [1, 1]\n")


def test_a_state_folder_that_cannot_be_made_is_refused_before_connecting(
    post_dirs: Callable[[int], list[Path]], tmp_path: Path
) -> None:
    (folder,) = post_dirs(1)
    (tmp_path / "file").write_text("")
    state = tmp_path / "file" / "state"
    result = serve("--address", ADDRESS, "--dir", str(folder), "--state-dir", str(state),
                   "--max-retries", "0")  # fmt: skip
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"Error: cannot use the state folder {state} of {folder.resolve()}: Not a directory\n"
        "Finished proofs are kept there; give --state-dir a writable folder.\n"
    )
    assert not (folder / ".mergetool.lock").exists()  # the lock is released


def test_incomplete_initialization_is_refused(post_dirs: Callable[[int], list[Path]]) -> None:
    (folder,) = post_dirs(1)
    meta = loads_valid((folder / "postdata_metadata.json").read_text(), "post-metadata")
    meta["Nonce"] = None
    (folder / "postdata_metadata.json").write_text(json.dumps(meta))
    result = serve("--address", ADDRESS, "--dir", str(folder))
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"Error: {folder}: the metadata has no Nonce: initialization is incomplete"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--address", "ftp://node:1"], "--address 'ftp://node:1': the scheme must be http://"),
        (["--address", "node"], "--address must be http://HOST:PORT or https://HOST:PORT"),
        (["--address", "https://node:1"], "an https:// address needs --ca-cert, --cert, --key"),
        (["--address", ADDRESS, "--nonces", "24"], "nonces must be a positive multiple of 16"),
        (["--address", ADDRESS, "--passes-per-disk", "0"], "Invalid value for '--passes-per-disk'"),
        (["--address", ADDRESS, "--log-format", "xml"], "Invalid value for '--log-format'"),
        (
            ["--address", ADDRESS, "--reconnect-interval-s", "-1"],
            "Invalid value for '--reconnect-interval-s'",
        ),
        (
            ["--address", ADDRESS, "--operator-address", "nonsense"],
            "Error: --operator-address must be HOST:PORT, got 'nonsense'",
        ),
        (
            ["--address", ADDRESS, "--remote-k2pow", "ftp://k2pow"],
            "Error: remote k2pow URL must look like http://HOST:PORT, got 'ftp://k2pow'",
        ),
        (
            ["--address", ADDRESS, "--remote-k2pow-parallelism", "0"],
            "Invalid value for '--remote-k2pow-parallelism'",
        ),
    ],
)
def test_bad_option_values_exit_2(
    post_dirs: Callable[[int], list[Path]], args: list[str], message: str
) -> None:
    (folder,) = post_dirs(1)
    result = serve(*args, "--dir", str(folder))
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "INFO" not in result.stderr  # refused before anything started
    assert "Traceback" not in result.output
    assert not (folder / ".mergetool.lock").exists()  # nothing written, nothing locked
    assert not (folder / ".mergetool-serve").exists()


def test_sigterm_stops_within_seconds_and_names_the_identity_mid_proof(
    node: NodeStandin, post_dirs: Callable[[int], list[Path]]
) -> None:
    (folder,) = post_dirs(1)
    hard_pow = "0000" + "ff" * 30  # k2pow takes minutes: the run is surely mid-proof
    proc = subprocess.Popen(
        [sys.executable, "-c", "from mergetool.cli.main import main; main()", "serve",
         "--preset", "test", "--address", node.address, "--dir", str(folder),
         "--pow-difficulty", hard_pow, "--nonces", "16", "--log-format", "json",
         "--reconnect-interval-s", "0.1"],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        node.wait_connected([NODE_IDS[0]], timeout=30)
        node.request_proof(NODE_IDS[0], bytes(32))
        node.wait_for(lambda n: n.identity(NODE_IDS[0]).still_proving >= 2)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=15)
        took = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stderr
    assert took < 8
    events = [loads_valid(line, "serve-event") for line in stderr.splitlines()]
    mid = [e for e in events if e["event"] == "stopped-mid-proof"]
    assert [e["node_id"] for e in mid] == [NODE_IDS[0].hex()]
    assert mid[0]["folder"] == str(folder.resolve()) and mid[0]["level"] == "warning"
    assert events[-1]["event"] == "stopped"
    assert events[-1]["mid_proof"] == [NODE_IDS[0].hex()]
    assert not (folder / ".mergetool.lock").exists()
    assert not os.path.exists(folder / ".mergetool-serve" / f"{NODE_IDS[0].hex()}.proof.json")


def test_tls_files_that_are_no_pem_files_exit_2_at_once(
    post_dirs: Callable[[int], list[Path]], tmp_path: Path
) -> None:
    (folder,) = post_dirs(1)
    fifo, text = tmp_path / "ca.fifo", tmp_path / "cert.txt"
    os.mkfifo(fifo)  # reading it would wait for a writer for ever
    text.write_text("not a certificate\n")
    tls = ["--address", "https://127.0.0.1:1", "--key", str(text), "--dir", str(folder)]
    result = serve(*tls, "--ca-cert", str(fifo), "--cert", str(text))
    assert result.exit_code == 2, result.output
    assert (
        f"Error: {fifo}: cannot read it (it is a FIFO (named pipe), not a regular file)"
        in result.stderr
    )
    result = serve(*tls, "--ca-cert", str(text), "--cert", str(text))
    assert result.exit_code == 2, result.output
    assert f"{text}: not a PEM certificate (no -----BEGIN CERTIFICATE----- line" in result.stderr
    assert not (folder / ".mergetool.lock").exists()
