"""End to end in a real browser: an admin adds a tax year from the settings index, a wrong
value is shown at its field, the corrected one is in the list; the page in English too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser


def test_an_admin_adds_and_edits_a_tax_year(
    demo_server: Any, chromium_path: Path, chromium_args: list[str]
) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium_path), args=chromium_args)
        try:
            page = browser.new_context(locale="pl-PL").new_page()
            demo_server.sign_in(page, "admin@demo.pl", language="pl")

            page.get_by_role("link", name="Ustawienia", exact=True).click()
            page.get_by_role("link", name="Lata podatkowe").click()
            expect(page).to_have_url(f"{demo_server.url}settings/tax-years")
            expect(page.get_by_role("heading", level=1)).to_have_text("Lata podatkowe")
            expect(page.locator('[data-test="tax-2026-minimum_wage"]')).to_have_text("4806.00")

            page.get_by_label("Rok", exact=True).fill("2030")
            page.get_by_label("Zacznij od parametrów roku").select_option("2026")
            page.get_by_role("button", name="Dodaj", exact=True).click()
            expect(page).to_have_url(f"{demo_server.url}settings/tax-years/2030")
            wage = page.get_by_label("Płaca minimalna (PLN)")
            expect(wage).to_have_value("4806.00")

            wage.fill("-1")
            page.locator('[data-test="tax-year-save"]').click()
            expect(page.locator('[data-error-for="minimum_wage"]')).to_be_visible()
            expect(wage).to_have_attribute("aria-invalid", "true")

            page.get_by_label("Płaca minimalna (PLN)").fill("5000.00")
            page.locator('[data-test="tax-year-save"]').click()
            expect(page).to_have_url(f"{demo_server.url}settings/tax-years")
            expect(page.locator('[data-test="tax-2030-minimum_wage"]')).to_have_text("5000.00")

            page.get_by_role("button", name="English").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Tax years")
            expect(page.get_by_text("Minimum wage (PLN)")).to_be_visible()
            page.get_by_role("button", name="Polski").click()  # the shared demo's users stay Polish
            expect(page.get_by_role("heading", level=1)).to_have_text("Lata podatkowe")
        finally:
            browser.close()
