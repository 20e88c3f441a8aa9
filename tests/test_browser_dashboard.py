"""End to end in a real browser: the accountant's home counts the cost invoices the demo client
submitted, the count links to exactly those documents (each naming its client), and the bell's
unread count goes away after "mark all read"; in Polish, then the English labels."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

#: The ports this test's server may use (the machine's other test servers use other ranges).
PORTS = range(18650, 18700)
STARTUP_SECONDS = 120


def _port() -> int:
    for port in PORTS:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.skip(f"no free port in {PORTS}")


@pytest.fixture(scope="module")
def dashboard_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """``cabinet demo`` on a port of :data:`PORTS`: its URL and the accountant's password."""
    data_dir = tmp_path_factory.mktemp("dashboard-demo")
    port = _port()
    log_path = data_dir / "server.log"
    script = Path(sys.executable).with_name("cabinet")
    command = (
        [str(script)]
        if script.exists()
        else [sys.executable, "-c", "from cabinet_core.cli import main; main()"]
    )
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [*command, "demo", "--port", str(port), "--data-dir", str(data_dir)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(log_path.read_text(encoding="utf-8", errors="replace"))
            # The port is taken before the logins are printed: wait for both.
            with socket.socket() as sock:
                listening = sock.connect_ex(("127.0.0.1", port)) == 0
            if listening and "accountant@demo.pl" in log_path.read_text(encoding="utf-8"):
                break
            time.sleep(0.2)
        else:
            pytest.fail("cabinet demo did not start")
        output = log_path.read_text(encoding="utf-8")
        password = re.search(r"accountant@demo\.pl\s+(\S+)", output)
        assert password, output
        yield f"http://127.0.0.1:{port}/", password.group(1)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)


def test_accountant_follows_the_count_and_clears_the_bell(
    dashboard_server: tuple[str, str], chromium_path: Path, chromium_args: list[str]
) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, password = dashboard_server
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium_path), args=chromium_args)
        try:
            page = browser.new_context(locale="pl-PL").new_page()
            page.goto(url)
            page.get_by_label("E-mail").fill("accountant@demo.pl")
            page.get_by_label("Hasło").fill(password)
            page.get_by_role("button", name="Zaloguj się", exact=True).click()
            expect(page).to_have_url(url)
            expect(page.get_by_role("heading", name="Wymaga uwagi")).to_be_visible()

            tile = page.locator('[data-test="attention-review-cost_invoice"]')
            expect(tile).to_contain_text("Faktura kosztowa do zatwierdzenia")
            waiting = int(tile.locator(".count").inner_text())
            assert waiting >= 2  # the demo client's two submitted cost invoices
            # The clients table counts them per client.
            expect(page.locator('[data-test="dashboard-client"]').first).to_contain_text(
                "Kowalski Software"
            )

            tile.click()
            expect(page).to_have_url(
                re.compile(r"/documents\?doc_type=cost_invoice&status=submitted")
            )
            rows = page.locator('[data-test="document-row"]')
            expect(rows).to_have_count(waiting)
            # Documents of several clients: each row names its client.
            clients = [
                c.inner_text().strip() for c in page.locator('[data-test="document-client"]').all()
            ]
            assert len(clients) == waiting and all(clients)
            assert any("Kowalski Software" in name for name in clients)
            expect(page.locator('[data-test="documents-total"]')).to_contain_text(str(waiting))

            # The submissions reached the accountant as notifications: the bell counts them.
            bell = page.locator('[data-test="bell-count"]')
            unread = int(bell.inner_text())
            assert unread >= waiting
            page.locator('[data-test="bell"]').click()
            expect(page.get_by_role("heading", level=1, name="Powiadomienia")).to_be_visible()
            expect(page.locator('[data-test="notification"].unread')).to_have_count(unread)
            page.get_by_role("button", name="Oznacz wszystkie jako przeczytane").click()
            expect(page.locator('[data-test="bell-count"]')).to_have_count(0)
            expect(page.locator('[data-test="notification"].unread')).to_have_count(0)

            page.get_by_role("button", name="English").click()
            expect(page.get_by_role("button", name="Mark all read")).to_be_visible()
            page.goto(url)
            expect(page.get_by_role("heading", name="Needs attention")).to_be_visible()
            expect(page.locator('[data-test="attention-review-cost_invoice"]')).to_contain_text(
                "Cost invoice awaiting approval"
            )
        finally:
            browser.close()
