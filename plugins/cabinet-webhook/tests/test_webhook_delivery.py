"""The webhook backend against a real HTTP receiver on loopback."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import attrs
import pytest
from cabinet_core.crm import DeliveryError
from cabinet_core.entities import NewsItem
from cabinet_core.sync import BatchDelivery, InboundCapable, SyncPort, Topic
from cabinet_webhook import WebhookBackend, WebhookSettings
from webhook_support import SECRET, MemoryPort, Receiver, message


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver().running() as running:
        yield running


@pytest.fixture
def backend(receiver: Receiver) -> Iterator[WebhookBackend]:
    made = WebhookBackend(WebhookSettings(url=receiver.url, secret=SECRET, timeout=2))
    try:
        yield made
    finally:
        made.close()


def standard_signature(secret: str, message_id: str, timestamp: str, body: bytes) -> str:
    """The Standard Webhooks v1 signature, computed here independently of the plugin."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def test_the_backend_declares_batch_delivery_and_an_inbound_side(backend: WebhookBackend) -> None:
    assert isinstance(backend, BatchDelivery)
    assert isinstance(backend, InboundCapable)
    assert backend.inbound.max_body_bytes > 0


def test_a_change_is_posted_as_signed_json(backend: WebhookBackend, receiver: Receiver) -> None:
    port = MemoryPort()
    payload = {"id": 7, "number": "FV/7/2026", "total": "123.00"}
    backend.deliver(port, message(7, Topic.DOCUMENT_UPDATED.value, payload))
    [call] = receiver.calls
    assert call.path == "/hook"
    assert call.headers["content-type"] == "application/json"
    assert call.headers["webhook-id"] == "7"
    timestamp = call.headers["webhook-timestamp"]
    assert int(timestamp) == int(port.clock.timestamp())
    assert call.headers["webhook-signature"] == standard_signature(
        SECRET, "7", timestamp, call.body
    )
    assert json.loads(call.body) == {
        "id": 7,
        "topic": "document.updated",
        "occurred_at": "2026-12-07T11:59:00+00:00",
        "origin": None,
        "data": payload,
    }


def test_a_plain_secret_is_used_as_its_bytes(receiver: Receiver) -> None:
    secret = "a-shared-secret-of-n8n"
    made = WebhookBackend(WebhookSettings(url=receiver.url, secret=secret))
    try:
        made.deliver(MemoryPort(), message(1))
    finally:
        made.close()
    [call] = receiver.calls
    expected = hmac.new(
        secret.encode(), f"1.{call.headers['webhook-timestamp']}.".encode() + call.body, "sha256"
    ).digest()
    assert call.headers["webhook-signature"] == "v1," + base64.b64encode(expected).decode()


def test_a_5xx_is_retried_with_the_same_id_and_retry_after_is_honoured(
    backend: WebhookBackend, receiver: Receiver
) -> None:
    receiver.script = [(500, {}), (503, {"Retry-After": "30"})]
    port = MemoryPort()
    with pytest.raises(DeliveryError) as first:
        backend.deliver(port, message(3))
    assert not first.value.permanent
    assert first.value.retry_after is None
    with pytest.raises(DeliveryError) as second:
        backend.deliver(port, message(3))
    assert second.value.retry_after == 30
    assert "/hook" not in str(second.value)  # a hook URL's path is its secret
    port.clock += timedelta(seconds=31)
    backend.deliver(port, message(3))
    assert [call.headers["webhook-id"] for call in receiver.calls] == ["3", "3", "3"]
    stamps = [int(call.headers["webhook-timestamp"]) for call in receiver.calls]
    assert stamps[2] - stamps[1] == 31  # each attempt is signed when it is sent


def test_429_with_an_http_date_waits_until_then(
    backend: WebhookBackend, receiver: Receiver
) -> None:
    port = MemoryPort()
    later = format_datetime(port.clock + timedelta(minutes=2), usegmt=True)
    receiver.script = [(429, {"Retry-After": later})]
    with pytest.raises(DeliveryError) as refused:
        backend.deliver(port, message(4))
    assert refused.value.retry_after == 120
    assert not refused.value.permanent


@pytest.mark.parametrize("status", [400, 401, 404, 410, 422, 301])
def test_any_other_refusal_is_permanent(
    backend: WebhookBackend, receiver: Receiver, status: int
) -> None:
    receiver.script = [(status, {"Location": "https://elsewhere.example/"})]
    with pytest.raises(DeliveryError) as refused:
        backend.deliver(MemoryPort(), message(5))
    assert refused.value.permanent
    assert str(status) in str(refused.value)


def test_a_receiver_that_does_not_answer_in_time_is_retried(receiver: Receiver) -> None:
    made = WebhookBackend(WebhookSettings(url=receiver.url, secret=SECRET, timeout=0.2))
    receiver.delay = 1.0
    try:
        with pytest.raises(DeliveryError) as slow:
            made.deliver(MemoryPort(), message(6))
    finally:
        made.close()
    assert not slow.value.permanent
    assert "in time" in str(slow.value)


def test_an_unreachable_receiver_is_retried() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port_number = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port_number}/hook"
    made = WebhookBackend(WebhookSettings(url=url, secret=SECRET, timeout=1))
    try:
        with pytest.raises(DeliveryError) as down:
            made.deliver(MemoryPort(), message(8))
    finally:
        made.close()
    assert not down.value.permanent
    assert "could not be reached" in str(down.value)


def test_unknown_and_mail_topics_are_not_sent(backend: WebhookBackend, receiver: Receiver) -> None:
    port = MemoryPort()
    backend.deliver(port, message(9, "invoice.teleported"))
    backend.deliver(port, message(10, Topic.MAIL_DOCUMENT.value, {"to": "a@b.pl"}))
    assert receiver.calls == []


def test_a_batch_gets_one_outcome_per_message(backend: WebhookBackend, receiver: Receiver) -> None:
    receiver.script = [(200, {})] * 10 + [(500, {})] + [(200, {})] * 9 + [(400, {})]
    batch = [message(number) for number in range(1, 41)]
    outcomes = backend.deliver_many(MemoryPort(), batch)
    assert sorted(outcomes) == list(range(1, 41))
    errors = [error for error in outcomes.values() if error is not None]
    assert len(errors) == 2
    assert {isinstance(error, DeliveryError) and error.permanent for error in errors} == {
        True,
        False,
    }
    assert sorted(int(call.headers["webhook-id"]) for call in receiver.calls) == list(range(1, 41))


def test_settings_come_from_the_environment_and_say_what_is_missing() -> None:
    with pytest.raises(ValueError, match="CABINET_WEBHOOK_URL and CABINET_WEBHOOK_SECRET"):
        WebhookSettings.from_env({})
    with pytest.raises(ValueError, match="http"):
        WebhookSettings.from_env(
            {"CABINET_WEBHOOK_URL": "ftp://x", "CABINET_WEBHOOK_SECRET": SECRET}
        )
    with pytest.raises(ValueError, match="16"):
        WebhookSettings.from_env(
            {"CABINET_WEBHOOK_URL": "https://x.example/h", "CABINET_WEBHOOK_SECRET": "short"}
        )
    with pytest.raises(ValueError, match="base64"):
        WebhookSettings.from_env(
            {"CABINET_WEBHOOK_URL": "https://x.example/h", "CABINET_WEBHOOK_SECRET": "whsec_%%%"}
        )
    settings = WebhookSettings.from_env(
        {
            "CABINET_WEBHOOK_URL": "https://x.example/h",
            "CABINET_WEBHOOK_SECRET": SECRET,
            "CABINET_WEBHOOK_TIMEOUT": "3.5",
            "CABINET_WEBHOOK_CONNECTIONS": "2",
        }
    )
    assert (settings.timeout, settings.connections) == (3.5, 2)
    assert SECRET not in repr(settings)


def test_occurred_at_is_null_for_a_message_without_a_time(
    backend: WebhookBackend, receiver: Receiver
) -> None:
    backend.deliver(MemoryPort(), attrs.evolve(message(11), created_at=None))
    assert json.loads(receiver.calls[0].body)["occurred_at"] is None


def test_the_python_check_in_the_docs_accepts_our_calls_and_nothing_else(
    backend: WebhookBackend, receiver: Receiver
) -> None:
    docs = Path(__file__).resolve().parents[3] / "docs" / "plugins" / "webhook.md"
    snippet = re.search(r"### Python\n\n```python\n(.*?)```", docs.read_text(), re.DOTALL)
    assert snippet is not None
    namespace: dict[str, Any] = {}
    exec(snippet.group(1), namespace)
    verify = namespace["verify"]
    backend.deliver(MemoryPort(now=datetime.now(UTC)), message(12))
    [call] = receiver.calls
    assert verify(SECRET, dict(call.headers), call.body)
    assert not verify(SECRET, dict(call.headers), call.body.replace(b"12", b"13"))
    assert not verify("whsec_" + "A" * 32, dict(call.headers), call.body)


def test_the_memory_port_is_a_sync_port_with_idempotent_chat_and_news():
    # The double the backend's tests run on must keep the port's promises, or they prove little.
    port = MemoryPort()
    assert isinstance(port, SyncPort)
    first, created = port.receive_chat(1, "Dzień dobry", external_id="x:1")
    again, created_again = port.receive_chat(1, "Dzień dobry", external_id="x:1")
    assert created and not created_again and again == first
    item = NewsItem(title="Nowość", body="Treść", external_id="x:post:1")
    assert [port.upsert_news(item)[1] for _ in range(2)] == ["created", "unchanged"]
    assert port.upsert_news(attrs.evolve(item, body="Zmiana"))[1] == "updated"
    assert port.news_ids("x:post:") == {"x:post:1": 1}
    assert port.delete_news("x:post:1") and not port.delete_news("x:post:1")
    port.requeue(Topic.DOCUMENT_UPDATED, "document", 7, reason="missing")
    assert port.requeued == [(Topic.DOCUMENT_UPDATED, "document", 7, "missing")]
