"""Test helpers: a real HTTP receiver on loopback and an in-memory sync port."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import attrs
from cabinet_core.entities import (
    ChatMessage,
    Client,
    Counterparty,
    Document,
    NewsItem,
    OutboxMessage,
    PaymentStatus,
    Product,
)
from cabinet_core.sync import DocumentFile, Topic, UserInfo

SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # base64 of 24 bytes
STATES = ("draft", "issued", "sent", "paid_out", "cancelled")


@attrs.frozen
class Received:
    """One call the receiver got."""

    path: str
    headers: Mapping[str, str]
    body: bytes
    status: int


class Receiver:
    """A threaded HTTP/1.1 server on 127.0.0.1 (a random port) that records every call and
    answers with the next scripted ``(status, headers)``, 200 when the script is empty."""

    def __init__(self) -> None:
        self.calls: list[Received] = []
        self.script: list[tuple[int, Mapping[str, str]]] = []
        self.delay = 0.0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                headers = {key.lower(): value for key, value in self.headers.items()}
                with receiver._lock:
                    status, extra = receiver.script.pop(0) if receiver.script else (200, {})
                    receiver.calls.append(Received(self.path, headers, body, status))
                if receiver.delay:
                    threading.Event().wait(receiver.delay)
                self.send_response(status)
                for key, value in extra.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the tests read ``calls``."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    @contextmanager
    def running(self) -> Iterator[Receiver]:
        thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()
            thread.join(5)


def make_document(document_id: int, status: str = "issued") -> Document:
    """A stored-looking document."""
    return Document(
        id=document_id,
        client_id=1,
        doc_type="vat_invoice",
        status=status,
        number=f"FV/{document_id}/2026",
        issue_date=date(2026, 12, 1),
        created_at=datetime(2026, 12, 1, 9, tzinfo=UTC),
    )


class MemoryPort:
    """:class:`cabinet_core.sync.SyncPort` in memory for what a backend under test uses:
    documents (``records``) with a fixed set of states, the state store, a settable clock, and
    a log of the writes (what a backend applied, in order)."""

    def __init__(self, backend: str = "webhook", *, now: datetime | None = None) -> None:
        self.backend = backend
        self.base_url = "https://cabinet.example"
        self.clock = now or datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
        self.records: dict[int, Document] = {}
        self.stored: dict[str, Any] = {}
        self.applied: list[tuple[int, str, str]] = []
        self.chat: dict[str, ChatMessage] = {}
        self.news: dict[str, NewsItem] = {}
        self.requeued: list[tuple[Topic, str, int, str]] = []
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return self.clock

    def document(self, document_id: int) -> Document | None:
        return self.records.get(document_id)

    def documents(self, document_ids: Iterable[int]) -> Mapping[int, Document]:
        return {key: self.records[key] for key in document_ids if key in self.records}

    def documents_after(self, after_id: int, limit: int) -> Sequence[Document]:
        return [self.records[key] for key in sorted(self.records) if key > after_id][:limit]

    def client(self, client_id: int) -> Client | None:
        return None

    def clients(self) -> Sequence[Client]:
        return ()

    def counterparty(self, counterparty_id: int) -> Counterparty | None:
        return None

    def product(self, product_id: int) -> Product | None:
        return None

    def user(self, user_id: int) -> UserInfo | None:
        return None

    def user_by_email(self, email: str) -> UserInfo | None:
        return None

    def document_type(self, key: str) -> None:
        return None

    def pending(self, entity: str, entity_id: int) -> bool:
        return False

    def apply_status(self, document_id: int, status: str, *, comment: str = "") -> Document | None:
        if status not in STATES:
            raise ValueError(f"unknown state {status!r}")
        with self._lock:
            document = self.records[document_id]
            if document.status == status:
                return None
            self.records[document_id] = attrs.evolve(document, status=status)
            self.applied.append((document_id, "status", status))
            return self.records[document_id]

    def apply_payment(
        self, document_id: int, payment_status: PaymentStatus | str
    ) -> Document | None:
        value = PaymentStatus(payment_status)
        with self._lock:
            document = self.records[document_id]
            if document.payment_status is value:
                return None
            self.records[document_id] = attrs.evolve(document, payment_status=value)
            self.applied.append((document_id, "payment_status", value.value))
            return self.records[document_id]

    def receive_chat(
        self, client_id: int, body: str, *, external_id: str, author_id: int | None = None
    ) -> tuple[ChatMessage, bool]:
        with self._lock:
            known = self.chat.get(external_id)
            if known is not None:
                return known, False
            stored = ChatMessage(
                id=len(self.chat) + 1,
                client_id=client_id,
                author_id=author_id,
                body=body,
                created_at=self.clock,
                external_id=external_id,
            )
            self.chat[external_id] = stored
            return stored, True

    def upsert_news(self, item: NewsItem) -> tuple[NewsItem, str]:
        assert item.external_id
        with self._lock:
            current = self.news.get(item.external_id)
            if current is None:
                self.news[item.external_id] = attrs.evolve(item, id=len(self.news) + 1)
                return self.news[item.external_id], "created"
            if (current.title, current.body, current.important) == (
                item.title,
                item.body,
                item.important,
            ):
                return current, "unchanged"
            self.news[item.external_id] = attrs.evolve(item, id=current.id)
            return self.news[item.external_id], "updated"

    def delete_news(self, external_id: str) -> bool:
        with self._lock:
            return self.news.pop(external_id, None) is not None

    def news_ids(self, prefix: str) -> Mapping[str, int]:
        return {key: item.id or 0 for key, item in self.news.items() if key.startswith(prefix)}

    def requeue(self, topic: Topic, entity: str, entity_id: int, *, reason: str) -> None:
        with self._lock:
            self.requeued.append((topic, entity, entity_id, reason))

    def document_files(self, document_id: int) -> Sequence[DocumentFile]:
        return ()

    def retry_delivery(self, message_id: int, *, reason: str, actor_id: int | None = None) -> bool:
        return False

    def deliveries(self, status: str, *, limit: int = 100) -> Sequence[OutboxMessage]:
        # Nothing is queued in memory: the worker's outbox is not part of this port.
        return ()

    def state(self, key: str, default: Any = None) -> Any:
        return self.stored.get(key, default)

    def set_state(self, key: str, value: Any, *, secret: bool = False) -> None:
        if value is None:
            self.stored.pop(key, None)
        else:
            self.stored[key] = value

    def states(self, prefix: str, *, limit: int = 500) -> Mapping[str, Any]:
        keys = sorted(k for k in self.stored if k.startswith(prefix))[:limit]
        return {key: self.stored[key] for key in keys}

    def set_states(self, values: Mapping[str, Any]) -> None:
        for key, value in values.items():
            self.set_state(key, value)

    def state_of(self, keys: Iterable[str]) -> Mapping[str, Any]:
        return {key: self.stored[key] for key in keys if key in self.stored}


def message(
    message_id: int,
    topic: str = Topic.DOCUMENT_CREATED.value,
    payload: Mapping[str, Any] | None = None,
) -> OutboxMessage:
    """An outbox message as the worker claims it."""
    return OutboxMessage(
        id=message_id,
        topic=topic,
        entity="document",
        entity_id=message_id,
        payload=payload if payload is not None else {"id": message_id, "number": "FV/1"},
        created_at=datetime(2026, 12, 7, 11, 59, tzinfo=UTC),
    )
