"""Signing in in a real browser (ports 18600-18649): "forgot password" through the e-mailed
link, and a staff member's forced two-factor enrolment with the QR page, then a sign-in with
a code. The app is served by uvicorn on loopback, its worker in a thread sends the mail."""

from __future__ import annotations

import email
import random
import re
import socket
import threading
import time
from collections.abc import Iterator
from email import policy
from pathlib import Path
from typing import Any

import attrs
import pyotp
import pytest
from argon2 import PasswordHasher
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor, Client, Role
from cabinet_core.settings import Branding, Settings

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-9"
SYSTEM = Actor.system()
PORTS = range(18600, 18650)


def free_port() -> int:
    """A port of this suite's range nobody listens on."""
    start = random.randrange(len(PORTS))
    for port in (*PORTS[start:], *PORTS[:start]):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 18600-18649")


@attrs.frozen
class Site:
    url: str
    cabinet: Cabinet


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """A cabinet requiring staff to use a second factor, a client user and an accountant."""
    import uvicorn
    from cabinet_core.worker import Worker
    from cabinet_web.app import create_app

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = Settings(
        data_dir=tmp_path,
        secret_key="browser-secret-" + "x" * 40,
        branding=Branding(firm_name="Kancelaria Testowa"),
        mailer="folder",
        base_url=url,
        staff_two_factor=True,
    )
    with Cabinet(settings, load_entrypoints=False) as cabinet:
        cabinet.users.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        cabinet.migrate()
        client = cabinet.clients.create(SYSTEM, Client(name="Alfa sp. z o.o.", nip="5250000110"))
        for address, role, client_id in (
            ("client@alfa.pl", Role.CLIENT, client.id),
            ("accountant@kancelaria.example", Role.ACCOUNTANT, None),
        ):
            cabinet.users.create(
                SYSTEM,
                email=address,
                name=address.split("@")[0],
                role=role,
                client_id=client_id,
                password=PASSWORD,
            )
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
            with Worker(cabinet).in_thread(idle_sleep=0.2):
                yield Site(url=url, cabinet=cabinet)
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


def _new_page(browser: Any) -> Any:
    context = browser.new_context(locale="pl-PL", viewport={"width": 1280, "height": 900})
    return context.new_page()


def _wait_for_mail(folder: Path, seconds: float = 30.0) -> email.message.EmailMessage:
    deadline = time.monotonic() + seconds
    while True:
        found = sorted(folder.rglob("*.eml")) if folder.exists() else []
        if found:
            parsed = email.message_from_bytes(found[-1].read_bytes(), policy=policy.default)
            assert isinstance(parsed, email.message.EmailMessage)
            return parsed
        assert time.monotonic() < deadline, "no mail was sent"
        time.sleep(0.2)


def _sign_in(page: Any, site: Site, address: str, password: str) -> None:
    page.goto(site.url + "/login")
    page.fill("input[name=email]", address)
    page.fill("input[name=password]", password)
    page.click("form[action='/login'] button[type=submit]")


def test_forgot_password_through_the_emailed_link(site: Site, browser: Any) -> None:
    from playwright.sync_api import expect

    page = _new_page(browser)
    page.goto(site.url + "/login")
    page.click("[data-test=forgot-password]")
    expect(page).to_have_url(site.url + "/password/forgot")
    page.fill("input[name=email]", "client@alfa.pl")
    page.click("[data-test=send-reset]")
    expect(page.locator("[data-test=reset-requested]")).to_be_visible()
    mail = _wait_for_mail(site.cabinet.settings.mail_dir)
    assert mail["To"] == "client@alfa.pl"
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    match = re.search(re.escape(site.url) + r"/password/[A-Za-z0-9_-]+", str(body.get_content()))
    assert match, "the mail carries no link"
    page.goto(match.group(0))
    page.fill("input[name=password]", "a-brand-new-password")
    page.click("[data-test=set-password]")
    expect(page).to_have_url(re.compile(r".*/login$"))
    expect(page.locator(".flash")).to_contain_text("Zaloguj się nim")
    _sign_in(page, site, "client@alfa.pl", "a-brand-new-password")
    expect(page).to_have_url(site.url + "/")
    # The link worked once.
    page.goto(match.group(0))
    expect(page.locator("[data-test=link-invalid]")).to_be_visible()


def test_staff_enrol_a_second_factor_then_sign_in_with_a_code(site: Site, browser: Any) -> None:
    from playwright.sync_api import expect

    page = _new_page(browser)
    _sign_in(page, site, "accountant@kancelaria.example", PASSWORD)
    expect(page).to_have_url(site.url + "/two-factor/enrol")
    expect(page.locator("[data-test=qr] svg")).to_be_visible()
    secret = page.locator("[data-test=totp-secret]").inner_text().strip()
    totp = pyotp.TOTP(secret)
    page.fill("input[name=code]", totp.now())
    page.click("[data-test=confirm-enrolment]")
    expect(page.locator("[data-test=recovery-codes] li")).to_have_count(10)
    page.click("[data-test=continue]")
    expect(page).to_have_url(site.url + "/")
    page.locator("form[action='/logout'] button").first.click()
    expect(page).to_have_url(re.compile(r".*/login$"))
    _sign_in(page, site, "accountant@kancelaria.example", PASSWORD)
    expect(page).to_have_url(site.url + "/login/second-factor")
    page.fill("input[name=code]", "000000" if totp.now() != "000000" else "111111")
    page.click("[data-test=verify-code]")
    expect(page.locator("[data-error-for=code]")).to_be_visible()
    # The code of the next time step (one step of drift is accepted; the current one was used).
    page.fill("input[name=code]", totp.at(time.time() + 30))
    page.click("[data-test=verify-code]")
    expect(page).to_have_url(site.url + "/")
