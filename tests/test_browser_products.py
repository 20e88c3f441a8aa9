"""End to end in a real browser: a client opens *Produkty i usługi* from the menu, adds a legal
advice service with GTU_12 and the TP marker chosen from the lists (a price that is no number is
refused at its field, nothing saved), sees it in the list, changes it, and reads the page in
English."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser


def test_a_client_adds_and_edits_a_product_with_jpk_markers(
    demo_server: Any, chromium_path: Path, chromium_args: list[str]
) -> None:
    from playwright.sync_api import expect, sync_playwright

    name = "Opinia prawna (test przeglądarki)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium_path), args=chromium_args)
        try:
            page = browser.new_context(locale="pl-PL").new_page()
            demo_server.sign_in(page, "client@demo.pl", language="pl")

            page.get_by_role("link", name="Produkty i usługi", exact=True).click()
            expect(page).to_have_url(f"{demo_server.url}products")
            expect(page.get_by_role("heading", level=1)).to_have_text("Produkty i usługi")
            page.get_by_role("link", name="Nowy produkt").click()

            page.get_by_label("Nazwa").fill(name)
            page.get_by_label("Jednostka").fill("usł.")
            page.get_by_label("Cena netto").fill("dużo")
            page.get_by_label("GTU", exact=True).select_option("GTU_12")
            page.get_by_label("TP", exact=True).check()
            page.get_by_role("button", name="Zapisz").click()
            expect(page.locator('[data-error-for="unit_price"]')).to_have_text("Podaj liczbę.")
            expect(page.get_by_label("Nazwa")).to_have_value(name)

            page.get_by_label("Cena netto").fill("1 500,00")
            page.get_by_role("button", name="Zapisz").click()
            expect(page.get_by_role("status")).to_contain_text("Produkt został zapisany.")
            row = page.locator('[data-test="product-row"]', has_text=name)
            expect(row.locator('[data-test="product-gtu"]')).to_have_text("GTU_12")
            expect(row.locator('[data-test="product-procedures"]')).to_have_text("TP")
            expect(row).to_contain_text(re.compile(r"1\s500,00"))

            row.get_by_role("link", name=name).click()
            expect(page.get_by_label("GTU", exact=True)).to_have_value("GTU_12")
            page.get_by_label("MR_UZ", exact=True).check()
            page.get_by_role("button", name="Zapisz").click()
            row = page.locator('[data-test="product-row"]', has_text=name)
            expect(row.locator('[data-test="product-procedures"]')).to_have_text("TP, MR_UZ")

            page.get_by_role("button", name="English").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Products and services")
        finally:
            browser.close()
