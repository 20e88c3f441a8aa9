"""The emulator's own keys and the server side of KSeF's cryptography (ksef-api.md §3).

Two RSA-2048 key pairs with self-signed certificates stand in for the Ministry's: one for
``KsefTokenEncryption`` (RSA-OAEP-SHA256 of ``token|timestampMs``) and one for
``SymmetricKeyEncryption`` (the AES-256 key of a session). Given a seed they are the same on
every start, so a client that cached them keeps working after a restart.
"""

from __future__ import annotations

import base64
import hashlib
import random
from datetime import UTC, datetime, timedelta

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import MGF1, OAEP
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.x509.oid import NameOID

__all__ = [
    "KeyCertificate",
    "aes_decrypt",
    "aes_encrypt",
    "b64",
    "generate_key_certificate",
    "oaep_decrypt",
    "sha256_b64",
]

_OAEP = OAEP(mgf=MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


def b64(data: bytes) -> str:
    """Standard Base64 with padding."""
    return base64.b64encode(data).decode("ascii")


def sha256_b64(data: bytes) -> str:
    """KSeF's hash: Base64 of SHA-256 (44 characters)."""
    return b64(hashlib.sha256(data).digest())


@attrs.frozen
class KeyCertificate:
    """One published key: the private key, its certificate and the identifiers KSeF computes."""

    usage: str
    private_key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @property
    def certificate_der(self) -> bytes:
        """The certificate, DER."""
        return self.certificate.public_bytes(serialization.Encoding.DER)

    @property
    def certificate_id(self) -> str:
        """Base64 SHA-256 of the certificate's DER."""
        return sha256_b64(self.certificate_der)

    @property
    def public_key_id(self) -> str:
        """Base64 SHA-256 of the SubjectPublicKeyInfo DER."""
        spki = self.certificate.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return sha256_b64(spki)

    def published(self) -> dict[str, object]:
        """The ``PublicKeyCertificate`` entry of ``GET /security/public-key-certificates``."""
        return {
            "certificate": b64(self.certificate_der),
            "certificateId": self.certificate_id,
            "publicKeyId": self.public_key_id,
            "validFrom": self.certificate.not_valid_before_utc.isoformat(),
            "validTo": self.certificate.not_valid_after_utc.isoformat(),
            "usage": [self.usage],
        }

    def decrypt(self, ciphertext: bytes) -> bytes:
        """RSA-OAEP (SHA-256, MGF1-SHA-256, empty label); ``ValueError`` when it fails."""
        return oaep_decrypt(self.private_key, ciphertext)


def _seeded_key(seed: str) -> rsa.RSAPrivateKey:
    """An RSA-2048 key derived deterministically from ``seed`` (test fixtures only: the
    primes come from a seeded PRNG, which is fine for an emulator and nothing else)."""
    rng = random.Random(hashlib.sha256(seed.encode()).digest())
    e = 65537

    def prime(bits: int) -> int:
        while True:
            candidate = rng.getrandbits(bits) | (1 << (bits - 1)) | (1 << (bits - 2)) | 1
            if candidate % e != 1 and _probably_prime(candidate, rng):
                return candidate

    while True:
        p, q = prime(1024), prime(1024)
        if p == q:
            continue
        phi = (p - 1) * (q - 1)
        d = pow(e, -1, phi)
        numbers = rsa.RSAPrivateNumbers(
            p=p,
            q=q,
            d=d,
            dmp1=d % (p - 1),
            dmq1=d % (q - 1),
            iqmp=pow(q, -1, p),
            public_numbers=rsa.RSAPublicNumbers(e=e, n=p * q),
        )
        if (p * q).bit_length() == 2048:
            # Our own primes, just tested: skip the (slow) re-validation.
            return numbers.private_key(unsafe_skip_rsa_key_validation=True)


_SMALL_PRIMES = [p for p in range(3, 4000, 2) if all(p % d for d in range(3, int(p**0.5) + 1, 2))]


def _probably_prime(n: int, rng: random.Random, rounds: int = 8) -> bool:
    # Trial division first: it throws out most candidates before any modular exponentiation.
    for small in _SMALL_PRIMES:
        if n % small == 0:
            return n == small
    d, r = n - 1, 0
    while d % 2 == 0:
        d //= 2
        r += 1
    for _ in range(rounds):
        x = pow(rng.randrange(2, n - 2), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def generate_key_certificate(
    usage: str, *, seed: str | None = None, now: datetime | None = None
) -> KeyCertificate:
    """A fresh (or, with ``seed``, reproducible) RSA-2048 key and a self-signed certificate
    ``CN=Ministerstwo Finansów (KSeF emulator)`` valid for two years around ``now``."""
    key = (
        _seeded_key(f"{seed}:{usage}")
        if seed is not None
        else rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    start = (now or datetime.now(UTC)).replace(microsecond=0) - timedelta(days=1)
    if seed is not None:  # the same certificate on every start
        start = datetime(2025, 9, 29, tzinfo=UTC)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "PL"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "KSeF emulator"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"Ministerstwo Finansów ({usage})"),
        ]
    )
    serial = int.from_bytes(hashlib.sha256(f"{seed}:{usage}".encode()).digest()[:16]) >> 1
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial if seed is not None else x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=365 * 3))
        .sign(key, hashes.SHA256())
    )
    return KeyCertificate(usage=usage, private_key=key, certificate=certificate)


def oaep_decrypt(key: rsa.RSAPrivateKey, ciphertext: bytes) -> bytes:
    """RSA-OAEP-SHA256 decryption; ``ValueError`` when the blob is not for this key."""
    return key.decrypt(ciphertext, _OAEP)


def aes_decrypt(key: bytes, iv: bytes, ciphertext: bytes) -> bytes:
    """AES-256-CBC with PKCS#7 padding, IV given separately (never prefixed, §0.2);
    ``ValueError`` on a bad length or padding."""
    if len(ciphertext) == 0 or len(ciphertext) % 16:
        raise ValueError("ciphertext is not a whole number of AES blocks")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


def aes_encrypt(key: bytes, iv: bytes, plaintext: bytes) -> bytes:
    """AES-256-CBC with PKCS#7 padding (export parts)."""
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return encryptor.update(padded) + encryptor.finalize()
