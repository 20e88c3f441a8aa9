"""End to end in a real browser: the accountant's home counts the cost invoices the demo client
submitted, the count links to exactly those documents (each naming its client), and the bell's
unread count goes away after "mark all read"; in Polish, then the English labels."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser


def test_accountant_follows_the_count_and_clears_the_bell(
    demo_server: Any, chromium_path: Path, chromium_args: list[str]
) -> None:
    from playwright.sync_api import expect, sync_playwright

    url = demo_server.url
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium_path), args=chromium_args)
        try:
            page = browser.new_context(locale="pl-PL").new_page()
            demo_server.sign_in(page, "accountant@demo.pl", language="pl")
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
