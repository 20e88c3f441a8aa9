"""KSeF cryptography: token encryption, session keys, invoice encryption and hashes.

- A KSeF token travels as RSA-OAEP (SHA-256, MGF1-SHA-256, no label) of ``token|timestampMs``
  under MF's ``KsefTokenEncryption`` key.
- A session's AES-256 key is wrapped the same way under MF's ``SymmetricKeyEncryption`` key; the
  16-byte IV travels beside it in clear.
- An invoice is AES-256-CBC with PKCS#7 padding, and the ciphertext is sent **without** the IV in
  front of it (the ksef-docs wording about an IV prefix is wrong; both official clients send the
  bare ciphertext).
- Every hash is SHA-256 in standard base64 with padding; only QR links use base64url.
"""

from __future__ import annotations

import base64
import hashlib
import os

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric import padding as asymmetric_padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.serialization import pkcs12

AES_KEY_SIZE = 32
AES_BLOCK_SIZE = 16

SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def sha256_base64(data: bytes) -> str:
    """The KSeF hash: SHA-256 of ``data`` in standard base64 with padding (44 characters)."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


def base64url(data: bytes) -> str:
    """Base64url without padding, as the verification links use."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def base64url_from_base64(value: str) -> str:
    """Re-encode a standard base64 value (e.g. an ``invoiceHash``) as unpadded base64url."""
    return base64url(base64.b64decode(value, validate=True))


def encrypted_size(plain_size: int) -> int:
    """The AES-CBC/PKCS#7 ciphertext length for ``plain_size`` bytes (always one more block)."""
    return AES_BLOCK_SIZE * (plain_size // AES_BLOCK_SIZE + 1)


def load_certificate_der_base64(value: str) -> x509.Certificate:
    """One of MF's public-key certificates, as the API lists it (base64 DER, no PEM armour)."""
    return x509.load_der_x509_certificate(base64.b64decode(value))


def public_key_id(certificate: x509.Certificate) -> str:
    """The ``publicKeyId`` of a certificate: base64 SHA-256 of its SubjectPublicKeyInfo DER."""
    spki = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return sha256_base64(spki)


def rsa_oaep_encrypt(certificate: x509.Certificate, plaintext: bytes) -> bytes:
    """RSA-OAEP with SHA-256 and MGF1-SHA-256 under the certificate's public key."""
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise TypeError("KSeF's encryption certificates carry RSA keys")
    return key.encrypt(plaintext, _oaep())


def rsa_oaep_decrypt(private_key: rsa.RSAPrivateKey, ciphertext: bytes) -> bytes:
    """The inverse of ``rsa_oaep_encrypt`` (what KSeF does; used by tests and the emulator)."""
    return private_key.decrypt(ciphertext, _oaep())


def _oaep() -> asymmetric_padding.OAEP:
    return asymmetric_padding.OAEP(
        mgf=asymmetric_padding.MGF1(algorithm=hashes.SHA256()),
        algorithm=hashes.SHA256(),
        label=None,
    )


def encrypt_ksef_token(certificate: x509.Certificate, token: str, timestamp_ms: int) -> bytes:
    """The ``encryptedToken`` of ``POST /auth/ksef-token``: RSA-OAEP of ``token|timestampMs``.

    ``timestamp_ms`` is the challenge's ``timestampMs``, so each encryption fits one challenge.
    """
    return rsa_oaep_encrypt(certificate, f"{token}|{timestamp_ms}".encode())


def new_symmetric_key() -> tuple[bytes, bytes]:
    """A fresh AES-256 key and a fresh 16-byte IV (one pair per session)."""
    return os.urandom(AES_KEY_SIZE), os.urandom(AES_BLOCK_SIZE)


def aes_encrypt(key: bytes, iv: bytes, plaintext: bytes) -> bytes:
    """AES-256-CBC with PKCS#7 padding; the IV is *not* prepended to the result."""
    _check_key(key, iv)
    padder = padding.PKCS7(AES_BLOCK_SIZE * 8).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return encryptor.update(padded) + encryptor.finalize()


def aes_decrypt(key: bytes, iv: bytes, ciphertext: bytes) -> bytes:
    """The inverse of ``aes_encrypt`` (for downloaded export parts, and tests)."""
    _check_key(key, iv)
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = padding.PKCS7(AES_BLOCK_SIZE * 8).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


class StreamDecryptor:
    """AES-256-CBC with PKCS#7, decrypted chunk by chunk (an export part streamed to a file):
    ``update`` gives the plain bytes it can, ``finalize`` the last block without its padding
    (``ValueError`` when the padding is wrong: not this key's ciphertext)."""

    def __init__(self, key: bytes, iv: bytes) -> None:
        _check_key(key, iv)
        self._decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
        self._unpadder = padding.PKCS7(AES_BLOCK_SIZE * 8).unpadder()

    def update(self, chunk: bytes) -> bytes:
        return self._unpadder.update(self._decryptor.update(chunk))

    def finalize(self) -> bytes:
        tail = self._unpadder.update(self._decryptor.finalize())
        return tail + self._unpadder.finalize()


def _check_key(key: bytes, iv: bytes) -> None:
    if len(key) != AES_KEY_SIZE:
        raise ValueError(f"an AES-256 key has {AES_KEY_SIZE} bytes, not {len(key)}")
    if len(iv) != AES_BLOCK_SIZE:
        raise ValueError(f"an AES-CBC IV has {AES_BLOCK_SIZE} bytes, not {len(iv)}")


@attrs.frozen
class EncryptedInvoice:
    """An invoice ready for ``POST /sessions/online/{ref}/invoices``: content, sizes, hashes."""

    invoice_hash: str
    invoice_size: int
    encrypted_hash: str
    encrypted_size: int
    content: bytes


def encrypt_invoice(key: bytes, iv: bytes, xml: bytes) -> EncryptedInvoice:
    """Encrypt an invoice's exact XML bytes and describe plaintext and ciphertext.

    KSeF checks the ciphertext's size and hash at once (400) and the plaintext's after
    decrypting (invoice status 430), so both must describe exactly these bytes.
    """
    content = aes_encrypt(key, iv, xml)
    return EncryptedInvoice(
        invoice_hash=sha256_base64(xml),
        invoice_size=len(xml),
        encrypted_hash=sha256_base64(content),
        encrypted_size=len(content),
        content=content,
    )


def load_signing_material(
    certificate: bytes, private_key: bytes, password: bytes | None = None
) -> tuple[x509.Certificate, SigningKey]:
    """A certificate and its private key from PEM (or DER) files, or from one PKCS#12 file.

    A PKCS#12 file (.p12/.pfx) comes in ``certificate`` with ``private_key`` empty. Only RSA and
    ECDSA keys can sign for KSeF.
    """
    if not private_key.strip():
        try:
            key, cert, _ = pkcs12.load_key_and_certificates(certificate, password)
        except TypeError as error:
            raise ValueError(str(error)) from error
        if key is None or cert is None:
            raise ValueError("the PKCS#12 file holds no certificate with its private key")
        return cert, _signing_key(key)
    cert = load_certificate(certificate)
    key = load_private_key(private_key, password)
    if _spki(key.public_key()) != _spki(cert.public_key()):
        raise ValueError("the private key does not belong to the certificate")
    return cert, key


def load_certificate(data: bytes) -> x509.Certificate:
    """An X.509 certificate from PEM or DER bytes."""
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)


def load_private_key(data: bytes, password: bytes | None = None) -> SigningKey:
    """An RSA or ECDSA private key from PEM or DER bytes (``password`` for an encrypted one).

    A missing or superfluous password is a ``ValueError`` like any other unusable key.
    """
    try:
        if b"-----BEGIN" in data:
            loaded = serialization.load_pem_private_key(data, password)
        else:
            loaded = serialization.load_der_private_key(data, password)
    except TypeError as error:  # cryptography's way of saying "password missing / not needed"
        raise ValueError(str(error)) from error
    return _signing_key(loaded)


def _spki(key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey | object) -> bytes:
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise ValueError("KSeF accepts RSA or ECDSA keys only")
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _signing_key(key: object) -> SigningKey:
    if isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        return key
    raise ValueError("KSeF accepts RSA or ECDSA keys only")
