"""The document form's JavaScript in a real browser: lines added and removed in place, a product
picked from the catalogue fills its line, and the totals (with the VAT in PLN at the NBP rate)
follow the typing before anything is saved; the CSP lets only the static script run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser


def test_live_totals_lines_and_catalogue_in_the_browser(
    demo_server: Any, chromium_path: Path, chromium_args: list[str]
) -> None:
    from playwright.sync_api import expect, sync_playwright

    url = demo_server.url
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium_path), args=chromium_args)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900}, locale="pl-PL")
            problems: list[str] = []
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on(
                "console",
                lambda message: (
                    problems.append(message.text)
                    if "Content Security Policy" in message.text
                    else None
                ),
            )
            demo_server.sign_in(page, "client@demo.pl", language="pl")

            page.goto(f"{url}documents/new?type=proforma")
            page.fill("[name=issue_date]", "2026-11-16")
            page.fill("[name=sale_date]", "2026-11-16")
            page.select_option("[name=currency]", "EUR")
            page.fill("[name='lines.0.name']", "Doradztwo")
            page.fill("[name='lines.0.quantity']", "2")
            page.fill("[name='lines.0.unit_price']", "500,00")
            # Enter in a field recalculates; it never presses a line's "Remove".
            page.press("[name='lines.0.unit_price']", "Enter")
            expect(page.locator("tr.line")).to_have_count(1)
            expect(page.locator("[name='lines.0.name']")).to_have_value("Doradztwo")
            # An existing counterparty needs no typing: the party fields step aside.
            fields = page.locator("[data-test=party-fields]")
            expect(fields).to_be_visible()
            page.select_option("[name=counterparty_id]", index=2)  # new, this document, then own
            expect(fields).to_be_hidden()
            page.select_option("[name=counterparty_id]", "new")
            expect(fields).to_be_visible()
            # "Add line" works in place: no reload, the typed values stay.
            page.click("[data-test=add-line]")
            expect(page.locator("tr.line")).to_have_count(2)
            expect(page.locator("[name='lines.0.name']")).to_have_value("Doradztwo")
            # Picking from the catalogue fills the line from the demo client's product.
            page.select_option("[name='lines.1.product_id']", label="Szkolenie stacjonarne")
            expect(page.locator("[name='lines.1.name']")).to_have_value("Szkolenie stacjonarne")
            expect(page.locator("[name='lines.1.unit']")).to_have_value("dzień")
            expect(page.locator("[name='lines.1.vat_rate']")).to_have_value("zw")
            # The server's totals arrive while typing: 1000 EUR at 23 % and 2400 EUR exempt, and
            # the VAT in PLN at the offline NBP rate 4.2512 of the business day before (13.11.2026).
            totals = page.locator("#totals")
            expect(totals.locator("[data-test=total-gross]")).to_contain_text("3630,00")
            expect(totals.locator("[data-test=total-vat]")).to_contain_text("230,00")
            expect(totals.locator("[data-test=total-vat-pln]")).to_contain_text("977,78")
            expect(totals.locator("[data-test=exchange-rate]")).to_contain_text("4,2512")
            expect(totals.locator("[data-test=exchange-rate]")).to_contain_text("13.11.2026")
            # Removing a line updates the totals without a reload.
            page.locator("tr.line").nth(1).locator("[data-test=remove-line]").click()
            expect(page.locator("tr.line")).to_have_count(1)
            expect(totals.locator("[data-test=total-gross]")).to_contain_text("1230,00")
            expect(totals.locator("tr[data-rate=zw]")).to_have_count(0)
            assert page.url.endswith("/documents/new?type=proforma")  # nothing was submitted
            assert problems == []
            # Scripts fall back to default-src 'self': only the static file may run, and it does.
            csp = _csp(page, f"{url}documents/new?type=proforma")
            assert "default-src 'self'" in csp and "script-src" not in csp
            inline = page.locator("script:not([src])")
            expect(inline).to_have_count(0)
        finally:
            browser.close()


def _csp(page: Any, url: str) -> str:
    response = page.request.get(url)
    return str(response.headers.get("content-security-policy", ""))
