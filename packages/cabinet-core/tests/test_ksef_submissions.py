"""The core's KSeF seam, on SQLite and PostgreSQL: a document's submission state, the
``ksef.send`` topic delivered by the worker to a plugin's outbox subscriber, the KsefPort, the
doc-type effects (mail after acceptance or at once offline, back to be fixed after a
rejection), corrections naming the original's KSeF number, a manual KSeF number, the list."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import attrs
import pytest
from cabinet_core import hookimpl
from cabinet_core.app import Cabinet
from cabinet_core.crm import DeliveryError
from cabinet_core.entities import Actor, OutboxMessage
from cabinet_core.errors import Conflict, ValidationError
from cabinet_core.hookspecs import Register
from cabinet_core.ksef import validate_fa3
from cabinet_core.ksef.submission import KsefMode, KsefState, VerificationCode
from cabinet_core.printing import view_of
from cabinet_core.storage import Store
from cabinet_core.sync import KSEF_SUBSCRIBER, KsefSendRequest, Topic, decode_payload
from cabinet_core.worker import Worker
from fixtures_services import HookRecorder, World
from invoicing_support import BUYER, CapturingMailer, example, issued, mail_cabinet, sales_document

# Client A's NIP is 1234563218; these carry the right check digits.
NUMBER = "1234563218-20261120-0A1B2C3D4E5F-61"
OTHER_NUMBER = "1234563218-20261121-00000000BEEF-A1"
SELLER_9999_NUMBER = "9999999999-20261120-ABCDEF012345-9D"
FA = "{http://crd.gov.pl/wzor/2025/06/25/13775/}"
AT = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


class FakeSender:
    """The KSeF plugin's stand-in: what ``deliver`` got, and what it should answer."""

    def __init__(self, cabinet: Cabinet) -> None:
        self.port = cabinet.ksef_port()
        self.received: list[KsefSendRequest] = []
        self.fail: Exception | None = None
        self.accept = True

    def deliver(self, message: OutboxMessage) -> None:
        request = decode_payload(message)
        assert isinstance(request, KsefSendRequest)
        if self.fail is not None:
            raise self.fail
        self.received.append(request)
        xml = self.port.fa3_xml(request.document_id)
        assert validate_fa3(xml) == []
        self.port.mark_sent(
            request.document_id,
            invoice_hash="aGFzaA==",
            session_reference="20261120-SO-0000000001-01",
            invoice_reference=f"ref-{request.document_id}",
        )
        if self.accept:
            self.port.mark_accepted(
                request.document_id,
                ksef_number=NUMBER,
                acquired_at=AT,
                upo=b"<UPO/>",
                verification=(VerificationCode(url="https://qr.example/1", label=NUMBER),),
            )


class SenderPlugin:
    def __init__(self) -> None:
        self.sender: FakeSender | None = None

    @hookimpl
    def register_outbox_subscribers(self, register: Register) -> None:
        register(KSEF_SUBSCRIBER, self._build)

    def _build(self, cabinet: Cabinet) -> FakeSender:
        self.sender = FakeSender(cabinet)
        return self.sender


@pytest.fixture
def plugin() -> SenderPlugin:
    return SenderPlugin()


@pytest.fixture
def cabinet(
    store: Store, tmp_path: Path, hooks: HookRecorder, plugin: SenderPlugin
) -> Iterator[Cabinet]:
    yield mail_cabinet(store, tmp_path, CapturingMailer(), hooks, plugin)


def client_a(world: World) -> int:
    return world.client_id(world.client_a)


def ksef_on(world: World, *, auto_send: bool = True) -> None:
    cabinet = world.cabinet
    cabinet.ksef_port().set_enabled(client_a(world), True)
    cabinet.clients.set_preferences(
        world.actor(world.admin), client_a(world), auto_send=auto_send, default_template=None
    )


def messages(cabinet: Cabinet, doc_id: int | None, topic: Topic) -> list[OutboxMessage]:
    assert doc_id is not None
    with cabinet.store.transaction(readonly=True) as tx:
        found = sorted(tx.outbox_for("document", doc_id), key=lambda m: m.id or 0)
    return [m for m in found if m.topic == topic]


def history(world: World, doc_id: int | None) -> list[str]:
    entries = world.cabinet.audit.list(world.actor(world.admin), entity="document")
    return [e.action for e in sorted(entries, key=lambda e: e.id or 0) if e.entity_id == doc_id]


def issue_invoice(world: World) -> int:
    invoice = issued(world.cabinet, world.actor(world.alice), sales_document(client_a(world)))
    assert invoice.id is not None
    return invoice.id


# -- issuing -------------------------------------------------------------------------------------


def test_issuing_for_a_ksef_client_queues_ksef_send_not_the_mail(world: World) -> None:
    ksef_on(world)
    doc_id = issue_invoice(world)
    cabinet = world.cabinet
    submission = cabinet.ksef.submission(world.actor(world.alice), doc_id)
    assert submission is not None
    assert (submission.state, submission.mode, submission.ksef_number) == (
        KsefState.QUEUED,
        KsefMode.ONLINE,
        None,
    )
    queued = messages(cabinet, doc_id, Topic.KSEF_SEND)
    assert [m.subscriber for m in queued] == [KSEF_SUBSCRIBER]
    request = decode_payload(queued[0])
    assert isinstance(request, KsefSendRequest)
    assert (request.document_id, request.ksef_kind, request.reason) == (doc_id, "VAT", "issue")
    # The mail waits for KSeF's acceptance.
    assert messages(cabinet, doc_id, Topic.MAIL_DOCUMENT) == []
    assert "ksef.queued" in history(world, doc_id)


def test_a_client_without_ksef_keeps_todays_behaviour_and_is_told_plainly(world: World) -> None:
    world.cabinet.clients.set_preferences(
        world.actor(world.admin), client_a(world), auto_send=True, default_template=None
    )
    doc_id = issue_invoice(world)
    cabinet = world.cabinet
    assert messages(cabinet, doc_id, Topic.KSEF_SEND) == []
    assert [m.payload["to"] for m in messages(cabinet, doc_id, Topic.MAIL_DOCUMENT)] == [
        BUYER.email
    ]
    overview = cabinet.ksef.overview(world.actor(world.alice), doc_id)
    assert (overview.applies, overview.enabled, overview.submission) == (True, False, None)
    assert overview.not_sent
    # A proforma never goes to KSeF, so nothing is said about it.
    proforma = issued(
        cabinet, world.actor(world.alice), sales_document(client_a(world), "proforma")
    )
    assert proforma.id is not None
    assert not cabinet.ksef.overview(world.actor(world.alice), proforma.id).applies


# -- the worker and the subscriber ---------------------------------------------------------------


def test_the_worker_hands_ksef_send_to_the_subscriber_and_acceptance_mails_the_buyer(
    world: World, plugin: SenderPlugin
) -> None:
    ksef_on(world)
    doc_id = issue_invoice(world)
    cabinet = world.cabinet
    Worker(cabinet).run_once()
    assert plugin.sender is not None and [r.document_id for r in plugin.sender.received] == [doc_id]
    submission = cabinet.ksef.submission(world.actor(world.alice), doc_id)
    assert submission is not None
    assert (submission.state, submission.ksef_number, submission.acquired_at) == (
        KsefState.ACCEPTED,
        NUMBER,
        AT,
    )
    assert submission.has_upo and cabinet.ksef.upo(world.actor(world.alice), doc_id) == b"<UPO/>"
    assert submission.attempts == 1 and submission.invoice_reference == f"ref-{doc_id}"
    # Accepted: now the auto-send mail is queued, once.
    assert [m.payload["to"] for m in messages(cabinet, doc_id, Topic.MAIL_DOCUMENT)] == [
        BUYER.email
    ]
    assert [m.delivered_at is not None for m in messages(cabinet, doc_id, Topic.KSEF_SEND)] == [
        True
    ]
    actions = history(world, doc_id)
    assert (
        actions.index("ksef.queued") < actions.index("ksef.sent") < actions.index("ksef.accepted")
    )
    # The same acceptance reported again changes nothing and mails nobody twice.
    cabinet.ksef_port().mark_accepted(doc_id, ksef_number=NUMBER, acquired_at=AT)
    assert len(messages(cabinet, doc_id, Topic.MAIL_DOCUMENT)) == 1
    assert history(world, doc_id).count("ksef.accepted") == 1
    # The printable view carries the number and the verification code.
    document = cabinet.documents.get(world.actor(world.alice), doc_id)
    view = view_of(cabinet, document, world.client_a)
    assert view.ksef_number == NUMBER
    assert view.verification_codes == (VerificationCode(url="https://qr.example/1", label=NUMBER),)


def test_a_failing_subscriber_is_retried_like_a_crm_backend(
    world: World, plugin: SenderPlugin
) -> None:
    ksef_on(world)
    doc_id = issue_invoice(world)
    cabinet = world.cabinet
    cabinet.outbox_subscriber(KSEF_SUBSCRIBER)
    assert plugin.sender is not None
    plugin.sender.fail = DeliveryError("KSeF unavailable", retry_after=60)
    Worker(cabinet).run_once()
    (message,) = messages(cabinet, doc_id, Topic.KSEF_SEND)
    assert message.delivered_at is None and message.failed_at is None
    assert (message.attempts, message.last_error) == (1, "KSeF unavailable")
    plugin.sender.fail = DeliveryError("refused", permanent=True)
    cabinet.store.mark_retry(
        message.id or 0, subscriber=KSEF_SUBSCRIBER, error="x", next_attempt_at=AT
    )
    Worker(cabinet).run_once()
    (message,) = messages(cabinet, doc_id, Topic.KSEF_SEND)
    assert message.failed_at is not None


def test_a_subscriber_name_cannot_take_the_mail_or_a_crm_backends(
    store: Store, tmp_path: Path
) -> None:
    class Clash:
        @hookimpl
        def register_outbox_subscribers(self, register: Register) -> None:
            register("mail", lambda cabinet: None)

    with pytest.raises(ValueError, match="taken"):
        mail_cabinet(store, tmp_path, CapturingMailer(), Clash())


# -- rejection, offline ----------------------------------------------------------------------------


def test_a_rejection_sends_the_invoice_back_to_be_fixed_keeping_its_number(
    world: World, plugin: SenderPlugin
) -> None:
    ksef_on(world)
    cabinet, alice = world.cabinet, world.actor(world.alice)
    doc_id = issue_invoice(world)
    number = cabinet.documents.get(alice, doc_id).number
    port = cabinet.ksef_port()
    port.mark_sent(doc_id, invoice_hash="h", session_reference="s", invoice_reference="r")
    port.mark_rejected(
        doc_id, code=450, description="Błąd weryfikacji semantyki dokumentu", details=("P_15",)
    )
    document = cabinet.documents.get(alice, doc_id)
    assert (document.status, document.number) == ("ksef_rejected", number)
    assert cabinet.document_type("vat_invoice").workflow.state("ksef_rejected").editable
    submission = port.submission(doc_id)
    assert submission is not None
    assert (submission.state, submission.error_code, submission.error_details) == (
        KsefState.REJECTED,
        450,
        ("P_15",),
    )
    assert messages(cabinet, doc_id, Topic.MAIL_DOCUMENT) == []
    notes = cabinet.notifications.list(alice)
    assert [n.kind for n in notes] == ["ksef.rejected"] and "450" in notes[0].text
    # Nobody makes the rejection move by hand.
    assert "ksef_reject" not in [t.key for t in cabinet.documents.transitions(alice, doc_id)]
    # Fixed and issued again: the same number, a new ksef.send.
    fixed = cabinet.documents.update(alice, attrs.evolve(document, notes="poprawiona"))
    again = cabinet.documents.transition(alice, fixed.id or 0, "issue")
    assert (again.status, again.number) == ("issued", number)
    sends = [decode_payload(m) for m in messages(cabinet, doc_id, Topic.KSEF_SEND)]
    assert [s.reason for s in sends if isinstance(s, KsefSendRequest)] == ["issue", "reissue"]
    resubmitted = port.submission(doc_id)
    assert resubmitted is not None and resubmitted.state is KsefState.QUEUED
    assert resubmitted.error_code is None and resubmitted.attempts == 1
    assert "ksef.rejected" in history(world, doc_id)


def test_offline_mode_mails_at_once_and_acceptance_later_does_not_mail_again(
    world: World,
) -> None:
    ksef_on(world)
    cabinet = world.cabinet
    doc_id = issue_invoice(world)
    port = cabinet.ksef_port()
    codes = (
        VerificationCode(url="https://qr.example/I", label="OFFLINE"),
        VerificationCode(url="https://qr.example/II", label="CERTYFIKAT", kind="certificate"),
    )
    port.mark_offline(doc_id, reason="KSeF unreachable", verification=codes)
    assert len(messages(cabinet, doc_id, Topic.MAIL_DOCUMENT)) == 1
    submission = port.submission(doc_id)
    assert submission is not None
    assert (submission.state, submission.mode, submission.verification) == (
        KsefState.OFFLINE,
        KsefMode.OFFLINE,
        codes,
    )
    port.mark_sent(doc_id, invoice_hash="h", session_reference="s", invoice_reference="r")
    port.mark_accepted(doc_id, ksef_number=NUMBER, acquired_at=AT)
    assert len(messages(cabinet, doc_id, Topic.MAIL_DOCUMENT)) == 1
    accepted = port.submission(doc_id)
    assert accepted is not None and accepted.mode is KsefMode.OFFLINE
    assert accepted.verification == codes  # kept when none are given
    with pytest.raises(ValueError):
        port.mark_accepted(doc_id, ksef_number="not-a-number", acquired_at=AT)


def test_the_offline_modes_deadlines_follow_the_vat_act() -> None:
    """§11: offline24 by the next business day after the issue; an announced unavailability
    by the next business day after it ends; an announced failure within 7 business days after
    it ends (Polish holidays are no business days: 24–26 December since 2025)."""
    from datetime import date

    from cabinet_core.ksef.submission import KsefOfflineMode as Mode

    assert Mode.OFFLINE24.send_by(date(2026, 12, 4), None) == date(2026, 12, 7)  # Fri → Mon
    assert Mode.OFFLINE24.send_by(date(2026, 12, 23), None) == date(2026, 12, 28)
    assert Mode.UNAVAILABILITY.send_by(date(2026, 12, 1), None) is None  # still going on
    assert Mode.UNAVAILABILITY.send_by(date(2026, 12, 1), date(2026, 12, 3)) == date(2026, 12, 4)
    assert Mode.EMERGENCY.send_by(date(2026, 12, 1), date(2026, 12, 4)) == date(2026, 12, 15)


def test_an_outage_announced_while_an_offline_invoice_waits_moves_its_deadline(
    world: World,
) -> None:
    from datetime import date

    from cabinet_core.ksef.submission import KsefOfflineMode as Mode

    ksef_on(world)
    doc_id = issue_invoice(world)
    port = world.cabinet.ksef_port()
    issued = port.submission(doc_id)
    document = world.cabinet.documents.get(world.actor(world.admin), doc_id)
    first = port.mark_offline(doc_id, reason="KSeF did not answer")
    assert first.offline_mode is Mode.OFFLINE24
    assert first.send_by == Mode.OFFLINE24.send_by(document.issue_date, None)
    # A failure announced meanwhile: the emergency mode, its deadline after the failure's end.
    moved = port.mark_offline(doc_id, reason="Awaria", offline_mode=Mode.EMERGENCY)
    assert (moved.offline_mode, moved.send_by) == (Mode.EMERGENCY, None)
    # Never back to a milder mode; the same report again changes nothing.
    assert port.mark_offline(doc_id, reason="x").offline_mode is Mode.EMERGENCY
    ended = port.mark_offline(
        doc_id, reason="over", offline_mode=Mode.EMERGENCY, ended=date(2026, 12, 4)
    )
    assert ended.send_by == date(2026, 12, 15)
    assert history(world, doc_id).count("ksef.offline") == 1
    assert history(world, doc_id).count("ksef.offline_mode") == 2
    assert issued is not None and issued.offline_mode is None  # online until it went offline
    # The mail to the buyer went once, when it first went offline.
    assert len(messages(world.cabinet, doc_id, Topic.MAIL_DOCUMENT)) == 1


# -- corrections and manual numbers -------------------------------------------------------------


def _correction_xml(world: World, invoice_id: int) -> tuple[int, bytes | None, list[str]]:
    cabinet, alice = world.cabinet, world.actor(world.alice)
    draft = cabinet.invoicing.correct(alice, invoice_id, reason="rabat")
    # A correction is issued only when it changes something: a discount on the first line.
    lines = list(draft.lines)
    lines[1] = attrs.evolve(lines[1], unit_price=lines[1].unit_price - 1)
    draft = cabinet.documents.update(alice, attrs.evolve(draft, lines=tuple(lines)))
    correction = cabinet.documents.transition(alice, draft.id or 0, "issue")
    view = view_of(cabinet, correction, world.client_a)
    content = view.fa3.content if view.fa3 is not None else None
    return correction.id or 0, content, [e.code for e in view.fa3_errors]


def _corrected(xml: bytes) -> dict[str, str | None]:
    root = ET.fromstring(xml)
    data = root.find(f"{FA}Fa/{FA}DaneFaKorygowanej")
    assert data is not None
    return {
        name: data.findtext(f"{FA}{name}") for name in ("NrKSeF", "NrKSeFFaKorygowanej", "NrKSeFN")
    }


def test_a_correction_names_the_originals_ksef_number(world: World) -> None:
    ksef_on(world, auto_send=False)
    invoice_id = issue_invoice(world)
    port = world.cabinet.ksef_port()
    # While the original waits for KSeF, the correction cannot be written.
    correction_id, xml, errors = _correction_xml(world, invoice_id)
    assert xml is None and errors == ["original_pending"]
    with pytest.raises(ValidationError):
        port.fa3_xml(correction_id)
    port.mark_accepted(invoice_id, ksef_number=NUMBER, acquired_at=AT)
    xml = port.fa3_xml(correction_id)
    assert validate_fa3(xml) == []
    assert _corrected(xml) == {"NrKSeF": "1", "NrKSeFFaKorygowanej": NUMBER, "NrKSeFN": None}
    # The printed correction names it too.
    correction = world.cabinet.documents.get(world.actor(world.alice), correction_id)
    printed = view_of(world.cabinet, correction, world.client_a).document
    assert printed.extra["corrected_ksef_number"] == NUMBER


def test_nrksefn_only_when_the_original_never_went_to_ksef(world: World) -> None:
    invoice_id = issue_invoice(world)  # the client had no KSeF then
    ksef_on(world, auto_send=False)
    correction_id, xml, errors = _correction_xml(world, invoice_id)
    assert errors == [] and xml is not None
    assert validate_fa3(xml) == []
    assert _corrected(xml) == {"NrKSeF": None, "NrKSeFFaKorygowanej": None, "NrKSeFN": "1"}
    assert correction_id


def test_a_manual_ksef_number_is_validated_and_used_by_the_correction(world: World) -> None:
    cabinet, alice = world.cabinet, world.actor(world.alice)
    invoice_id = issue_invoice(world)
    for bad, code in (
        ("12345", "invalid"),
        (NUMBER[:-2] + "00", "invalid"),  # wrong check digits
        (SELLER_9999_NUMBER, "other_seller"),
    ):
        with pytest.raises(ValidationError) as error:
            cabinet.ksef.record_number(alice, invoice_id, bad)
        assert [(e.field, e.code) for e in error.value.errors] == [("ksef_number", code)]
    with pytest.raises(Exception, match="Not found"):
        cabinet.ksef.record_number(world.actor(world.bob), invoice_id, NUMBER)
    stored = cabinet.ksef.record_number(alice, invoice_id, " " + NUMBER.lower() + " ")
    assert (stored.state, stored.mode, stored.ksef_number) == (
        KsefState.ACCEPTED,
        KsefMode.MANUAL,
        NUMBER,
    )
    assert "ksef.manual_number" in history(world, invoice_id)
    # A typo is corrected by recording the number again.
    assert cabinet.ksef.record_number(alice, invoice_id, OTHER_NUMBER).ksef_number == OTHER_NUMBER
    draft = cabinet.invoicing.correct(alice, invoice_id, reason="rabat")
    assert draft.extra["corrected_ksef_number"] == OTHER_NUMBER  # the form shows it at once
    _, xml, _ = _correction_xml(world, invoice_id)
    assert xml is not None and _corrected(xml)["NrKSeFFaKorygowanej"] == OTHER_NUMBER
    # A draft has no KSeF number; nor does a number go on two documents.
    unissued = cabinet.documents.create(alice, sales_document(client_a(world)))
    with pytest.raises(Conflict):
        cabinet.ksef.record_number(alice, unissued.id or 0, NUMBER)
    second = issue_invoice(world)
    with pytest.raises(ValidationError) as taken:
        cabinet.ksef.record_number(alice, second, OTHER_NUMBER)
    assert taken.value.errors[0].code == "taken"


# -- the staff list, purchases, settings -----------------------------------------------------------


def test_the_list_shows_rejected_and_waiting_invoices_of_the_clients_one_may_see(
    world: World,
) -> None:
    ksef_on(world, auto_send=False)
    cabinet = world.cabinet
    waiting = issue_invoice(world)
    rejected = issue_invoice(world)
    accepted = issue_invoice(world)
    port = cabinet.ksef_port()
    port.mark_rejected(rejected, code=450, description="Błąd")
    port.mark_accepted(accepted, ksef_number=NUMBER, acquired_at=AT)
    admin = world.actor(world.admin)
    listed = cabinet.ksef.listing(admin)
    assert {item.submission.document_id for item in listed.items} == {waiting, rejected}
    assert listed.total == 2
    assert {item.client_name for item in listed.items} == {world.client_a.name}
    only = cabinet.ksef.listing(admin, states=["rejected"])
    assert [(i.submission.document_id, i.status) for i in only.items] == [
        (rejected, "ksef_rejected")
    ]
    assert cabinet.ksef.listing(world.actor(world.manager)).total == 2
    assert cabinet.ksef.listing(world.actor(world.other_manager)).total == 0
    assert cabinet.ksef.listing(world.actor(world.bob)).total == 0
    with pytest.raises(ValidationError):
        cabinet.ksef.listing(admin, states=["lost"])


def test_import_purchase_is_idempotent_on_the_ksef_number(world: World) -> None:
    from invoicing_support import buyer_client

    cabinet = world.cabinet
    client = buyer_client(cabinet)
    assert client.id is not None
    port = cabinet.ksef_port()
    assert port.known_ksef_numbers(client.id, [SELLER_9999_NUMBER]) == frozenset()
    document, created = port.import_purchase(
        client.id, example(1), ksef_number=SELLER_9999_NUMBER, metadata={"net": "100"}
    )
    assert created and document.doc_type == "cost_invoice"
    assert document.extra["ksef_number"] == SELLER_9999_NUMBER
    assert document.status == cabinet.document_type("cost_invoice").workflow.initial
    again, created_again = port.import_purchase(
        client.id, example(1), ksef_number=SELLER_9999_NUMBER
    )
    assert (again.id, created_again) == (document.id, False)
    assert port.known_ksef_numbers(client.id, [SELLER_9999_NUMBER, NUMBER]) == frozenset(
        {SELLER_9999_NUMBER}
    )
    assert "ksef.received" in history(world, document.id)


def test_client_state_and_switch_are_audited_and_secrets_never_are(world: World) -> None:
    from cabinet_core.ksef.port import KsefPort

    cabinet = world.cabinet
    port = cabinet.ksef_port()
    assert isinstance(port, KsefPort) and port.name == KSEF_SUBSCRIBER
    assert cabinet.ksef_port() is port
    client_id = client_a(world)
    assert not port.enabled(client_id) and port.clients_with_ksef() == []
    port.set_enabled(client_id, True)
    assert [c.id for c in port.clients_with_ksef()] == [client_id]
    port.set_client_state(client_id, "environment", "test")
    port.set_client_state(client_id, "token", "s3cr3t", secret=True)
    assert port.client_state(client_id, "environment") == "test"
    assert port.client_state(client_id, "token") == "s3cr3t"
    assert port.client_state(client_id, "absent", "x") == "x"
    port.set_state("last_keys_fetch", "2026-12-07")
    assert port.state("last_keys_fetch") == "2026-12-07"
    entries = cabinet.audit.list(world.actor(world.admin))
    assert "s3cr3t" not in repr([e.detail for e in entries])
    assert any(e.action == "ksef.enabled" for e in entries)
    assert cabinet.ksef.enabled(world.actor(world.alice), client_id)


def test_requeue_and_failed_attempts_are_in_the_history(world: World) -> None:
    ksef_on(world, auto_send=False)
    cabinet = world.cabinet
    doc_id = issue_invoice(world)
    port = cabinet.ksef_port()
    port.record_attempt(doc_id, error="503 Service Unavailable")
    port.requeue(doc_id, reason="outage over")
    submission = port.submission(doc_id)
    assert submission is not None and submission.attempts == 1
    assert len(messages(cabinet, doc_id, Topic.KSEF_SEND)) == 2
    assert [s.document_id for s in port.submissions(states=[KsefState.QUEUED])] == [doc_id]
    actions = history(world, doc_id)
    assert "ksef.attempt_failed" in actions and "ksef.requeued" in actions
    assert Actor.system().user_id is None


def test_an_invoice_waiting_for_ksef_cannot_be_e_mailed_by_hand_yet(world: World) -> None:
    ksef_on(world, auto_send=False)
    cabinet, alice = world.cabinet, world.actor(world.alice)
    doc_id = issue_invoice(world)
    with pytest.raises(Conflict):
        cabinet.invoicing.send(alice, doc_id)
    assert messages(cabinet, doc_id, Topic.MAIL_DOCUMENT) == []
    # The page offers no "send" it would refuse.
    document = cabinet.documents.get(alice, doc_id)
    assert "send" not in cabinet.invoicing.available(document)
    cabinet.ksef_port().mark_accepted(doc_id, ksef_number=NUMBER, acquired_at=AT)
    assert "send" in cabinet.invoicing.available(document)
    queued = cabinet.invoicing.send(alice, doc_id)
    assert queued.payload["to"] == BUYER.email


def test_without_the_plugin_ksef_messages_wait_and_scheduled_work_runs_with_the_subscriber(
    store: Store, tmp_path: Path, world: World
) -> None:
    from cabinet_core.crm import PeriodicTask

    ksef_on(world, auto_send=False)
    doc_id = issue_invoice(world)
    # A cabinet without the KSeF plugin: the worker leaves the message for the subscriber.
    bare = mail_cabinet(store, tmp_path, CapturingMailer())
    assert bare.outbox_subscriber_names == ()
    Worker(bare).run_once()
    (waiting,) = messages(bare, doc_id, Topic.KSEF_SEND)
    assert waiting.delivered_at is None and waiting.attempts == 0

    ran: list[object] = []

    class Polling:
        def deliver(self, message: OutboxMessage) -> None:
            ran.append(message.id)

        def periodic_tasks(self) -> list[PeriodicTask[Polling]]:
            return [PeriodicTask(name="ksef.poll", interval_seconds=30, run=ran.append)]

    class PollingPlugin:
        @hookimpl
        def register_outbox_subscribers(self, register: Register) -> None:
            register(KSEF_SUBSCRIBER, lambda cabinet: Polling())

    with_plugin = mail_cabinet(store, tmp_path, CapturingMailer(), PollingPlugin())
    worker = Worker(with_plugin)
    assert worker.run_due_tasks() == ["ksef.poll"]
    assert isinstance(ran[0], Polling)
    assert worker.run_once() == 1 and ran[1] == waiting.id


def test_migration_0006_goes_down_and_up_again(store: Store) -> None:
    import sqlalchemy as sa

    store.downgrade("0005")
    tables = set(sa.inspect(store.engine).get_table_names())
    assert not {"ksef_submissions", "ksef_clients", "ksef_received"} & tables
    store.migrate()
    tables = set(sa.inspect(store.engine).get_table_names())
    assert {"ksef_submissions", "ksef_clients", "ksef_received"} <= tables


# -- the per-client lease of the worker processes --------------------------------------------------


def test_a_clients_lease_belongs_to_one_holder_until_it_runs_out_or_is_released(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import timedelta

    port, client_id = world.cabinet.ksef_port(), client_a(world)
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    monkeypatch.setattr(world.cabinet.store, "clock", lambda: now)
    assert port.lease(client_id, "worker-a", 60)
    assert port.lease(client_id, "worker-a", 60)  # renewed by its holder
    assert not port.lease(client_id, "worker-b", 60)
    port.release(client_id, "worker-b")  # not b's: nothing happens
    assert not port.lease(client_id, "worker-b", 60)
    port.release(client_id, "worker-a")
    assert port.lease(client_id, "worker-b", 60)
    # A holder that died: its lease runs out and another takes it.
    now += timedelta(seconds=61)
    assert port.lease(client_id, "worker-a", 60)
    assert not port.lease(client_id, "worker-b", 60)


def test_concurrent_takers_of_one_lease_get_it_once(world: World) -> None:
    from concurrent.futures import ThreadPoolExecutor

    port, client_id = world.cabinet.ksef_port(), client_a(world)
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda n: port.lease(client_id, f"worker-{n}", 60), range(8)))
    assert got.count(True) == 1
