"""The invoicing endpoints of the JSON API: send and deliveries, convert, correct, correction
requests, FA(3) import, templates per client."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor, Document, DocumentLine, Party
from cabinet_core.settings import SmtpSettings
from cabinet_core.storage import DocumentQuery
from cabinet_core.worker import Worker
from cabinet_web.problems import PROBLEM_MEDIA_TYPE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient
from web_support import SYSTEM, World, closed_port, pdf_cabinet

#: The Ministry's FA(3) examples among the repository's test fixtures (see testdata/ksef-fa3).
EXAMPLES = Path(__file__).resolve().parents[3] / "testdata" / "ksef-fa3" / "examples"


@pytest.fixture
def mail_settings() -> dict[str, Any]:
    return {"mailer": "folder"}


@pytest.fixture
def database_url(database_urls: str | None) -> str | None:
    """The endpoints run on SQLite and on PostgreSQL."""
    return database_urls


@pytest.fixture
def cabinet(
    tmp_path: Path, mail_settings: dict[str, Any], database_url: str | None
) -> Iterator[Cabinet]:
    """A migrated cabinet with the PDF renderer (sent documents carry their PDF)."""
    yield from pdf_cabinet(tmp_path, database_url, worker_max_attempts=2, **mail_settings)


@pytest.fixture
def as_client(cabinet: Cabinet, world: World) -> dict[str, str]:
    return bearer(cabinet, world.client_user)


def issued(cabinet: Cabinet, world: World, doc_type: str = "vat_invoice") -> Document:
    """An issued sales document of the client to a buyer with an e-mail address."""
    actor = Actor.of(world.client_user)
    today = date.today()
    document = cabinet.documents.create(
        actor,
        Document(
            client_id=world.client.id or 0,
            doc_type=doc_type,
            issue_date=today,
            sale_date=today,
            due_date=today + timedelta(days=14),
            buyer=Party(name="Gamma S.A.", nip="9510000239", email="buyer@gamma.pl"),
            lines=(
                DocumentLine(name="Doradztwo", quantity=Decimal("2"), unit_price=Decimal("500")),
            ),
        ),
    )
    return cabinet.documents.transition(actor, document.id or 0, "issue")


def bearer(cabinet: Cabinet, user: Any) -> dict[str, str]:
    """Authorization headers with a fresh personal token of ``user``."""
    _, secret = cabinet.tokens.create(Actor.of(user), name="tests")
    return {"Authorization": f"Bearer {secret}"}


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


def test_admin_puts_a_clients_templates(cabinet: Cabinet, web: TestClient, world: World) -> None:
    headers = bearer(cabinet, world.admin)
    url = f"/api/v1/clients/{world.client.id}/templates"
    body = {"templates": ["classic", "modern"], "default": "modern"}
    response = web.put(url, json=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["allowed_templates"] == ["classic", "modern"]
    assert response.json()["default_template"] == "modern"
    stored = cabinet.clients.get(Actor.system(), world.client.id)
    assert stored.allowed_templates == ("classic", "modern")


def test_unknown_template_is_a_422_and_nothing_changes(
    cabinet: Cabinet, web: TestClient, world: World
) -> None:
    headers = bearer(cabinet, world.admin)
    url = f"/api/v1/clients/{world.client.id}/templates"
    body = assert_problem(web.put(url, json={"templates": ["nope"]}, headers=headers), 422)
    assert body["errors"][0]["field"] == "allowed_templates"
    body = assert_problem(web.put(url, json={"templates": "classic"}, headers=headers), 422)
    assert body["errors"][0]["field"] == "templates"
    body = assert_problem(
        web.put(url, json={"templates": ["classic"], "default": "modern"}, headers=headers), 422
    )
    assert body["errors"][0]["field"] == "default_template"
    assert cabinet.clients.get(Actor.system(), world.client.id).allowed_templates == ()


def test_only_admins_assign_templates(cabinet: Cabinet, web: TestClient, world: World) -> None:
    url = f"/api/v1/clients/{world.client.id}/templates"
    for user in (world.client_user, world.manager, world.accountant):
        response = web.put(url, json={"templates": ["classic"]}, headers=bearer(cabinet, user))
        assert_problem(response, 403)
    assert cabinet.clients.get(Actor.system(), world.client.id).allowed_templates == ()


def test_send_then_deliveries_show_queued_then_sent(
    cabinet: Cabinet, web: TestClient, world: World, as_client: dict[str, str]
) -> None:
    invoice = issued(cabinet, world)
    response = web.post(
        f"/api/v1/documents/{invoice.id}/send", json={"message": "Dziękujemy"}, headers=as_client
    )
    assert response.status_code == 202, response.text
    queued = response.json()
    assert queued["to"] == "buyer@gamma.pl"
    assert queued["state"] == "queued"
    url = f"/api/v1/documents/{invoice.id}/deliveries"
    assert [d["state"] for d in web.get(url, headers=as_client).json()] == ["queued"]
    Worker(cabinet).run_once()
    (sent,) = web.get(url, headers=as_client).json()
    assert sent["state"] == "sent"
    assert sent["delivered_at"]
    assert web.get(f"/api/v1/documents/{invoice.id}", headers=as_client).json()["status"] == "sent"
    # Sending again (without a body) is allowed and listed, newest first.
    again = web.post(f"/api/v1/documents/{invoice.id}/send", headers=as_client)
    assert again.status_code == 202
    assert [d["state"] for d in web.get(url, headers=as_client).json()] == ["queued", "sent"]


@pytest.mark.parametrize(
    "mail_settings",
    [{"mailer": "smtp", "smtp": SmtpSettings(host="127.0.0.1", port=closed_port())}],
)
def test_an_undeliverable_mail_is_retrying_then_failed_with_its_error(
    cabinet: Cabinet, web: TestClient, world: World, as_client: dict[str, str]
) -> None:
    invoice = issued(cabinet, world)
    web.post(f"/api/v1/documents/{invoice.id}/send", json={}, headers=as_client)
    now = datetime.now(UTC)
    worker = Worker(cabinet, clock=lambda: now)
    worker.run_once()
    url = f"/api/v1/documents/{invoice.id}/deliveries"
    (retrying,) = web.get(url, headers=as_client).json()
    assert retrying["state"] == "retrying"
    assert retrying["attempts"] == 1
    assert retrying["last_error"]
    now += timedelta(days=1)
    worker.run_once()
    (failed,) = web.get(url, headers=as_client).json()
    assert failed["state"] == "failed"
    assert failed["failed_at"]


def test_send_problems(
    cabinet: Cabinet, web: TestClient, world: World, as_client: dict[str, str]
) -> None:
    invoice = issued(cabinet, world)
    url = f"/api/v1/documents/{invoice.id}/send"
    body = assert_problem(web.post(url, json={"to": "nope"}, headers=as_client), 422)
    assert body["errors"][0]["field"] == "to"
    body = assert_problem(web.post(url, json={"to": 5}, headers=as_client), 422)
    assert body["errors"][0]["field"] == "to"
    body = assert_problem(web.post(url, json={"too": "a@b.pl"}, headers=as_client), 422)
    assert body["errors"][0] == {
        "field": "too",
        "code": "unknown",
        "message": body["errors"][0]["message"],
    }
    body = assert_problem(web.post(url, content=b"[1]", headers=as_client), 422)
    assert body["errors"][0]["field"] == "body"
    other = bearer(cabinet, world.other_user)
    assert_problem(web.post(url, json={}, headers=other), 404)
    assert_problem(web.post("/api/v1/documents/999999/send", json={}, headers=as_client), 404)
    assert web.get(f"/api/v1/documents/{invoice.id}/deliveries", headers=as_client).json() == []


def test_convert_and_correct(
    cabinet: Cabinet, web: TestClient, world: World, as_client: dict[str, str]
) -> None:
    proforma = issued(cabinet, world, "proforma")
    response = web.post(f"/api/v1/documents/{proforma.id}/convert", headers=as_client)
    assert response.status_code == 201, response.text
    invoice = response.json()
    assert invoice["doc_type"] == "vat_invoice"
    assert invoice["related_id"] == proforma.id
    assert_problem(web.post(f"/api/v1/documents/{proforma.id}/convert", headers=as_client), 409)
    # Issue the converted invoice, then correct it.
    issue = web.post(f"/api/v1/documents/{invoice['id']}/transitions/issue", headers=as_client)
    assert issue.status_code == 200, issue.text
    response = web.post(
        f"/api/v1/documents/{invoice['id']}/correct", json={"reason": "Zwrot"}, headers=as_client
    )
    assert response.status_code == 201, response.text
    correction = response.json()
    assert correction["doc_type"] == "correcting_invoice"
    assert correction["extra"]["reason"] == "Zwrot"
    assert [line["before"] for line in correction["lines"]] == [True, False]
    # A proforma is not corrected (it is converted), an invoice is not converted.
    assert_problem(web.post(f"/api/v1/documents/{proforma.id}/correct", headers=as_client), 409)
    assert_problem(web.post(f"/api/v1/documents/{invoice['id']}/convert", headers=as_client), 409)
    # The accountant only reads.
    accountant = bearer(cabinet, world.accountant)
    assert_problem(web.post(f"/api/v1/documents/{invoice['id']}/correct", headers=accountant), 403)


def test_correction_request_with_changed_lines(
    cabinet: Cabinet, web: TestClient, world: World, as_client: dict[str, str]
) -> None:
    actor = Actor.of(world.client_user)
    cost = cabinet.documents.create(
        actor,
        Document(
            client_id=world.client.id or 0,
            doc_type="cost_invoice",
            issue_date=date(2026, 3, 2),
            seller=Party(name="Delta sp. z o.o.", nip="9510000239"),
            lines=(DocumentLine(name="Papier", quantity=Decimal("10"), unit_price=Decimal("20")),),
            extra={"seller_invoice_number": "FV/7/2026"},
        ),
    )
    url = f"/api/v1/documents/{cost.id}/correction-request"
    body = {"reason": "Cena to 18 zł", "seller_email": "faktury@delta.pl"}
    assert_problem(web.post(url, json=body, headers=as_client), 409)  # a draft: submit first
    cabinet.documents.transition(actor, cost.id or 0, "submit")
    bad = {**body, "lines": [{"name": "Papier", "unit_price": "abc"}]}
    problem = assert_problem(web.post(url, json=bad, headers=as_client), 422)
    assert problem["errors"][0]["field"].startswith("lines.0.")
    # The service's check, numbered as the body's lines (the invoice's own come first there).
    negative = {**body, "lines": [{"name": "Papier", "unit_price": "-5"}]}
    problem = assert_problem(web.post(url, json=negative, headers=as_client), 422)
    assert [e["field"] for e in problem["errors"]] == ["lines.0.unit_price"]
    problem = assert_problem(
        web.post(url, json={"reason": "", "seller_email": "x"}, headers=as_client), 422
    )
    assert {e["field"] for e in problem["errors"]} == {"reason", "seller_email"}
    good = {**body, "lines": [{"name": "Papier", "quantity": "10", "unit_price": "18.00"}]}
    response = web.post(url, json=good, headers=as_client)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["doc_type"] == "correction_request"
    assert created["related_id"] == cost.id
    assert [line["unit_price"] for line in created["lines"] if not line["before"]] == ["18.00"]
    # Its send numbers it and queues the mail to the seller.
    sent = web.post(f"/api/v1/documents/{created['id']}/send", headers=as_client)
    assert sent.status_code == 202, sent.text
    assert sent.json()["to"] == "faktury@delta.pl"
    assert cabinet.documents.get(SYSTEM, created["id"]).status == "sent"


def test_import_fa3_as_xml_body_and_as_multipart(
    cabinet: Cabinet, web: TestClient, world: World, as_client: dict[str, str]
) -> None:
    data = (EXAMPLES / "FA_3_Przyklad_01.xml").read_bytes()
    response = web.post(
        "/api/v1/documents/import-fa3",
        content=data,
        headers={**as_client, "Content-Type": "application/xml"},
    )
    assert response.status_code == 201, response.text
    result = response.json()
    assert result["document"]["doc_type"] == "cost_invoice"
    assert result["document"]["status"] == "draft"
    assert result["document"]["client_id"] == world.client.id
    assert any(
        w["field"] == "totals.gross" and "2050.99" in w["message"] for w in result["warnings"]
    )
    staff = bearer(cabinet, world.manager)
    response = web.post(
        "/api/v1/documents/import-fa3",
        data={"client_id": str(world.client.id)},
        files={"file": ("FA_3_Przyklad_02.xml", (EXAMPLES / "FA_3_Przyklad_02.xml").read_bytes())},
        headers=staff,
    )
    assert response.status_code == 201, response.text
    # Staff must say which client; the id of a client not theirs is not found.
    response = web.post(
        "/api/v1/documents/import-fa3",
        content=data,
        headers={**staff, "Content-Type": "application/xml"},
    )
    assert assert_problem(response, 422)["errors"][0]["field"] == "client_id"
    response = web.post(
        f"/api/v1/documents/import-fa3?client_id={world.other_client.id}",
        content=data,
        headers={**staff, "Content-Type": "application/xml"},
    )
    assert_problem(response, 404)


def test_import_of_something_else_saves_nothing(
    cabinet: Cabinet, web: TestClient, world: World, as_client: dict[str, str]
) -> None:
    for content, media_type in (
        (b"<a>not fa3</a>", "application/xml"),
        (b"\x00\x01", "application/xml"),
        (b"", "application/xml"),
        (b"{}", "application/json"),
    ):
        response = web.post(
            "/api/v1/documents/import-fa3",
            content=content,
            headers={**as_client, "Content-Type": media_type},
        )
        assert assert_problem(response, 422)["errors"][0]["field"] == "file"
    assert cabinet.documents.list(SYSTEM, DocumentQuery()).total == 0


def test_an_oversized_import_names_the_ksef_limit_in_the_users_language(
    cabinet: Cabinet, web: TestClient, as_client: dict[str, str]
) -> None:
    """The limit is the core's (KSeF's 3 MB per invoice); the API and the page say the same."""
    too_big = b"<x>" + b" " * (3 * 1024 * 1024) + b"</x>"
    response = web.post(
        "/api/v1/documents/import-fa3",
        content=too_big,
        headers={**as_client, "Content-Type": "application/xml", "Accept-Language": "en"},
    )
    error = assert_problem(response, 422)["errors"][0]
    assert (error["field"], error["code"]) == ("file", "too_large")
    assert "3 MB" in error["message"]
    assert cabinet.documents.list(SYSTEM, DocumentQuery()).total == 0


def test_the_endpoints_are_described_and_answer_as_described(
    cabinet: Cabinet, web: TestClient, world: World, as_client: dict[str, str]
) -> None:
    document = web.get("/api/v1/openapi.json").json()
    paths = document["paths"]
    for path, method in (
        ("/api/v1/documents/{doc_id}/send", "post"),
        ("/api/v1/documents/{doc_id}/deliveries", "get"),
        ("/api/v1/documents/{doc_id}/convert", "post"),
        ("/api/v1/documents/{doc_id}/correct", "post"),
        ("/api/v1/documents/{doc_id}/correction-request", "post"),
        ("/api/v1/documents/import-fa3", "post"),
        ("/api/v1/clients/{client_id}/templates", "put"),
    ):
        operation = paths[path][method]
        assert operation["summary"] and operation["description"]
        assert "default" in operation["responses"]
    upload = paths["/api/v1/documents/import-fa3"]["post"]["requestBody"]["content"]
    assert set(upload) == {"application/xml", "multipart/form-data"}
    send = paths["/api/v1/documents/{doc_id}/send"]["post"]["responses"]["202"]
    schema = send["content"]["application/json"]["schema"]
    invoice = issued(cabinet, world)
    sent = web.post(f"/api/v1/documents/{invoice.id}/send", headers=as_client).json()
    assert set(schema["required"]) <= set(sent) <= set(schema["properties"])
    assert sent["state"] in schema["properties"]["state"]["enum"]
    listed = web.get(f"/api/v1/documents/{invoice.id}/deliveries", headers=as_client).json()
    assert listed == [sent]


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**40), max_value=2**40)
    | st.text(max_size=30)
    | st.sampled_from(["1e400", "NaN", "-0", "0.0000001", "a@b.pl", "zw", "23"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
LINE = st.fixed_dictionaries(
    {"name": st.text(max_size=10)},
    optional={
        "quantity": JSON_VALUES,
        "unit_price": JSON_VALUES,
        "vat_rate": JSON_VALUES,
        "before": JSON_VALUES,
    },
)


@pytest.fixture
def fuzz_targets(cabinet: Cabinet, world: World) -> dict[str, str]:
    """Real documents for every endpoint (an issued invoice, a submitted cost invoice)."""
    actor = Actor.of(world.client_user)
    invoice = issued(cabinet, world)
    cost = cabinet.documents.create(
        actor,
        Document(
            client_id=world.client.id or 0,
            doc_type="cost_invoice",
            issue_date=date(2026, 3, 2),
            seller=Party(name="Delta sp. z o.o.", nip="9510000239"),
            lines=(DocumentLine(name="Papier", unit_price=Decimal(20)),),
            extra={"seller_invoice_number": "FV/7/2026"},
        ),
    )
    cabinet.documents.transition(actor, cost.id or 0, "submit")
    return {
        "send": f"/api/v1/documents/{invoice.id}/send",
        "correct": f"/api/v1/documents/{invoice.id}/correct",
        "correction-request": f"/api/v1/documents/{cost.id}/correction-request",
        "templates": f"/api/v1/clients/{world.client.id}/templates",
    }


@pytest.mark.parametrize("database_urls", ["sqlite"], indirect=True)
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    which=st.sampled_from(["send", "correct", "correction-request", "templates"]),
    body=st.dictionaries(
        st.sampled_from(
            ["to", "message", "reason", "seller_email", "lines", "templates", "default", "x"]
        ),
        JSON_VALUES | st.lists(LINE, max_size=3),
        max_size=4,
    ),
)
def test_fuzzed_bodies_never_cause_a_500(
    cabinet: Cabinet,
    web: TestClient,
    world: World,
    fuzz_targets: dict[str, str],
    which: str,
    body: dict[str, Any],
) -> None:
    headers = bearer(cabinet, world.admin)
    method = web.put if which == "templates" else web.post
    response = method(fuzz_targets[which], json=body, headers=headers)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)
