"""The values the KSeF client takes and returns (attrs, immutable, no wire format inside).

The names follow KSeF's own: a *session* (sesja interaktywna) carries invoices; each sent
invoice gets a *reference number* at once and, once processed, a *KSeF number* (numer KSeF)
and an *UPO* (Urzędowe Poświadczenie Odbioru, the official receipt).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

import attrs

from cabinet_ksef.environments import Environment

__all__ = [
    "AccessTokens",
    "CertificateCredentials",
    "Credentials",
    "Environment",
    "Export",
    "ExportPackage",
    "ExportPart",
    "ExportStatus",
    "ExportedInvoices",
    "InvoiceMetadata",
    "InvoiceStatus",
    "LatarniaStatus",
    "MetadataPage",
    "OnlineSession",
    "PublicKeyCertificate",
    "PublicKeys",
    "SentInvoice",
    "SessionInvoice",
    "SessionStatus",
    "Subject",
    "TokenCredentials",
]

Subject = Literal["Subject1", "Subject2"]
"""Subject1: the context is the seller (own sales); Subject2: the buyer (purchases)."""


@attrs.frozen(repr=False)
class TokenCredentials:
    """A KSeF token (token KSeF) generated in the client's NIP context.

    ``context_nip`` is the client the firm acts for. Token authentication is legal only until
    2026-12-31.
    """

    context_nip: str
    token: str

    def __repr__(self) -> str:
        return f"TokenCredentials(context_nip={self.context_nip!r}, token=<hidden>)"


@attrs.frozen(repr=False)
class CertificateCredentials:
    """A certificate (qualified, or a KSeF certificate) and its private key, for XAdES.

    ``certificate_pem`` may also hold a PKCS#12 (.p12/.pfx) file, with ``private_key_pem``
    empty; ``password`` unlocks an encrypted key or the PKCS#12 file. ``context_nip`` is the
    client the firm acts for (the certificate's owner needs permissions in that context).
    """

    context_nip: str
    certificate_pem: bytes
    private_key_pem: bytes
    password: bytes | None = None

    def __repr__(self) -> str:
        return f"CertificateCredentials(context_nip={self.context_nip!r}, <certificate hidden>)"


Credentials = TokenCredentials | CertificateCredentials


@attrs.frozen(repr=False)
class AccessTokens:
    """The bearer tokens of one authentication: a short-lived access token and its refresh token."""

    access_token: str
    access_valid_until: datetime
    refresh_token: str
    refresh_valid_until: datetime

    def __repr__(self) -> str:
        return (
            f"AccessTokens(access_valid_until={self.access_valid_until.isoformat()}, "
            f"refresh_valid_until={self.refresh_valid_until.isoformat()})"
        )


@attrs.frozen
class PublicKeyCertificate:
    """One of MF's public-key certificates (``GET /security/public-key-certificates``)."""

    certificate_der: bytes
    certificate_id: str
    public_key_id: str
    valid_from: datetime
    valid_to: datetime
    usage: tuple[str, ...]


@attrs.frozen
class PublicKeys:
    """The MF keys in force: one to encrypt KSeF tokens, one to wrap session keys."""

    token_encryption: PublicKeyCertificate
    symmetric_key_encryption: PublicKeyCertificate


@attrs.frozen(repr=False)
class OnlineSession:
    """An open interactive session (sesja interaktywna) and the AES key its invoices use."""

    reference_number: str
    valid_until: datetime
    symmetric_key: bytes
    iv: bytes

    def __repr__(self) -> str:
        return (
            f"OnlineSession(reference_number={self.reference_number!r}, "
            f"valid_until={self.valid_until.isoformat()})"
        )


@attrs.frozen
class SentInvoice:
    """An invoice KSeF took for processing: its reference and the base64 SHA-256 of its XML."""

    invoice_reference: str
    invoice_hash: str


@attrs.frozen
class InvoiceStatus:
    """The processing state of one sent invoice (``SessionInvoiceStatusResponse``).

    ``code`` 100/150 still processing, 200 accepted (``ksef_number`` and the UPO exist), 4xx/5xx
    rejected; 440 is a duplicate, with the original's KSeF number in ``original_ksef_number``.
    """

    code: int
    description: str
    details: tuple[str, ...]
    ksef_number: str | None
    invoice_number: str | None
    acquisition_date: datetime | None
    upo_download_url: str | None
    invoicing_mode: str | None = None
    permanent_storage_date: datetime | None = None
    original_ksef_number: str | None = None
    original_session_reference: str | None = None

    @property
    def accepted(self) -> bool:
        """KSeF assigned a KSeF number."""
        return self.code == 200

    @property
    def pending(self) -> bool:
        """KSeF is still processing the invoice: poll again."""
        return 100 <= self.code <= 199

    @property
    def rejected(self) -> bool:
        """KSeF refused the invoice; ``code``, ``description`` and ``details`` say why."""
        return self.code >= 400


@attrs.frozen
class SessionInvoice:
    """One invoice of a session listing, to find what was sent before a crash (by hash)."""

    invoice_reference: str
    ordinal_number: int
    invoice_hash: str
    status: InvoiceStatus


@attrs.frozen
class SessionStatus:
    """The state of a session (``GET /sessions/{ref}``): 100 open, 170 closing, 200 processed."""

    code: int
    description: str
    details: tuple[str, ...]
    invoice_count: int | None
    successful_invoice_count: int | None
    failed_invoice_count: int | None
    upo_references: tuple[str, ...]


@attrs.frozen
class InvoiceMetadata:
    """One invoice found by a metadata query. Amounts are in PLN, as KSeF reports them."""

    ksef_number: str
    invoice_number: str
    issue_date: date
    seller_nip: str
    seller_name: str | None
    buyer_nip: str | None
    net: Decimal
    vat: Decimal
    gross: Decimal
    currency: str
    invoice_hash: str
    permanent_storage_date: datetime
    acquisition_date: datetime | None = None
    invoice_type: str | None = None
    buyer_name: str | None = None


@attrs.frozen
class MetadataPage:
    """One page of a metadata query.

    ``has_more``: ask for the next ``page_offset``. ``is_truncated``: the 10 000 limit was hit;
    move ``date_from`` to the last invoice's date and restart at offset 0.
    """

    invoices: tuple[InvoiceMetadata, ...]
    has_more: bool
    is_truncated: bool
    permanent_storage_hwm_date: datetime | None = None


@attrs.frozen
class Export:
    """A started export (``POST /invoices/exports``): its reference and the AES key and IV its
    parts are encrypted with (made by the client, sent wrapped with MF's key)."""

    reference_number: str
    symmetric_key: bytes = attrs.field(repr=False)
    iv: bytes = attrs.field(repr=False)


@attrs.frozen
class ExportPart:
    """One encrypted part of an export package, at a pre-signed ``url`` (no bearer)."""

    ordinal_number: int
    part_name: str
    url: str
    part_size: int
    part_hash: str
    encrypted_part_size: int
    encrypted_part_hash: str
    expiration_date: datetime | None = None


@attrs.frozen
class ExportPackage:
    """What a finished export holds. The next window starts at ``last_permanent_storage_date``
    when ``is_truncated`` (the 10,000 cap), else at ``permanent_storage_hwm_date``."""

    invoice_count: int
    size: int
    parts: tuple[ExportPart, ...]
    is_truncated: bool
    last_permanent_storage_date: datetime | None = None
    permanent_storage_hwm_date: datetime | None = None


@attrs.frozen
class ExportStatus:
    """Where an export is: 100 being prepared, 200 ready (with its package), else failed
    (210 expired, 415 key, 420 range beyond the high-water mark, 500, 550)."""

    code: int
    description: str
    details: tuple[str, ...] = ()
    package: ExportPackage | None = None


@attrs.frozen
class ExportedInvoices:
    """A downloaded package, decrypted and unpacked: each invoice's metadata in KSeF's order
    and its XML (absent from a metadata-only export) by KSeF number."""

    metadata: tuple[InvoiceMetadata, ...]
    xml: dict[str, bytes] = attrs.field(repr=False)


@attrs.frozen
class LatarniaStatus:
    """What MF's status service (Latarnia, ``GET /status``) announces: ``AVAILABLE``,
    ``MAINTENANCE``, ``FAILURE`` or ``TOTAL_FAILURE``, with the announcements in force
    (``(eventId, title)`` of each)."""

    status: str
    announcements: tuple[tuple[int, str], ...] = ()

    @property
    def failure(self) -> bool:
        """Whether a failure of KSeF is announced (the basis of the offline mode of art. 106nh)."""
        return self.status in ("FAILURE", "TOTAL_FAILURE")
