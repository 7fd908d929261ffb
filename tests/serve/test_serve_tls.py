"""Mutual TLS (an https:// address) with certificates made here, as the node's TLS listener."""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mergetool.nodeapi.address import read_tls
from tests.serve.node_standin import NodeStandin
from tests.serve.serve_helpers import NODE_IDS, config_for, serving
from tests.serve.test_serve_proofs import check_proof

CHALLENGE = bytes(32)  # an initial proof's challenge: 32 zero bytes


def _pem(obj: object) -> bytes:
    if isinstance(obj, x509.Certificate):
        return obj.public_bytes(serialization.Encoding.PEM)
    return obj.private_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _cert(
    name: str, key: object, issuer: tuple[x509.Name, object] | None, *, ca: bool
) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    issuer_name, signer = issuer or (subject, key)
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(issuer_name)
        .public_key(key.public_key())  # type: ignore[attr-defined]
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )  # fmt: skip
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("node.test"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
    return builder.sign(signer, hashes.SHA256())  # type: ignore[arg-type]


def make_pki(root: Path, name: str) -> dict[str, Path]:
    """A CA, a server certificate for node.test / 127.0.0.1 and a client certificate (PEM)."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert(f"{name} CA", ca_key, None, ca=True)
    files = {"ca": ca}
    for who in ("server", "client"):
        key = ec.generate_private_key(ec.SECP256R1())
        files[who] = _cert(f"{name} {who}", key, (ca.subject, ca_key), ca=False)
        files[f"{who}-key"] = key
    paths = {}
    for label, obj in files.items():
        paths[label] = root / f"{name}-{label}.pem"
        paths[label].write_bytes(_pem(obj))
    return paths


@pytest.fixture
def tls_node(tmp_path: Path) -> Iterator[tuple[NodeStandin, dict[str, Path]]]:
    pki = make_pki(tmp_path, "node")
    credentials = grpc.ssl_server_credentials(
        [(pki["server-key"].read_bytes(), pki["server"].read_bytes())],
        root_certificates=pki["ca"].read_bytes(),
        require_client_auth=True,
    )
    standin = NodeStandin(poll_interval_s=0.05, server_credentials=credentials).start()
    try:
        yield standin, pki
    finally:
        standin.stop()


def test_mutual_tls_delivers_a_proof(
    tls_node: tuple[NodeStandin, dict[str, Path]], post_dirs: Callable[[int], list[Path]]
) -> None:
    node, pki = tls_node
    tls = read_tls(pki["ca"], pki["client"], pki["client-key"], "node.test")
    assert node.address.startswith("https://")
    with serving(config_for(node.address, post_dirs(1), tls=tls)):
        node.wait_connected([NODE_IDS[0]])
        node.request_proof(NODE_IDS[0], CHALLENGE)
        check_proof(node.wait_proof(NODE_IDS[0], timeout=60), NODE_IDS[0], CHALLENGE)


def test_a_client_certificate_the_node_does_not_trust_is_reported_with_the_address(
    tls_node: tuple[NodeStandin, dict[str, Path]],
    post_dirs: Callable[[int], list[Path]],
    tmp_path: Path,
) -> None:
    node, pki = tls_node
    stranger = make_pki(tmp_path, "stranger")
    tls = read_tls(pki["ca"], stranger["client"], stranger["client-key"], "node.test")
    with serving(config_for(node.address, post_dirs(1), tls=tls)) as run:
        event = run.wait_event("disconnected")
    assert event.level == "warning"
    assert event.message.startswith(f"cannot reach the node at {node.address} over TLS: ")
    assert "(check --ca-cert, --cert, --key and --domain" in event.message
    assert not node.connected(NODE_IDS[0])
