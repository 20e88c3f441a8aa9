"""The VAT statement in a real browser, against the app served by uvicorn on loopback:

(a) the accountant opens "Zestawienie VAT" from the menu, picks the client and the month, sees
    both registers, marks the purchase not deductible, and downloads the JPK_V7M(3) file (valid
    against the official schema, without the non-deductible purchase), the PDF and the CSV in
    Polish; the quarter's statement says why there is no JPK_V7K and gives a month's JPK_V7M;
(b) the client's user switches to English, sees its own statement without the toggle and
    downloads the CSV, the PDF and the JPK file, and reads the quarter's note in English.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from argon2 import PasswordHasher
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor, Address, Client, Document, DocumentLine, Party, Role
from cabinet_core.settings import Branding, Settings
from cabinet_core.vat_statement import validate_jpk
from conftest import sign_in_through_the_form

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-9"
SYSTEM = Actor.system()
#: This test's ports (the shared machine gives each suite its own range).
PORTS = range(18450, 18500)


def free_port() -> int:
    for port in PORTS:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 18450-18499")


@attrs.frozen
class Site:
    url: str
    cabinet: Cabinet
    client_id: int


def _documents(cabinet: Cabinet, client_id: int, user: Actor, accountant: Actor) -> None:
    buyer = Party(name="Gamma S.A.", nip="9510000239")
    for currency, price in (("PLN", "100.00"), ("EUR", "1000.00")):
        draft = cabinet.documents.create(
            user,
            Document(
                client_id=client_id,
                doc_type="vat_invoice",
                issue_date=date(2026, 11, 10),
                currency=currency,
                buyer=buyer,
                lines=(
                    DocumentLine(name="Porada prawna", unit_price=Decimal(price), gtu="GTU_12"),
                ),
            ),
        )
        cabinet.documents.transition(user, draft.id or 0, "issue")
    cost = cabinet.documents.create(
        user,
        Document(
            client_id=client_id,
            doc_type="cost_invoice",
            issue_date=date(2026, 11, 3),
            receipt_date=date(2026, 11, 4),
            seller=Party(name="Delta sp. z o.o.", nip="9510000239"),
            lines=(DocumentLine(name="Laptop", unit_price=Decimal("1000.00")),),
            extra={"seller_invoice_number": "FZ/77/2026"},
        ),
    )
    cabinet.documents.transition(user, cost.id or 0, "submit")
    cabinet.documents.transition(accountant, cost.id or 0, "approve")


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
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
                email="biuro@alfa.pl",
                address=Address(line1="ul. Prosta 1", postal_code="00-001", city="Warszawa"),
            ),
        )
        users = {
            role: cabinet.users.create(
                SYSTEM,
                email=email,
                name=email.split("@")[0],
                role=role,
                client_id=client_id,
                password=PASSWORD,
            )
            for email, role, client_id in (
                ("client@alfa.pl", Role.CLIENT, client.id),
                ("accountant@kancelaria.example", Role.ACCOUNTANT, None),
            )
        }
        _documents(
            cabinet,
            client.id or 0,
            Actor.of(users[Role.CLIENT]),
            Actor.of(users[Role.ACCOUNTANT]),
        )
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
            yield Site(url=f"http://127.0.0.1:{port}", cabinet=cabinet, client_id=client.id or 0)
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


def sign_in(browser: Any, site: Site, email: str) -> Any:

    context = browser.new_context(
        locale="pl-PL", viewport={"width": 1400, "height": 900}, accept_downloads=True
    )
    page = context.new_page()
    sign_in_through_the_form(page, site.url, email, PASSWORD, language=None)
    return page


def download(page: Any, selector: str) -> bytes:
    with page.expect_download() as info:
        page.click(selector)
    path = info.value.path()
    return Path(path).read_bytes()


def test_the_accountant_marks_a_purchase_and_downloads_a_valid_jpk(
    site: Site, browser: Any
) -> None:
    from playwright.sync_api import expect

    page = sign_in(browser, site, "accountant@kancelaria.example")
    page.get_by_role("link", name="Zestawienie VAT", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Zestawienie VAT")
    page.select_option("#f-client_id", str(site.client_id))
    page.fill("#f-month", "2026-11")
    page.click("[data-test=show-statement]")
    sales = page.locator("[data-test=register-sales]")
    expect(sales).to_contain_text("Rejestr sprzedaży VAT")
    expect(sales.locator("[data-test^=row-sales-]")).to_have_count(2)
    expect(sales).to_contain_text("GTU_12")
    expect(page.locator("[data-test=fx]")).to_contain_text("4,2512")
    purchases = page.locator("[data-test=register-purchase]")
    expect(purchases).to_contain_text("FZ/77/2026")

    purchases.get_by_role("button", name="Oznacz jako nieodliczany").click()
    expect(page.locator("[data-test=not-deductible]")).to_have_text("nieodliczany")
    expect(page.locator("[data-test=tax-deductible]")).to_contain_text("0,00")

    page.fill("#f-tax_office", "12")
    page.click("[data-test=download-jpk]")
    expect(page.locator("[data-test=jpk-form]")).to_contain_text(
        "Podaj czterocyfrowy kod urzędu skarbowego."
    )
    page.fill("#f-tax_office", "1471")
    xml = download(page, "[data-test=download-jpk]")
    assert validate_jpk(xml) == []
    text = xml.decode()
    assert "<LiczbaWierszySprzedazy>2</LiczbaWierszySprzedazy>" in text
    assert "<LiczbaWierszyZakupow>0</LiczbaWierszyZakupow>" in text and "FZ/77/2026" not in text
    assert "<GTU_12>1</GTU_12>" in text and "<K_19>4251.20</K_19>" in text

    page.goto(f"{site.url}/vat-statement?client_id={site.client_id}&period=2026-11")
    pdf = download(page, "[data-test=download-pdf]")
    assert "Zestawienie VAT 2026-11" in _pdf_text(pdf) and "FZ/77/2026" in _pdf_text(pdf)
    csv = download(page, "[data-test=download-csv]").decode("utf-8-sig")
    assert csv.startswith("Rejestr,Lp.") and "FZ/77/2026" in csv and "GTU_12" in csv

    # A quarter: the registers of its three months, no JPK_V7K, a month's JPK_V7M (Ewidencja).
    page.goto(f"{site.url}/vat-statement?client_id={site.client_id}&period=2026-Q4")
    expect(page.locator("[data-test=no-v7k]")).to_contain_text("JPK_V7K")
    expect(page.locator("[data-test^=row-sales-]")).to_have_count(2)
    page.select_option("[data-test=jpk-month]", "2026-11")
    page.fill("#f-tax_office", "1471")
    monthly = download(page, "[data-test=download-jpk]")
    assert validate_jpk(monthly) == []
    assert b"<Miesiac>11</Miesiac>" in monthly and b"<Deklaracja>" not in monthly


def _pdf_text(content: bytes) -> str:
    import io

    from pypdf import PdfReader

    assert content.startswith(b"%PDF")
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_the_client_sees_its_statement_in_english_and_downloads_csv_and_jpk(
    site: Site, browser: Any
) -> None:
    from playwright.sync_api import expect

    page = sign_in(browser, site, "client@alfa.pl")
    page.get_by_role("button", name="English").click()
    page.get_by_role("link", name="VAT statement", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("VAT statement")
    page.fill("#f-month", "2026-11")
    page.click("[data-test=show-statement]")
    expect(page.locator("[data-test=register-sales]")).to_contain_text("Sales VAT register")
    expect(page.locator("[data-test=register-purchase]")).to_contain_text("Purchase VAT register")
    expect(page.get_by_role("button", name="Mark not deductible")).to_have_count(0)
    csv = download(page, "[data-test=download-csv]").decode("utf-8-sig")
    assert csv.startswith("Register,No.,Document number") and "FZ/77/2026" in csv
    pdf = _pdf_text(download(page, "[data-test=download-pdf]"))
    assert "VAT statement 2026-11" in pdf and "FZ/77/2026" in pdf
    page.fill("#f-tax_office", "1471")
    xml = download(page, "[data-test=download-jpk]")
    assert validate_jpk(xml) == []
    assert "<LiczbaWierszyZakupow>1</LiczbaWierszyZakupow>" in xml.decode()
    page.goto(f"{site.url}/vat-statement?period=2026-Q4")
    expect(page.locator("[data-test=no-v7k]")).to_contain_text(
        "Quarterly filers file JPK_V7K, which the cabinet does not produce"
    )
