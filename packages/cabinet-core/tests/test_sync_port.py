"""The cabinet's sync port (both databases): system reads, writes that carry the backend's
name as origin, re-queueing with an audit entry, and per-backend state that never puts a
secret into the audit trail."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from cabinet_core.entities import (
    Actor,
    Document,
    DocumentLine,
    NewsItem,
    OutboxMessage,
    Party,
    PaymentStatus,
)
from cabinet_core.errors import NotFound
from cabinet_core.services.sync_port import CabinetSyncPort
from cabinet_core.sync import (
    DocumentPaymentChange,
    DocumentStatusChange,
    SyncPort,
    Topic,
    decode_payload,
)
from fixtures_services import HookRecorder, World

DAY = date(2026, 11, 20)
BUYER = Party(name="Kupiec sp. z o.o.", nip="5260001246", email="kupiec@example.com")


def _document(world: World, name: str = "Usługa") -> Document:
    stored = world.cabinet.documents.create(
        world.actor(world.alice),
        Document(
            client_id=world.client_id(world.client_a),
            doc_type="vat_invoice",
            issue_date=DAY,
            buyer=BUYER,
            lines=(DocumentLine(name=name, unit_price=Decimal("100.00")),),
        ),
    )
    assert stored.id is not None
    return stored


def _audit(world: World, action: str) -> list[dict[str, object]]:
    with world.cabinet.store.transaction(readonly=True) as tx:
        entries = tx.list_audit(limit=500)
    return [dict(entry.detail) for entry in entries if entry.action == action]


def test_the_port_is_one_per_backend_and_meets_the_protocol(world: World) -> None:
    port = world.cabinet.sync_port("acme")
    assert isinstance(port, SyncPort) and isinstance(port, CabinetSyncPort)
    assert port.backend == "acme"
    assert world.cabinet.sync_port("acme") is port
    assert world.cabinet.sync_port("other") is not port
    before = world.cabinet.store.clock()
    assert before <= port.now() <= world.cabinet.store.clock()  # the store's clock, aware
    with pytest.raises(ValueError):
        CabinetSyncPort(world.cabinet, " ")


def test_system_reads(world: World) -> None:
    first, second, third = (_document(world, f"Usługa {n}") for n in range(3))
    port = world.cabinet.sync_port("acme")
    assert first.id is not None and second.id is not None
    read = port.document(first.id)
    assert read is not None and read.lines[0].name == "Usługa 0"
    assert port.document(10_000) is None
    assert port.documents([second.id, 10_000, first.id, first.id]) == {
        second.id: port.document(second.id),
        first.id: read,
    }
    after = port.documents_after(first.id, 10)
    assert [d.id for d in after] == [second.id, third.id]
    assert [d.lines[0].name for d in after] == ["Usługa 1", "Usługa 2"]  # with their lines
    assert [d.id for d in port.documents_after(0, 1)] == [first.id]
    assert port.documents_after(0, 0) == []
    client_id = world.client_id(world.client_a)
    client = port.client(client_id)
    assert client is not None and client.id == client_id
    assert {c.id for c in port.clients()} >= {client_id, world.client_id(world.client_b)}
    assert world.alice.id is not None
    user = port.user(world.alice.id)
    assert user is not None and user.email == world.alice.email
    assert not hasattr(user, "password_hash")  # the public part only
    found = port.user_by_email(world.alice.email)
    assert found is not None and found.id == world.alice.id
    assert port.user_by_email("nobody@example.com") is None
    assert port.document_type("vat_invoice") is world.cabinet.document_types["vat_invoice"]
    assert port.document_type("no_such_type") is None
    assert port.counterparty(10_000) is None and port.product(10_000) is None


def test_status_and_payment_carry_the_backend_as_origin(world: World, hooks: HookRecorder) -> None:
    document = _document(world)
    assert document.id is not None
    port = world.cabinet.sync_port("acme")
    moved = port.apply_status(document.id, "issued", comment="from the CRM")
    assert moved is not None and moved.status == "issued" and moved.number is not None
    assert port.apply_status(document.id, "issued") is None  # already there
    with pytest.raises(ValueError):
        port.apply_status(document.id, "no-such-state")
    with pytest.raises(NotFound):
        port.apply_status(10_000, "issued")
    assert port.apply_payment(document.id, PaymentStatus.PAID) is not None
    messages = world.cabinet.store.list_outbox(limit=100)
    status = next(m for m in messages if m.topic == Topic.DOCUMENT_STATUS_CHANGED)
    payment = next(m for m in messages if m.topic == Topic.DOCUMENT_PAYMENT_CHANGED)
    assert status.origin == "acme" and payment.origin == "acme"
    change = decode_payload(status)
    assert isinstance(change, DocumentStatusChange)
    assert (change.old_status, change.new_status, change.comment) == (
        "draft",
        "issued",
        "from the CRM",
    )
    assert isinstance(decode_payload(payment), DocumentPaymentChange)
    assert _audit(world, "document.crm_status")[0]["source"] == "acme"
    assert "document_status_changed" in hooks.names()  # the event hooks still fire


def test_chat_and_news_go_through_the_services(world: World, hooks: HookRecorder) -> None:
    port = world.cabinet.sync_port("acme")
    client_id = world.client_id(world.client_a)
    message, created = port.receive_chat(client_id, "Dzień dobry", external_id="acme:msg:1")
    assert created and message.client_id == client_id
    assert port.receive_chat(client_id, "Dzień dobry", external_id="acme:msg:1")[1] is False
    item, outcome = port.upsert_news(NewsItem(title="Przerwa", external_id="acme:post:7"))
    assert outcome == "created" and item.id is not None
    assert port.upsert_news(NewsItem(title="Przerwa", external_id="acme:post:7"))[1] == (
        "unchanged"
    )
    assert port.news_ids("acme:") == {"acme:post:7": item.id}
    assert port.delete_news("acme:post:7") is True
    assert port.delete_news("acme:post:7") is False
    assert {"chat_message_posted", "news_published"} <= set(hooks.names())
    assert _audit(world, "chat.receive") == [{"external_id": "acme:msg:1"}]


def test_requeue_writes_the_outbox_row_and_its_audit_entry(world: World) -> None:
    document = _document(world)
    assert document.id is not None
    port = world.cabinet.sync_port("acme")
    before = {m.id for m in world.cabinet.store.list_outbox(limit=100)}
    port.requeue(Topic.DOCUMENT_UPDATED, "document", document.id, reason="missing in the CRM")
    [queued] = [m for m in world.cabinet.store.list_outbox(limit=100) if m.id not in before]
    assert (queued.topic, queued.entity, queued.entity_id) == (
        "document.updated",
        "document",
        document.id,
    )
    payload = decode_payload(queued)
    assert isinstance(payload, Document) and payload.id == document.id  # the typed payload
    assert _audit(world, "sync.requeue") == [
        {"backend": "acme", "topic": "document.updated", "reason": "missing in the CRM"}
    ]
    assert port.pending("document", document.id)
    # A document deleted meanwhile has nothing to send: no row, no entry.
    port.requeue(Topic.DOCUMENT_UPDATED, "document", 10_000, reason="gone")
    assert len(_audit(world, "sync.requeue")) == 1
    with pytest.raises(ValueError):
        port.requeue(Topic.DOCUMENT_STATUS_CHANGED, "document", document.id, reason="a moment")


def test_pending_and_deliveries_follow_this_backends_delivery(world: World) -> None:
    # The world's active backend is "null": a change gets a delivery for it, none for "acme".
    document = _document(world)
    assert document.id is not None
    port, other = world.cabinet.sync_port("null"), world.cabinet.sync_port("acme")
    assert port.pending("document", document.id)
    assert not other.pending("document", document.id)
    pending = port.deliveries("pending")
    assert document.id in {m.entity_id for m in pending}
    assert {m.subscriber for m in pending} == {"null"}
    assert other.deliveries("pending") == []
    store = world.cabinet.store
    ids = [m.id for m in pending if m.entity_id == document.id and m.id is not None]
    store.mark_delivered_many(ids, subscriber="null", now=store.clock())
    assert not port.pending("document", document.id)
    assert not port.pending("document", 10_000)
    assert {m.id for m in port.deliveries("delivered")} >= set(ids)
    # A re-queue is the asking backend's alone.
    other.requeue(Topic.DOCUMENT_UPDATED, "document", document.id, reason="missing")
    assert other.pending("document", document.id)
    assert not port.pending("document", document.id)


def test_state_is_namespaced_per_backend(world: World) -> None:
    acme, other = world.cabinet.sync_port("acme"), world.cabinet.sync_port("other")
    acme.set_state("cursor", {"last": 7})
    assert acme.state("cursor") == {"last": 7}
    assert other.state("cursor") is None
    assert other.state("cursor", {}) == {}
    # The keys a backend already kept in the settings table stay where they were.
    assert world.cabinet.settings_store.get(Actor.system(), "acme.cursor") == {"last": 7}
    acme.set_state("cursor", None)
    assert acme.state("cursor", "none") == "none"
    with pytest.raises(ValueError):
        acme.state("")
    # Bookkeeping, rewritten on every pass: not audited (a secret is, without its value).
    assert _audit(world, "settings.set") == []


def test_a_work_list_in_state_is_written_and_read_in_one_go(world: World) -> None:
    acme, other = world.cabinet.sync_port("acme"), world.cabinet.sync_port("other")
    acme.set_states({"owed.10": 1010, "owed.9": 909, "owedXx.1": "not mine", "cursor": 3})
    other.set_states({"owed.10": "theirs"})
    # The prefix is matched literally ("_" is no wildcard), per backend, in key order.
    assert acme.states("owed.") == {"owed.10": 1010, "owed.9": 909}
    assert acme.states("owed_") == {}
    assert list(acme.states("owed.", limit=1)) == ["owed.10"]
    assert other.states("owed.") == {"owed.10": "theirs"}
    acme.set_states({"owed.10": None, "owed.9": None})
    assert acme.states("owed.") == {}
    assert acme.state("cursor") == 3 and acme.state("owedXx.1") == "not mine"
    assert _audit(world, "settings.set") == []
    with pytest.raises(TypeError):
        acme.set_states({"owed.1": object()})
    assert acme.states("owed.") == {}  # nothing half-written


def test_exact_keys_are_read_in_one_go(world: World) -> None:
    acme, other = world.cabinet.sync_port("acme"), world.cabinet.sync_port("other")
    acme.set_states({"synced.1": {"item": 11}, "synced.2": {"item": 12}, "synced.10": "x"})
    other.set_states({"synced.3": "theirs"})
    # Exactly the keys asked for, this backend's only; keys never stored are left out.
    assert acme.state_of(["synced.1", "synced.10", "synced.3", "synced.1_"]) == {
        "synced.1": {"item": 11},
        "synced.10": "x",
    }
    assert acme.state_of([]) == {}
    # More keys than one IN list holds.
    many = {f"k.{n}": n for n in range(1200)}
    acme.set_states(many)
    assert acme.state_of(list(many)) == many
    with pytest.raises(ValueError):
        acme.state_of([" spaced"])


def test_a_secret_never_reaches_the_audit_trail(world: World) -> None:
    port = world.cabinet.sync_port("acme")
    port.set_state("token", "s3cr3t-first", secret=True)
    port.set_state("token", "s3cr3t-second", secret=True)
    assert port.state("token") == "s3cr3t-second"
    entries = _audit(world, "settings.set")
    assert entries == [{"key": "acme.token", "secret": True, "backend": "acme"}] * 2
    with world.cabinet.store.transaction(readonly=True) as tx:
        trail = repr(tx.list_audit(limit=500))
    assert "s3cr3t" not in trail
    # Storing the same value again changes nothing and writes no entry.
    port.set_state("token", "s3cr3t-second", secret=True)
    assert len(_audit(world, "settings.set")) == 2


def test_an_admin_storing_a_secret_setting_is_audited_without_it(world: World) -> None:
    admin = world.actor(world.admin)
    world.cabinet.settings_store.set(admin, "acme.application_token", "tok-123", secret=True)
    assert world.cabinet.settings_store.get(admin, "acme.application_token") == "tok-123"
    assert _audit(world, "settings.set") == [{"key": "acme.application_token", "secret": True}]


def test_a_failed_delivery_is_retried_for_this_backend_only(world: World) -> None:
    from cabinet_core.storage import outbox as outbox_table

    cabinet = world.cabinet
    with cabinet.store.transaction() as tx:
        message = tx.add_outbox(
            OutboxMessage(
                topic="client.updated",
                entity="client",
                entity_id=world.client_id(world.client_a),
                created_at=cabinet.store.clock(),
            ),
            subscribers=("one", "two"),
        )
        assert message.id is not None
        for name in ("one", "two"):
            outbox_table.update_one(
                tx.connection, name, message.id, failed_at=cabinet.store.clock(), attempts=8
            )
    one = cabinet.sync_port("one")
    assert one.retry_delivery(message.id, reason="admin", actor_id=world.admin.id) is True
    # Only a failed delivery is retried, and only this backend's.
    assert one.retry_delivery(message.id, reason="again") is False
    assert one.retry_delivery(999_999, reason="none") is False
    assert [m.id for m in one.deliveries("pending")] == [message.id]
    assert [m.id for m in cabinet.sync_port("two").deliveries("failed")] == [message.id]
    assert _audit(world, "sync.retry") == [{"backend": "one", "reason": "admin"}]


def test_document_files_are_those_of_an_issued_document_only(world: World) -> None:
    draft = _document(world)
    assert draft.id is not None
    port = world.cabinet.sync_port("acme")
    # A draft's files are not final; a missing document has none.
    assert port.document_files(draft.id) == ()
    assert port.document_files(10_000) == ()
