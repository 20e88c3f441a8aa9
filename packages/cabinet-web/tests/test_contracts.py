"""Contracts from templates: the admins' template pages and API (versions, preview, dry run,
deactivation), the "New contract" form and API (PESEL and NIP errors at their fields), the
contract's text and PDF; on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pypdf
import pytest
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor, Address, Counterparty, PartyKind
from cabinet_core.errors import ValidationError
from cabinet_core.services.contracts import Contractor, ContractOrder
from cabinet_web.plugin import ensure_registered
from starlette.testclient import TestClient
from web_support import CSRF, SYSTEM, World, login, pdf_cabinet

VALID_PESEL = "44051401359"


@pytest.fixture
def database_url(database_urls: str | None) -> str | None:
    return database_urls


@pytest.fixture
def cabinet(tmp_path: Path, database_url: str | None) -> Iterator[Cabinet]:
    """A cabinet with PDFs; the built-in templates are there (the migration seeds them, and a
    PostgreSQL database emptied by an earlier test gets them again)."""
    for cab in pdf_cabinet(tmp_path, database_url):
        ensure_registered(cab.pm)  # the engine is the web's, also for service-only tests
        cab.contract_templates.install_builtins(SYSTEM)
        yield cab


def csrf(web: TestClient, path: str) -> str:
    match = CSRF.search(web.get(path).text)
    assert match, path
    return match.group(1)


def bearer(cabinet: Cabinet, user: Any) -> dict[str, str]:
    _, secret = cabinet.tokens.create(Actor.of(user), name="tests")
    return {"Authorization": f"Bearer {secret}"}


def builtin(cabinet: Cabinet, key: str) -> Any:
    (found,) = [
        t
        for t in cabinet.contract_templates.list(Actor(user_id=1, role=SYSTEM.role))
        if t.key == key
    ]
    return found


def contract_form(template_id: int, token: str, **overrides: str) -> dict[str, str]:
    values = {
        "csrf_token": token,
        "template_id": str(template_id),
        "contractor_kind": "person",
        "contractor.name": "Zofia Żółkiewska",
        "contractor.pesel": VALID_PESEL,
        "contractor.address": "ul. Łąkowa 5",
        "contractor.postal_code": "30-001",
        "contractor.city": "Kraków",
        "subject": "Projekt logo",
        "date_from": "2026-12-01",
        "date_to": "2026-12-20",
        "rate_type": "lump_sum",
        "amount": "2 500,00",
        "copyright_transfer": "true",
        "foe_recording": "true",
        "foe_internet": "true",
    }
    values.update(overrides)
    return values


def field_error(html: str, field: str) -> str:
    match = re.search(rf'data-error-for="{re.escape(field)}"[^>]*>([^<]*)<', html)
    assert match, f"no error at {field}"
    return match.group(1)


def test_admin_reaches_templates_from_settings_and_edits_one_into_a_new_version(
    cabinet: Cabinet, web: TestClient, world: World
) -> None:
    login(web, world.admin.email)
    settings = web.get("/settings")
    assert 'href="/settings/contract-templates"' in settings.text
    listing = web.get("/settings/contract-templates")
    assert listing.text.count('data-test="template-row"') == 4
    assert "Umowa o dzieło" in listing.text and "Contract of mandate" in listing.text
    template = builtin(cabinet, "builtin-dzielo-pl")
    page = web.get(f"/settings/contract-templates/{template.id}")
    assert page.status_code == 200 and 'data-test="contract-text"' in page.text
    assert "§ 1. Przedmiot umowy" in page.text  # the preview of the current text
    token = csrf(web, f"/settings/contract-templates/{template.id}")
    body = template.body.replace("§ 1. Przedmiot umowy", "§ 1. Przedmiot zamówienia")
    form = {
        "csrf_token": token,
        "name": template.name,
        "contract_kind": "dzielo",
        "language": "pl",
        "body": body,
    }
    preview = web.post(
        f"/settings/contract-templates/{template.id}", data={**form, "intent": "preview"}
    )
    assert "§ 1. Przedmiot zamówienia" in preview.text
    assert builtin(cabinet, "builtin-dzielo-pl").version == 1  # a preview saves nothing
    saved = web.post(f"/settings/contract-templates/{template.id}", data={**form, "intent": "save"})
    assert saved.url.path == f"/settings/contract-templates/{template.id}"
    assert "wersja 2" in saved.text or "version 2" in saved.text
    stored = builtin(cabinet, "builtin-dzielo-pl")
    assert stored.version == 2 and "Przedmiot zamówienia" in stored.body
    versions = cabinet.contract_templates.versions(SYSTEM, stored.id or 0)
    assert [v.version for v in versions] == [2, 1]
    (audit,) = cabinet.audit.list(SYSTEM, entity="contract_template", entity_id=stored.id)
    assert audit.action == "contract_template.update" and audit.actor_id == world.admin.id
    assert audit.detail["version"] == 2
    assert "Przedmiot umowy" in versions[1].body
    first = web.get(f"/settings/contract-templates/{template.id}/versions/1")
    assert "§ 1. Przedmiot umowy" in first.text and "Przedmiot zamówienia" not in first.text
    assert web.get(f"/settings/contract-templates/{template.id}/versions/3").status_code == 404


def test_a_template_that_does_not_render_is_refused_at_the_text_field(
    cabinet: Cabinet, web: TestClient, world: World
) -> None:
    login(web, world.admin.email)
    token = csrf(web, "/settings/contract-templates/new")
    form = {"csrf_token": token, "name": "Zła", "contract_kind": "zlecenie", "language": "pl"}
    unknown = web.post(
        "/settings/contract-templates/new",
        data={**form, "body": "<p>{{ contract.salary }}</p>", "intent": "save"},
    )
    assert unknown.status_code == 422
    assert "salary" in field_error(unknown.text, "body")
    escape = web.post(
        "/settings/contract-templates/new",
        data={**form, "body": "<p>{{ ''.__class__.__mro__ }}</p>", "intent": "save"},
    )
    assert escape.status_code == 422 and "object" not in field_error(escape.text, "body")
    markup = web.post(
        "/settings/contract-templates/new",
        data={**form, "body": "<p onclick='x'>{{ contract.subject }}</p>", "intent": "save"},
    )
    assert markup.status_code == 422 and field_error(markup.text, "body")
    assert len(cabinet.contract_templates.list(SYSTEM_USER(world), include_inactive=True)) == 4


def SYSTEM_USER(world: World) -> Actor:
    return Actor.of(world.admin)


def test_a_client_makes_a_contract_and_gets_its_text_and_pdf(
    cabinet: Cabinet, web: TestClient, world: World
) -> None:
    login(web, world.client_user.email)
    home = web.get("/")
    assert 'href="/contracts"' in home.text and 'href="/contracts/new"' in home.text
    template = builtin(cabinet, "builtin-dzielo-pl")
    token = csrf(web, "/contracts/new")
    bad_pesel = web.post(
        "/contracts/new",
        data=contract_form(template.id, token, **{"contractor.pesel": "44051401358"}),
    )
    assert bad_pesel.status_code == 422
    assert field_error(bad_pesel.text, "contractor.pesel") == "To nie jest prawidłowy numer PESEL."
    assert 'value="Zofia Żółkiewska"' in bad_pesel.text  # nothing typed is lost
    bad_nip = web.post(
        "/contracts/new",
        data=contract_form(
            template.id,
            token,
            contractor_kind="company",
            **{"contractor.name": "Firma", "contractor.nip": "1234567890", "contractor.pesel": ""},
        ),
    )
    assert bad_nip.status_code == 422 and field_error(bad_nip.text, "contractor.nip")
    no_fields = web.post(
        "/contracts/new",
        data={
            key: value
            for key, value in contract_form(template.id, token).items()
            if not key.startswith("foe_")
        },
    )
    assert no_fields.status_code == 422 and field_error(no_fields.text, "fields_of_exploitation")
    assert cabinet.contracts.list(Actor.of(world.client_user)).total == 0

    made = web.post("/contracts/new", data=contract_form(template.id, token))
    assert made.status_code == 200 and made.url.path.startswith("/contracts/")
    assert "Zofia Żółkiewska" in made.text and "PESEL 44051401359" in made.text
    assert "2 500,00 PLN" in made.text and "dwa tysiące pięćset złotych" in made.text
    assert 'data-test="signatures"' in made.text
    doc_id = int(made.url.path.rsplit("/", 1)[1])
    listing = web.get("/contracts")
    assert f'data-id="{doc_id}"' in listing.text
    pdf = web.get(f"/documents/{doc_id}/pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Umowa o dzieło" in text and "Prawa autorskie" in text and "Zofia Żółkiewska" in text

    # The client's manager sees it with the client's name; another client's user does not.
    manager = TestClient(web.app, base_url="http://testserver")
    login(manager, world.manager.email)
    row = re.search(rf'data-id="{doc_id}".*?</tr>', manager.get("/contracts").text, re.S)
    assert row and world.client.name in row.group(0)

    other = TestClient(web.app, base_url="http://testserver")
    login(other, world.other_user.email)
    assert other.get(f"/contracts/{doc_id}").status_code == 404
    assert f'data-id="{doc_id}"' not in other.get("/contracts").text


def test_a_contract_keeps_the_text_of_the_version_it_was_made_from(
    cabinet: Cabinet, world: World
) -> None:

    client_actor = Actor.of(world.client_user)
    admin = Actor.of(world.admin)
    template = builtin(cabinet, "builtin-zlecenie-en")
    order = ContractOrder(
        template_id=template.id,
        contractor=Contractor(name="Jan Nowak", pesel=VALID_PESEL),
        subject="Bookkeeping support",
        date_from=date(2026, 12, 1),
        rate_type="hourly",
        hourly_rate=Decimal("45.00"),
    )
    first = cabinet.contracts.create(client_actor, order)
    changed = template.body.replace("Confidentiality", "Secrecy")
    cabinet.contract_templates.update(admin, attrs.evolve(template, body=changed))
    second = cabinet.contracts.create(client_actor, order)
    _, old_text = cabinet.contracts.text(client_actor, first.id or 0)
    _, new_text = cabinet.contracts.text(client_actor, second.id or 0)
    assert old_text is not None and new_text is not None
    old_headings = [block.text for block in old_text if block.kind == "h2"]
    new_headings = [block.text for block in new_text if block.kind == "h2"]
    assert "§ 4. Confidentiality" in old_headings and "§ 4. Secrecy" in new_headings
    assert any("45.00 PLN for each hour" in block.text for block in old_text)
    assert first.extra["template_version_id"] != second.extra["template_version_id"]
    # A deactivated template makes no new contracts; made ones still print.
    cabinet.contract_templates.set_active(admin, template.id or 0, False)
    with pytest.raises(ValidationError) as refused:
        cabinet.contracts.create(client_actor, order)
    assert [error.field for error in refused.value.errors] == ["template_id"]
    assert cabinet.contracts.text(client_actor, first.id or 0)[1] == old_text


def test_templates_api_for_admins(cabinet: Cabinet, web: TestClient, world: World) -> None:
    admin = bearer(cabinet, world.admin)
    client = bearer(cabinet, world.client_user)
    listed = web.get("/api/v1/contract-templates", headers=client)
    assert listed.status_code == 200 and len(listed.json()) == 4
    body = "<h1>Umowa</h1><p>{{ contract.subject }} — {{ contractor.name }}</p>"
    payload = {"name": "Krótka", "contract_kind": "dzielo", "language": "pl", "body": body}
    assert web.post("/api/v1/contract-templates", json=payload, headers=client).status_code == 403
    created = web.post("/api/v1/contract-templates", json=payload, headers=admin)
    assert created.status_code == 201, created.text
    template = created.json()
    assert template["version"] == 1 and template["active"] is True
    bad = web.put(
        f"/api/v1/contract-templates/{template['id']}",
        json={**payload, "body": "<p>{% include '/etc/passwd' %}</p>"},
        headers=admin,
    )
    assert bad.status_code == 422
    problem = bad.json()
    assert problem["errors"][0]["field"] == "body" and "root:" not in bad.text
    updated = web.put(
        f"/api/v1/contract-templates/{template['id']}",
        json={**payload, "body": body + "<p>{{ contract.date }}</p>"},
        headers=admin,
    )
    assert updated.json()["version"] == 2
    versions = web.get(f"/api/v1/contract-templates/{template['id']}/versions", headers=admin)
    assert [v["version"] for v in versions.json()] == [2, 1]
    preview = web.post(
        "/api/v1/contract-templates/preview",
        json={"body": body, "contract_kind": "dzielo", "language": "pl"},
        headers=admin,
    )
    blocks = preview.json()["blocks"]
    assert blocks[0]["kind"] == "h1" and "Jan Kowalski" in blocks[1]["runs"][0]["text"]
    off = web.post(f"/api/v1/contract-templates/{template['id']}/deactivate", headers=admin)
    assert off.json()["active"] is False
    assert (
        web.get(f"/api/v1/contract-templates/{template['id']}", headers=client).status_code == 404
    )


def test_contracts_api_makes_a_contract_and_reports_errors_at_fields(
    cabinet: Cabinet, web: TestClient, world: World
) -> None:
    client = bearer(cabinet, world.client_user)
    template = builtin(cabinet, "builtin-dzielo-en")
    order = {
        "template_id": template.id,
        "contractor": {"kind": "company", "name": "Studio Nowak", "nip": "123-456-32-18"},
        "subject": "Website design",
        "date_from": "2026-12-01",
        "amount": "1000.00",
    }
    wrong = web.post(
        "/api/v1/contracts",
        json={**order, "contractor": {**order["contractor"], "nip": "1234563219"}},
        headers=client,
    )
    assert wrong.status_code == 422
    assert {e["field"] for e in wrong.json()["errors"]} == {"contractor.nip"}
    made = web.post("/api/v1/contracts", json=order, headers=client)
    assert made.status_code == 201, made.text
    document = made.json()
    assert document["buyer"]["nip"] == "1234563218" and document["status"] == "draft"
    text = web.get(f"/api/v1/contracts/{document['id']}/text", headers=client).json()["blocks"]
    flat = " ".join(
        "".join(run["text"] for run in block["runs"])
        + " ".join("".join(run["text"] for run in item) for item in block["items"])
        for block in text
    )
    assert "Contract for a Specific Work" in flat and "tax ID (NIP) 1234563218" in flat
    assert "one thousand" in flat and "Copyright" not in flat
    assert text[-1]["kind"] == "signatures"


def test_the_contractor_may_be_one_of_the_clients_counterparties(
    cabinet: Cabinet, web: TestClient, world: World
) -> None:
    own = cabinet.counterparties.create(
        Actor.of(world.client_user),
        Counterparty(
            client_id=world.client.id or 0,
            kind=PartyKind.COMPANY,
            name="Studio Graficzne Kreska",
            nip="1234563218",
            address=Address(line1="ul. Długa 1", postal_code="80-001", city="Gdańsk"),
        ),
    )
    foreign = cabinet.counterparties.create(
        Actor.of(world.other_user),
        Counterparty(client_id=world.other_client.id or 0, name="Obca firma", nip="5250000110"),
    )
    client = bearer(cabinet, world.client_user)
    template = builtin(cabinet, "builtin-zlecenie-pl")
    order = {
        "template_id": template.id,
        "contractor": {},
        "subject": "Obsługa mediów społecznościowych",
        "date_from": "2026-12-01",
        "amount": "800.00",
    }
    refused = web.post(
        "/api/v1/contracts", json={**order, "counterparty_id": foreign.id}, headers=client
    )
    assert refused.status_code == 422
    assert "counterparty_id" in {e["field"] for e in refused.json()["errors"]}
    made = web.post("/api/v1/contracts", json={**order, "counterparty_id": own.id}, headers=client)
    assert made.status_code == 201, made.text
    document = made.json()
    assert document["counterparty_id"] == own.id
    assert document["buyer"]["name"] == "Studio Graficzne Kreska"
    text = web.get(f"/api/v1/contracts/{document['id']}/text", headers=client).json()["blocks"]
    parties = "".join(run["text"] for run in text[4]["runs"])
    assert parties.startswith("Studio Graficzne Kreska, ul. Długa 1, 80-001 Gdańsk, NIP 1234563218")
    login(web, world.client_user.email)
    form = web.get("/contracts/new").text
    assert f'<option value="{own.id}">Studio Graficzne Kreska (1234563218)</option>' in form
    assert "Obca firma" not in form
