"""Bills in the web: "Issue: Bill" on a contract's page, the form prefilled from the contract,
the computed breakdown on the bill's page, the menu link, and the JSON API."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import attrs
import pytest
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor, Document, Party
from cabinet_core.storage import DocumentQuery
from cabinet_web.problems import PROBLEM_MEDIA_TYPE
from starlette.testclient import TestClient
from web_support import World, csrf_of, login, pdf_cabinet


@pytest.fixture
def database_url(database_urls: str | None) -> str | None:
    """Bills are saved and read on SQLite and on PostgreSQL."""
    return database_urls


@pytest.fixture
def cabinet(tmp_path: Path, database_url: str | None) -> Iterator[Cabinet]:
    """The test cabinet, with PDFs."""
    yield from pdf_cabinet(tmp_path, database_url)


def template_version(cabinet: Cabinet, world: World, key: str = "builtin-zlecenie-pl") -> int:
    """The built-in template's version a contract is made from (no contract without one)."""
    # A fresh cabinet has them; a reused test database may have lost them.
    cabinet.contract_templates.install_builtins(Actor.of(world.admin))
    templates = cabinet.contract_templates.list(Actor.of(world.client_user))
    version = next(t.version_id for t in templates if t.key == key)
    assert version is not None
    return version


def signed_contract(cabinet: Cabinet, world: World, **extra: object) -> Document:
    actor = Actor.of(world.client_user)
    assert world.client.id is not None
    contract = cabinet.documents.create(
        actor,
        Document(
            client_id=world.client.id,
            doc_type="contract",
            issue_date=date(2026, 11, 2),
            buyer=Party(name="Jan Zleceniobiorca"),
            extra={
                "contract_kind": "zlecenie",
                "subject": "Obsługa recepcji",
                "date_from": "2026-11-02",
                "date_to": "2026-11-30",
                "rate_type": "lump_sum",
                "amount": "1000.00",
                "template_version_id": template_version(cabinet, world),
                **extra,
            },
        ),
    )
    assert contract.id is not None
    return cabinet.documents.transition(actor, contract.id, "sign")


def bills(cabinet: Cabinet) -> list[Document]:
    found = cabinet.documents.list(Actor.system(), DocumentQuery(doc_types=("bill",), limit=100))
    return list(found.items)


def value_of(html: str, name: str) -> str:
    match = re.search(rf'name="{re.escape(name)}"(?: type="[a-z]+")? value="([^"]*)"', html)
    assert match, name
    return match.group(1)


def test_a_client_issues_a_bill_from_its_contract(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    contract = signed_contract(cabinet, world)
    page = client_web.get(f"/documents/{contract.id}")
    link = f"/documents/new?type=bill&amp;from={contract.id}"
    assert link in page.text and "Wystaw: Rachunek" in page.text
    form = client_web.get(f"/documents/new?type=bill&from={contract.id}")
    assert form.status_code == 200
    assert value_of(form.text, "related_id") == str(contract.id)
    assert value_of(form.text, "extra.contract_number") == contract.number
    assert value_of(form.text, "extra.gross_amount") == "1000.00"
    assert value_of(form.text, "party.name") == "Jan Zleceniobiorca"
    assert "<h2>Wykonawca</h2>" in form.text
    data = {
        "csrf_token": csrf_of(client_web, f"/documents/new?type=bill&from={contract.id}"),
        "doc_type": "bill",
        "related_id": str(contract.id),
        "issue_date": "2026-11-30",
        "language": "pl",
        "counterparty_id": "",
        "party.kind": "person",
        "party.name": "Jan Zleceniobiorca",
        "extra.contract_number": contract.number or "",
        "extra.contract_date": "2026-11-02",
        "extra.contract_kind": "zlecenie",
        "extra.contract_amount": "1000,00",
        "extra.gross_amount": "1 000,00",
        "extra.sickness_insurance": "true",
        "action": "save",
    }
    saved_page = client_web.post("/documents/new", data=data)
    assert saved_page.status_code == 200, saved_page.text
    [bill] = bills(cabinet)
    assert bill.related_id == contract.id
    assert bill.extra["breakdown"]["net"] == "702.24"
    assert 'data-test="amount-due">702,24' in saved_page.text
    assert "siedemset dwa złote 24/100" in saved_page.text
    assert "Zaliczka na podatek dochodowy" in saved_page.text


def test_a_bill_for_another_clients_contract_is_not_found(
    cabinet: Cabinet, web: TestClient, world: World
) -> None:
    contract = signed_contract(cabinet, world)
    assert login(web, world.other_user.email).url.path == "/"
    assert web.get(f"/documents/new?type=bill&from={contract.id}").status_code == 404


def test_an_accountant_is_offered_no_bill_to_issue(
    cabinet: Cabinet, web: TestClient, world: World
) -> None:
    contract = signed_contract(cabinet, world)
    assert login(web, world.accountant.email).url.path == "/"
    page = web.get(f"/documents/{contract.id}")
    assert page.status_code == 200
    assert 'data-test="issue-bill"' not in page.text


def test_an_unsigned_contract_offers_no_bill(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    assert world.client.id is not None
    draft = cabinet.documents.create(
        Actor.of(world.client_user),
        Document(
            client_id=world.client.id,
            doc_type="contract",
            issue_date=date(2026, 11, 2),
            buyer=Party(name="Jan"),
            extra={
                "contract_kind": "dzielo",
                "subject": "Logo",
                "date_from": "2026-11-02",
                "amount": "500.00",
                "template_version_id": template_version(cabinet, world, "builtin-dzielo-pl"),
            },
        ),
    )
    assert 'data-test="issue-bill"' not in client_web.get(f"/documents/{draft.id}").text


@pytest.mark.parametrize("who", ["client_user", "manager", "accountant", "admin"])
def test_bills_are_in_the_menu(web: TestClient, world: World, who: str) -> None:
    assert login(web, getattr(world, who).email).url.path == "/"
    home = web.get("/")
    assert 'href="/documents?doc_type=bill"' in home.text
    listed = web.get("/documents?doc_type=bill")
    assert listed.status_code == 200


def test_new_offers_a_bill(client_web: TestClient) -> None:
    listed = client_web.get("/documents")
    assert 'data-test="new-bill"' in listed.text


def bearer(cabinet: Cabinet, user: Any) -> dict[str, str]:
    _, secret = cabinet.tokens.create(Actor.of(user), name="tests")
    return {"Authorization": f"Bearer {secret}"}


def test_the_api_creates_a_bill_from_a_contract_with_its_breakdown(
    cabinet: Cabinet, web: TestClient, world: World
) -> None:
    contract = signed_contract(cabinet, world)
    headers = bearer(cabinet, world.client_user)
    body = {
        "doc_type": "bill",
        "issue_date": "2026-11-30",
        "related_id": contract.id,
        "extra": {"sickness_insurance": True},
    }
    created = web.post("/api/v1/documents", headers=headers, json=body)
    assert created.status_code == 201, created.text
    bill = created.json()
    assert bill["extra"]["contract_number"] == contract.number
    assert bill["buyer"]["name"] == "Jan Zleceniobiorca"
    breakdown = bill["extra"]["breakdown"]
    assert breakdown["net"] == "702.24"
    assert breakdown["tax"] == "83.00"
    assert bill["totals"]["gross"] == "702.24"
    again = web.get(f"/api/v1/documents/{bill['id']}", headers=headers).json()
    assert again["extra"]["breakdown"] == breakdown


def test_the_api_says_which_year_has_no_tax_parameters(
    cabinet: Cabinet, web: TestClient, world: World
) -> None:
    headers = bearer(cabinet, world.client_user)
    body = {
        "doc_type": "bill",
        "issue_date": "2024-12-30",
        "buyer": {"name": "Jan"},
        "extra": {
            "contract_number": "UM/1/2024",
            "contract_date": "2024-12-01",
            "contract_kind": "dzielo",
            "gross_amount": "1000.00",
        },
    }
    refused = web.post("/api/v1/documents", headers=headers, json=body)
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)
    [error] = refused.json()["errors"]
    assert error["field"] == "issue_date"
    assert "2024" in error["message"]
    assert bills(cabinet) == []


def test_an_empty_bill_form_offers_the_clients_signed_contracts(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    contract = signed_contract(cabinet, world)
    empty = client_web.get("/documents/new?type=bill")
    assert 'data-test="made-from"' in empty.text
    assert f'<option value="{contract.id}">{contract.number} · Jan Zleceniobiorca' in empty.text
    # Filled in from the contract, the form no longer offers the choice.
    filled = client_web.get(f"/documents/new?type=bill&from={contract.id}")
    assert 'data-test="made-from"' not in filled.text
    assert value_of(filled.text, "extra.contract_number") == contract.number


def test_a_bills_page_names_the_ordering_party_and_the_contractor(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    contract = signed_contract(cabinet, world)
    bill = cabinet.documents.create(
        Actor.of(world.client_user),
        Document(
            client_id=contract.client_id,
            doc_type="bill",
            issue_date=date(2026, 11, 30),
            related_id=contract.id,
        ),
    )
    page = client_web.get(f"/documents/{bill.id}").text
    assert "<h3>Zamawiający</h3>" in page and "<h3>Wykonawca</h3>" in page
    assert "<h3>Nabywca</h3>" not in page


def test_a_copyright_contract_prefills_the_50_percent_costs(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    contract = signed_contract(
        cabinet,
        world,
        contract_kind="dzielo",
        copyright_transfer="true",
        # A transfer names its fields of exploitation (the contract type checks it).
        fields_of_exploitation=["recording", "trading"],
    )
    form = client_web.get(f"/documents/new?type=bill&from={contract.id}").text
    assert 'name="extra.copyright_transfer" value="true" checked' in form
    assert 'name="extra.sickness_insurance" value="true">' in form
    plain = signed_contract(cabinet, world)
    form = client_web.get(f"/documents/new?type=bill&from={plain.id}").text
    assert 'name="extra.copyright_transfer" value="true">' in form


def test_a_bill_crossing_the_yearly_caps_shows_the_split_in_both_languages(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    contract = signed_contract(cabinet, world)
    bill = cabinet.documents.create(
        Actor.of(world.client_user),
        Document(
            client_id=contract.client_id,
            doc_type="bill",
            issue_date=date(2026, 11, 30),
            related_id=contract.id,
            extra={
                "under_26": True,
                "contractor_birth_date": "2004-01-01",
                "sickness_insurance": True,
                "exempt_income_elsewhere": "85028.00",
                "pension_base_elsewhere": "282000.00",
            },
        ),
    )
    # Worked in test_bill_layout: base 600.00, 500.00 exempt, 46.03 of the contributions on
    # the taxed half, net 782.23.
    assert bill.extra["breakdown"]["net"] == "782.23"
    page = client_web.get(f"/documents/{bill.id}").text
    for test, polish in (
        ("earlier_exempt_income", "Przychód zwolniony wcześniej w roku"),
        ("earlier_pension_base", "Podstawa składek emerytalnej i rentowej wcześniej w roku"),
        ("pension_base", "Podstawa składek emerytalnej i rentowej (limit roczny)"),
        ("exempt_income", "Przychód zwolniony (ulga dla młodych)"),
        ("social_deducted", "Składki społeczne odliczone od przychodu opodatkowanego"),
    ):
        assert f'data-test="breakdown-{test}"' in page, test
        assert polish in page, polish
    assert 'data-test="amount-due">782,23' in page
    client_web.post(
        "/language",
        data={"language": "en", "next": "/", "csrf_token": csrf_of(client_web, "/")},
    )
    english = client_web.get(f"/documents/{bill.id}").text
    assert "Income exempt under the young person&#39;s relief" in english
    assert 'Exempt income earlier this year</th><td class="num">PLN85,028.00' in english
    assert "Pension and disability base (yearly cap)" in english


def _to_english(client_web: TestClient) -> None:
    client_web.post(
        "/language",
        data={"language": "en", "next": "/", "csrf_token": csrf_of(client_web, "/")},
    )


def test_a_bill_paid_after_the_26th_birthday_says_why_it_has_no_relief(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    contract = signed_contract(cabinet, world)
    bill = cabinet.documents.create(
        Actor.of(world.client_user),
        Document(
            client_id=contract.client_id,
            doc_type="bill",
            issue_date=date(2026, 11, 30),
            related_id=contract.id,
            extra={
                "student_under_26": True,
                "contractor_pesel": "00312001238",  # born 20 November 2000
            },
        ),
    )
    assert bill.extra["breakdown"]["net"] == "722.53"  # §5.2 B: taxed and insured
    form = client_web.get(f"/documents/{bill.id}/edit").text
    assert 'name="extra.contractor_birth_date"' in form
    assert "Data urodzenia wykonawcy" in form
    page = client_web.get(f"/documents/{bill.id}").text
    assert 'data-test="breakdown-young-relief"' in page
    assert "ukończył(a) 26 lat 20.11.2026: wypłata z 30.11.2026 nie korzysta z ulgi" in page
    assert "ukończył(a) 26 lat 20.11.2026: od wypłaty z 30.11.2026 należą się składki" in page
    _to_english(client_web)
    english = client_web.get(f"/documents/{bill.id}").text
    assert "turned 26 on 20.11.2026: no relief for pay received on 30.11.2026" in english
    assert "Pupil's or student's exemption from ZUS" in english


def test_an_issued_bill_warns_when_an_earlier_bill_changed(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    contract = signed_contract(cabinet, world)
    actor = Actor.of(world.client_user)

    def bill_on(day: int) -> Document:
        return cabinet.documents.create(
            actor,
            Document(
                client_id=contract.client_id,
                doc_type="bill",
                issue_date=date(2026, 11, day),
                related_id=contract.id,
                extra={"pension_base_elsewhere": "281000.00"},
            ),
        )

    first, second = bill_on(10), bill_on(20)
    assert first.id is not None and second.id is not None
    issued = cabinet.documents.transition(actor, second.id, "issue")
    page = client_web.get(f"/documents/{second.id}").text
    assert 'data-test="bill-drift"' not in page
    cabinet.documents.update(
        actor, attrs.evolve(first, extra={**first.extra, "gross_amount": "400.00"})
    )
    page = client_web.get(f"/documents/{second.id}").text
    assert 'data-test="bill-drift"' in page
    assert "Ten rachunek policzono, zanim zmieniły się te wcześniejsze rachunki wykonawcy:" in page
    assert "szkic z 10.11.2026" in page
    assert 'data-test="bill-drift-earlier_pension_base">' in page
    assert "Wystawiony rachunek nie zmienia się sam" in page
    # The issued bill itself is as it was.
    assert cabinet.documents.get(actor, second.id).extra == issued.extra
    _to_english(client_web)
    english = client_web.get(f"/documents/{second.id}").text
    assert "the draft of 10.11.2026" in english
    assert "Pension and disability base earlier this year: -PLN600.00" in english
