"""The domain's entities: plain attrs classes that know nothing of storage or wire formats.

Ids are database integers, ``None`` until the store has saved the entity. Amounts are
``Decimal`` in the document's currency; :mod:`cabinet_core.money` and :mod:`cabinet_core.vat`
do the arithmetic. The single cattrs converter in :mod:`cabinet_core.converter` turns these into
rows and JSON.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import attrs


class Role(enum.StrEnum):
    """Who a user is: a client's own user, or one of the firm's staff roles."""

    CLIENT = "client"
    MANAGER = "manager"
    ACCOUNTANT = "accountant"
    ADMIN = "admin"

    @property
    def is_staff(self) -> bool:
        return self is not Role.CLIENT


class PartyKind(enum.StrEnum):
    COMPANY = "company"
    PERSON = "person"


class PaymentMethod(enum.StrEnum):
    """FA(3) ``FormaPlatnosci`` codes; ``OTHER`` maps to ``PlatnoscInna`` with a description."""

    CASH = "1"
    CARD = "2"
    VOUCHER = "3"
    CHEQUE = "4"
    CREDIT = "5"
    TRANSFER = "6"
    MOBILE = "7"
    OTHER = "other"


class PaymentStatus(enum.StrEnum):
    UNPAID = "unpaid"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"


class PriceMode(enum.StrEnum):
    """Whether line prices are net (the usual B2B case) or gross (art. 106e ust. 7-8)."""

    NET = "net"
    GROSS = "gross"


class VatMethod(enum.StrEnum):
    """VAT per rate on the sum of nets (default) or summed per line (art. 106e ust. 10)."""

    PER_RATE = "per_rate"
    PER_LINE = "per_line"


@attrs.frozen(kw_only=True)
class Address:
    line1: str = ""
    line2: str = ""
    postal_code: str = ""
    city: str = ""
    country: str = "PL"


@attrs.frozen(kw_only=True)
class BankAccount:
    """A client's (sub-)account for one currency; sales documents are paid into it."""

    currency: str
    iban: str
    bank_name: str = ""
    label: str = ""


@attrs.frozen(kw_only=True)
class Client:
    """A client (partner) of the firm: the company whose cabinet this is."""

    id: int | None = None
    name: str
    nip: str | None = None
    regon: str | None = None
    krs: str | None = None
    address: Address = Address()
    email: str = ""
    bank_accounts: tuple[BankAccount, ...] = ()
    manager_id: int | None = None
    #: The accountant assigned to the client; ``None``: every accountant serves it.
    accountant_id: int | None = None
    allowed_templates: tuple[str, ...] = ()
    default_template: str | None = None
    language: str = "pl"
    auto_send: bool = False
    active: bool = True
    created_at: datetime | None = None


class TokenScope(enum.StrEnum):
    """What a personal API token may do, on top of what its user's role allows.

    ``write`` includes ``read``; ``admin`` (API tokens, users, passwords, second factors and
    sessions) includes both and is never implied: it is granted only when asked for by name.
    """

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"

    @classmethod
    def closure(cls, scopes: Iterable[TokenScope]) -> tuple[TokenScope, ...]:
        """``scopes`` with what each includes, in the order read, write, admin."""
        given = set(scopes)
        if cls.ADMIN in given:
            given.add(cls.WRITE)
        if cls.WRITE in given:
            given.add(cls.READ)
        return tuple(scope for scope in cls if scope in given)


@attrs.frozen(kw_only=True)
class User:
    """Somebody who logs in: a client's user (``client_id`` set) or staff (``client_id`` None)."""

    id: int | None = None
    email: str
    name: str = ""
    role: Role = Role.CLIENT
    client_id: int | None = None
    language: str = "pl"
    password_hash: str = attrs.field(default="", repr=False)
    active: bool = True
    created_at: datetime | None = None


@attrs.frozen(kw_only=True)
class Actor:
    """Who is acting in a service call; services decide access from this alone."""

    user_id: int | None
    role: Role
    client_id: int | None = None
    #: What the actor may do when it acts through a personal API token; ``None`` for a browser
    #: session, the CLI and the system, which are limited by the role alone.
    scopes: frozenset[TokenScope] | None = None

    @classmethod
    def system(cls) -> Actor:
        """The worker, migrations and CLI: allowed everything, recorded as no user."""
        return cls(user_id=None, role=Role.ADMIN)

    @classmethod
    def of(cls, user: User, *, scopes: frozenset[TokenScope] | None = None) -> Actor:
        return cls(user_id=user.id, role=user.role, client_id=user.client_id, scopes=scopes)


@attrs.frozen(kw_only=True)
class Counterparty:
    """A client's own buyer or seller (kontrahent); only that client ever sees it."""

    id: int | None = None
    client_id: int
    kind: PartyKind = PartyKind.COMPANY
    name: str
    nip: str | None = None
    vat_eu: str | None = None
    regon: str | None = None
    krs: str | None = None
    address: Address = Address()
    email: str = ""
    created_at: datetime | None = None


@attrs.frozen(kw_only=True)
class Product:
    """A good or service in a client's own catalogue."""

    id: int | None = None
    client_id: int
    name: str
    unit: str = "szt."
    unit_price: Decimal = Decimal("0")
    currency: str = "PLN"
    vat_rate: str = "23"
    gtu: str | None = None
    #: JPK_V7M(3) procedure markers (``TP``, ``MR_UZ`` …) a line made from it carries.
    procedures: tuple[str, ...] = ()
    created_at: datetime | None = None


@attrs.frozen(kw_only=True)
class Party:
    """A snapshot of a seller or buyer as printed on one document (it never changes afterwards)."""

    kind: PartyKind = PartyKind.COMPANY
    name: str
    nip: str | None = None
    vat_eu: str | None = None
    address: Address = Address()
    email: str = ""


@attrs.frozen(kw_only=True)
class ExchangeRate:
    """An NBP table A mid rate (or another source's) as stored with a document."""

    currency: str
    rate: Decimal
    effective_date: date
    table_no: str
    source: str = "NBP"


@attrs.frozen(kw_only=True)
class DocumentLine:
    """One row of goods or services. ``vat_rate`` is a code from :mod:`cabinet_core.vat`.

    ``before`` marks the "before" row of a correcting invoice (FA(3) ``StanPrzed``);
    ``annex15`` marks goods or services listed in annex 15 to the VAT Act (FA(3)
    ``P_12_Zal_15``), which decide whether the invoice falls under split payment.
    ``gtu`` and ``procedures`` are the JPK_V7M(3) markers the line gives its sales register row;
    ``non_deductible`` marks a purchase line whose VAT is not deducted (it stays in the purchase
    register, its share is left out of JPK).
    """

    name: str
    quantity: Decimal = Decimal("1")
    unit: str = "szt."
    unit_price: Decimal
    vat_rate: str = "23"
    product_id: int | None = None
    gtu: str | None = None
    procedures: tuple[str, ...] = ()
    non_deductible: bool = False
    before: bool = False
    annex15: bool = False


@attrs.frozen(kw_only=True)
class RateTotal:
    """The totals of one VAT rate on one document (FA(3) ``P_13_x``/``P_14_x``/``P_14_xW``)."""

    rate: str
    net: Decimal
    vat: Decimal
    gross: Decimal
    vat_pln: Decimal | None = None


@attrs.frozen(kw_only=True)
class DocumentTotals:
    """What a document sums to, in its own currency (``vat_pln`` for foreign-currency VAT)."""

    currency: str
    rows: tuple[RateTotal, ...] = ()
    net: Decimal = Decimal("0.00")
    vat: Decimal = Decimal("0.00")
    gross: Decimal = Decimal("0.00")
    vat_pln: Decimal | None = None


@attrs.frozen(kw_only=True)
class Document:
    """Any document in a cabinet: its type (``doc_type``) gives it fields, numbering and workflow.

    ``extra`` holds the fields a document type declares beyond the common ones (a contract's
    rates, a cash report's period); ``related_id`` points at the corrected or converted document.
    """

    id: int | None = None
    client_id: int
    doc_type: str
    status: str = "draft"
    number: str | None = None
    series: str | None = None
    currency: str = "PLN"
    language: str = "pl"
    issue_date: date
    sale_date: date | None = None
    receipt_date: date | None = None
    due_date: date | None = None
    payment_method: PaymentMethod = PaymentMethod.TRANSFER
    payment_status: PaymentStatus = PaymentStatus.UNPAID
    seller: Party | None = None
    buyer: Party | None = None
    counterparty_id: int | None = None
    bank_account: BankAccount | None = None
    lines: tuple[DocumentLine, ...] = ()
    price_mode: PriceMode = PriceMode.NET
    vat_method: VatMethod = VatMethod.PER_RATE
    exchange_rate: ExchangeRate | None = None
    totals: DocumentTotals | None = None
    template: str | None = None
    notes: str = ""
    extra: Mapping[str, Any] = attrs.field(factory=dict)
    related_id: int | None = None
    created_by: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 1


@attrs.frozen(kw_only=True)
class Attachment:
    """A file attached to a document (the scanned original of a cost invoice …).

    The bytes live in the file store under their SHA-256; ``filename`` is the sanitised name
    the user uploaded, used only for display and downloads, never for a path on disk.
    """

    id: int | None = None
    client_id: int
    document_id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    created_by: int | None = None
    created_at: datetime | None = None


@attrs.frozen(kw_only=True)
class Template:
    """A document template an admin can allow a client to use (rendered by a renderer)."""

    key: str
    name: str
    document_types: tuple[str, ...]
    renderer: str = "pdf"
    languages: tuple[str, ...] = ("pl", "en", "pl+en")


@attrs.frozen(kw_only=True)
class NewsItem:
    """News or an important notice shown on every client's home page."""

    id: int | None = None
    title: str
    body: str = ""
    important: bool = False
    published_at: datetime | None = None
    updated_at: datetime | None = None
    author_id: int | None = None
    external_id: str | None = None


@attrs.frozen(kw_only=True)
class ChatAttachment:
    """A file sent with a chat message; the bytes live in the file store under their SHA-256
    (as a document's :class:`Attachment`), ``filename`` is only shown."""

    id: int | None = None
    message_id: int
    client_id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    created_at: datetime | None = None


@attrs.frozen(kw_only=True)
class ChatMessage:
    """One message in a client's conversation with its manager."""

    id: int | None = None
    client_id: int
    author_id: int | None
    body: str
    created_at: datetime | None = None
    external_id: str | None = None
    #: Files sent with the message (filled when the chat service reads messages).
    attachments: tuple[ChatAttachment, ...] = ()


@attrs.frozen(kw_only=True)
class ChatPage:
    """A page of one conversation as its reader sees it: the messages oldest first, whether
    older ones remain (``before`` = the first id reads them), who is who, the client's manager."""

    client_id: int
    messages: tuple[ChatMessage, ...]
    has_more: bool
    #: Display names of the authors the reader may know, by user id (the rest is the firm).
    authors: dict[int, str]
    manager_id: int | None = None
    manager_name: str | None = None
    #: The id of the newest message the reader had read before this page was read.
    last_read_id: int = 0


@attrs.frozen(kw_only=True)
class ChatConversation:
    """One line of a chat inbox: a client's conversation, its newest message and how many
    messages the reader has not read yet."""

    client_id: int
    client_name: str
    last_message: ChatMessage | None
    unread: int


@attrs.frozen(kw_only=True)
class Notification:
    id: int | None = None
    user_id: int
    kind: str
    text: str
    link: str = ""
    created_at: datetime | None = None
    read_at: datetime | None = None


@attrs.frozen(kw_only=True)
class AuditEntry:
    """Who did what to which entity; written in the same transaction as the change."""

    id: int | None = None
    at: datetime | None = None
    actor_id: int | None = None
    client_id: int | None = None
    action: str
    entity: str
    entity_id: int | None = None
    detail: Mapping[str, Any] = attrs.field(factory=dict)
    #: Where the change came from (the web request's address and browser; none from the CLI).
    ip: str | None = None
    user_agent: str | None = None


@attrs.frozen(kw_only=True)
class OutboxMessage:
    """A change to deliver (at least once, idempotently), as one subscriber's delivery sees it.

    ``origin`` names the CRM backend whose change this is (``None`` for a change made in the
    cabinet); that backend gets no delivery of it. ``subscriber`` is the recipient whose
    delivery state ``attempts`` … ``last_error`` describe (a CRM backend's name or
    :data:`cabinet_core.sync.MAIL_SUBSCRIBER`); ``None`` for a message that has no delivery
    (nobody subscribes to it) or one not saved yet.
    """

    id: int | None = None
    topic: str
    entity: str
    entity_id: int | None
    payload: Mapping[str, Any] = attrs.field(factory=dict)
    origin: str | None = None
    created_at: datetime | None = None
    subscriber: str | None = None
    attempts: int = 0
    next_attempt_at: datetime | None = None
    delivered_at: datetime | None = None
    failed_at: datetime | None = None
    last_error: str | None = None


@attrs.frozen(kw_only=True)
class ApiToken:
    """A personal API token; only its hash is stored, the secret is shown once."""

    id: int | None = None
    user_id: int
    name: str
    token_hash: str = attrs.field(repr=False)
    prefix: str = ""
    created_at: datetime | None = None
    last_used_at: datetime | None = None
    #: What the token may do (always with the scopes each one includes, see TokenScope).
    scopes: tuple[TokenScope, ...] = (TokenScope.READ,)
    #: After this moment the token no longer signs anybody in; ``None``: until revoked.
    expires_at: datetime | None = None

    def expired(self, now: datetime) -> bool:
        """Whether the token has run out at ``now``."""
        return self.expires_at is not None and now >= self.expires_at
