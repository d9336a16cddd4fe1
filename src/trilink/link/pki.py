"""A small local certificate authority for the NATS link (mutual TLS).

Every NATS connection in a trilink deployment is mutual TLS: the server proves
its host name to the client, the client proves *who it is* to the server, and
the server maps the client certificate's subject to a user of one account
(nats-server ``verify_and_map``). This module writes the files that takes:

- one CA certificate and key (:func:`create_ca`);
- one server certificate per NATS server (:func:`issue_server_cert`), with
  subject alternative names DNS ``localhost``, IP ``127.0.0.1`` and the real
  host names and addresses of the site;
- one client certificate per user (:func:`issue_client_cert`), whose subject
  is ``CN=<user>,OU=<account>,O=trilink`` (:func:`subject_dn`): that exact
  string is the user name in the generated server configuration, so the
  certificate *is* the identity and the account binding.

Keys are ECDSA P-256, written with mode 0600. The functions are pure in the
sense that matters here: they depend only on their arguments (and the clock
for the validity window), write files and return their paths; nothing is
cached. Real deployments may use any CA (an organisational PKI) as long as the
client certificate subjects follow :func:`subject_dn`.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "ORGANISATION",
    "CertificateAuthority",
    "TlsFiles",
    "create_ca",
    "issue_client_cert",
    "issue_server_cert",
    "subject_dn",
]

ORGANISATION = "trilink"
"""The ``O=`` attribute of every certificate subject this module writes."""

_DEFAULT_VALID_DAYS = 825  # the CA/Browser Forum's former maximum for leaf certificates


@dataclass(frozen=True, kw_only=True)
class CertificateAuthority:
    """Paths of a CA certificate and its private key (PEM)."""

    cert_path: Path
    key_path: Path


@dataclass(frozen=True, kw_only=True)
class TlsFiles:
    """What one TLS endpoint needs: its certificate, its key and the CA to trust (PEM)."""

    cert_path: Path
    key_path: Path
    ca_path: Path


def subject_dn(common_name: str, account: str) -> str:
    """The RFC 4514 subject string of a client certificate, as nats-server matches it.

    ``subject_dn("jp-c2", "JP") == "CN=jp-c2,OU=JP,O=trilink"``. This string is
    the user name in the server configuration: a certificate with this subject,
    signed by the deployment's CA, authenticates as that user.
    """
    _check_name_part("common_name", common_name)
    _check_name_part("account", account)
    return f"CN={common_name},OU={account},O={ORGANISATION}"


def create_ca(
    directory: Path, *, common_name: str = "trilink link CA", valid_days: int = 3650
) -> CertificateAuthority:
    """Write a self-signed CA certificate and key into ``directory``; return their paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path = directory / "ca.crt"
    key_path = directory / "ca.key"
    _write_key(key_path, key)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return CertificateAuthority(cert_path=cert_path, key_path=key_path)


def issue_server_cert(
    ca: CertificateAuthority,
    directory: Path,
    name: str,
    *,
    hostnames: Sequence[str] = (),
    ip_addresses: Sequence[str] = (),
    valid_days: int = _DEFAULT_VALID_DAYS,
) -> TlsFiles:
    """Write ``<name>.crt``/``<name>.key`` for a NATS server; return the TLS file paths.

    Subject alternative names: DNS ``localhost`` and IP ``127.0.0.1`` always,
    plus ``hostnames`` (e.g. ``nats.hub.example.mil``) and ``ip_addresses`` of
    the real site. Extended key usage: server *and* client authentication (a
    server certificate may also be presented when the server dials out).
    """
    _check_name_part("name", name)
    dns = ["localhost", *[h for h in hostnames if h != "localhost"]]
    ips = ["127.0.0.1", *[a for a in ip_addresses if a != "127.0.0.1"]]
    san = [x509.DNSName(h) for h in dns] + [x509.IPAddress(ipaddress.ip_address(a)) for a in ips]
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
        ]
    )
    return _issue(
        ca,
        Path(directory),
        name,
        subject,
        san=san,
        usages=[ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],
        valid_days=valid_days,
    )


def issue_client_cert(
    ca: CertificateAuthority,
    directory: Path,
    common_name: str,
    *,
    account: str,
    valid_days: int = _DEFAULT_VALID_DAYS,
) -> TlsFiles:
    """Write a client certificate with subject :func:`subject_dn` ``(common_name, account)``.

    Used both by client processes (a national C2 node, the hub's fusion process)
    and by a leaf server dialling the hub: the hub maps the subject to a user of
    ``account``. Files are ``<account>-<common_name>.crt``/``.key`` in ``directory``.
    """
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, account),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    _check_name_part("common_name", common_name)
    _check_name_part("account", account)
    return _issue(
        ca,
        Path(directory),
        f"{account.lower()}-{common_name}",
        subject,
        san=[],
        usages=[ExtendedKeyUsageOID.CLIENT_AUTH],
        valid_days=valid_days,
    )


def _issue(
    ca: CertificateAuthority,
    directory: Path,
    stem: str,
    subject: x509.Name,
    *,
    san: list[x509.GeneralName],
    usages: list[x509.ObjectIdentifier],
    valid_days: int,
) -> TlsFiles:
    ca_cert = x509.load_pem_x509_certificate(Path(ca.cert_path).read_bytes())
    ca_key = serialization.load_pem_private_key(Path(ca.key_path).read_bytes(), password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise TypeError(f"{ca.key_path}: expected an EC private key, got {type(ca_key).__name__}")
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_encipherment=False,
                key_agreement=True,
                content_commitment=False,
                data_encipherment=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
    )
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    directory.mkdir(parents=True, exist_ok=True)
    cert_path = directory / f"{stem}.crt"
    key_path = directory / f"{stem}.key"
    _write_key(key_path, key)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return TlsFiles(cert_path=cert_path, key_path=key_path, ca_path=Path(ca.cert_path))


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    """Write a PEM private key readable by its owner only (mode 0600, also when replacing)."""
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    if path.exists():
        path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)


def _check_name_part(field: str, value: str) -> None:
    bad = set(value) & set(',+"\\<>;=/ \t\n')
    if not value or bad:
        raise ValueError(
            f'{field}={value!r}: expected a non-empty name without spaces or any of ,+"\\<>;=/'
        )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
