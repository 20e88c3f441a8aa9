"""A client's conversation with the firm (its manager first of all), live.

Every stored message is announced on the broadcast seam after its transaction commits
(:func:`conversation_channel` and :data:`INBOX_CHANNEL`), so open pages in any web process
read it at once. History is read a page at a time, newest last; each user has a read marker
per conversation, from which the unread counts and the staff inbox are computed.
"""

from __future__ import annotations

import builtins

import attrs

from cabinet_core import access
from cabinet_core.entities import (
    Actor,
    ChatAttachment,
    ChatConversation,
    ChatMessage,
    ChatPage,
    Client,
    Notification,
    Role,
)
from cabinet_core.errors import N_, FieldError, NotFound, PermissionDenied, ValidationError
from cabinet_core.files import FileStore, safe_filename
from cabinet_core.services._base import Service, raise_if, required_text
from cabinet_core.services.attachments import check_file
from cabinet_core.storage import Tx
from cabinet_core.storage import chat as chat_sql
from cabinet_core.sync import Topic

MAX_BODY = 5000
#: Messages read from the store per query.
PAGE = 100
#: Messages on one page of history unless the reader asks for another size.
HISTORY_PAGE = 30
#: The most messages one page of history may hold.
MAX_HISTORY_PAGE = 100
#: The channel every new message is announced on, for staff inboxes.
INBOX_CHANNEL = "chat:inbox"


def conversation_channel(client_id: int) -> str:
    """The broadcast channel of one client's conversation."""
    return f"chat:client:{client_id}"


class ChatService(Service):
    """``cabinet.chat``: post and read a client's messages."""

    def post(
        self,
        actor: Actor,
        *,
        client_id: int,
        body: str,
        filename: str = "",
        data: bytes | None = None,
    ) -> ChatMessage:
        """Post a message to a client's conversation (a client's user: only its own).

        ``data`` is a file sent with it (PDF, JPG or PNG, at most ``attachment_max_bytes``, as
        for documents); with a file the text may be left blank.
        """
        errors: list[FieldError] = [] if data is not None else required_text(body, "body")
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
        upload: tuple[str, str, int] | None = None
        if data is not None:
            with self.store.transaction(readonly=True) as tx:
                access.client_for(tx, actor, client_id)  # no file stored for a stranger
            content_type = check_file(data, self.cabinet.settings.attachment_max_bytes)
            # The file first, outside the transaction: a row never points at a missing file.
            upload = (content_type, FileStore(self.cabinet.settings.files_dir).put(data), len(data))
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
            if upload is not None and stored.id is not None:
                content_type, digest, size = upload
                attachment = chat_sql.add_attachment(
                    tx.connection,
                    ChatAttachment(
                        message_id=stored.id,
                        client_id=client_id,
                        filename=safe_filename(filename, content_type),
                        content_type=content_type,
                        size=size,
                        sha256=digest,
                        created_at=self.now(),
                    ),
                )
                stored = attrs.evolve(stored, attachments=(attachment,))
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
            if actor.user_id is not None and stored.id is not None:
                # The author has read what it wrote.
                chat_sql.mark_read(tx.connection, actor.user_id, client_id, stored.id)
        self._announce(stored)
        self.fire("chat_message_posted", message=stored, actor=actor)
        return stored

    def _announce(self, message: ChatMessage) -> None:
        """Tell open pages (in every process) that ``message`` exists; called after commit."""
        event = {"type": "message", "id": message.id, "client_id": message.client_id}
        self.cabinet.broadcast.publish(conversation_channel(message.client_id), event)
        self.cabinet.broadcast.publish(INBOX_CHANNEL, event)

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
        self._announce(stored)
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
                messages.extend(chat_sql.with_attachments(tx.connection, page))
                if len(page) < PAGE:
                    return messages
                after_id = page[-1].id

    def history(
        self,
        actor: Actor,
        client_id: int,
        *,
        before: int | None = None,
        limit: int = HISTORY_PAGE,
    ) -> ChatPage:
        """One page of a conversation: the ``limit`` newest messages older than ``before``
        (the newest of all without it), oldest first, with the names the reader may know."""
        errors: builtins.list[FieldError] = []
        if not 1 <= limit <= MAX_HISTORY_PAGE:
            errors.append(
                FieldError(
                    field="limit",
                    code="range",
                    message=N_("Enter a number from %(min)s to %(max)s."),
                    params={"min": 1, "max": MAX_HISTORY_PAGE},
                )
            )
        if before is not None and before < 1:
            errors.append(
                FieldError(field="before", code="range", message=N_("Enter a message id."))
            )
        raise_if(errors)
        with self.store.transaction(readonly=True) as tx:
            client = access.client_for(tx, actor, client_id)
            messages, more = chat_sql.history(tx.connection, client_id, before=before, limit=limit)
            messages = chat_sql.with_attachments(tx.connection, messages)
            manager = tx.get_user(client.manager_id) if client.manager_id is not None else None
            return ChatPage(
                client_id=client_id,
                messages=tuple(messages),
                has_more=more,
                authors=self._authors(tx, actor, client),
                manager_id=client.manager_id,
                manager_name=(manager.name or manager.email) if manager is not None else None,
                last_read_id=(
                    chat_sql.last_read(tx.connection, actor.user_id, client_id)
                    if actor.user_id is not None
                    else 0
                ),
            )

    def _authors(self, tx: Tx, actor: Actor, client: Client) -> dict[int, str]:
        """Names the reader may know: the client's users and its manager; staff know every
        staff member too. Anyone else speaks for the firm."""
        people = tx.list_users(client_id=client.id)
        if client.manager_id is not None:
            manager = tx.get_user(client.manager_id)
            if manager is not None:
                people.append(manager)
        if actor.role.is_staff:
            people.extend(u for u in tx.list_users() if u.role.is_staff)
        return {u.id: u.name or u.email for u in people if u.id is not None}

    def mark_read(self, actor: Actor, client_id: int, *, up_to: int | None = None) -> int:
        """Mark the conversation read up to message ``up_to`` (the newest without it); the
        reader's marker after the call (it never moves back)."""
        if actor.user_id is None:
            raise PermissionDenied(N_("Only a signed-in user has read markers"))
        if up_to is not None and up_to < 1:
            raise ValidationError.single("up_to", "range", N_("Enter a message id."))
        with self.store.transaction() as tx:
            access.client_for(tx, actor, client_id)
            newest = chat_sql.last_message_ids(tx.connection, [client_id]).get(client_id, 0)
            target = newest if up_to is None else min(up_to, newest)
            if target < 1:
                return chat_sql.last_read(tx.connection, actor.user_id, client_id)
            return chat_sql.mark_read(tx.connection, actor.user_id, client_id, target)

    def unread(self, actor: Actor) -> dict[int, int]:
        """Per conversation the reader may see, how many messages it has not read (only
        conversations with any)."""
        if actor.user_id is None:
            return {}
        with self.store.transaction(readonly=True) as tx:
            visible = access.visible_client_ids(tx, actor)
            return chat_sql.unread_counts(tx.connection, actor.user_id, visible)

    def inbox(self, actor: Actor) -> builtins.list[ChatConversation]:
        """Every conversation the reader may see with its newest message and unread count:
        those with messages newest first, then the silent ones by client name."""
        with self.store.transaction(readonly=True) as tx:
            visible = access.visible_client_ids(tx, actor)
            if actor.role is Role.MANAGER and actor.user_id is not None:
                clients = tx.list_clients(manager_id=actor.user_id)
            else:
                clients = tx.list_clients()
            clients = [
                c for c in clients if c.id is not None and (visible is None or c.id in visible)
            ]
            ids = [c.id for c in clients if c.id is not None]
            last = chat_sql.last_message_ids(tx.connection, ids)
            unread = (
                chat_sql.unread_counts(tx.connection, actor.user_id, ids)
                if actor.user_id is not None
                else {}
            )
            messages = chat_sql.messages_by_id(tx.connection, list(last.values()))
        rows = [
            ChatConversation(
                client_id=c.id,
                client_name=c.name,
                last_message=messages.get(last.get(c.id, 0)),
                unread=unread.get(c.id, 0),
            )
            for c in clients
            if c.id is not None
        ]
        with_messages = sorted(
            (r for r in rows if r.last_message is not None),
            key=lambda r: -(r.last_message.id or 0) if r.last_message else 0,
        )
        return with_messages + [r for r in rows if r.last_message is None]

    def conversation(self, actor: Actor, client_id: int) -> ChatConversation:
        """One inbox line (a live inbox refreshes the line a new message changed)."""
        with self.store.transaction(readonly=True) as tx:
            client = access.client_for(tx, actor, client_id)
            last = chat_sql.last_message_ids(tx.connection, [client_id]).get(client_id)
            message = chat_sql.messages_by_id(tx.connection, [last]).get(last) if last else None
            unread = (
                chat_sql.unread_counts(tx.connection, actor.user_id, [client_id]).get(client_id, 0)
                if actor.user_id is not None
                else 0
            )
        return ChatConversation(
            client_id=client_id, client_name=client.name, last_message=message, unread=unread
        )

    def open_attachment(self, actor: Actor, attachment_id: int) -> tuple[ChatAttachment, bytes]:
        """A file sent in a conversation the reader may see, and its bytes."""
        with self.store.transaction(readonly=True) as tx:
            attachment = chat_sql.get_attachment(tx.connection, attachment_id)
            try:
                if attachment is not None:
                    access.client_for(tx, actor, attachment.client_id)
            except NotFound:
                # Another client's file answers as a missing one, so its id does not leak.
                attachment = None
            if attachment is None:
                raise NotFound(N_("Not found"), entity="chat_attachment", id=attachment_id)
        try:
            return attachment, FileStore(self.cabinet.settings.files_dir).get(attachment.sha256)
        except FileNotFoundError:
            raise NotFound(
                N_("The attached file is missing"), entity="chat_attachment", id=attachment_id
            ) from None
