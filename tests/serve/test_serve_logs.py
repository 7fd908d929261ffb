"""What ``serve`` writes to stderr and how it treats the node's refusals: every line JSON with
``--log-format json`` (gRPC's C core included), and a second service for an identity never
logged as connected."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.serve.node_standin import ALREADY_REGISTERED, NodeStandin
from tests.serve.serve_helpers import NODE_IDS, config_for, serving

ENTRY = "from mergetool.cli.main import main; main()"


@pytest.fixture
def serve_process() -> Iterator[Callable[..., subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []

    def start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-c", ENTRY, "serve", "--preset", "test", "--randomx-mode",
             "light", "--reconnect-interval-s", "0.1", *args],
            stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})},
        )  # fmt: skip
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_every_line_is_json_even_when_the_node_goes_away(
    post_dirs: Callable[[int], list[Path]], serve_process: Callable[..., subprocess.Popen[str]]
) -> None:
    (folder,) = post_dirs(1)
    node = NodeStandin().start()
    try:
        # The C core's INFO lines too, as with GRPC_VERBOSITY set in a unit file.
        proc = serve_process("--address", node.address, "--dir", str(folder),
                             "--log-format", "json", env={"GRPC_VERBOSITY": "INFO"})  # fmt: skip
        node.wait_connected([NODE_IDS[0]], timeout=30)
        time.sleep(0.7)  # past the stream's confirmation
    finally:
        node.stop()  # the node goes away: gRPC's C core has its say ("Got goaway" & co)
    time.sleep(1.5)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    lines = err.splitlines()
    events = [json.loads(line) for line in lines]  # raises on the first line that is not JSON
    kinds = [e["event"] for e in events]
    assert kinds[-1] == "stopped"
    assert "connected" in kinds and "disconnected" in kinds
    assert any(e["event"] == "log" for e in events), "no line of gRPC's C core to wrap"
    started = next(e for e in events if e["event"] == "started")
    assert started["message"].startswith("serving 1 identity for the node at ")


def test_a_second_service_for_an_identity_is_never_connected_and_backs_off(
    node: NodeStandin, post_dirs: Callable[[int], list[Path]], tmp_path: Path
) -> None:
    (folder,) = post_dirs(1)
    copy = Path(shutil.copytree(folder, tmp_path / "copy"))  # the same identity elsewhere
    with serving(config_for(node.address, [folder])):
        node.wait_connected([NODE_IDS[0]])
        with serving(config_for(node.address, [copy], max_retries=0)) as second:
            second.wait_event("disconnected")
            time.sleep(2.0)
            kinds = second.kinds()
    assert "connected" not in kinds
    refusals = node.refusals.count(ALREADY_REGISTERED)
    # Every 0.1 s would be ~20 in 2 s; doubling waits make it 5 (0.1+0.2+0.4+0.8+1.6 s).
    assert 2 <= refusals <= 6, refusals
    # max_retries=0 did not end it: the node was reached, a refusal is not a failed connect
    assert "stopped" not in kinds and second.error is None


def test_metrics_have_every_series_from_the_start(
    node: NodeStandin, post_dirs: Callable[[int], list[Path]]
) -> None:
    with serving(config_for(node.address, post_dirs(2))) as run:
        status, text = run.get("/metrics")
    assert status == 200
    for node_id in NODE_IDS[:2]:
        label = f'{{identity="{node_id.hex()}"}}'
        for name in ("passes", "bytes_read", "proofs", "proofs_delivered", "errors"):
            assert f"mergetool_{name}_total{label} 0.0" in text, name
        assert f"mergetool_proof_duration_seconds_count{label} 0.0" in text
        assert f"mergetool_k2pow_duration_seconds_count{label} 0.0" in text
        assert f"mergetool_connected{label} " in text
