"""Signed status and payment changes sent back through ``POST /hooks/webhook`` (the web shell's
generic route, the backend's handler, the port)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cabinet_core.app import Cabinet
from cabinet_core.entities import PaymentStatus
from cabinet_core.hookspecs import Register, hookimpl
from cabinet_core.settings import Settings
from cabinet_web.app import create_app
from cabinet_webhook import WebhookBackend, WebhookSettings, plugin, secret_key, sign
from starlette.testclient import TestClient
from webhook_support import SECRET, MemoryPort, make_document

KEY = secret_key(SECRET)


class PortedCabinet(Cabinet):
    """A cabinet whose port for every backend is one in-memory port."""

    port: MemoryPort

    def sync_port(self, name: str) -> MemoryPort:  # type: ignore[override]
        assert name == self.port.backend
        return self.port


class WebhookHere:
    """Registers the webhook backend with explicit settings (no environment)."""

    @hookimpl
    def register_crm_backends(self, register: Register) -> None:
        settings = WebhookSettings(url="http://127.0.0.1:9/unused", secret=SECRET)
        register("webhook", lambda cabinet: WebhookBackend(settings))


@pytest.fixture
def port() -> MemoryPort:
    made = MemoryPort()
    made.records[42] = make_document(42, status="issued")
    made.clock = made.clock.replace(microsecond=0)
    return made


@pytest.fixture
def web(tmp_path: Path, port: MemoryPort) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path, crm_backends=("webhook",), secret_key="k" * 40)
    with PortedCabinet(settings, load_entrypoints=False, plugins=[WebhookHere()]) as cabinet:
        cabinet.port = port
        cabinet.migrate()
        with TestClient(create_app(cabinet)) as client:
            yield client


def signed(
    body: Any, *, call_id: str = "n8n-1", timestamp: int, key: bytes = KEY
) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    return raw, {
        "Content-Type": "application/json",
        "Webhook-Id": call_id,
        "Webhook-Timestamp": str(timestamp),
        "Webhook-Signature": sign(key, call_id, timestamp, raw),
    }


def now_of(port: MemoryPort) -> int:
    return int(port.clock.timestamp())


def test_a_signed_status_change_is_applied(web: TestClient, port: MemoryPort) -> None:
    body, headers = signed(
        {"document_id": 42, "status": "paid_out", "comment": "from n8n"}, timestamp=now_of(port)
    )
    response = web.post("/hooks/webhook", content=body, headers=headers)
    assert response.status_code == 200
    assert response.json() == {"document_id": 42, "status": "paid_out", "changed": True}
    assert port.records[42].status == "paid_out"
    assert port.applied == [(42, "status", "paid_out")]


def test_a_signed_payment_change_is_applied(web: TestClient, port: MemoryPort) -> None:
    body, headers = signed({"document_id": 42, "payment_status": "paid"}, timestamp=now_of(port))
    response = web.post("/hooks/webhook", content=body, headers=headers)
    assert response.status_code == 200
    assert port.records[42].payment_status is PaymentStatus.PAID


def test_a_replayed_call_changes_nothing_and_is_a_conflict(
    web: TestClient, port: MemoryPort
) -> None:
    body, headers = signed({"document_id": 42, "status": "paid_out"}, timestamp=now_of(port))
    assert web.post("/hooks/webhook", content=body, headers=headers).status_code == 200
    port.records[42] = make_document(42, status="issued")  # someone moved it back
    port.applied.clear()
    replay = web.post("/hooks/webhook", content=body, headers=headers)
    assert replay.status_code == 409
    assert replay.headers["content-type"] == "application/problem+json"
    assert port.applied == []
    assert port.records[42].status == "issued"


@pytest.mark.parametrize("age", [301, -301, 3600])
def test_a_call_outside_the_five_minute_window_is_refused(
    web: TestClient, port: MemoryPort, age: int
) -> None:
    body, headers = signed({"document_id": 42, "status": "paid_out"}, timestamp=now_of(port) - age)
    response = web.post("/hooks/webhook", content=body, headers=headers)
    assert response.status_code == 401
    assert response.json()["title"] == "The call has expired"
    assert port.applied == []


def test_a_call_signed_with_another_secret_or_a_changed_body_is_refused(
    web: TestClient, port: MemoryPort
) -> None:
    body, headers = signed(
        {"document_id": 42, "status": "paid_out"}, timestamp=now_of(port), key=b"guess"
    )
    assert web.post("/hooks/webhook", content=body, headers=headers).status_code == 401
    body, headers = signed({"document_id": 42, "status": "paid_out"}, timestamp=now_of(port))
    tampered = body.replace(b"42", b"43")
    assert web.post("/hooks/webhook", content=tampered, headers=headers).status_code == 401
    headers["Webhook-Id"] = "another-id"  # the id is signed too: no replay under a fresh id
    assert web.post("/hooks/webhook", content=body, headers=headers).status_code == 401
    assert port.applied == []
    assert port.stored == {}


def test_an_unsigned_call_is_refused(web: TestClient, port: MemoryPort) -> None:
    response = web.post("/hooks/webhook", json={"document_id": 42, "status": "paid_out"})
    assert response.status_code == 401
    assert "Webhook-Signature" in response.json()["detail"]
    assert port.applied == []


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"document_id": 42, "status": "teleported"}, 422),
        ({"document_id": 42, "payment_status": "maybe"}, 422),
        ({"document_id": 42, "status": "paid_out", "payment_status": "paid"}, 422),
        ({"document_id": "42", "status": "paid_out"}, 422),
        ({"document_id": True, "status": "paid_out"}, 422),
        ({"status": "paid_out"}, 422),
        (["document_id", 42], 422),
        ({"document_id": 7, "status": "paid_out"}, 404),
    ],
)
def test_a_signed_call_that_names_no_possible_change_changes_nothing(
    web: TestClient, port: MemoryPort, body: Any, status: int
) -> None:
    raw, headers = signed(body, timestamp=now_of(port))
    response = web.post("/hooks/webhook", content=raw, headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert port.applied == []
    # A refused call does not burn its id: corrected and re-signed, it may be sent again.
    assert port.stored.get("inbound.seen_ids", {}) == {}


def test_a_call_that_is_not_json_is_refused(web: TestClient, port: MemoryPort) -> None:
    raw = b"document_id=42&status=paid_out"
    stamp = now_of(port)
    headers = {
        "Webhook-Id": "form",
        "Webhook-Timestamp": str(stamp),
        "Webhook-Signature": sign(KEY, "form", stamp, raw),
    }
    response = web.post("/hooks/webhook", content=raw, headers=headers)
    assert response.status_code == 422


def test_seen_ids_are_forgotten_once_they_are_outside_the_window(
    web: TestClient, port: MemoryPort
) -> None:
    first, headers = signed({"document_id": 42, "status": "sent"}, timestamp=now_of(port))
    assert web.post("/hooks/webhook", content=first, headers=headers).status_code == 200
    port.clock += timedelta(minutes=6)
    second, headers = signed(
        {"document_id": 42, "status": "paid_out"}, call_id="n8n-2", timestamp=now_of(port)
    )
    assert web.post("/hooks/webhook", content=second, headers=headers).status_code == 200
    assert set(port.stored["inbound.seen_ids"]) == {"n8n-2"}


def test_a_body_over_the_limit_is_refused_by_the_route(web: TestClient, port: MemoryPort) -> None:
    raw, headers = signed({"document_id": 42, "status": "x" * 20_000}, timestamp=now_of(port))
    assert web.post("/hooks/webhook", content=raw, headers=headers).status_code == 413


def test_the_installed_factory_reads_its_settings_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CABINET_WEBHOOK_URL", "https://hooks.example/cabinet")
    monkeypatch.setenv("CABINET_WEBHOOK_SECRET", SECRET)
    # The command line reads the environment once; the plugin reads the namespace it got.
    settings = Settings.from_env(data_dir=tmp_path, crm_backends=("webhook",))
    with Cabinet(settings, load_entrypoints=False, plugins=[plugin]) as cabinet:
        backend = cabinet.crm_backend("webhook")
        assert isinstance(backend, WebhookBackend)
        assert backend.settings.url == "https://hooks.example/cabinet"
    assert backend._client.is_closed  # the cabinet closes what its factory built
