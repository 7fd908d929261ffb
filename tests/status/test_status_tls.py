"""``status`` over the node's mutual-TLS listener (the stand-in with server credentials that
require a client certificate signed by the CA)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from click.testing import CliRunner

from mergetool.cli.main import cli
from tests.status.status_helpers import NAMES, NodeStandin
from tests.status.tls_certs import TlsSet, make_tls_set


@pytest.fixture(scope="module")
def tls() -> TlsSet:
    return make_tls_set()


@pytest.fixture
def tls_node(tls: TlsSet) -> Iterator[NodeStandin]:
    credentials = grpc.ssl_server_credentials(
        [(tls.node.key, tls.node.cert)], root_certificates=tls.ca.cert, require_client_auth=True
    )
    standin = NodeStandin(names=NAMES, server_credentials=credentials).start()
    try:
        yield standin
    finally:
        standin.stop()


def _status(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["status", "--connect-timeout", "3", *args])
    return result.exit_code, result.stdout, result.stderr


def test_post_states_over_mutual_tls(tls: TlsSet, tls_node: NodeStandin, tmp_path: Path) -> None:
    files = tls.write(tmp_path)
    flags = [
        "--ca-cert",
        str(files["ca"]),
        "--cert",
        str(files["cert"]),
        "--key",
        str(files["key"]),
    ]
    code, out, err = _status(
        "--node", f"https://127.0.0.1:{tls_node.port}", *flags, "--domain", "node.test", "--json"
    )
    assert (code, err) == (0, "")
    assert "alpha.key" in out and '"node_state": "IDLE"' in out


def test_a_node_certificate_from_another_ca_is_refused(
    tls: TlsSet, tls_node: NodeStandin, tmp_path: Path
) -> None:
    files = tls.write(tmp_path)
    code, out, err = _status(
        "--node", f"127.0.0.1:{tls_node.port}", "--ca-cert", str(files["other_ca"]),
        "--cert", str(files["cert"]), "--key", str(files["key"]), "--domain", "node.test",
    )  # fmt: skip
    assert code == 1
    assert err.startswith(f"Error: node 127.0.0.1:{tls_node.port}: PostStates failed (UNAVAILABLE")


def test_plaintext_to_the_tls_listener_is_an_error(tls_node: NodeStandin) -> None:
    code, out, err = _status("--node", f"127.0.0.1:{tls_node.port}")
    assert code == 1
    assert err.startswith(f"Error: node 127.0.0.1:{tls_node.port}: PostStates failed (")


def test_tls_files_that_are_no_pem_files_are_named(tls: TlsSet, tmp_path: Path) -> None:
    import os
    import threading

    files = tls.write(tmp_path)
    garbage, fifo = tmp_path / "garbage.pem", tmp_path / "fifo.pem"
    garbage.write_text("garbage\n")
    os.mkfifo(fifo)
    good = {"--ca-cert": files["ca"], "--cert": files["cert"], "--key": files["key"]}
    cases = [
        ("--ca-cert", garbage, "not a PEM certificate (no -----BEGIN CERTIFICATE----- line in it)"),
        (
            "--cert",
            files["key"],
            "not a PEM certificate (no -----BEGIN CERTIFICATE----- line in it)",
        ),
        ("--key", files["cert"], "not a PEM private key (no PRIVATE KEY----- line in it)"),
        ("--ca-cert", fifo, "cannot read it (it is a FIFO (named pipe), not a regular file)"),
    ]
    for flag, path, reason in cases:
        args = [a for f, p in {**good, flag: path}.items() for a in (f, str(p))]
        answer: list[tuple[int, str, str]] = []
        worker = threading.Thread(
            target=lambda a=args, out=answer: out.append(
                _status("--node", "https://127.0.0.1:1", *a)
            ),
            daemon=True,
        )
        worker.start()
        worker.join(10)
        assert answer, f"{flag} {path}: still blocked after 10 s"
        code, _, err = answer[0]
        assert code == 2
        assert err.endswith(f"Error: Invalid value for '{flag}': {path}: {reason}\n")
