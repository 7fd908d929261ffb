"""``mergetool status``: the rows, ``--json``, ``--wait-safe`` and exit codes (here rather
than in tests/cli: it needs this folder's stand-in and operator API fixtures)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from mergetool.cli.main import cli
from mergetool.post.operator_api import OperatorServer
from tests.schema_check import loads_valid
from tests.status.status_helpers import (
    ALPHA,
    BETA,
    IdentitiesServer,
    NodeStandin,
    serve_entry,
    url_of,
)


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["status", *args])
    return result.exit_code, result.stdout, result.stderr


def test_rows_and_verdict(
    node: NodeStandin, node_address: str, post_rs: OperatorServer, serve_api: IdentitiesServer
) -> None:
    node.request_proof(BETA, bytes(32))
    serve_api.serve(
        serve_entry(BETA, "proving", phase={"name": "reading", "bytes_read": 1, "bytes_total": 4})
    )
    code, out, err = _run(
        "--node",
        node_address,
        "--operator",
        f"alpha={url_of(post_rs)}",
        "--operator",
        url_of(serve_api),
    )
    assert (code, err) == (0, "")
    a, b = ALPHA.hex(), BETA.hex()
    assert out.splitlines() == [
        "NAME       NODE ID        NODE     SERVICE       SAFE TO STOP",
        f"alpha.key  {a[:8]}…{a[-4:]}  IDLE     idle          yes",
        f"beta.key   {b[:8]}…{b[-4:]}  PROVING  reading 25 %  no: the node is waiting for a proof "
        "(PROVING); the service is proving (reading 25 %)",
        "Not safe to stop yet.",
    ]


def test_json_shape(node_address: str, post_rs: OperatorServer) -> None:
    code, out, err = _run(
        "--node", node_address, "--operator", f"alpha={url_of(post_rs)}",
        "--operator", f"beta.key={url_of(post_rs)}", "--json",
    )  # fmt: skip
    assert (code, err) == (0, "")
    doc = loads_valid(out, "status")
    assert set(doc) == {"format", "node", "safe_to_stop", "identities", "errors"}
    assert doc["safe_to_stop"] is True and doc["errors"] == []
    assert [(i["name"], i["node_id"], i["node_state"], i["service_state"], i["safe_to_stop"])
            for i in doc["identities"]] == [
        ("alpha.key", ALPHA.hex(), "IDLE", "idle", True),
        ("beta.key", BETA.hex(), "IDLE", "idle", True),
    ]  # fmt: skip


def test_an_unreachable_node_exits_1_with_its_address(closed_port: int) -> None:
    code, out, err = _run("--node", f"127.0.0.1:{closed_port}", "--connect-timeout", "2")
    assert code == 1
    assert (
        out
        == "No identities to show.\nNot safe to stop: not everything answered (see the errors).\n"
    )
    assert err.startswith(f"Error: node 127.0.0.1:{closed_port}: PostStates failed (UNAVAILABLE")


def test_an_unreachable_service_exits_1_in_json_too(node_address: str, closed_port: int) -> None:
    gone = f"http://127.0.0.1:{closed_port}"
    code, out, err = _run("--node", node_address, "--operator", gone, "--json")
    assert (code, err) == (1, "")
    assert loads_valid(out, "status")["errors"] == [
        f"service {gone}/identities: no answer (Connection refused)"
    ]


def test_wait_safe_exits_0_when_safe_and_1_at_the_timeout(
    node: NodeStandin, node_address: str, post_rs: OperatorServer
) -> None:
    ops = ["--operator", f"alpha={url_of(post_rs)}", "--operator", f"beta={url_of(post_rs)}"]
    code, out, err = _run("--node", node_address, *ops, "--wait-safe", "--timeout", "5")
    assert (code, err) == (0, "")
    assert out.endswith("Safe to stop: every identity.\n")
    post_rs.set_done()
    code, out, err = _run("--node", node_address, *ops, "--wait-safe", "--timeout", "0")
    assert code == 1
    assert err == "waiting: 0 of 2 safe to stop\n"
    assert out.endswith("Not safe to stop yet.\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--node", "localhost"],
            "Error: --node must be http://HOST:PORT or https://HOST:PORT, got 'localhost'",
        ),
        (
            ["--node", "127.0.0.1:1", "--operator", "ftp://x"],
            "Error: --operator 'ftp://x': expected",
        ),
        (
            ["--node", "127.0.0.1:1", "--domain", "node"],
            "Error: an https:// address needs --ca-cert, --cert, --key",
        ),
        (["--node", "127.0.0.1:1", "--timeout", "-1"], "Invalid value for '--timeout'"),
        (["--operator", "x"], "Missing option '--node'"),
        (
            ["--node", "127.0.0.1:1", "--wait-safe", "--timeout", "nan"],
            "Error: Invalid value for '--timeout': 'nan' is not a number of seconds\n",
        ),
        (
            ["--node", "127.0.0.1:1", "--wait-safe", "--interval", "inf"],
            "Error: Invalid value for '--interval': 'inf' is not a number of seconds\n",
        ),
        (
            ["--node", "127.0.0.1:1", "--wait-safe", "--interval", "1e308"],
            "Error: Invalid value for '--interval': 1e+308 is not in the range 0.1<=x<=3600.",
        ),
        (
            ["--node", "127.0.0.1:1", "--connect-timeout", "NaN"],
            "Error: Invalid value for '--connect-timeout': 'NaN' is not a number of seconds\n",
        ),
        (
            ["--node", "127.0.0.1:1", "--timeout", "5", "--interval", "1"],
            "Error: --timeout and --interval only apply with --wait-safe (--connect-timeout "
            "bounds the wait for each answer)\n",
        ),
    ],
)
def test_bad_option_values_exit_2(args: list[str], message: str, tmp_path: Path) -> None:
    code, out, err = _run(*args)
    assert code == 2, (out, err)
    assert message in err
