"""One delivery state per subscriber: ``outbox_deliveries``, and ``origin`` as a column.

Before this revision a message had one delivery state shared by every CRM backend and the mail
delivery, and a change a CRM applied carried ``"origin"`` in its payload. Now every message has
one ``outbox_deliveries`` row per subscriber (mail topics: ``mail``; other topics: each active
CRM backend except the message's ``origin``).

The upgrade moves each message's state to the subscribers it needs: the CRM backends active at
migration time (``Store.migrate(crm_backends=…)`` passes ``settings.crm_backends``; without it
``CABINET_CRM_BACKENDS``; else none). A pending message keeps its attempts, backoff and last
error; a delivered or failed one keeps its state per subscriber. A message with a payload
``origin`` came from a CRM under the old rule "never push a CRM's change to any CRM", so it gets
no CRM delivery. The downgrade folds the deliveries back into one state per message (pending if
any delivery is, else failed if any failed, else delivered) and the origin into the payload.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

import os
from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

MAIL_SUBSCRIBER = "mail"  # cabinet_core.sync.MAIL_SUBSCRIBER, frozen as of this revision
_STATE = ("attempts", "next_attempt_at", "claimed_until", "delivered_at", "failed_at", "last_error")

# Lightweight tables: a revision must not follow the live schema module. The timestamps are
# untyped: they are copied as the database stores them, never converted.
_outbox_old = sa.table(
    "outbox",
    sa.column("id", sa.Integer),
    sa.column("topic", sa.String),
    sa.column("payload", sa.JSON),
    *(sa.column(name) for name in _STATE),
)
_outbox_new = sa.table(
    "outbox",
    sa.column("id", sa.Integer),
    sa.column("payload", sa.JSON),
    sa.column("origin", sa.String),
    # Untyped, like the delivery state: copied as the database stores it (text on SQLite).
    sa.column("created_at"),
)
_deliveries = sa.table(
    "outbox_deliveries",
    sa.column("message_id", sa.Integer),
    sa.column("subscriber", sa.String),
    *(sa.column(name) for name in _STATE),
)


def _crm_backends() -> tuple[str, ...]:
    given = context.config.attributes.get("crm_backends")
    if given is not None:
        return tuple(given)
    raw = os.environ.get("CABINET_CRM_BACKENDS", "")
    return tuple(name.strip() for name in raw.split(",") if name.strip())


def _subscribers(topic: str, origin: str | None, backends: tuple[str, ...]) -> list[str]:
    if topic.startswith("mail."):
        return [MAIL_SUBSCRIBER]
    if origin is not None:
        return []
    return list(backends)


# Plain ALTER TABLE on both engines, as in 0004: batch mode would recreate ``outbox`` on SQLite
# and, once deliveries reference it, cascade-delete them. SQLite >= 3.35 drops columns itself
# (an indexed column only after its index).
def upgrade() -> None:
    op.add_column("outbox", sa.Column("origin", sa.String(length=100), nullable=True))
    op.create_table(
        "outbox_deliveries",
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("subscriber", sa.String(length=100), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["outbox.id"],
            name=op.f("fk_outbox_deliveries_message_id_outbox"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("message_id", "subscriber", name=op.f("pk_outbox_deliveries")),
    )
    op.create_index(
        "ix_outbox_deliveries_open",
        "outbox_deliveries",
        ["subscriber", "message_id"],
        unique=False,
        sqlite_where=sa.text("delivered_at IS NULL AND failed_at IS NULL"),
        postgresql_where=sa.text("delivered_at IS NULL AND failed_at IS NULL"),
    )
    _move_state_to_deliveries(_crm_backends())
    op.drop_index("ix_outbox_pending", table_name="outbox")
    for name in _STATE:
        op.drop_column("outbox", name)


def _move_state_to_deliveries(backends: tuple[str, ...]) -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.select(_outbox_old).order_by(_outbox_old.c.id)).mappings()
    deliveries: list[dict[str, Any]] = []
    origins: list[dict[str, Any]] = []
    for row in rows:
        payload = dict(row["payload"] or {})
        origin = payload.pop("origin", None)
        origin = None if origin is None else str(origin)
        if origin is not None:
            origins.append({"message_id": row["id"], "new_payload": payload, "new_origin": origin})
        state = {name: row[name] for name in _STATE}
        state["attempts"] = state["attempts"] or 0
        for subscriber in _subscribers(row["topic"], origin, backends):
            deliveries.append({"message_id": row["id"], "subscriber": subscriber, **state})
    if origins:
        connection.execute(
            sa.update(_outbox_new)
            .where(_outbox_new.c.id == sa.bindparam("message_id"))
            .values(payload=sa.bindparam("new_payload"), origin=sa.bindparam("new_origin")),
            origins,
        )
    if deliveries:
        connection.execute(sa.insert(_deliveries), deliveries)


def downgrade() -> None:
    op.add_column("outbox", sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("outbox", sa.Column("next_attempt_at", sa.DateTime(timezone=True)))
    op.add_column("outbox", sa.Column("claimed_until", sa.DateTime(timezone=True)))
    op.add_column("outbox", sa.Column("delivered_at", sa.DateTime(timezone=True)))
    op.add_column("outbox", sa.Column("failed_at", sa.DateTime(timezone=True)))
    op.add_column("outbox", sa.Column("last_error", sa.Text()))
    _fold_deliveries_into_messages()
    op.create_index(
        "ix_outbox_pending",
        "outbox",
        ["delivered_at", "failed_at", "next_attempt_at"],
        unique=False,
    )
    op.drop_index("ix_outbox_deliveries_open", table_name="outbox_deliveries")
    op.drop_table("outbox_deliveries")
    op.drop_column("outbox", "origin")


def _fold(created_at: object, states: list[dict[str, Any]]) -> dict[str, Any]:
    """One message's state from its deliveries (see the module docstring)."""
    if not states:
        # Nobody had to receive it: the old worker marked such a message delivered.
        return {"attempts": 0, "delivered_at": created_at}
    attempts = max(state["attempts"] for state in states)
    pending = [s for s in states if s["delivered_at"] is None and s["failed_at"] is None]
    if pending:
        due = [s["next_attempt_at"] for s in pending if s["next_attempt_at"] is not None]
        leases = [s["claimed_until"] for s in pending if s["claimed_until"] is not None]
        errors = [s["last_error"] for s in states if s["last_error"]]
        return {
            "attempts": attempts,
            "next_attempt_at": max(due) if due else None,
            "claimed_until": max(leases) if leases else None,
            "last_error": errors[0] if errors else None,
        }
    failed = [s for s in states if s["failed_at"] is not None]
    if failed:
        return {
            "attempts": attempts,
            "failed_at": max(s["failed_at"] for s in failed),
            "last_error": failed[0]["last_error"],
        }
    return {"attempts": attempts, "delivered_at": max(s["delivered_at"] for s in states)}


def _fold_deliveries_into_messages() -> None:
    connection = op.get_bind()
    by_message: dict[int, list[dict[str, Any]]] = {}
    for delivery in connection.execute(sa.select(_deliveries)).mappings():
        by_message.setdefault(delivery["message_id"], []).append(dict(delivery))
    messages = connection.execute(sa.select(_outbox_new).order_by(_outbox_new.c.id)).mappings()
    updates: list[dict[str, Any]] = []
    for message in messages:
        payload = dict(message["payload"] or {})
        if message["origin"] is not None:
            payload["origin"] = message["origin"]
        values: dict[str, Any] = {name: None for name in _STATE}
        values.update(_fold(message["created_at"], by_message.get(message["id"], [])))
        updates.append(
            {
                "message_id": message["id"],
                "new_payload": payload,
                **{f"new_{name}": value for name, value in values.items()},
            }
        )
    if updates:
        connection.execute(
            sa.update(_outbox_old)
            .where(_outbox_old.c.id == sa.bindparam("message_id"))
            .values(
                payload=sa.bindparam("new_payload"),
                **{name: sa.bindparam(f"new_{name}") for name in _STATE},
            ),
            updates,
        )
