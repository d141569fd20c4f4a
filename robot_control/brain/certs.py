"""Development PKI for the brain's gRPC link: a CA, a server cert and a client cert.

`ensure_dev_certs(folder)` creates (once) with the `cryptography` package:

* ``ca.pem`` / ``ca.key``: a self-signed EC P-256 CA,
* ``server.pem`` / ``server.key``: server certificate for localhost, 127.0.0.1 and ::1
  (plus extra names), EKU serverAuth,
* ``client.pem`` / ``client.key``: client certificate for mTLS, EKU clientAuth.

Private keys are written with mode 0600. These are for development and tests; production
deployments mount certificates issued by their own CA in the same file layout.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

FILES = ("ca.pem", "ca.key", "server.pem", "server.key", "client.pem", "client.key")


@dataclass(frozen=True)
class CertPaths:
    folder: Path

    @property
    def ca(self) -> Path:
        return self.folder / "ca.pem"

    @property
    def server_cert(self) -> Path:
        return self.folder / "server.pem"

    @property
    def server_key(self) -> Path:
        return self.folder / "server.key"

    @property
    def client_cert(self) -> Path:
        return self.folder / "client.pem"

    @property
    def client_key(self) -> Path:
        return self.folder / "client.key"


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "robot_control dev"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    data = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def _issue(subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name,
           issuer_key: ec.EllipticCurvePrivateKey, *, ca: bool, days: int,
           sans: list[x509.GeneralName] | None = None, usage: list | None = None) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder()
               .subject_name(_name(subject)).issuer_name(issuer)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
            key_encipherment=False, data_encipherment=False, key_agreement=False,
            encipher_only=False, decipher_only=False), critical=True)
    else:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=False, crl_sign=False, content_commitment=False,
            key_encipherment=False, data_encipherment=False, key_agreement=True,
            encipher_only=False, decipher_only=False), critical=True)
        builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            issuer_key.public_key()), critical=False)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    if usage:
        builder = builder.add_extension(x509.ExtendedKeyUsage(usage), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def create_dev_certs(folder: str | Path, hosts: tuple[str, ...] = (), days: int = 365) -> CertPaths:
    """Create a fresh CA + server + client certificate set in `folder` (overwrites)."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = _issue("robot_control dev CA", ca_key, _name("robot_control dev CA"), ca_key, ca=True, days=days)
    sans: list[x509.GeneralName] = [x509.DNSName("localhost")]
    for ip in ("127.0.0.1", "::1"):
        sans.append(x509.IPAddress(ipaddress.ip_address(ip)))
    for host in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            sans.append(x509.DNSName(host))
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = _issue("brain server", server_key, ca_cert.subject, ca_key, ca=False, days=days,
                         sans=sans, usage=[ExtendedKeyUsageOID.SERVER_AUTH])
    client_key = ec.generate_private_key(ec.SECP256R1())
    client_cert = _issue("robot bridge", client_key, ca_cert.subject, ca_key, ca=False, days=days,
                         sans=[x509.DNSName("robot-bridge")], usage=[ExtendedKeyUsageOID.CLIENT_AUTH])
    pem = serialization.Encoding.PEM
    (out / "ca.pem").write_bytes(ca_cert.public_bytes(pem))
    _write_key(out / "ca.key", ca_key)
    (out / "server.pem").write_bytes(server_cert.public_bytes(pem))
    _write_key(out / "server.key", server_key)
    (out / "client.pem").write_bytes(client_cert.public_bytes(pem))
    _write_key(out / "client.key", client_key)
    return CertPaths(out)


def ensure_dev_certs(folder: str | Path, hosts: tuple[str, ...] = ()) -> CertPaths:
    """Reuse the certificate set in `folder` if complete, else create it."""
    out = Path(folder)
    if all((out / f).is_file() for f in FILES):
        return CertPaths(out)
    return create_dev_certs(out, hosts)
