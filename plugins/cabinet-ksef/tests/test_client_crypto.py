"""The client's cryptography: sizes, hashes, AES without an IV prefix, RSA-OAEP token; and a
cross-check against PyPI ``ksef-client`` (MIT), an independent implementation of the same spec."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cabinet_ksef import crypto
from client_support import signer_certificate
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given
from hypothesis import strategies as st
from ksef_client.services import crypto as oracle
from ksef_fake import self_signed


@given(st.binary(max_size=5000))
def test_ciphertext_size_is_always_one_more_block_and_round_trips(data: bytes) -> None:
    key, iv = crypto.new_symmetric_key()
    encrypted = crypto.encrypt_invoice(key, iv, data)
    assert encrypted.encrypted_size == crypto.encrypted_size(len(data)) == len(encrypted.content)
    assert crypto.aes_decrypt(key, iv, encrypted.content) == data
    assert encrypted.invoice_size == len(data)


def test_the_openapi_example_sizes() -> None:
    # sendInvoice example: invoiceSize 6480 -> encryptedInvoiceSize 6496 (no IV prefix).
    assert crypto.encrypted_size(6480) == 6496
    assert crypto.encrypted_size(16037) == 16048


@given(st.binary())
def test_the_hash_is_standard_base64_sha256_and_the_link_form_is_unpadded_base64url(
    data: bytes,
) -> None:
    digest = hashlib.sha256(data).digest()
    value = crypto.sha256_base64(data)
    assert len(value) == 44 and value.endswith("=")
    assert base64.b64decode(value) == digest
    link = crypto.base64url_from_base64(value)
    assert len(link) == 43 and "=" not in link and "+" not in link and "/" not in link
    assert base64.urlsafe_b64decode(link + "=") == digest
    assert crypto.sha256_base64(data) == oracle.sha256_base64(data)


def test_the_ciphertext_has_no_iv_in_front() -> None:
    key, iv = crypto.new_symmetric_key()
    data = b"<Faktura/>" * 10
    content = crypto.aes_encrypt(key, iv, data)
    assert len(content) == crypto.encrypted_size(len(data))
    assert not content.startswith(iv)


@given(st.binary(max_size=2000))
def test_ksef_client_decrypts_what_we_encrypt_and_we_decrypt_what_it_encrypts(data: bytes) -> None:
    key, iv = crypto.new_symmetric_key()
    assert oracle.decrypt_aes_cbc_pkcs7(crypto.aes_encrypt(key, iv, data), key, iv) == data
    assert crypto.aes_decrypt(key, iv, oracle.encrypt_aes_cbc_pkcs7(data, key, iv)) == data


def test_the_ksef_token_is_oaep_sha256_of_token_and_timestamp() -> None:
    key = rsa.generate_private_key(65537, 2048)
    certificate = self_signed(key, "Ministerstwo Finansów")
    token = "20251010-EC-1DCE3E3000-12ECB5B36E-45|nip-5265877635|" + "a1" * 32

    ours = crypto.encrypt_ksef_token(certificate, token, 1752236636015)
    der_b64 = base64.b64encode(certificate.public_bytes(serialization.Encoding.DER))
    theirs = oracle.encrypt_ksef_token_rsa(der_b64, token, 1752236636015)

    # OAEP is randomised: the ciphertexts differ, and both open to the same plaintext.
    assert len(ours) == 256
    assert crypto.rsa_oaep_decrypt(key, ours) == crypto.rsa_oaep_decrypt(key, theirs)
    assert crypto.rsa_oaep_decrypt(key, ours) == f"{token}|1752236636015".encode()


def test_public_key_id_is_sha256_of_the_subject_public_key_info() -> None:
    certificate, _ = signer_certificate("rsa")
    spki = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert (
        crypto.public_key_id(certificate)
        == base64.b64encode(hashlib.sha256(spki).digest()).decode()
    )


def test_keys_and_ivs_of_the_wrong_size_are_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        crypto.aes_encrypt(b"k" * 16, b"i" * 16, b"x")
    with pytest.raises(ValueError, match="16 bytes"):
        crypto.aes_encrypt(b"k" * 32, b"i" * 12, b"x")
