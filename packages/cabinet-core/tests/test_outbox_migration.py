"""Migration 0005 (per-subscriber deliveries) on both databases: messages queued under 0004 in
every state keep being delivered, stay failed or stay delivered; ``origin`` moves from the
payload to its column; the downgrade folds it all back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from cabinet_core.storage import Store
from cabinet_core.storage.schema import UtcDateTime

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
BACKENDS = ("bitrix24", "webhook")

# The outbox as revision 0004 had it.
_outbox_0004 = sa.table(
    "outbox",
    sa.column("id", sa.Integer),
    sa.column("topic", sa.String),
    sa.column("entity", sa.String),
    sa.column("entity_id", sa.Integer),
    sa.column("payload", sa.JSON),
    sa.column("created_at", UtcDateTime),
    sa.column("attempts", sa.Integer),
    sa.column("next_attempt_at", UtcDateTime),
    sa.column("claimed_until", UtcDateTime),
    sa.column("delivered_at", UtcDateTime),
    sa.column("failed_at", UtcDateTime),
    sa.column("last_error", sa.Text),
)

_STATE_0004: dict[str, dict[str, Any]] = {
    "pending": {"attempts": 2, "next_attempt_at": T0, "last_error": "503 busy"},
    "mail": {"attempts": 1, "last_error": "421 try later"},
    "failed": {"attempts": 10, "failed_at": T0, "last_error": "400 bad"},
    "delivered": {"attempts": 1, "delivered_at": T0},
    "echo": {"attempts": 0},
}


def _queue_at_0004(store: Store) -> dict[str, int]:
    """One message per state, written as 0004 stored them; their ids by state."""
    ids: dict[str, int] = {}
    with store.engine.begin() as connection:
        for n, (name, state) in enumerate(_STATE_0004.items(), start=1):
            payload: dict[str, Any] = {"id": n, "number": f"FV/{n}"}
            if name == "echo":
                payload = {"document": payload, "new_status": "paid", "origin": "crm"}
            row = {
                "attempts": 0,
                "next_attempt_at": None,
                "claimed_until": None,
                "delivered_at": None,
                "failed_at": None,
                "last_error": None,
                **state,
            }
            ids[name] = connection.execute(
                sa.insert(_outbox_0004)
                .values(
                    topic="mail.document" if name == "mail" else "document.updated",
                    entity="document",
                    entity_id=n,
                    payload={"document_id": n, "to": "a@b.pl"} if name == "mail" else payload,
                    created_at=T0 - timedelta(hours=1),
                    **row,
                )
                .returning(_outbox_0004.c.id)
            ).scalar_one()
    return ids


def _states_0004(store: Store) -> dict[int, dict[str, Any]]:
    with store.engine.connect() as connection:
        rows = connection.execute(sa.select(_outbox_0004)).mappings()
        return {row["id"]: dict(row) for row in rows}


def test_0005_moves_every_state_to_per_subscriber_deliveries_and_back(store: Store) -> None:
    store.downgrade("0004")
    ids = _queue_at_0004(store)
    store.migrate(crm_backends=BACKENDS)

    every = store.list_outbox(limit=100)
    by_message: dict[int, dict[str | None, Any]] = {}
    for message in every:
        assert message.id is not None
        by_message.setdefault(message.id, {})[message.subscriber] = message
    # A pending CRM message keeps its attempts, backoff and error, once per active backend.
    pending = by_message[ids["pending"]]
    assert set(pending) == set(BACKENDS)
    assert {(m.attempts, m.next_attempt_at, m.last_error) for m in pending.values()} == {
        (2, T0, "503 busy")
    }
    # A mail goes to the mail delivery only.
    [mail] = by_message[ids["mail"]].values()
    assert (mail.subscriber, mail.attempts, mail.last_error) == ("mail", 1, "421 try later")
    # Failed and delivered messages stay so, for each backend.
    failed = by_message[ids["failed"]]
    assert set(failed) == set(BACKENDS)
    assert all(m.failed_at == T0 and m.last_error == "400 bad" for m in failed.values())
    delivered = by_message[ids["delivered"]]
    assert all(m.delivered_at == T0 for m in delivered.values()) and len(delivered) == 2
    # A change that came from the CRM: origin is a column now, and (as before 0005) it goes to
    # no CRM.
    [echo] = by_message[ids["echo"]].values()
    assert echo.subscriber is None and echo.origin == "crm"
    assert echo.payload == {"document": {"id": 5, "number": "FV/5"}, "new_status": "paid"}
    # The moved deliveries are claimable per subscriber.
    due = store.claim_outbox(subscriber="webhook", limit=10, now=T0)
    assert [m.id for m in due] == [ids["pending"]]
    assert [m.id for m in store.claim_outbox(subscriber="mail", limit=10, now=T0)] == [ids["mail"]]

    store.downgrade("0004")
    back = _states_0004(store)
    assert back[ids["pending"]]["attempts"] == 3  # the claim above counted as an attempt
    assert back[ids["pending"]]["delivered_at"] is None
    assert back[ids["pending"]]["failed_at"] is None
    assert back[ids["pending"]]["last_error"] == "503 busy"
    assert back[ids["mail"]]["delivered_at"] is None and back[ids["mail"]]["failed_at"] is None
    assert (back[ids["failed"]]["failed_at"], back[ids["failed"]]["last_error"]) == (
        T0,
        "400 bad",
    )
    assert back[ids["delivered"]]["delivered_at"] == T0
    # A message nobody had to receive reads as delivered; its origin is back in the payload.
    assert back[ids["echo"]]["delivered_at"] is not None
    assert back[ids["echo"]]["payload"]["origin"] == "crm"
    store.migrate(crm_backends=BACKENDS)
    assert store.schema_revision() == "0010"


def test_0005_reads_the_backends_from_the_environment_without_settings(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.downgrade("0004")
    ids = _queue_at_0004(store)
    monkeypatch.setenv("CABINET_CRM_BACKENDS", "null, webhook")
    store.migrate()
    pending = store.list_outbox(status="pending", limit=100)
    assert {(m.id, m.subscriber) for m in pending} == {
        (ids["pending"], "null"),
        (ids["pending"], "webhook"),
        (ids["mail"], "mail"),
    }


def test_0005_without_any_backend_keeps_only_the_mail_queued(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.downgrade("0004")
    ids = _queue_at_0004(store)
    monkeypatch.delenv("CABINET_CRM_BACKENDS", raising=False)
    store.migrate()
    assert [(m.id, m.subscriber) for m in store.list_outbox(status="pending")] == [
        (ids["mail"], "mail")
    ]
