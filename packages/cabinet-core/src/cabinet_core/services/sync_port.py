"""The cabinet's side of the CRM sync contract: :class:`CabinetSyncPort`, one per backend.

A backend gets its port from :meth:`cabinet_core.app.Cabinet.sync_port` (the worker hands it
to ``deliver``, ``deliver_many`` and the periodic tasks; the web shell to the inbound
handler). Reads are system reads straight from the store, one short read-only transaction
each. Writes go through the services, so they keep their audit entries, notifications and
event hooks, and carry the backend's name as their ``origin`` (today: the outbox payload's
``origin`` key and the audit entry's ``source``).

The backend's state lives in the settings table under ``<backend>.<key>``: backend names are
unique in the registry, so no backend reads another's keys, and the keys an installed cabinet
already keeps (``bitrix24.stage_map``, the OAuth tokens ``bitrix24.oauth.<member>``) stay
where they are, with no data migration.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cabinet_core.converter import json_value
from cabinet_core.entities import (
    Actor,
    AuditEntry,
    ChatMessage,
    Client,
    Counterparty,
    Document,
    NewsItem,
    OutboxMessage,
    PaymentStatus,
    Product,
)
from cabinet_core.errors import NotFound
from cabinet_core.printing import render, view_of
from cabinet_core.storage import outbox
from cabinet_core.storage.queries import DocumentQuery
from cabinet_core.sync import PAYLOAD_TYPES, DocumentFile, Topic, UserInfo, encode_payload

if TYPE_CHECKING:
    from cabinet_core.app import Cabinet
    from cabinet_core.doctypes import DocumentType
    from cabinet_core.storage import Tx

__all__ = ["CabinetSyncPort"]

#: How an entity re-queued by :meth:`CabinetSyncPort.requeue` is read back, by the payload
#: type of its topic: a re-queued message carries the entity as stored now.
_READERS: Mapping[type, Callable[[Tx, int], object | None]] = {
    Document: lambda tx, entity_id: tx.get_document(entity_id),
    Client: lambda tx, entity_id: tx.get_client(entity_id),
    Counterparty: lambda tx, entity_id: tx.get_counterparty(entity_id),
    Product: lambda tx, entity_id: tx.get_product(entity_id),
    NewsItem: lambda tx, entity_id: tx.get_news(entity_id),
}


class CabinetSyncPort:
    """The :class:`~cabinet_core.sync.SyncPort` of the backend registered as ``backend``."""

    def __init__(self, cabinet: Cabinet, backend: str) -> None:
        if not backend.strip():
            raise ValueError("a sync port needs the backend's registered name")
        self._cabinet = cabinet
        self._backend = backend

    def __repr__(self) -> str:
        return f"CabinetSyncPort({self._backend!r})"

    @property
    def backend(self) -> str:
        """The backend's registered name: the ``origin`` of its writes, its state namespace."""
        return self._backend

    @property
    def base_url(self) -> str:
        """The cabinet's public URL, without a trailing slash (``CABINET_BASE_URL``, else the
        branding's host name)."""
        return self._cabinet.branding.public_url()

    def now(self) -> datetime:
        """The store's clock (tests pin it)."""
        return self._cabinet.store.clock()

    # -- reads ------------------------------------------------------------------------------

    def document(self, document_id: int) -> Document | None:
        """The document with its lines, or ``None``."""
        with self._cabinet.store.transaction(readonly=True) as tx:
            return tx.get_document(document_id)

    def documents(self, document_ids: Iterable[int]) -> Mapping[int, Document]:
        """The documents of ``document_ids`` that exist, by id, in one read-only transaction."""
        with self._cabinet.store.transaction(readonly=True) as tx:
            return tx.get_documents(document_ids)

    def documents_after(self, after_id: int, limit: int) -> Sequence[Document]:
        """Documents with ``id > after_id`` in id order, at most ``limit``, with their lines."""
        if limit < 1:
            return []
        query = DocumentQuery(order="id", after_id=after_id, limit=limit)
        with self._cabinet.store.transaction(readonly=True) as tx:
            return tx.list_documents(query).items

    def client(self, client_id: int) -> Client | None:
        """The client (the firm's customer), or ``None``."""
        with self._cabinet.store.transaction(readonly=True) as tx:
            return tx.get_client(client_id)

    def clients(self) -> Sequence[Client]:
        """Every client, active or not, in id order."""
        with self._cabinet.store.transaction(readonly=True) as tx:
            return tx.list_clients()

    def counterparty(self, counterparty_id: int) -> Counterparty | None:
        """A client's counterparty, or ``None``."""
        with self._cabinet.store.transaction(readonly=True) as tx:
            return tx.get_counterparty(counterparty_id)

    def product(self, product_id: int) -> Product | None:
        """A catalogue product, or ``None``."""
        with self._cabinet.store.transaction(readonly=True) as tx:
            return tx.get_product(product_id)

    def user(self, user_id: int) -> UserInfo | None:
        """The public part of a user, or ``None``."""
        with self._cabinet.store.transaction(readonly=True) as tx:
            user = tx.get_user(user_id)
        return None if user is None else UserInfo.of(user)

    def user_by_email(self, email: str) -> UserInfo | None:
        """The public part of the user with this e-mail address, or ``None``."""
        with self._cabinet.store.transaction(readonly=True) as tx:
            user = tx.get_user_by_email(email)
        return None if user is None else UserInfo.of(user)

    def document_type(self, key: str) -> DocumentType | None:
        """The registered document type ``key``, or ``None``."""
        return self._cabinet.document_types.get(key)

    def document_files(self, document_id: int) -> Sequence[DocumentFile]:
        """The document's PDF (if its type has a renderer) and FA(3) XML (if it has one), as
        the client receives them; empty for a draft or a missing document."""
        document = self.document(document_id)
        if document is None:
            return ()
        document_type = self.document_type(document.doc_type)
        if document_type is None or document.status == document_type.workflow.initial:
            return ()
        client = self.client(document.client_id)
        if client is None:
            return ()
        files: list[DocumentFile] = []
        try:
            rendered = render(self._cabinet, document, client)
        except NotFound:
            pass  # no PDF renderer registered for the type (a cabinet without cabinet-pdf)
        else:
            files.append(
                DocumentFile(
                    filename=rendered.filename,
                    media_type=rendered.media_type,
                    content=rendered.content,
                )
            )
        fa3 = view_of(self._cabinet, document, client).fa3
        if fa3 is not None:
            files.append(
                DocumentFile(filename=fa3.filename, media_type=fa3.media_type, content=fa3.content)
            )
        return tuple(files)

    def pending(self, entity: str, entity_id: int) -> bool:
        """Whether a message about the entity still waits for delivery to this backend."""
        with self._cabinet.store.transaction(readonly=True) as tx:
            return tx.outbox_pending(entity, entity_id, subscriber=self._backend)

    def deliveries(self, status: str, *, limit: int = 100) -> Sequence[OutboxMessage]:
        """This backend's own deliveries in ``status``, newest first."""
        return self._cabinet.store.list_outbox(status=status, subscriber=self._backend, limit=limit)

    # -- writes (origin = this backend) -----------------------------------------------------

    def apply_status(self, document_id: int, status: str, *, comment: str = "") -> Document | None:
        """Move the document to ``status`` as the CRM says; ``None`` when already there.

        :class:`ValueError` for a state its workflow does not know, :class:`NotFound` for a
        missing document.
        """
        return self._cabinet.documents.apply_crm_status(
            document_id, status, comment=comment, source=self._backend
        )

    def apply_payment(
        self, document_id: int, payment_status: PaymentStatus | str
    ) -> Document | None:
        """Record the payment status the CRM reports; ``None`` when unchanged."""
        return self._cabinet.documents.apply_crm_payment(
            document_id, payment_status, source=self._backend
        )

    def receive_chat(
        self, client_id: int, body: str, *, external_id: str, author_id: int | None = None
    ) -> tuple[ChatMessage, bool]:
        """Store a message the firm wrote in the CRM; ``False`` when ``external_id`` is known."""
        return self._cabinet.chat.receive(
            Actor.system(),
            client_id=client_id,
            body=body,
            external_id=external_id,
            author_id=author_id,
        )

    def upsert_news(self, item: NewsItem) -> tuple[NewsItem, str]:
        """Create or update ``item`` by its ``external_id``: "created", "updated", "unchanged"."""
        return self._cabinet.news.upsert_external(Actor.system(), item)

    def delete_news(self, external_id: str) -> bool:
        """Delete the item published under ``external_id``; ``False`` if there is none."""
        return self._cabinet.news.delete_external(Actor.system(), external_id)

    def news_ids(self, prefix: str) -> Mapping[str, int]:
        """External id → news id of the items whose external id starts with ``prefix``."""
        return self._cabinet.news.external_ids(Actor.system(), prefix)

    def requeue(self, topic: Topic, entity: str, entity_id: int, *, reason: str) -> None:
        """Queue the entity again as it is stored now, with an audit entry naming ``reason``,
        in one transaction. Nothing is queued for an entity that no longer exists.

        :class:`ValueError` for a topic whose payload is not an entity (a status change, a
        mail request): those describe a moment, which cannot be sent again.
        """
        topic = Topic(topic)
        reader = _READERS.get(PAYLOAD_TYPES[topic])
        if reader is None or topic.addressee is not None:
            raise ValueError(f"{topic.value} cannot be re-queued: its payload is not an entity")
        with self._cabinet.store.transaction() as tx:
            value = reader(tx, entity_id)
            if value is None:
                return
            now = self.now()
            tx.add_audit(
                AuditEntry(
                    at=now,
                    actor_id=None,
                    client_id=getattr(value, "client_id", None),
                    action="sync.requeue",
                    entity=entity,
                    entity_id=entity_id,
                    detail=json_value(
                        {"backend": self._backend, "topic": topic.value, "reason": reason}
                    ),
                )
            )
            # For this backend alone: every other subscriber keeps its own delivery state.
            tx.add_outbox(
                OutboxMessage(
                    topic=topic.value,
                    entity=entity,
                    entity_id=entity_id,
                    payload=encode_payload(topic, value),
                    created_at=now,
                ),
                subscribers=(self._backend,),
                json_ready=True,
            )

    def retry_delivery(self, message_id: int, *, reason: str, actor_id: int | None = None) -> bool:
        """Put this backend's failed delivery of ``message_id`` back in the queue with a fresh
        attempt count, with an audit entry naming ``reason`` (and the admin ``actor_id`` who
        asked, ``None`` for the backend itself); ``False`` when it is not a failed delivery
        of this backend."""
        with self._cabinet.store.transaction() as tx:
            try:
                retried = outbox.update_one(
                    tx.connection,
                    self._backend,
                    message_id,
                    failed_only=True,
                    failed_at=None,
                    attempts=0,
                    next_attempt_at=None,
                    claimed_until=None,
                )
            except NotFound:
                return False
            if not retried:
                return False
            tx.add_audit(
                AuditEntry(
                    at=self.now(),
                    actor_id=actor_id,
                    action="sync.retry",
                    entity="outbox",
                    entity_id=message_id,
                    detail=json_value({"backend": self._backend, "reason": reason}),
                )
            )
        return True

    # -- state ------------------------------------------------------------------------------

    def _key(self, key: str) -> str:
        if not key or key != key.strip():
            raise ValueError(f"state key {key!r} must be non-empty, without outer spaces")
        return f"{self._backend}.{key}"

    def state(self, key: str, default: Any = None) -> Any:
        """This backend's stored value under ``key`` (JSON types), or ``default``."""
        with self._cabinet.store.transaction(readonly=True) as tx:
            value = tx.get_setting(self._key(key))
        # A value set to None is stored as JSON null (and so reads as ``default``).
        return default if value is None else value

    def states(self, prefix: str, *, limit: int = 500) -> Mapping[str, Any]:
        """This backend's stored values whose key starts with ``prefix``, in key order (at
        most ``limit``), keyed as they were set."""
        namespace = f"{self._backend}."
        with self._cabinet.store.transaction(readonly=True) as tx:
            found = tx.settings_with_prefix(namespace + prefix, limit=limit)
        return {key[len(namespace) :]: value for key, value in found.items()}

    def state_of(self, keys: Iterable[str]) -> Mapping[str, Any]:
        """This backend's stored values of exactly ``keys`` (those not stored left out), in
        one read, keyed as they were set."""
        names = {self._key(key): key for key in keys}
        if not names:
            return {}
        with self._cabinet.store.transaction(readonly=True) as tx:
            found = tx.settings_of(names)
        return {names[name]: value for name, value in found.items()}

    def set_states(self, values: Mapping[str, Any]) -> None:
        """Store many ordinary (not secret, not audited) values in one transaction; ``None``
        deletes the key. TypeError for a value that is not JSON."""
        stored = {self._key(key): json_value(value) for key, value in values.items()}
        with self._cabinet.store.transaction() as tx:
            tx.set_settings(stored)

    def set_state(self, key: str, value: Any, *, secret: bool = False) -> None:
        """Store ``value`` (``None`` deletes); TypeError for a value that is not JSON.

        A backend's state is its own bookkeeping (a cursor, ids already sent), rewritten as
        often as it syncs, so an ordinary value is not audited: the trail would drown in it.
        A ``secret`` (a token) that changes gets an entry saying so, never the value.
        """
        name = self._key(key)
        stored = json_value(value)
        with self._cabinet.store.transaction() as tx:
            if tx.get_setting(name) == stored:
                return
            tx.set_setting(name, stored)
            if secret:
                tx.add_audit(
                    AuditEntry(
                        at=self.now(),
                        actor_id=None,
                        client_id=None,
                        action="settings.set",
                        entity="setting",
                        entity_id=None,
                        detail={"key": name, "secret": True, "backend": self._backend},
                    )
                )
