"""A client's KSeF credentials: built from a pasted token or uploaded files (PEM, PKCS#12),
refused with a field error when they cannot work, and sealed at rest."""

from __future__ import annotations

import datetime as dt

import pytest
from cabinet_core.errors import ValidationError
from cabinet_ksef.api import CertificateCredentials, TokenCredentials
from cabinet_ksef.credentials import (
    TOKEN_LEGAL_END,
    CredentialVault,
    certificate_credentials,
    token_credentials,
)
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from plugin_fakes import NOW, SELLER_NIP, FakePort, certificate_pair


def fields(error: pytest.ExceptionInfo[ValidationError]) -> list[tuple[str, str]]:
    return [(e.field, e.code) for e in error.value.errors]


def test_a_token_is_sealed_and_opened_and_valid_at_most_until_the_legal_end() -> None:
    port = FakePort()
    vault = CredentialVault(Fernet.generate_key(), port)
    token = "20261201-EC-2F1B3C4D5E-6F7A8B9C0D-1E|nip-5265877635|" + "a" * 64
    info = vault.keep(1, token_credentials(SELLER_NIP, token), now=NOW, valid_until=None)
    assert info.method == "token" and info.valid_until == TOKEN_LEGAL_END
    assert dt.datetime(2026, 12, 31, 23, 0, tzinfo=dt.UTC) == TOKEN_LEGAL_END
    sealed = port.client_state(1, "credentials")
    assert token not in sealed and "a" * 64 not in sealed
    assert (1, "credentials") in port.secret_keys and (
        1,
        "credentials_info",
    ) not in port.secret_keys
    assert vault.credentials(1) == TokenCredentials(context_nip=SELLER_NIP, token=token)
    assert vault.info(1) == info


def test_credentials_sealed_under_another_key_are_not_readable() -> None:
    port = FakePort()
    CredentialVault(Fernet.generate_key(), port).keep(
        1, token_credentials(SELLER_NIP, "tok"), now=NOW, valid_until=None
    )
    other = CredentialVault(Fernet.generate_key(), port)
    assert other.credentials(1) is None
    assert other.info(1) is not None  # the page can say "enter them again"


@pytest.mark.parametrize("token", ["", "   ", "two words", "ż" * 10])
def test_a_token_that_cannot_be_one_is_refused_at_its_field(token: str) -> None:
    with pytest.raises(ValidationError) as error:
        token_credentials(SELLER_NIP, token)
    assert fields(error)[0][0] == "token"


def test_a_pem_certificate_and_an_encrypted_key_become_credentials() -> None:
    cert, _key, private, _ = certificate_pair()
    encrypted = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"haslo"),
    )
    made = certificate_credentials(SELLER_NIP, cert, encrypted, b"haslo", now=NOW)
    assert isinstance(made, CertificateCredentials)
    assert b"ENCRYPTED" not in made.private_key_pem
    port = FakePort()
    vault = CredentialVault(Fernet.generate_key(), port)
    info = vault.keep(1, made, now=NOW, valid_until=None)
    assert info.method == "certificate" and "Biuro Rachunkowe" in info.subject
    assert info.valid_until is not None and info.valid_until > NOW
    assert vault.credentials(1) == made

    with pytest.raises(ValidationError) as missing_password:
        certificate_credentials(SELLER_NIP, cert, encrypted, None, now=NOW)
    assert fields(missing_password) == [("password", "required")]
    with pytest.raises(ValidationError) as wrong_password:
        certificate_credentials(SELLER_NIP, cert, encrypted, b"zle", now=NOW)
    assert fields(wrong_password) == [("private_key", "unreadable")]


def test_a_pkcs12_bundle_becomes_credentials() -> None:
    _cert, _key, private, certificate = certificate_pair()
    bundle = pkcs12.serialize_key_and_certificates(
        b"biuro", private, certificate, None, serialization.BestAvailableEncryption(b"p12")
    )
    made = certificate_credentials(SELLER_NIP, bundle, None, b"p12", now=NOW)
    assert made.certificate_pem.startswith(b"-----BEGIN CERTIFICATE")
    with pytest.raises(ValidationError) as wrong:
        certificate_credentials(SELLER_NIP, bundle, None, b"zle", now=NOW)
    assert fields(wrong) == [("certificate", "unreadable")]


def test_a_key_of_another_certificate_an_expired_one_and_garbage_are_refused() -> None:
    cert, _key, _, _ = certificate_pair()
    _other_cert, other_key, _, _ = certificate_pair()
    with pytest.raises(ValidationError) as mismatch:
        certificate_credentials(SELLER_NIP, cert, other_key, None, now=NOW)
    assert fields(mismatch) == [("private_key", "mismatch")]

    old_cert, old_key, _, _ = certificate_pair(days=10, start=NOW - dt.timedelta(days=30))
    with pytest.raises(ValidationError) as expired:
        certificate_credentials(SELLER_NIP, old_cert, old_key, None, now=NOW)
    assert fields(expired) == [("certificate", "expired")]

    with pytest.raises(ValidationError) as garbage:
        certificate_credentials(SELLER_NIP, b"not a certificate", None, None, now=NOW)
    assert fields(garbage) == [("certificate", "unreadable")]
    with pytest.raises(ValidationError) as no_key:
        certificate_credentials(SELLER_NIP, cert, None, None, now=NOW)
    assert fields(no_key) == [("private_key", "required")]
    with pytest.raises(ValidationError) as too_big:
        certificate_credentials(SELLER_NIP, b"x" * 70_000, None, None, now=NOW)
    assert fields(too_big) == [("certificate", "too_large")]
