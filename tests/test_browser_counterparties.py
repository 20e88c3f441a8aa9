"""End to end in a real browser: a client opens *Kontrahenci* from the menu, adds a company (a
NIP with a wrong check digit is refused at its field, the values kept, nothing saved), sees it
in the list, changes its city and deletes it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser


def test_a_client_adds_edits_and_deletes_a_counterparty(
    demo_server: Any, chromium_path: Path, chromium_args: list[str]
) -> None:
    from playwright.sync_api import expect, sync_playwright

    # A name no other test or demo record has: the demo server is shared by the session.
    name = "Omega Doradztwo sp. z o.o. (test przeglądarki)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium_path), args=chromium_args)
        try:
            page = browser.new_context(locale="pl-PL").new_page()
            demo_server.sign_in(page, "client@demo.pl", language="pl")

            page.get_by_role("link", name="Kontrahenci", exact=True).click()
            expect(page).to_have_url(f"{demo_server.url}counterparties")
            expect(page.get_by_role("heading", level=1)).to_have_text("Kontrahenci")
            page.get_by_role("link", name="Nowy kontrahent").click()

            page.get_by_label("Nazwa").fill(name)
            nip = page.get_by_label("NIP", exact=True)
            nip.fill("525-000-01-11")  # the check digit is 0
            page.get_by_label("Adres", exact=True).fill("ul. Krótka 3")
            page.get_by_label("Kod pocztowy").fill("00-003")
            page.get_by_label("Miejscowość").fill("Gdańsk")
            page.get_by_role("button", name="Zapisz").click()
            expect(page.locator('[data-error-for="nip"]')).to_be_visible()
            expect(nip).to_have_attribute("aria-invalid", "true")
            expect(nip).to_have_attribute("aria-describedby", "e-nip")
            expect(page.get_by_label("Nazwa")).to_have_value(name)
            expect(page.get_by_label("Miejscowość")).to_have_value("Gdańsk")

            nip.fill("525-000-01-10")
            page.get_by_role("button", name="Zapisz").click()
            expect(page.get_by_role("status")).to_contain_text("Kontrahent został zapisany.")
            row = page.locator('[data-test="counterparty-row"]', has_text=name)
            expect(row).to_contain_text("5250000110")
            expect(row).to_contain_text("Gdańsk")

            row.get_by_role("link", name=name).click()
            expect(page.get_by_role("heading", level=1)).to_have_text(name)
            page.get_by_label("Miejscowość").fill("Sopot")
            page.get_by_role("button", name="Zapisz").click()
            expect(page.get_by_role("status")).to_contain_text("Kontrahent został zapisany.")
            row = page.locator('[data-test="counterparty-row"]', has_text=name)
            expect(row).to_contain_text("Sopot")

            row.get_by_role("link", name=name).click()
            page.locator('[data-test="delete-counterparty"]').click()
            expect(page.get_by_role("status")).to_contain_text("Kontrahent został usunięty.")
            expect(page.locator('[data-test="counterparty-row"]', has_text=name)).to_have_count(0)
        finally:
            browser.close()
