"""Secrets kept in the database, sealed with Fernet (AES-128-CBC + HMAC-SHA256).

One key derivation for every secret the cabinet stores: :func:`derive_key` turns the cabinet's
``CABINET_SECRET_KEY`` into a Fernet key with HKDF-SHA256 under a label of each use's own (the
SMTP password, a plugin's credentials), so no two uses share key bytes and the session key is
never one of them. The KSeF plugin seals its clients' credentials with it (label
``cabinet-ksef credentials``); the mail settings seal the SMTP password (label
``cabinet mail settings``). Rotating the secret key makes what was sealed unreadable: the
settings page then says the secret is not set, and an admin types it again.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["Sealer", "Unreadable", "derive_key"]


class Unreadable(Exception):
    """A sealed value that this key cannot open (the secret key was changed)."""


def derive_key(secret_key: str, label: bytes) -> bytes:
    """A Fernet key derived from ``secret_key`` (HKDF-SHA256 with ``label`` as its info)."""
    if not secret_key:
        raise ValueError("there is no secret key to derive a key from")
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(
        secret_key.encode()
    )
    return base64.urlsafe_b64encode(raw)


class Sealer:
    """Seals text into a Fernet token and opens it again."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    @classmethod
    def from_secret(cls, secret_key: str, label: bytes) -> Sealer:
        return cls(derive_key(secret_key, label))

    def seal(self, text: str) -> str:
        return self._fernet.encrypt(text.encode()).decode("ascii")

    def open(self, token: str) -> str:
        """The text sealed in ``token``; :class:`Unreadable` when this key did not seal it."""
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode()
        except (InvalidToken, UnicodeError, ValueError):
            raise Unreadable("the sealed value cannot be opened with this key") from None
