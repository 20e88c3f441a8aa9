"""A small, real world in a cabinet and one outbox message per topic about it.

The contract suites deliver these: every payload is the topic's typed value
(:data:`cabinet_core.sync.PAYLOAD_TYPES`) encoded by the one converter, about entities that
exist in the cabinet, so a backend that reads back through its port (the client of a document,
the document of a status change) finds them.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

import attrs

from cabinet_core.entities import (
    Actor,
    Address,
    ChatMessage,
    Client,
    Counterparty,
    Document,
    DocumentLine,
    NewsItem,
    OutboxMessage,
    Party,
    PaymentStatus,
    Product,
    Role,
)
from cabinet_core.sync import (
    DocumentPaymentChange,
    DocumentStatusChange,
    KsefSendRequest,
    MailRequest,
    MailTestRequest,
    NotificationMail,
    PasswordLinkRequest,
    Topic,
    UserInfo,
    encode_payload,
)

if TYPE_CHECKING:
    from cabinet_core.app import Cabinet

__all__ = ["SampleWorld", "message_for", "sample_messages", "sample_world"]

SYSTEM = Actor.system()
#: Outbox ids of sample messages start high, away from any real message of the cabinet.
FIRST_SAMPLE_ID = 900_000
_ids = itertools.count(FIRST_SAMPLE_ID)


@attrs.frozen(kw_only=True)
class SampleWorld:
    """What :func:`sample_world` stored: one of each entity a topic is about."""

    client: Client
    counterparty: Counterparty
    product: Product
    document: Document
    user: UserInfo
    news: NewsItem
    chat: ChatMessage


def sample_world(cabinet: Cabinet) -> SampleWorld:
    """Store a client with a counterparty, a product, an invoice, a user, news and a chat
    message, through the services (as the system)."""
    client = cabinet.clients.create(
        SYSTEM,
        Client(
            name="Kontrakt sp. z o.o.",
            nip="5250000110",
            email="biuro@kontrakt.example",
            address=Address(line1="ul. Prosta 1", postal_code="00-001", city="Warszawa"),
        ),
    )
    assert client.id is not None
    counterparty = cabinet.counterparties.create(
        SYSTEM,
        Counterparty(
            client_id=client.id,
            name="Kupiec S.A.",
            nip="5260001246",
            email="kupiec@example.com",
            address=Address(line1="ul. Długa 2", postal_code="00-002", city="Warszawa"),
        ),
    )
    product = cabinet.products.create(
        SYSTEM,
        Product(client_id=client.id, name="Doradztwo", unit="h", unit_price=Decimal("250.00")),
    )
    document = cabinet.documents.create(SYSTEM, _sale(cabinet, client.id, counterparty))
    user = cabinet.users.create(
        SYSTEM,
        email="jan@kontrakt.example",
        name="Jan Kontraktowy",
        role=Role.CLIENT,
        client_id=client.id,
        password="a-long-enough-password-1",  # noqa: S106 (a sample user in a test cabinet)
    )
    news = cabinet.news.publish(SYSTEM, NewsItem(title="Nowe stawki", body="Od stycznia."))
    chat = cabinet.chat.post(SYSTEM, client_id=client.id, body="Dzień dobry!")
    return SampleWorld(
        client=client,
        counterparty=counterparty,
        product=product,
        document=document,
        user=UserInfo.of(user),
        news=news,
        chat=chat,
    )


def _sale(cabinet: Cabinet, client_id: int, counterparty: Counterparty) -> Document:
    """A sale of four hours of advice to the counterparty, as the first registered type with
    lines that accepts it (the kit names no type: behaviour is the types' own)."""
    for document_type in cabinet.document_types.values():
        if not document_type.has_lines:
            continue
        candidate = Document(
            client_id=client_id,
            doc_type=document_type.key,
            issue_date=date(2026, 12, 1),
            buyer=Party(name=counterparty.name, nip=counterparty.nip, email=counterparty.email),
            counterparty_id=counterparty.id,
            lines=(
                DocumentLine(name="Doradztwo", quantity=Decimal(4), unit_price=Decimal("250.00")),
            ),
        )
        if not document_type.validate(candidate):
            return candidate
    raise LookupError("no registered document type accepts a plain sale with lines")


def _payloads(world: SampleWorld) -> Mapping[Topic, tuple[str, int | None, object]]:
    document = world.document
    assert document.id is not None  # stored by the sample world
    issued = attrs.evolve(document, status="issued")
    paid = attrs.evolve(issued, payment_status=PaymentStatus.PAID)
    status_change = DocumentStatusChange(
        document=issued, transition="issue", old_status="draft", new_status="issued"
    )
    payment_change = DocumentPaymentChange(
        document=paid,
        old_payment_status=PaymentStatus.UNPAID,
        new_payment_status=PaymentStatus.PAID,
    )
    renamed = attrs.evolve(world.client, name=world.client.name + " (zmiana)")
    return {
        Topic.DOCUMENT_CREATED: ("document", document.id, document),
        Topic.DOCUMENT_UPDATED: ("document", document.id, attrs.evolve(document, notes="Uwaga")),
        Topic.DOCUMENT_STATUS_CHANGED: ("document", document.id, status_change),
        Topic.DOCUMENT_PAYMENT_CHANGED: ("document", document.id, payment_change),
        Topic.DOCUMENT_DELETED: ("document", document.id, document),
        Topic.CLIENT_CREATED: ("client", world.client.id, world.client),
        Topic.CLIENT_UPDATED: ("client", world.client.id, renamed),
        Topic.COUNTERPARTY_CREATED: ("counterparty", world.counterparty.id, world.counterparty),
        Topic.COUNTERPARTY_UPDATED: ("counterparty", world.counterparty.id, world.counterparty),
        Topic.COUNTERPARTY_DELETED: ("counterparty", world.counterparty.id, world.counterparty),
        Topic.PRODUCT_CREATED: ("product", world.product.id, world.product),
        Topic.PRODUCT_UPDATED: ("product", world.product.id, world.product),
        Topic.PRODUCT_DELETED: ("product", world.product.id, world.product),
        Topic.USER_CREATED: ("user", world.user.id, world.user),
        Topic.USER_DEACTIVATED: ("user", world.user.id, attrs.evolve(world.user, active=False)),
        Topic.NEWS_PUBLISHED: ("news", world.news.id, world.news),
        Topic.NEWS_UPDATED: ("news", world.news.id, world.news),
        Topic.NEWS_DELETED: ("news", world.news.id, world.news),
        Topic.CHAT_MESSAGE_POSTED: ("chat", world.chat.id, world.chat),
        Topic.MAIL_DOCUMENT: (
            "document",
            document.id,
            MailRequest(document_id=document.id, to="kupiec@example.com"),
        ),
        Topic.MAIL_NOTIFICATION: (
            "notification",
            1,
            NotificationMail(
                notification_id=1,
                user_id=world.user.id or 1,
                to=world.user.email,
                language="pl",
            ),
        ),
        Topic.MAIL_PASSWORD_LINK: (
            "user",
            world.user.id or 1,
            PasswordLinkRequest(user_id=world.user.id or 1, purpose="reset"),
        ),
        Topic.MAIL_TEST: (
            "mail_test",
            world.user.id or 1,
            MailTestRequest(to=world.user.email, language="pl"),
        ),
        Topic.KSEF_SEND: (
            "document",
            document.id,
            KsefSendRequest(
                document_id=document.id,
                client_id=document.client_id,
                number=document.number or "FV/1/12/2026",
                ksef_kind="VAT",
            ),
        ),
    }


def message_for(
    topic: Topic | str, entity: str, entity_id: int | None, payload: Mapping[str, object]
) -> OutboxMessage:
    """An outbox message as the worker hands it over, with a fresh sample id."""
    return OutboxMessage(
        id=next(_ids),
        topic=str(topic),
        entity=entity,
        entity_id=entity_id,
        payload=dict(payload),
        created_at=None,
    )


def sample_messages(
    cabinet: Cabinet, world: SampleWorld | None = None
) -> dict[Topic, OutboxMessage]:
    """One message per topic of the catalogue about ``world`` (stored now when not given)."""
    world = world or sample_world(cabinet)
    now = cabinet.store.clock()
    return {
        topic: attrs.evolve(
            message_for(topic, entity, entity_id, encode_payload(topic, value)), created_at=now
        )
        for topic, (entity, entity_id, value) in _payloads(world).items()
    }
