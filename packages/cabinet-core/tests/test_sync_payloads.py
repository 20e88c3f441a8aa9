"""The topic catalogue's payloads: every topic round-trips through encode/decode, the encoder
refuses the wrong type, and messages stored before the catalogue (flat entities, nested
documents, ``origin`` in the payload, users without their hash) still decode."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from cabinet_core.entities import (
    Address,
    BankAccount,
    ChatMessage,
    Client,
    Counterparty,
    Document,
    DocumentLine,
    DocumentTotals,
    NewsItem,
    OutboxMessage,
    Party,
    PaymentStatus,
    Product,
    RateTotal,
    Role,
    User,
)
from cabinet_core.sync import (
    KSEF_SUBSCRIBER,
    MAIL_SUBSCRIBER,
    PAYLOAD_TYPES,
    DocumentPaymentChange,
    DocumentStatusChange,
    KsefSendRequest,
    MailRequest,
    MailTestRequest,
    NotificationMail,
    PasswordLinkRequest,
    Topic,
    UserInfo,
    decode_payload,
    delivery_subscribers,
    encode_payload,
)

AT = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)

CLIENT = Client(
    id=3,
    name="Łódzka Piekarnia sp. z o.o.",
    nip="7251801126",
    address=Address(line1="Piotrkowska 1", postal_code="90-001", city="Łódź"),
    email="biuro@piekarnia.example",
    bank_accounts=(
        BankAccount(currency="PLN", iban="PL61109010140000071219812874", bank_name="Bank"),
    ),
    created_at=AT,
)
DOCUMENT = Document(
    id=11,
    client_id=3,
    doc_type="vat_invoice",
    status="issued",
    number="FV/1/11/2026",
    issue_date=date(2026, 11, 20),
    due_date=date(2026, 12, 4),
    seller=Party(name=CLIENT.name, nip=CLIENT.nip),
    buyer=Party(name="Kupiec sp. z o.o.", nip="5260001246", email="kupiec@example.com"),
    lines=(DocumentLine(name="Chleb", quantity=Decimal("2"), unit_price=Decimal("12.50")),),
    totals=DocumentTotals(
        currency="PLN",
        rows=(
            RateTotal(rate="23", net=Decimal("25.00"), vat=Decimal("5.75"), gross=Decimal("30.75")),
        ),
        net=Decimal("25.00"),
        vat=Decimal("5.75"),
        gross=Decimal("30.75"),
    ),
    extra={"note": "zapłacono gotówką"},
    created_at=AT,
)
USER = UserInfo(id=5, email="anna@piekarnia.example", name="Anna", client_id=3, created_at=AT)
NEWS = NewsItem(id=2, title="Nowe stawki", body="Od 1 stycznia…", published_at=AT, author_id=1)

EXAMPLES: dict[Topic, object] = {
    Topic.DOCUMENT_CREATED: DOCUMENT,
    Topic.DOCUMENT_UPDATED: DOCUMENT,
    Topic.DOCUMENT_DELETED: DOCUMENT,
    Topic.DOCUMENT_STATUS_CHANGED: DocumentStatusChange(
        document=DOCUMENT, transition="issue", old_status="draft", new_status="issued"
    ),
    Topic.DOCUMENT_PAYMENT_CHANGED: DocumentPaymentChange(
        document=DOCUMENT,
        old_payment_status=PaymentStatus.UNPAID,
        new_payment_status=PaymentStatus.PAID,
    ),
    Topic.CLIENT_CREATED: CLIENT,
    Topic.CLIENT_UPDATED: CLIENT,
    Topic.COUNTERPARTY_CREATED: Counterparty(id=4, client_id=3, name="Kupiec", nip="5260001246"),
    Topic.COUNTERPARTY_UPDATED: Counterparty(id=4, client_id=3, name="Kupiec SA"),
    Topic.COUNTERPARTY_DELETED: Counterparty(id=4, client_id=3, name="Kupiec SA"),
    Topic.PRODUCT_CREATED: Product(id=8, client_id=3, name="Chleb", unit_price=Decimal("12.50")),
    Topic.PRODUCT_UPDATED: Product(id=8, client_id=3, name="Chleb", vat_rate="5", gtu="GTU_01"),
    Topic.PRODUCT_DELETED: Product(id=8, client_id=3, name="Chleb"),
    Topic.USER_CREATED: USER,
    Topic.USER_DEACTIVATED: UserInfo(id=5, email=USER.email, active=False, role=Role.CLIENT),
    Topic.NEWS_PUBLISHED: NEWS,
    Topic.NEWS_UPDATED: NEWS,
    Topic.NEWS_DELETED: NEWS,
    Topic.CHAT_MESSAGE_POSTED: ChatMessage(
        id=9, client_id=3, author_id=5, body="Dzień dobry", created_at=AT
    ),
    Topic.MAIL_DOCUMENT: MailRequest(
        document_id=11, to="kupiec@example.com", message="W załączeniu", requested_by=5
    ),
    Topic.MAIL_PASSWORD_LINK: PasswordLinkRequest(user_id=7, purpose="invite", invited_by=2),
    Topic.MAIL_TEST: MailTestRequest(to="kontrola@example.pl", language="pl", requested_by=5),
    Topic.MAIL_NOTIFICATION: NotificationMail(
        notification_id=42, user_id=3, to="ksiegowa@firm.pl", language="pl"
    ),
    Topic.KSEF_SEND: KsefSendRequest(
        document_id=11, client_id=3, number="FV/1/12/2026", ksef_kind="VAT"
    ),
}


def _message(topic: Topic, payload: dict[str, object]) -> OutboxMessage:
    return OutboxMessage(topic=topic.value, entity="document", entity_id=1, payload=payload)


def test_every_topic_has_an_example() -> None:
    assert set(EXAMPLES) == set(Topic) == set(PAYLOAD_TYPES)


@pytest.mark.parametrize("topic", list(Topic), ids=lambda topic: topic.value)
def test_every_payload_round_trips(topic: Topic) -> None:
    value = EXAMPLES[topic]
    encoded = encode_payload(topic, value)
    assert decode_payload(_message(topic, encoded)) == value
    # What is stored is JSON (Decimal as text, dates ISO), never a Python object.
    assert all(isinstance(key, str) for key in encoded)


def test_the_encoder_refuses_the_wrong_payload_type() -> None:
    with pytest.raises(TypeError, match=r"document\.created carries Document, not Client"):
        encode_payload(Topic.DOCUMENT_CREATED, CLIENT)


def test_an_unknown_topic_does_not_decode() -> None:
    with pytest.raises(ValueError):
        decode_payload(OutboxMessage(topic="invoice.teleported", entity="document", entity_id=1))


def test_messages_stored_before_the_catalogue_still_decode() -> None:
    document = encode_payload(Topic.DOCUMENT_CREATED, DOCUMENT)
    # A status change applied by a CRM carried its origin in the payload.
    old_status = {
        "document": document,
        "transition": None,
        "old_status": "draft",
        "new_status": "issued",
        "comment": "",
        "origin": "crm",
    }
    change = decode_payload(_message(Topic.DOCUMENT_STATUS_CHANGED, old_status))
    assert change == DocumentStatusChange(
        document=DOCUMENT, transition=None, old_status="draft", new_status="issued"
    )
    old_payment = {
        "document": document,
        "old_payment_status": "unpaid",
        "new_payment_status": "paid",
        "origin": "crm",
    }
    assert (
        decode_payload(_message(Topic.DOCUMENT_PAYMENT_CHANGED, old_payment))
        == (EXAMPLES[Topic.DOCUMENT_PAYMENT_CHANGED])
    )
    # A user was the whole entity without its password hash.
    user = User(id=5, email=USER.email, name="Anna", client_id=3, created_at=AT)
    old_user = {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": "client",
        "client_id": 3,
        "language": "pl",
        "active": True,
        "created_at": AT.isoformat(),
    }
    assert decode_payload(_message(Topic.USER_CREATED, old_user)) == UserInfo.of(user)
    old_mail = {"document_id": 11, "to": "a@b.pl", "message": "", "language": "en"}
    assert decode_payload(_message(Topic.MAIL_DOCUMENT, old_mail)) == MailRequest(
        document_id=11, to="a@b.pl", language="en"
    )


def test_mail_goes_to_the_mail_subscriber_and_the_rest_to_every_backend_but_the_origin() -> None:
    backends = ("bitrix24", "webhook", "bitrix24")
    assert delivery_subscribers(Topic.MAIL_DOCUMENT, origin=None, crm_backends=backends) == (
        MAIL_SUBSCRIBER,
    )
    assert delivery_subscribers(Topic.DOCUMENT_CREATED, origin=None, crm_backends=backends) == (
        "bitrix24",
        "webhook",
    )
    assert delivery_subscribers(
        Topic.DOCUMENT_STATUS_CHANGED, origin="bitrix24", crm_backends=backends
    ) == ("webhook",)
    assert delivery_subscribers(Topic.CLIENT_UPDATED, origin=None, crm_backends=()) == ()
    assert delivery_subscribers(Topic.KSEF_SEND, origin=None, crm_backends=backends) == (
        KSEF_SUBSCRIBER,
    )
