"""The CRM sync contract: what the core tells a CRM backend, and all a backend may ask back.

A CRM backend (Bitrix24, signed webhooks, an integrator's HubSpot) meets the core here and
nowhere else:

* **Outbound.** Every change a service commits adds an outbox message whose ``topic`` is a
  :class:`Topic` and whose payload is the one typed value :data:`PAYLOAD_TYPES` names for it,
  encoded by the one converter (:func:`encode_payload`) and read back with
  :func:`decode_payload`. The worker hands each message to every active backend through
  :meth:`CrmBackend.deliver` (see :mod:`cabinet_core.crm`), each backend with its own delivery
  state, so one failing CRM never re-sends to another.
* **Echoes.** A change a backend applied (through the port below) carries that backend's name
  as the message's ``origin``; the outbox gives such a message no delivery to that backend, so
  nothing is echoed back, while every *other* backend still receives it.
* **Back.** A backend reads and writes the cabinet only through its :class:`SyncPort`: system
  reads, status and payment changes, chat and news, re-queueing, and its own namespaced state.
  It never touches the store.
* **Inbound HTTP.** A backend that receives calls (a CRM's event POSTs) offers an
  :class:`InboundHandler`; the web shell routes ``POST /hooks/{backend}`` to it, refusing a
  body above the handler's ``max_body_bytes`` before reading it.

Optional capabilities are declared protocols (:class:`BatchDelivery`, :class:`PeriodicWork`,
:class:`InboundCapable`), checked with ``isinstance``, never probed with ``getattr``.
``docs/plugins/crm-backends.md`` documents every topic and payload; a test keeps it complete.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import attrs

from cabinet_core.converter import converter, to_json_dict
from cabinet_core.entities import (
    ChatMessage,
    Client,
    Counterparty,
    Document,
    NewsItem,
    PaymentStatus,
    Product,
    Role,
)

if TYPE_CHECKING:
    from cabinet_core.crm import PeriodicTask
    from cabinet_core.doctypes import DocumentType
    from cabinet_core.entities import OutboxMessage, User

__all__ = [
    "ADDRESSED_PREFIXES",
    "KSEF_SUBSCRIBER",
    "MAIL_SUBSCRIBER",
    "PAYLOAD_TYPES",
    "BatchDelivery",
    "DocumentFile",
    "DocumentPaymentChange",
    "DocumentStatusChange",
    "InboundCapable",
    "InboundHandler",
    "InboundReply",
    "InboundRequest",
    "KsefSendRequest",
    "MailRequest",
    "MailTestRequest",
    "NotificationMail",
    "PasswordLinkRequest",
    "PeriodicWork",
    "PreferredClaim",
    "SyncPort",
    "Topic",
    "UserInfo",
    "decode_payload",
    "delivery_subscribers",
    "encode_payload",
]

#: The subscriber name of the cabinet's own mail delivery (``mail.*`` topics). CRM backends
#: subscribe under their registered names; no backend may be called ``mail``.
MAIL_SUBSCRIBER = "mail"
#: The subscriber name of the KSeF plugin's sender (``ksef.*`` topics).
KSEF_SUBSCRIBER = "ksef"
#: Topic prefix → the one subscriber its topics are addressed to. Names here are reserved: no
#: CRM backend may use them.
ADDRESSED_PREFIXES: Mapping[str, str] = {"mail": MAIL_SUBSCRIBER, "ksef": KSEF_SUBSCRIBER}


class Topic(enum.StrEnum):
    """Every outbox topic. The value is what is stored and what a webhook receiver sees."""

    DOCUMENT_CREATED = "document.created"
    DOCUMENT_UPDATED = "document.updated"
    DOCUMENT_DELETED = "document.deleted"
    DOCUMENT_STATUS_CHANGED = "document.status_changed"
    DOCUMENT_PAYMENT_CHANGED = "document.payment_changed"
    CLIENT_CREATED = "client.created"
    CLIENT_UPDATED = "client.updated"
    COUNTERPARTY_CREATED = "counterparty.created"
    COUNTERPARTY_UPDATED = "counterparty.updated"
    COUNTERPARTY_DELETED = "counterparty.deleted"
    PRODUCT_CREATED = "product.created"
    PRODUCT_UPDATED = "product.updated"
    PRODUCT_DELETED = "product.deleted"
    USER_CREATED = "user.created"
    USER_DEACTIVATED = "user.deactivated"
    NEWS_PUBLISHED = "news.published"
    NEWS_UPDATED = "news.updated"
    NEWS_DELETED = "news.deleted"
    CHAT_MESSAGE_POSTED = "chat.message_posted"
    #: A document to e-mail; delivered by the cabinet's mail delivery, never by a CRM.
    MAIL_DOCUMENT = "mail.document"
    #: A single-use link to set a password ("forgot password", an invitation), e-mailed to
    #: its user by the cabinet's mail delivery; the link's secret is made when it is sent.
    MAIL_PASSWORD_LINK = "mail.password_link"  # noqa: S105 - a topic name, not a secret
    #: A test e-mail an admin asked for on the mail settings page (checks the SMTP settings).
    MAIL_TEST = "mail.test"
    #: A notification to e-mail to its user; delivered by the cabinet's mail delivery.
    MAIL_NOTIFICATION = "mail.notification"
    #: A document to send to KSeF; delivered to the outbox subscriber ``ksef`` only (the KSeF
    #: plugin registers it, see ``docs/plugins/ksef.md``).
    KSEF_SEND = "ksef.send"

    @property
    def is_mail(self) -> bool:
        """Mail topics go to the mail subscriber only."""
        return self.value.startswith("mail.")

    @property
    def addressee(self) -> str | None:
        """The one subscriber an addressed topic goes to (``mail.*`` → ``mail``, ``ksef.*`` →
        ``ksef``); ``None`` for a change every active CRM backend receives."""
        prefix = self.value.split(".", 1)[0]
        return ADDRESSED_PREFIXES.get(prefix)


@attrs.frozen(kw_only=True)
class DocumentStatusChange:
    """Payload of ``document.status_changed``: the document as stored after the move.

    ``transition`` is the workflow move's key, ``None`` when a CRM set the state directly.
    """

    document: Document
    transition: str | None
    old_status: str
    new_status: str
    comment: str = ""


@attrs.frozen(kw_only=True)
class DocumentPaymentChange:
    """Payload of ``document.payment_changed``: the document after its payment status moved."""

    document: Document
    old_payment_status: PaymentStatus
    new_payment_status: PaymentStatus


@attrs.frozen(kw_only=True)
class DocumentFile:
    """A file of an issued document as the client receives it: its PDF, its FA(3) XML."""

    filename: str
    media_type: str
    content: bytes = attrs.field(repr=lambda value: f"<{len(value)} bytes>")


@attrs.frozen(kw_only=True)
class UserInfo:
    """A user as the outside sees it (``user.*`` payloads): never the password hash."""

    id: int | None = None
    email: str
    name: str = ""
    role: Role = Role.CLIENT
    client_id: int | None = None
    language: str = "pl"
    active: bool = True
    created_at: datetime | None = None

    @classmethod
    def of(cls, user: User) -> UserInfo:
        """The public part of ``user``."""
        return cls(
            id=user.id,
            email=user.email,
            name=user.name,
            role=user.role,
            client_id=user.client_id,
            language=user.language,
            active=user.active,
            created_at=user.created_at,
        )


@attrs.frozen(kw_only=True)
class MailRequest:
    """Payload of ``mail.document``: e-mail the document ``document_id`` (the message's
    entity) to ``to``."""

    document_id: int
    to: str
    message: str = ""
    language: str = "pl"
    requested_by: int | None = None


@attrs.frozen(kw_only=True)
class PasswordLinkRequest:
    """Payload of ``mail.password_link``: e-mail user ``user_id`` (the message's entity) a
    single-use link to set a password, for ``purpose`` (``reset`` or ``invite``). No secret:
    the mail delivery makes the link when it sends it, so none ever sits in the outbox."""

    user_id: int
    purpose: str
    invited_by: int | None = None


@attrs.frozen(kw_only=True)
class MailTestRequest:
    """Payload of ``mail.test``: a short test e-mail to ``to``, asked for by an admin."""

    to: str
    language: str = "pl"
    requested_by: int | None = None


@attrs.frozen(kw_only=True)
class NotificationMail:
    """Payload of ``mail.notification``: e-mail the notification ``notification_id`` (the
    message's entity) to its user at ``to``, in ``language``."""

    notification_id: int
    user_id: int
    to: str
    language: str = "pl"


@attrs.frozen(kw_only=True)
class KsefSendRequest:
    """Payload of ``ksef.send``: send the document ``document_id`` (the message's entity) of
    ``client_id`` to KSeF as FA(3) ``ksef_kind``. ``number`` is its number when queued;
    ``reason`` is ``issue``, ``reissue`` (fixed after a rejection) or ``requeue``."""

    document_id: int
    client_id: int
    number: str
    ksef_kind: str
    reason: str = "issue"


#: The one payload type of each topic. An entity topic carries the entity as stored.
PAYLOAD_TYPES: Mapping[Topic, type] = {
    Topic.DOCUMENT_CREATED: Document,
    Topic.DOCUMENT_UPDATED: Document,
    Topic.DOCUMENT_DELETED: Document,
    Topic.DOCUMENT_STATUS_CHANGED: DocumentStatusChange,
    Topic.DOCUMENT_PAYMENT_CHANGED: DocumentPaymentChange,
    Topic.CLIENT_CREATED: Client,
    Topic.CLIENT_UPDATED: Client,
    Topic.COUNTERPARTY_CREATED: Counterparty,
    Topic.COUNTERPARTY_UPDATED: Counterparty,
    Topic.COUNTERPARTY_DELETED: Counterparty,
    Topic.PRODUCT_CREATED: Product,
    Topic.PRODUCT_UPDATED: Product,
    Topic.PRODUCT_DELETED: Product,
    Topic.USER_CREATED: UserInfo,
    Topic.USER_DEACTIVATED: UserInfo,
    Topic.NEWS_PUBLISHED: NewsItem,
    Topic.NEWS_UPDATED: NewsItem,
    Topic.NEWS_DELETED: NewsItem,
    Topic.CHAT_MESSAGE_POSTED: ChatMessage,
    Topic.MAIL_DOCUMENT: MailRequest,
    Topic.MAIL_PASSWORD_LINK: PasswordLinkRequest,
    Topic.MAIL_TEST: MailTestRequest,
    Topic.MAIL_NOTIFICATION: NotificationMail,
    Topic.KSEF_SEND: KsefSendRequest,
}


def encode_payload(topic: Topic, value: object) -> dict[str, Any]:
    """``value`` as the JSON object stored for ``topic`` (type-checked against the catalogue)."""
    expected = PAYLOAD_TYPES[topic]
    if not isinstance(value, expected):
        raise TypeError(f"{topic.value} carries {expected.__name__}, not {type(value).__name__}")
    return to_json_dict(value)


def decode_payload(message: OutboxMessage) -> object:
    """The typed payload of ``message``; :class:`ValueError` for a topic not in the catalogue
    (a backend ignores those: a newer core may add topics)."""
    topic = Topic(message.topic)
    return converter.structure(dict(message.payload), PAYLOAD_TYPES[topic])


def delivery_subscribers(
    topic: Topic, *, origin: str | None, crm_backends: Iterable[str]
) -> tuple[str, ...]:
    """Who gets a delivery of a ``topic`` message: its addressee for an addressed topic (the
    mail subscriber, the KSeF subscriber), else every active CRM backend except ``origin`` (a
    change is never echoed to the CRM it came from, but still reaches the others)."""
    if topic.addressee is not None:
        return (topic.addressee,)
    return tuple(dict.fromkeys(name for name in crm_backends if name != origin))


# -- the port -----------------------------------------------------------------------------------


@runtime_checkable
class SyncPort(Protocol):
    """All a CRM backend may ask of the cabinet. One port per backend: ``backend`` is the name
    its writes carry as ``origin`` and the namespace of its state.

    Reads are system reads (no actor: the backend works for the firm). Writes go through the
    services, with their audit entries, notifications and event hooks. A backend's own
    configuration is not here: its factory (``register_crm_backends``) reads it from
    ``cabinet.plugin_config(...)`` when composing the backend.
    """

    @property
    def backend(self) -> str:
        """The backend's registered name."""
        ...

    @property
    def base_url(self) -> str:
        """The cabinet's public URL (links in CRM items and messages); may be empty."""
        ...

    def now(self) -> datetime:
        """The cabinet's clock (aware UTC)."""
        ...

    # reads
    def document(self, document_id: int) -> Document | None: ...
    def documents(self, document_ids: Iterable[int]) -> Mapping[int, Document]:
        """The documents of ``document_ids`` that exist, by id, read at once (a batch
        delivery pushes 50 documents of a claim with one read, not 50)."""
        ...

    def documents_after(self, after_id: int, limit: int) -> Sequence[Document]:
        """Documents with ``id > after_id`` in id order, at most ``limit`` (a backfill or a
        reconciliation walks the whole cabinet with it)."""
        ...

    def client(self, client_id: int) -> Client | None: ...
    def clients(self) -> Sequence[Client]: ...
    def counterparty(self, counterparty_id: int) -> Counterparty | None: ...
    def product(self, product_id: int) -> Product | None: ...
    def user(self, user_id: int) -> UserInfo | None: ...
    def user_by_email(self, email: str) -> UserInfo | None: ...
    def document_type(self, key: str) -> DocumentType | None: ...
    def document_files(self, document_id: int) -> Sequence[DocumentFile]:
        """The files of the document as the client receives them: its PDF (when a renderer
        is registered for its type) and its FA(3) XML (a numbered document whose type has a
        ``ksef_kind``); empty for a draft or a missing document."""
        ...

    def pending(self, entity: str, entity_id: int) -> bool:
        """Whether a message about the entity still waits for delivery to this backend."""
        ...

    def deliveries(self, status: str, *, limit: int = 100) -> Sequence[OutboxMessage]:
        """This backend's own deliveries in ``status`` ("pending", "failed" or "delivered"),
        newest first: what its settings page shows an admin."""
        ...

    # writes (origin = this backend)
    def apply_status(self, document_id: int, status: str, *, comment: str = "") -> Document | None:
        """Move the document to ``status`` as the CRM says; ``None`` when already there.
        :class:`ValueError` for a state its workflow does not know."""
        ...

    def apply_payment(
        self, document_id: int, payment_status: PaymentStatus | str
    ) -> Document | None: ...
    def receive_chat(
        self, client_id: int, body: str, *, external_id: str, author_id: int | None = None
    ) -> tuple[ChatMessage, bool]:
        """Store a message the firm wrote in the CRM; ``False`` when ``external_id`` is known."""
        ...

    def upsert_news(self, item: NewsItem) -> tuple[NewsItem, str]:
        """Create or update ``item`` by its ``external_id``: "created", "updated", "unchanged"."""
        ...

    def delete_news(self, external_id: str) -> bool: ...
    def news_ids(self, prefix: str) -> Mapping[str, int]:
        """External id → news id of the items whose external id starts with ``prefix``."""
        ...

    def requeue(self, topic: Topic, entity: str, entity_id: int, *, reason: str) -> None:
        """Queue the entity again for this backend only (a reconciliation found it missing or
        stale), with an audit entry naming ``reason``."""
        ...

    def retry_delivery(self, message_id: int, *, reason: str, actor_id: int | None = None) -> bool:
        """Put this backend's failed delivery of ``message_id`` back in the queue (fresh
        attempts), audited with ``reason`` and the admin ``actor_id`` who asked (``None``:
        the backend itself, e.g. a reconciliation); ``False`` when it is not a failed
        delivery of this backend."""
        ...

    # state
    def state(self, key: str, default: Any = None) -> Any:
        """This backend's stored value under ``key`` (JSON types)."""
        ...

    def set_state(self, key: str, value: Any, *, secret: bool = False) -> None:
        """Store ``value``; ``None`` deletes. A ``secret`` (a token) is never written into the
        audit trail: the entry says only that it changed."""
        ...

    def states(self, prefix: str, *, limit: int = 500) -> Mapping[str, Any]:
        """The stored values whose key starts with ``prefix`` (at most ``limit``, in key
        order): a backend's own durable work list (e.g. ``files.owed.<id>``)."""
        ...

    def set_states(self, values: Mapping[str, Any]) -> None:
        """Store many ordinary values at once, in one transaction (``None`` deletes): what a
        batch delivery records for its documents costs one write, not one per document."""
        ...

    def state_of(self, keys: Iterable[str]) -> Mapping[str, Any]:
        """The stored values of exactly these keys, read at once (keys not stored are left
        out): what a batch delivery or a reconciliation page needs of 50 or 500 documents'
        bookkeeping costs one read, not one per document."""
        ...


# -- inbound ------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class InboundRequest:
    """An HTTP call a CRM made to ``/hooks/{backend}``, read by the web shell.

    ``headers`` have lower-case names; ``body`` is at most the handler's ``max_body_bytes``.
    """

    method: str
    path: str = ""
    headers: Mapping[str, str] = attrs.field(factory=dict)
    query: Mapping[str, str] = attrs.field(factory=dict)
    body: bytes = b""
    remote_addr: str | None = None


@attrs.frozen(kw_only=True)
class InboundReply:
    """What to answer, and ``after``: work to run once the answer is sent (a CRM expects a
    fast reply and retries on a slow one)."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    after: Callable[[], object] | None = None

    @classmethod
    def json(
        cls, value: object, status: int = 200, *, after: Callable[[], object] | None = None
    ) -> InboundReply:
        """A JSON answer."""
        return cls(status=status, body=json.dumps(value).encode(), after=after)

    @classmethod
    def problem(cls, status: int, title: str, detail: str = "") -> InboundReply:
        """An RFC 9457 problem document (a refused, expired or badly signed call)."""
        document: dict[str, object] = {"type": "about:blank", "title": title, "status": status}
        if detail:
            document["detail"] = detail
        return cls(
            status=status,
            body=json.dumps(document).encode(),
            content_type="application/problem+json",
        )


@runtime_checkable
class InboundHandler(Protocol):
    """Verifies and applies what a CRM sends. Refusing (a bad signature, a replay) changes
    nothing and answers with a problem document."""

    #: The largest body accepted; larger ones get 413 before being read.
    max_body_bytes: int

    def handle(self, port: SyncPort, request: InboundRequest) -> InboundReply: ...


# -- optional capabilities of a backend ---------------------------------------------------------


@runtime_checkable
class BatchDelivery(Protocol):
    """A backend that pushes a whole claimed batch in few requests."""

    def deliver_many(
        self, port: SyncPort, messages: Sequence[OutboxMessage]
    ) -> Mapping[int, Exception | None]:
        """Per message id: ``None`` if delivered, else the error to retry on."""
        ...


@runtime_checkable
class PreferredClaim(Protocol):
    """A batch backend that needs larger claims than ``worker_batch_size`` to keep its
    pipeline busy: the worker claims ``max(worker_batch_size, claim_size)`` deliveries for it.
    Each claim is delivered whole before the next, so a claim no wider than the backend's
    requests in flight leaves the connection idle while its last answers come back."""

    @property
    def claim_size(self) -> int: ...


@runtime_checkable
class PeriodicWork(Protocol):
    """A backend with work the worker runs on a schedule (reconciliation, a news pull)."""

    def periodic_tasks(self, port: SyncPort) -> Iterable[PeriodicTask[SyncPort]]: ...


@runtime_checkable
class InboundCapable(Protocol):
    """A backend that receives calls at ``/hooks/{name}``."""

    @property
    def inbound(self) -> InboundHandler: ...
