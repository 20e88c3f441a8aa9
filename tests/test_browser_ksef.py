"""KSeF in a real browser, against the app served by uvicorn on loopback, its worker in a
thread and the KSeF emulator on a socket (ports 18250-18299):

(a) a client issues a VAT invoice and, without leaving the page for more than a reload, sees it
    accepted by KSeF with its KSeF number, the UPO link and the verification QR code (KOD I);
(b) a seller's invoice put into KSeF appears among the buyer client's cost invoices after the
    worker's receiving pass;
(c) staff switch a client's KSeF on with a token on the client's KSeF settings page.
"""

from __future__ import annotations

import random
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
from cabinet_core.entities import Actor, Address, BankAccount, Client, Role
from cabinet_core.settings import Branding, Settings
from conftest import sign_in_through_the_form

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-9"
SYSTEM = Actor.system()
SELLER_NIP = "5265877635"
SUPPLIER_NIP = "5260001246"
PORTS = range(18250, 18300)


def free_port() -> int:
    """A port of the KSeF suites' range nobody listens on."""
    start = random.randrange(len(PORTS))
    for port in (*PORTS[start:], *PORTS[:start]):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 18250-18299")


@attrs.frozen
class Site:
    url: str
    cabinet: Cabinet
    emulator: Any
    client: Client


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """The cabinet with cabinet-ksef pointed at the emulator, a client with KSeF on (its KSeF
    token issued by the emulator), the client's user and an accountant; the worker runs."""
    import cabinet_ksef.plugin
    import uvicorn
    from cabinet_core.worker import Worker
    from cabinet_ksef.credentials import CredentialVault, token_credentials
    from cabinet_ksef.settings import KsefSettings
    from cabinet_web.app import create_app
    from ksef_emulator import Emulator, EmulatorConfig
    from ksef_emulator.server import serve_in_thread

    ksef_port = free_port()
    emulator = Emulator(
        EmulatorConfig(
            base_url=f"http://127.0.0.1:{ksef_port}", seed="browser", processing_seconds=1.0
        )
    )
    settings = Settings(
        data_dir=tmp_path,
        secret_key="browser-secret-" + "x" * 40,
        branding=Branding(firm_name="Kancelaria Testowa"),
        mailer="folder",
        plugins={
            "ksef": {
                "base_url": f"http://127.0.0.1:{ksef_port}/v2",
                "poll_seconds": "0.5",
                "receive_minutes": "15",
            }
        },
    )
    with (
        serve_in_thread(emulator, port=ksef_port),
        Cabinet(settings, load_entrypoints=False, plugins=[cabinet_ksef.plugin]) as cabinet,
    ):
        cabinet.users.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        cabinet.migrate()
        client = cabinet.clients.create(
            SYSTEM,
            Client(
                name="Alfa sp. z o.o.",
                nip=SELLER_NIP,
                email="biuro@alfa.pl",
                address=Address(line1="ul. Prosta 1", postal_code="00-001", city="Warszawa"),
                bank_accounts=(BankAccount(currency="PLN", iban="PL61109010140000071219812874"),),
            ),
        )
        assert client.id is not None
        emulator.add_subject(SELLER_NIP, client.name)
        port = cabinet.ksef_port()
        CredentialVault(KsefSettings.of(cabinet).credentials_key, port).keep(
            client.id,
            token_credentials(SELLER_NIP, emulator.add_token(SELLER_NIP)),
            now=port.now(),
            valid_until=None,
        )
        port.set_enabled(client.id, True)
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
        web_port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(cabinet),
                host="127.0.0.1",
                port=web_port,
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
            with Worker(cabinet).in_thread(idle_sleep=0.2):
                yield Site(
                    url=f"http://127.0.0.1:{web_port}",
                    cabinet=cabinet,
                    emulator=emulator,
                    client=client,
                )
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

    context = browser.new_context(locale="pl-PL", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in_through_the_form(page, site.url, email, PASSWORD, language=None)
    return page


def reload_until(page: Any, selector: str, seconds: float = 30.0) -> None:
    """Reload the page until ``selector`` is there (the worker works in the background)."""
    deadline = time.monotonic() + seconds
    while page.locator(selector).count() == 0:
        assert time.monotonic() < deadline, f"{selector} did not appear"
        time.sleep(0.5)
        page.reload()


def test_an_issued_invoice_is_accepted_with_its_ksef_number_and_qr_code(
    site: Site, browser: Any
) -> None:
    from playwright.sync_api import expect

    today = date.today()
    page = sign_in(browser, site, "client@alfa.pl")
    page.goto(site.url + "/documents/new?type=vat_invoice")
    page.fill("[name=issue_date]", today.isoformat())
    page.fill("[name=sale_date]", today.isoformat())
    page.fill("[name=due_date]", today.isoformat())
    page.select_option("[name=counterparty_id]", "")
    page.fill("[name='party.name']", "Gamma S.A.")
    page.fill("[name='party.nip']", "9510000239")
    page.fill("[name='party.address.line1']", "ul. Długa 5")
    page.fill("[name='party.address.postal_code']", "80-001")
    page.fill("[name='party.address.city']", "Gdańsk")
    page.fill("[name='lines.0.name']", "Doradztwo podatkowe")
    page.fill("[name='lines.0.quantity']", "2")
    page.fill("[name='lines.0.unit_price']", "500.00")
    page.select_option("[name='lines.0.vat_rate']", "23")
    page.click("[data-test=save]")
    page.click("[data-test=transition-issue]")
    expect(page.locator("[data-test=document-status]")).to_have_attribute("data-status", "issued")
    document_id = int(page.url.removeprefix(site.url).split("/")[2])

    reload_until(page, "[data-test=ksef-state][data-state=accepted]")
    submission = site.cabinet.ksef_port().submission(document_id)
    assert submission is not None and submission.ksef_number
    expect(page.locator("[data-test=ksef-number]")).to_have_text(submission.ksef_number)
    expect(page.locator("[data-test=ksef-upo]")).to_be_visible()
    code = page.locator("[data-test=ksef-qr][data-kind=invoice]")
    expect(code.locator("svg")).to_be_visible()
    expect(code.locator("figcaption")).to_have_text(submission.ksef_number)
    href = code.locator("a").get_attribute("href")
    assert href is not None and f"/invoice/{SELLER_NIP}/{today:%d-%m-%Y}/" in href
    page.context.close()


def test_a_sellers_invoice_in_ksef_appears_among_the_buyers_cost_invoices(
    site: Site, browser: Any
) -> None:
    from cabinet_ksef.demo import purchase_xml
    from playwright.sync_api import expect

    site.emulator.add_subject(SUPPLIER_NIP, "ABC AGD sp. z o. o.")
    number = site.emulator.put_invoice(
        purchase_xml(SUPPLIER_NIP, SELLER_NIP, "ZAK/2026/12/7", date.today())
    )
    # The worker's receiving pass ran at start-up; the next is due after the interval: run the
    # client's pass now, as the ``cabinet ksef-receive`` command does.
    from cabinet_ksef.receiving import Receiver
    from cabinet_ksef.sending import KsefSender

    sender = site.cabinet.outbox_subscriber("ksef")
    assert isinstance(sender, KsefSender) and site.client.id is not None
    assert Receiver(sender).receive(site.client.id).imported == 1

    page = sign_in(browser, site, "client@alfa.pl")
    page.goto(site.url + "/documents")
    row = page.locator("tr", has_text="ABC AGD sp. z o. o.")
    expect(row.first).to_be_visible()
    row.first.locator("a").first.click()
    expect(page.locator("body")).to_contain_text(number)
    page.context.close()


def test_staff_switch_a_clients_ksef_on_with_a_token(site: Site, browser: Any) -> None:
    from playwright.sync_api import expect

    other = site.cabinet.clients.create(
        SYSTEM,
        Client(
            name="Beta sp. z o.o.",
            nip="5250000110",
            email="biuro@beta.pl",
            address=Address(line1="ul. Krzywa 2", postal_code="00-002", city="Warszawa"),
        ),
    )
    site.emulator.add_subject("5250000110", "Beta sp. z o.o.")
    token = site.emulator.add_token("5250000110")
    page = sign_in(browser, site, "accountant@kancelaria.example")
    page.goto(site.url + "/settings/ksef")
    page.click(f"tr[data-client='{other.id}'] a")
    page.check("[name=enabled]")
    page.check("[name=method][value=token]")
    page.fill("[name=token]", token)
    page.click("[data-test=ksef-save]")
    expect(page.locator("[data-test=ksef-enabled]")).to_contain_text("włączony")
    page.click("[data-test=ksef-test-connection]")
    expect(page.locator("[data-test=ksef-check]")).to_contain_text("w kolejce")
    reload_until(page, "[data-test=ksef-check] .ok")
    expect(page.locator("[data-test=ksef-check]")).to_contain_text("połączono")
    page.context.close()
