"""A throw-away CA, a node (server) certificate and a client certificate, for mutual TLS
over loopback in tests. Made fresh per test session; nothing here is secret."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class Pem:
    cert: bytes
    key: bytes


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _issue(
    name: str, issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None, dns: str | None
) -> tuple[Pem, x509.Name, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    issuer_name, issuer_key = issuer if issuer else (subject, key)
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if dns:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(dns)]), False)
    cert = builder.sign(issuer_key, hashes.SHA256())
    return Pem(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)), subject, key


@dataclass(frozen=True)
class TlsSet:
    ca: Pem
    node: Pem
    client: Pem
    other_ca: Pem

    def write(self, root: Path) -> dict[str, Path]:
        files = {
            "ca": self.ca.cert, "cert": self.client.cert, "key": self.client.key,
            "other_ca": self.other_ca.cert,
        }  # fmt: skip
        for name, data in files.items():
            (root / f"{name}.pem").write_bytes(data)
        return {name: root / f"{name}.pem" for name in files}


def make_tls_set() -> TlsSet:
    ca, ca_name, ca_key = _issue("test CA", None, None)
    node, _, _ = _issue("node", (ca_name, ca_key), "node.test")
    client, _, _ = _issue("post service", (ca_name, ca_key), None)
    other, _, _ = _issue("other CA", None, None)
    return TlsSet(ca, node, client, other)
