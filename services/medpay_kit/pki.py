"""A local certificate authority for mTLS: ``python -m medpay_kit.pki var/pki``.

Creates, when missing, a CA and one certificate + key per service (common name = the
service name, which is how a server recognises a medpay service calling it), a ``client``
certificate for tools and tests, and the operator and app-client credentials. Existing
files are kept, so running it twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from medpay_kit.auth import issue_credential

IDENTITIES = ("identity", "card", "pharmacy", "billing", "echo", "client")
VALID_DAYS = 825


def _write_private(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    os.chmod(path, 0o600)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "medpay"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _ensure_ca(pki: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert_path, key_path = pki / "ca.pem", pki / "ca.key"
    if cert_path.exists() and key_path.exists():
        key = serialization.load_pem_private_key(key_path.read_bytes(), None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return x509.load_pem_x509_certificate(cert_path.read_bytes()), key
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("medpay local CA")).issuer_name(_name("medpay local CA"))
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS * 2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .sign(key, hashes.SHA256())
    )
    _write_private(key_path, _key_pem(key))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


def _ensure_leaf(pki: Path, name: str, ca: x509.Certificate,
                 ca_key: ec.EllipticCurvePrivateKey) -> None:
    cert_path, key_path = pki / f"{name}.pem", pki / f"{name}.key"
    if cert_path.exists() and key_path.exists():
        return
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    sans = [x509.DNSName("localhost"), x509.DNSName(name), x509.DNSName(f"medpay-{name}"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.IPAddress(ipaddress.ip_address("::1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(name)).issuer_name(ca.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                              ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    _write_private(key_path, _key_pem(key))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _ensure_token(pki: Path, filename: str, prefix: str, cred_id: str) -> None:
    path = pki / filename
    if not path.exists():
        _write_private(path, (issue_credential(prefix, cred_id).token + "\n").encode())


def ensure_pki(pki: Path, identities: tuple[str, ...] = IDENTITIES) -> Path:
    """Create whatever is missing under ``pki``; return the folder."""
    pki.mkdir(parents=True, exist_ok=True)
    ca, ca_key = _ensure_ca(pki)
    for name in identities:
        _ensure_leaf(pki, name, ca, ca_key)
    _ensure_token(pki, "operator.token", "op", "operator")
    _ensure_token(pki, "app.token", "app", "medpayapp")
    return pki


if __name__ == "__main__":
    target = ensure_pki(Path(sys.argv[1] if len(sys.argv) > 1 else "var/pki"))
    print(f"certificates and credentials ready in {target}")
