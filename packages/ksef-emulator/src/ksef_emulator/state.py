"""What the emulated KSeF remembers: subjects and the permissions they granted, KSeF tokens,
challenges, authentication operations, bearer tokens, online sessions and invoices.

Plain records; the rules live in :mod:`ksef_emulator.core`.
"""

from __future__ import annotations

from typing import Any

import attrs

from ksef_emulator.invoices import InvoiceFacts
from ksef_emulator.policy import IpPolicy

__all__ = [
    "ALL_PERMISSIONS",
    "AuthOperation",
    "Bearer",
    "Challenge",
    "Grant",
    "Invoice",
    "KsefToken",
    "OnlineSession",
    "State",
]

#: The permissions an owner holds in its own context.
ALL_PERMISSIONS = (
    "InvoiceRead",
    "InvoiceWrite",
    "Introspection",
    "CredentialsRead",
    "CredentialsManage",
    "SubunitManage",
)


@attrs.define
class Grant:
    """``context_nip`` granted ``permissions`` to ``(identifier_type, identifier)``."""

    context_nip: str
    identifier_type: str  # Nip | Pesel | Fingerprint
    identifier: str
    permissions: set[str]


@attrs.define
class KsefToken:
    """A KSeF token (``POST /tokens`` or seeded); its secret is returned once."""

    reference: str
    secret: str
    context_type: str
    context_value: str
    permissions: tuple[str, ...]
    description: str
    created: float
    author: tuple[str, str]
    status: str = "Active"  # Pending | Active | Revoking | Revoked | Failed
    last_used: float | None = None


@attrs.define
class Challenge:
    """An authentication challenge (lives 10 minutes)."""

    value: str
    timestamp: float
    timestamp_ms: int
    used: bool = False


@attrs.define
class AuthOperation:
    """One authentication (``GET /auth/{ref}``)."""

    reference: str
    started: float
    ready_at: float
    method: str  # Token | QualifiedSeal | QualifiedSignature | ...
    category: str  # Token | XadesSignature
    context_type: str
    context_value: str
    subject: tuple[str, str] | None
    code: int
    description: str
    details: list[str]
    token_reference: str | None = None
    document_hash: str | None = None
    ip_policy: IpPolicy = attrs.Factory(IpPolicy)
    redeemed: bool = False
    revoked: bool = False
    refresh_valid_until: float | None = None
    last_refresh: float | None = None


@attrs.define
class Bearer:
    """An issued JWT: ``kind`` is ``authentication``, ``access`` or ``refresh``."""

    kind: str
    auth_reference: str
    valid_until: float
    permissions: tuple[str, ...] = ()


@attrs.define
class Invoice:
    """An invoice received in an online session (or put straight into the store)."""

    reference: str
    session_reference: str
    ordinal: int
    received: float
    ready_at: float
    invoice_hash: str
    invoice_size: int
    code: int
    description: str
    details: list[str] = attrs.Factory(list)
    extensions: dict[str, str] | None = None
    xml: bytes | None = None
    facts: InvoiceFacts | None = None
    ksef_number: str | None = None
    acquisition: float | None = None
    permanent_storage: float | None = None
    mode: str = "Online"
    offline_requested: bool = False
    hash_of_corrected: str | None = None
    invoice_number: str | None = None

    def visible_code(self, now: float) -> int:
        """The status a client sees at ``now`` (150 "processing" until it is ready)."""
        return self.code if now >= self.ready_at else 150


@attrs.define
class OnlineSession:
    """An interactive session."""

    reference: str
    context_type: str
    context_value: str
    auth_reference: str
    created: float
    valid_until: float
    key: bytes | None  # None: the wrapped key could not be decrypted (status 415)
    iv: bytes
    form_code: dict[str, Any]
    invoices: list[str] = attrs.Factory(list)
    closed_at: float | None = None
    upo_reference: str | None = None
    updated: float = 0.0


@attrs.define
class State:
    """Everything the emulator keeps (one instance per emulator)."""

    subjects: dict[str, str] = attrs.Factory(dict)  # NIP → name
    persons: dict[str, str | None] = attrs.Factory(dict)  # PESEL → own NIP
    grants: list[Grant] = attrs.Factory(list)
    blocked: set[str] = attrs.Factory(set)  # context values
    tokens: dict[str, KsefToken] = attrs.Factory(dict)  # reference → token
    challenges: dict[str, Challenge] = attrs.Factory(dict)
    operations: dict[str, AuthOperation] = attrs.Factory(dict)
    bearers: dict[str, Bearer] = attrs.Factory(dict)
    sessions: dict[str, OnlineSession] = attrs.Factory(dict)
    invoices: dict[str, Invoice] = attrs.Factory(dict)  # reference → invoice
    by_ksef_number: dict[str, Invoice] = attrs.Factory(dict)
    by_business_key: dict[tuple[str, str, str], Invoice] = attrs.Factory(dict)
    #: Accepted invoices by seller NIP and by buyer NIP (what Subject1/Subject2 queries scan).
    by_seller: dict[str, list[Invoice]] = attrs.Factory(dict)
    by_buyer: dict[str, list[Invoice]] = attrs.Factory(dict)
    exports: dict[str, dict[str, Any]] = attrs.Factory(dict)
    parts: dict[str, bytes] = attrs.Factory(dict)
