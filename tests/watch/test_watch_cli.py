"""``mergetool watch``: the exact header and table, ``--json``, the errors and exit codes."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from mergetool.cli.main import cli
from mergetool.nodeapi.proto import v2alpha1_pb2 as v2
from tests.schema_check import loads_valid
from tests.watch.node_standin import PRIVATE
from tests.watch.scenario import Scenario, build


@pytest.fixture(autouse=True)
def _utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time is UTC here, so the output is the same on every machine."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["watch", *args])
    return result.exit_code, result.stdout, result.stderr


def _short(node_id: bytes) -> str:
    return f"{node_id.hex()[:8]}…{node_id.hex()[-4:]}"


def _gap(s: Scenario) -> tuple[str, str]:
    start = s.node.epoch_start(5).timestamp() + 50 * 60
    end = start + 20 * 60
    fmt = "%Y-%m-%d %H:%M"
    return (time.strftime(fmt, time.gmtime(start)), time.strftime(fmt, time.gmtime(end)))


def test_three_healthy_identities_exit_0(s: Scenario) -> None:
    ids = [s.healthy(n) for n in ("alpha", "beta", "gamma")]
    code, out, err = _run("--config", str(s.config), "--node-dir", str(s.node_dir))
    start, end = _gap(s)
    rows = "\n".join(
        f"{n.ljust(5)}  {_short(i)}  4 → 5  -         layer 490, 3.5 SMH  IDLE  earning"
        for n, i in zip(("alpha", "beta", "gamma"), ids, strict=True)
    )
    assert out == (
        "Node: synced, layer 520 (epoch 5), 20 peers\n"
        f"Next cycle gap (epoch 5): {start} UTC → {end} UTC, starts in 29 min\n"
        f"  local time: {start} UTC → {end} UTC\n"
        "NAME   NODE ID        ATX    ELIGIBLE  REWARDS (E4)        POST  VERDICT\n"
        f"{rows}\n"
        "Every identity is earning or on track.\n"
    ), out
    assert (code, err) == (0, "")


def test_attention_exit_1_with_next_steps(s: Scenario) -> None:
    s.healthy("alpha")
    bad = s.healthy("bad")
    s.node.malfeasance.append(v2.MalfeasanceProof(smesher=bad, domain=1, type=1))
    added = s.add_key("added", loaded=False)
    code, out, err = _run("--config", str(s.config), "--node-dir", str(s.node_dir))
    assert code == 1 and err == ""
    assert f"added  {_short(added)}  -      -         never, 0 SMH        -     not loaded" in out
    assert out.rstrip().endswith("Needs attention: 2 of 3 identities.")
    assert "  added: The node reads identities/*.key only at start-up: restart the node." in out
    assert "banned: double-published ATX" in out and "not loaded by the node: restart it" in out


def test_json_is_the_report(s: Scenario) -> None:
    s.healthy("alpha")
    code, out, _ = _run("--config", str(s.config), "--json")
    doc = loads_valid(out, "watch")
    assert code == 0 and doc["format"] == "mergetool-watch/1"
    assert doc["identities"][0]["verdict"]["code"] == "earning"
    assert doc["identities"][0]["name"] == "alpha"  # from PostStates' key file name
    assert doc["clock"]["epoch"] == 5 and doc["errors"] == []


def test_wrong_listener_names_the_flag(tmp_path: Path) -> None:
    s = build(tmp_path)
    s.node.start(public=PRIVATE)
    try:
        s.healthy("alpha")
        public = s.node.address("public")
        code, out, err = _run("--private", s.node.address("private"), "--public", public)
    finally:
        s.node.stop()
    assert code == 1
    assert (
        f"Error: {public} does not serve spacemesh.v2alpha1.NodeService: point --public at "
        "grpc-public-listener (Or add NodeService to api.grpc-public-services in the node's "
        "config.)\n"
    ) in err
    assert "Traceback" not in out + err
    assert f"-     {_short(s.id('alpha'))}  -" in out  # no name without PostStates, --node-dir
    assert "unknown: the node's public listener did not answer" in out
    assert "Point --public at the node's grpc-public-listener." in out


def test_unreachable_listener_in_bounded_time(s: Scenario) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"127.0.0.1:{sock.getsockname()[1]}"
    started = time.monotonic()
    code, out, err = _run("--private", closed, "--public", closed, "--connect-timeout", "1")
    assert time.monotonic() - started < 6
    assert code == 1 and "Traceback" not in err
    assert err.startswith(f"Error: {closed}: ")
    assert err.count("Error:") == 1, err
    assert out.startswith("Node: no answer from its public listener\nNo identities to show.\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--public", "ftp://x:1"], "--public 'ftp://x:1': the scheme must be http:// or https://"),
        (["--operator", "a=ftp://x"], "--operator 'a=ftp://x': expected an http(s) URL"),
        (["--connect-timeout", "nan"], "'nan' is not a number of seconds"),
    ],
)
def test_bad_usage_exits_2(args: list[str], message: str) -> None:
    code, _, err = _run(*args)
    assert code == 2 and message in err, err
    assert "Traceback" not in err


def test_a_bad_config_names_the_file(tmp_path: Path) -> None:
    config = tmp_path / "c.json"
    config.write_text('{"poet": {"cycle-gap": "12 hours"}}')
    code, _, err = _run("--config", str(config))
    assert code == 1 and err.startswith(f"Error: {config}: poet.cycle-gap: not a duration"), err


def test_the_command_is_listed() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert "watch" in result.stdout
    assert os.environ.get("TZ") == "UTC"


def test_a_node_not_synced_needs_attention(s: Scenario) -> None:
    s.healthy("alpha")
    s.node.sync = "syncing"
    code, out, _ = _run("--config", str(s.config))
    assert code == 1
    assert out.startswith("Node: syncing, layer 520 (epoch 5), 20 peers\n")
    assert out.endswith("The node is syncing: it publishes nothing until it is synced.\n")
