"""The Flask example embeds the core for real: a client user lists its documents, issues an
invoice and downloads its PDF; another client's user sees none of it; a signed CRM call through
the core's inbound protocol (the cabinet-webhook backend) marks the invoice paid."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from cabinet_core import Cabinet, Settings
from cabinet_core.entities import Actor, Address, Client, PaymentStatus, Role
from cabinet_flask import create_app
from cabinet_webhook.signature import headers as signed_headers
from cabinet_webhook.signature import secret_key
from flask.testing import FlaskClient
from pypdf import PdfReader

SECRET = "flask-example-webhook-secret"
SYSTEM = Actor.system()
INVOICE = {
    "buyer": {"name": "Kupiec sp. z o.o.", "nip": "5260001246"},
    "lines": [
        {"name": "Doradztwo", "quantity": "2", "unit_price": "100.00", "vat_rate": "23"},
        {"name": "Książka", "quantity": "1", "unit_price": "50.00", "vat_rate": "5"},
    ],
}


@pytest.fixture
def cabinet(tmp_path: Path) -> Iterator[Cabinet]:
    settings = Settings(
        data_dir=tmp_path,
        crm_backends=("webhook",),
        # Outgoing deliveries are the worker's business; this test only receives.
        plugins={"webhook": {"url": "http://127.0.0.1:9/unused", "secret": SECRET}},
    )
    with Cabinet(settings) as cab:
        cab.migrate()
        yield cab


def _client_user_token(cabinet: Cabinet, name: str, nip: str, email: str) -> tuple[int, str]:
    client = cabinet.clients.create(
        SYSTEM,
        Client(
            name=name,
            nip=nip,
            address=Address(line1="ul. Prosta 1", postal_code="00-001", city="Warszawa"),
        ),
    )
    assert client.id is not None
    user = cabinet.users.create(
        SYSTEM,
        email=email,
        name=name,
        role=Role.CLIENT,
        client_id=client.id,
        password="flask-example-passphrase-9",
    )
    _token, secret = cabinet.tokens.create(Actor.of(user), name="flask example")
    return client.id, secret


@pytest.fixture
def web(cabinet: Cabinet) -> FlaskClient:
    return create_app(cabinet).test_client()


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_a_client_issues_lists_and_downloads_its_invoice(cabinet: Cabinet, web: FlaskClient):
    client_id, token = _client_user_token(cabinet, "Żabka Sp. z o.o.", "5260250274", "a@zabka.pl")
    issued = web.post(f"/clients/{client_id}/invoices", json=INVOICE, headers=bearer(token))
    assert issued.status_code == 201, issued.get_data(as_text=True)
    invoice = issued.get_json()
    assert invoice["status"] == "issued"
    assert invoice["number"].startswith("FV/1/")
    # 200 + 46 VAT, 50 + 2.50 VAT: the core's totals, as strings (money is never a float).
    assert Decimal(invoice["totals"]["gross"]) == Decimal("298.50")

    listed = web.get(f"/clients/{client_id}/documents", headers=bearer(token)).get_json()
    assert [item["number"] for item in listed["items"]] == [invoice["number"]]

    pdf = web.get(f"/documents/{invoice['id']}.pdf", headers=bearer(token))
    assert pdf.status_code == 200
    assert pdf.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert invoice["number"] in text


def test_another_clients_user_sees_nothing(cabinet: Cabinet, web: FlaskClient):
    client_id, token = _client_user_token(cabinet, "Żabka Sp. z o.o.", "5260250274", "a@zabka.pl")
    invoice = web.post(f"/clients/{client_id}/invoices", json=INVOICE, headers=bearer(token))
    _other_id, other = _client_user_token(cabinet, "Inna Sp. z o.o.", "7740001454", "b@inna.pl")
    document_id = invoice.get_json()["id"]
    assert web.get(f"/documents/{document_id}.pdf", headers=bearer(other)).status_code == 404
    assert web.get(f"/clients/{client_id}/documents", headers=bearer(other)).status_code == 404
    posted = web.post(f"/clients/{client_id}/invoices", json=INVOICE, headers=bearer(other))
    assert posted.status_code == 404
    assert (
        web.get(f"/clients/{_other_id}/documents", headers=bearer(other)).get_json()["total"] == 0
    )


def test_bad_input_is_a_problem_with_field_errors(cabinet: Cabinet, web: FlaskClient):
    client_id, token = _client_user_token(cabinet, "Żabka Sp. z o.o.", "5260250274", "a@zabka.pl")
    empty = web.post(f"/clients/{client_id}/invoices", json={}, headers=bearer(token))
    assert empty.status_code == 422
    assert empty.content_type == "application/problem+json"
    assert {(e["field"], e["code"]) for e in empty.get_json()["errors"]} >= {
        ("buyer", "required"),
        ("lines", "required"),
    }
    garbled = {**INVOICE, "lines": [{"name": "x", "unit_price": "a lot"}]}
    bad = web.post(f"/clients/{client_id}/invoices", json=garbled, headers=bearer(token))
    assert bad.status_code == 422
    assert web.get(f"/clients/{client_id}/documents").status_code == 401


def _signed_call(body: dict[str, object], call_id: str) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    return raw, {
        "Content-Type": "application/json",
        **signed_headers(secret_key(SECRET), call_id, int(time.time()), raw),
    }


def test_a_signed_crm_call_marks_the_invoice_paid(cabinet: Cabinet, web: FlaskClient):
    client_id, token = _client_user_token(cabinet, "Żabka Sp. z o.o.", "5260250274", "a@zabka.pl")
    invoice = web.post(f"/clients/{client_id}/invoices", json=INVOICE, headers=bearer(token))
    document_id = invoice.get_json()["id"]

    raw, call_headers = _signed_call({"document_id": document_id, "payment_status": "paid"}, "c1")
    answer = web.post("/hooks/webhook", data=raw, headers=call_headers)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json()["changed"] is True
    assert cabinet.documents.get(SYSTEM, document_id).payment_status is PaymentStatus.PAID

    # The same call again is a replay; a forged one is refused; neither changes anything.
    assert web.post("/hooks/webhook", data=raw, headers=call_headers).status_code == 409
    forged = {**call_headers, "Webhook-Id": "c2"}
    assert web.post("/hooks/webhook", data=raw, headers=forged).status_code == 401
    assert web.post("/hooks/bitrix24", data=raw, headers=call_headers).status_code == 404
