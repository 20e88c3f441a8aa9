"""Invoicing end to end in a real browser, against the app served by uvicorn on loopback:

(a) a client enters a EUR cost invoice with lines at 23 %, 8 % and zw, sees the VAT in PLN at the
    NBP rate, submits it; the accountant approves it and the client sees the new status;
(b) a client issues a proforma, converts it into a VAT invoice, issues and sends that; the
    buyer's mailbox (aiosmtpd on loopback) receives the PDF, and the FA(3) XML embedded in the
    PDF validates against the official schema.
"""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import attrs
import pytest
from argon2 import PasswordHasher
from babel.numbers import format_currency
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor, Address, BankAccount, Client, Role
from cabinet_core.settings import Branding, Settings, SmtpSettings
from conftest import sign_in_through_the_form

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-9"
SYSTEM = Actor.system()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Mailbox:
    """An aiosmtpd handler that keeps the messages it receives."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], bytes]] = []
        self.arrived = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append((list(envelope.rcpt_tos), envelope.content))
        self.arrived.set()
        return "250 OK"


@attrs.frozen
class Site:
    url: str
    cabinet: Cabinet
    mailbox: Mailbox


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """The cabinet (SQLite, SMTP mailer to a loopback aiosmtpd, PDFs by cabinet-pdf) served
    by uvicorn in a thread, with a client, its user and an accountant."""
    import cabinet_pdf.plugin
    import uvicorn
    from aiosmtpd.controller import Controller
    from cabinet_web.app import create_app

    mailbox = Mailbox()
    smtp_port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    settings = Settings(
        data_dir=tmp_path,
        secret_key="browser-secret-" + "x" * 40,
        branding=Branding(firm_name="Kancelaria Testowa"),
        mailer="smtp",
        smtp=SmtpSettings(host="127.0.0.1", port=smtp_port, sender="biuro@kancelaria.example"),
    )
    try:
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
                    bank_accounts=(
                        BankAccount(currency="PLN", iban="PL61109010140000071219812874"),
                    ),
                ),
            )
            for email, role, client_id in (
                ("client@alfa.pl", Role.CLIENT, client.id),
                ("accountant@kancelaria.example", Role.ACCOUNTANT, None),
            ):
                cabinet.users.create(
                    SYSTEM,
                    email=email,
                    name=email.split("@")[0],
                    role=role,
                    client_id=client_id,
                    password=PASSWORD,
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
                yield Site(url=f"http://127.0.0.1:{port}", cabinet=cabinet, mailbox=mailbox)
            finally:
                server.should_exit = True
                thread.join(timeout=30)
    finally:
        controller.stop()


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
    """A fresh Polish-speaking browser context signed in as ``email``; returns its page."""

    context = browser.new_context(locale="pl-PL", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in_through_the_form(page, site.url, email, PASSWORD, language=None)
    return page


def fill_line(page: Any, index: int, name: str, quantity: str, price: str, rate: str) -> None:
    prefix = f"lines.{index}."
    page.fill(f"[name='{prefix}name']", name)
    page.fill(f"[name='{prefix}quantity']", quantity)
    page.fill(f"[name='{prefix}unit_price']", price)
    page.select_option(f"[name='{prefix}vat_rate']", rate)


def add_line(page: Any, index: int) -> None:
    page.click("[data-test=add-line]")
    page.wait_for_selector(f"[name='lines.{index}.name']")


def document_id(page: Any, site: Site) -> int:
    path = page.url.removeprefix(site.url)
    return int(path.split("/")[2])


def pln(amount: Decimal) -> str:
    return format_currency(amount, "PLN", locale="pl_PL")


def test_eur_cost_invoice_with_pln_vat_approved_by_the_accountant(site: Site, browser: Any) -> None:
    from playwright.sync_api import expect

    issue_day = date.today() - timedelta(days=3)
    page = sign_in(browser, site, "client@alfa.pl")
    page.goto(site.url + "/documents/new?type=cost_invoice")
    page.fill("[name=issue_date]", issue_day.isoformat())
    page.fill("[name=sale_date]", issue_day.isoformat())
    page.fill("[name=receipt_date]", date.today().isoformat())
    page.select_option("[name=counterparty_id]", "")
    page.fill("[name='party.name']", "Lieferant GmbH")
    page.fill("[name='party.vat_eu']", "DE136695976")
    page.fill("[name='party.address.city']", "Berlin")
    page.fill("[name='party.address.country']", "DE")
    page.select_option("[name=currency]", "EUR")
    page.fill("[name='extra.seller_invoice_number']", "RE-2026-17")
    fill_line(page, 0, "Licencja", "1", "100.00", "23")
    add_line(page, 1)
    fill_line(page, 1, "Książka", "1", "50.00", "8")
    add_line(page, 2)
    fill_line(page, 2, "Szkolenie", "1", "30.00", "zw")
    # The server's figures: VAT per rate in EUR, and in PLN at the NBP rate fixed on the
    # invoice (the offline provider's 4.2512 here, dated the business day before the sale).
    rate = site.cabinet.rate_provider.rate_for("EUR", issue_day).rate
    expected = sum(
        (vat * rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        for vat in (Decimal("23.00"), Decimal("4.00"))
    )
    page.click("[data-test=save-submit]")
    expect(page.locator("[data-test=document-status]")).to_have_attribute(
        "data-status", "submitted"
    )
    doc_id = document_id(page, site)
    stored = site.cabinet.documents.get(SYSTEM, doc_id)
    assert stored.totals is not None and stored.totals.vat_pln == expected
    expect(page.locator("[data-test=total-vat-pln]").first).to_have_text(pln(expected))
    assert stored.exchange_rate is not None and stored.exchange_rate.rate == rate
    rate_line = page.locator("[data-test=exchange-rate]").first
    expect(rate_line).to_contain_text("4,2512")  # the NBP rate exactly, all four decimals
    expect(rate_line).to_contain_text(stored.exchange_rate.table_no)
    page.context.close()

    accountant = sign_in(browser, site, "accountant@kancelaria.example")
    accountant.goto(f"{site.url}/documents/{doc_id}")
    accountant.click("[data-test=transition-approve]")
    expect(accountant.locator("[data-test=document-status]")).to_have_attribute(
        "data-status", "approved"
    )
    accountant.context.close()

    page = sign_in(browser, site, "client@alfa.pl")
    page.goto(f"{site.url}/documents/{doc_id}")
    status = page.locator("[data-test=document-status]")
    expect(status).to_have_attribute("data-status", "approved")
    expect(status).to_have_text("Zatwierdzona")
    page.context.close()


def test_proforma_converted_issued_and_sent_arrives_with_a_valid_fa3(
    site: Site, browser: Any
) -> None:
    from cabinet_core.ksef import validate_fa3
    from cabinet_core.worker import Worker
    from playwright.sync_api import expect
    from pypdf import PdfReader

    today = date.today()
    page = sign_in(browser, site, "client@alfa.pl")
    page.goto(site.url + "/documents/new?type=proforma")
    page.fill("[name=issue_date]", today.isoformat())
    page.fill("[name=sale_date]", today.isoformat())
    page.fill("[name=due_date]", (today + timedelta(days=14)).isoformat())
    page.select_option("[name=counterparty_id]", "")
    page.fill("[name='party.name']", "Gamma S.A.")
    page.fill("[name='party.nip']", "9510000239")
    page.fill("[name='party.email']", "buyer@gamma.pl")
    page.fill("[name='party.address.line1']", "ul. Długa 5")
    page.fill("[name='party.address.postal_code']", "80-001")
    page.fill("[name='party.address.city']", "Gdańsk")
    fill_line(page, 0, "Doradztwo podatkowe", "2", "500.00", "23")
    page.click("[data-test=save]")
    expect(page.locator("[data-test=document-status]")).to_have_attribute("data-status", "draft")
    page.click("[data-test=transition-issue]")
    expect(page.locator("[data-test=document-status]")).to_have_attribute("data-status", "issued")
    proforma_id = document_id(page, site)

    page.click("[data-test=convert]")
    expect(page).to_have_url(f"{site.url}/documents/{proforma_id + 1}/edit")
    page.click("[data-test=save]")
    expect(page.locator("[data-test=document-status]")).to_have_attribute("data-status", "draft")
    expect(page.locator(f"a[href='/documents/{proforma_id}']").first).to_be_visible()
    page.click("[data-test=transition-issue]")
    expect(page.locator("[data-test=document-status]")).to_have_attribute("data-status", "issued")
    invoice_id = document_id(page, site)
    invoice = site.cabinet.documents.get(SYSTEM, invoice_id)
    assert invoice.doc_type == "vat_invoice" and invoice.related_id == proforma_id
    assert site.cabinet.documents.get(SYSTEM, proforma_id).status == "converted"

    expect(page.locator("#f-send-to")).to_have_value("buyer@gamma.pl")
    page.fill("#f-send-message", "Dziękujemy za współpracę.")
    page.click("[data-test=send-submit]")
    expect(page.locator("[data-test=delivery-queued]")).to_be_visible()

    Worker(site.cabinet).run_once()
    assert site.mailbox.arrived.wait(timeout=30)
    ((recipients, raw),) = site.mailbox.received
    assert recipients == ["buyer@gamma.pl"]
    message = message_from_bytes(raw, policy=default_policy)
    assert isinstance(message, EmailMessage)
    assert invoice.number is not None and invoice.number in str(message["Subject"])
    pdfs = [
        part.get_payload(decode=True)
        for part in message.iter_attachments()
        if part.get_content_type() == "application/pdf"
    ]
    assert len(pdfs) == 1
    reader = PdfReader(io.BytesIO(pdfs[0]))
    embedded = [data for files in reader.attachments.values() for data in files]
    assert len(embedded) == 1
    assert b"<Faktura" in embedded[0]
    assert validate_fa3(embedded[0]) == []

    page.reload()
    expect(page.locator("[data-test=document-status]")).to_have_attribute("data-status", "sent")
    expect(page.locator("[data-test=delivery-sent]")).to_be_visible()
    page.context.close()


#: The Ministry's example 01 among the repository's test fixtures (see testdata/ksef-fa3).
EXAMPLE_01 = Path(__file__).resolve().parents[1] / "testdata/ksef-fa3/examples/FA_3_Przyklad_01.xml"


def test_imported_fa3_warns_and_a_correction_request_reaches_the_seller(
    site: Site, browser: Any
) -> None:
    from cabinet_core.worker import Worker
    from playwright.sync_api import expect

    page = sign_in(browser, site, "client@alfa.pl")
    page.goto(site.url + "/documents")
    page.click("[data-test=import-fa3]")
    page.set_input_files("input[name=file]", str(EXAMPLE_01))
    page.click("[data-test=import-submit]")
    expect(page.locator("[data-test=document-status]")).to_have_attribute("data-status", "draft")
    # MF example 01 is 1 grosz off in the file itself: imported, and the difference shown.
    expect(page.locator(".flash").filter(has_text="2050.99")).to_be_visible()
    expect(page.locator("[data-test=import-warnings]")).to_contain_text("2050.99")
    cost_id = document_id(page, site)
    site.cabinet.documents.transition(SYSTEM, cost_id, "submit")

    page.reload()
    page.click("[data-test=request-correction]")
    page.fill("[name=reason]", "Wniesienie sprzętu miało być gratis.")
    page.fill("[name=seller_email]", "sprzedaz@sprzedawca.example")
    page.click("[data-test=correction-request-submit]")
    expect(page.locator("[data-test=document-status]")).to_have_attribute("data-status", "draft")
    expect(page.locator(f"a[href='/documents/{cost_id}']").first).to_be_visible()
    expect(page.locator("#f-send-to")).to_have_value("sprzedaz@sprzedawca.example")
    page.click("[data-test=send-submit]")
    expect(page.locator("[data-test=document-status]")).to_have_attribute("data-status", "sent")

    Worker(site.cabinet).run_once()
    assert site.mailbox.arrived.wait(timeout=30)
    # The accountant was also e-mailed a notification of the submitted cost invoice.
    ((recipients, raw),) = [
        (to, raw) for to, raw in site.mailbox.received if to == ["sprzedaz@sprzedawca.example"]
    ]
    assert recipients == ["sprzedaz@sprzedawca.example"]
    message = message_from_bytes(raw, policy=default_policy)
    assert isinstance(message, EmailMessage)
    assert [part.get_content_type() for part in message.iter_attachments()] == ["application/pdf"]
    page.reload()
    expect(page.locator("[data-test=delivery-sent]")).to_be_visible()
    page.context.close()
