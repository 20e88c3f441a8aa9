"""A client's conversation with the firm (its manager first of all)."""

from __future__ import annotations

import builtins

from cabinet_core import access
from cabinet_core.entities import Actor, ChatMessage, Client, Notification, Role
from cabinet_core.errors import N_, FieldError
from cabinet_core.services._base import Service, raise_if, required_text
from cabinet_core.storage import Tx
from cabinet_core.sync import Topic

MAX_BODY = 5000
#: Messages read from the store per query.
PAGE = 100


class ChatService(Service):
    """``cabinet.chat``: post and read a client's messages."""

    def post(self, actor: Actor, *, client_id: int, body: str) -> ChatMessage:
        """Post a message to a client's conversation (a client's user: only its own)."""
        errors: list[FieldError] = required_text(body, "body")
        if len(body) > MAX_BODY:
            errors.append(
                FieldError(
                    field="body",
                    code="too_long",
                    message=N_("The message is too long."),
                    params={"max": MAX_BODY},
                )
            )
        raise_if(errors)
        with self.store.transaction() as tx:
            client = access.client_for(tx, actor, client_id)
            stored = tx.add_chat_message(
                ChatMessage(
                    client_id=client_id,
                    author_id=actor.user_id,
                    body=body.strip(),
                    created_at=self.now(),
                )
            )
            self.record(
                tx,
                actor,
                action="chat.post",
                entity="chat_message",
                entity_id=stored.id,
                client_id=client_id,
                topic=Topic.CHAT_MESSAGE_POSTED,
                message=stored,
            )
            self._notify(tx, actor, client, stored)
        self.fire("chat_message_posted", message=stored, actor=actor)
        return stored

    def receive(
        self,
        actor: Actor,
        *,
        client_id: int,
        body: str,
        external_id: str,
        author_id: int | None = None,
    ) -> tuple[ChatMessage, bool]:
        """Store a message written by the firm in its CRM (a manager answering in Bitrix24).

        ``external_id`` (``b24:msg:<id>``) makes it idempotent: a message already stored is
        returned with ``False``. No outbox row is written, so a message that came from the CRM
        is never pushed back to it. ``author_id`` is the staff user it maps to, if any.
        """
        # Only the firm's side (the CRM bridge runs as the system actor) speaks for the firm.
        access.require(actor.role.is_staff)
        raise_if(required_text(body, "body") + required_text(external_id, "external_id"))
        with self.store.transaction() as tx:
            existing = tx.get_chat_message_by_external_id(external_id)
            if existing is not None:
                return existing, False
            client = access.client_for(tx, actor, client_id)
            stored = tx.add_chat_message(
                ChatMessage(
                    client_id=client_id,
                    author_id=author_id,
                    # Longer CRM messages are kept whole: the limit guards the cabinet's form.
                    body=body.strip(),
                    created_at=self.now(),
                    external_id=external_id,
                )
            )
            self.record(
                tx,
                actor,
                action="chat.receive",
                entity="chat_message",
                entity_id=stored.id,
                client_id=client_id,
                detail={"external_id": external_id},
            )
            # Written by the firm: the client's users are told, as for a reply in the cabinet.
            self._notify(tx, Actor(user_id=author_id, role=Role.MANAGER), client, stored)
        self.fire("chat_message_posted", message=stored, actor=actor)
        return stored, True

    def _notify(self, tx: Tx, actor: Actor, client: Client, message: ChatMessage) -> None:
        """A client's message reaches its manager; the firm's reply reaches the client's users."""
        recipients: list[int | None]
        if actor.role is Role.CLIENT:
            recipients = [client.manager_id]
        else:
            recipients = [u.id for u in tx.list_users(client_id=client.id) if u.active]
        preview = message.body if len(message.body) <= 80 else message.body[:79] + "…"
        for user_id in recipients:
            if user_id is None or user_id == actor.user_id:
                continue
            tx.add_notification(
                Notification(
                    user_id=user_id,
                    kind="chat.message",
                    text=preview,
                    link=f"/chat/{client.id}",
                    created_at=self.now(),
                )
            )

    def list(
        self, actor: Actor, client_id: int, *, after_id: int | None = None
    ) -> builtins.list[ChatMessage]:
        """A client's messages, oldest first (``after_id``: only newer ones, for polling).

        The store hands them out a page at a time; all of them are read, so a long
        conversation still ends with its newest message.
        """
        with self.store.transaction(readonly=True) as tx:
            access.client_for(tx, actor, client_id)
            messages: builtins.list[ChatMessage] = []
            while True:
                page = tx.list_chat_messages(client_id, after_id=after_id, limit=PAGE)
                messages.extend(page)
                if len(page) < PAGE:
                    return messages
                after_id = page[-1].id
