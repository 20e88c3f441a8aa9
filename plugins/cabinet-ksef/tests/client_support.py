"""Shared pieces of the client tests: the fake KSeF wired to a client, keys and certificates."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cabinet_ksef.api import TokenCredentials
from cabinet_ksef.client import KsefClient
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from ksef_fake import NOW, FakeKsef

REPO = Path(__file__).resolve().parents[3]
FA3_EXAMPLE = REPO / "testdata" / "ksef-fa3" / "examples" / "FA_3_Przyklad_01.xml"
CLIENT_NIP = "5265877635"
BASE = "https://api-test.ksef.mf.gov.pl/v2"


def client_for(fake: FakeKsef, **kwargs: object) -> KsefClient:
    sleeps: list[float] = []
    client = KsefClient(
        BASE,
        transport=fake.transport(),
        clock=lambda: NOW,
        sleep=sleeps.append,
        **kwargs,  # type: ignore[arg-type]
    )
    client.sleeps = sleeps  # type: ignore[attr-defined]
    return client


def token_credentials(fake: FakeKsef, nip: str = CLIENT_NIP) -> TokenCredentials:
    token = f"20261201-EC-1DCE3E3000-12ECB5B36E-45|nip-{nip}|{'ab' * 32}"
    fake.valid_tokens[token] = nip
    return TokenCredentials(context_nip=nip, token=token)


def signer_certificate(
    kind: str = "rsa", *, nip: str = "1111111111", serial: int = 0x01F20A5D352AE590
) -> tuple[x509.Certificate, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey]:
    """A self-signed certificate like a KSeF one: NIP in serialNumber (OID 2.5.4.5)."""
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    key = (
        rsa.generate_private_key(65537, 2048)
        if kind == "rsa"
        else ec.generate_private_key(ec.SECP256R1())
    )
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "Biuro Rachunkowe"),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, f"TINPL-{nip}"),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "PL"),
        ]
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return certificate, key


def pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def key_pem(
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, password: bytes | None = None
) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
