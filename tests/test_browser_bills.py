"""Bills end to end in a real browser: a client opens a signed umowa zlecenie of 1 000.00 PLN,
issues a bill from it ("Issue: Bill"), declares voluntary sickness insurance and no PIT-2, and
sees 702.24 PLN due (poland.md §5.2 A) on the page and in the PDF, in Polish and in English.
"""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import attrs
import pytest
from argon2 import PasswordHasher
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor, Address, Client, Document, Party, Role
from cabinet_core.settings import Branding, Settings
from conftest import sign_in_through_the_form

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-9"
SYSTEM = Actor.system()
#: The ports this test may serve on.
PORTS = range(18300, 18350)


def free_port() -> int:
    for port in PORTS:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.fail("no free port in 18300-18349")


@attrs.frozen
class Site:
    url: str
    cabinet: Cabinet
    contract: Document


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """The cabinet served by uvicorn in a thread, with a client, its user and a signed umowa
    zlecenie for 1 000.00 PLN with Jan Zleceniobiorca."""
    import cabinet_pdf.plugin
    import uvicorn
    from cabinet_web.app import create_app

    settings = Settings(
        data_dir=tmp_path,
        secret_key="browser-secret-" + "x" * 40,
        branding=Branding(firm_name="Kancelaria Testowa"),
    )
    with Cabinet(settings, load_entrypoints=False, plugins=[cabinet_pdf.plugin]) as cabinet:
        cabinet.users.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        cabinet.migrate()
        client = cabinet.clients.create(
            SYSTEM,
            Client(
                name="Alfa sp. z o.o.",
                nip="5250000110",
                address=Address(line1="ul. Prosta 1", postal_code="00-001", city="Warszawa"),
            ),
        )
        assert client.id is not None
        user = cabinet.users.create(
            SYSTEM,
            email="client@alfa.pl",
            name="Klient",
            role=Role.CLIENT,
            client_id=client.id,
            password=PASSWORD,
        )
        actor = Actor.of(user)
        contract = cabinet.documents.create(
            actor,
            Document(
                client_id=client.id,
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
                    "template_version_id": next(
                        t.version_id
                        for t in cabinet.contract_templates.list(actor)
                        if t.key == "builtin-zlecenie-pl"
                    ),
                },
            ),
        )
        assert contract.id is not None
        contract = cabinet.documents.transition(actor, contract.id, "sign")
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(cabinet),
                host="127.0.0.1",
                port=port,
                log_level="warning",
                lifespan="off",
            )
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        try:
            yield Site(url=f"http://127.0.0.1:{port}", cabinet=cabinet, contract=contract)
        finally:
            server.should_exit = True
            thread.join(timeout=30)


@pytest.fixture
def browser(chromium_path: Path, chromium_args: list[str]) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(chromium_path), args=chromium_args
        )
        try:
            yield launched
        finally:
            launched.close()


def pdf_text(page: Any, url: str) -> str:
    from pypdf import PdfReader

    response = page.request.get(url)
    assert response.ok and response.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.body()))
    return "\n".join(p.extract_text() for p in reader.pages).replace("\u00a0", " ")


def issue_bill(
    page: Any, site: Site, *, issue_label: str, sickness_label: str, language: str
) -> int:
    """From the contract's page: open the prefilled bill form, tick sickness insurance, save."""
    from playwright.sync_api import expect

    page.goto(f"{site.url}/documents/{site.contract.id}")
    page.get_by_role("link", name=issue_label).click()
    expect(page.locator("[name='extra.contract_number']")).to_have_value(site.contract.number or "")
    expect(page.locator("[name='extra.gross_amount']")).to_have_value("1000.00")
    expect(page.locator("[name='party.name']")).to_have_value("Jan Zleceniobiorca")
    page.fill("[name=issue_date]", "2026-11-30")
    page.select_option("select[name=language]", language)
    page.get_by_label(sickness_label).check()
    page.click("button[name=action][value=save]")
    expect(page.locator("[data-test=bill-breakdown]")).to_be_visible()
    return int(page.url.removeprefix(site.url).split("/")[2])


def test_a_client_issues_a_bill_from_a_contract_in_polish_and_english(
    site: Site, browser: Any
) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(locale="pl-PL", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in_through_the_form(page, site.url, "client@alfa.pl", PASSWORD, language=None)

    # Bills are one click from the menu; a new one starts from its contract.
    page.get_by_role("link", name="Rachunki", exact=True).click()
    expect(page).to_have_url(site.url + "/documents?doc_type=bill")

    bill_id = issue_bill(
        page,
        site,
        issue_label="Wystaw: Rachunek",
        sickness_label="Dobrowolne ubezpieczenie chorobowe",
        language="pl",
    )
    expect(page.locator("[data-test=amount-due]")).to_contain_text("702,24")
    expect(page.locator("[data-test=amount-due-words]")).to_have_text("siedemset dwa złote 24/100")
    expect(page.locator("[data-test=breakdown-tax]")).to_contain_text("83,00")
    expect(page.locator("[data-test=breakdown-social]")).to_contain_text("137,10")
    expect(page.locator("[data-test=breakdown-health]")).to_contain_text("77,66")
    page.click("[data-test=transition-issue]")
    expect(page.locator("[data-test=document-status]")).to_have_attribute("data-status", "issued")
    text = pdf_text(page, f"{site.url}/documents/{bill_id}/pdf")
    assert "Rachunek" in text
    assert "Do zapłaty: 702,24 PLN" in text
    assert "Słownie: siedemset dwa złote 24/100" in text
    assert "Zaliczka na podatek dochodowy\n83,00 PLN" in text
    assert "podpis wykonawcy" in text

    # The same in English, a bill printed in English.
    page.get_by_role("button", name="English").click()
    english_id = issue_bill(
        page,
        site,
        issue_label="Issue: Bill",
        sickness_label="Voluntary sickness insurance",
        language="en",
    )
    expect(page.get_by_role("heading", name="Calculation of the bill")).to_be_visible()
    expect(page.locator("[data-test=amount-due]")).to_contain_text("702.24")
    expect(page.locator("[data-test=amount-due-words]")).to_have_text(
        "seven hundred two PLN 24/100"
    )
    text = pdf_text(page, f"{site.url}/documents/{english_id}/pdf")
    assert "Bill" in text
    assert "Total due: 702.24 PLN" in text
    assert "In words: seven hundred two PLN 24/100" in text
    assert "contractor's signature" in text
    context.close()
