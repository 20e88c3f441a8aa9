"""The demo's exempt proforma (a zw training) converts to a VAT invoice in the browser: the
proforma carries its exemption basis, so the conversion opens the invoice draft instead of
answering a bare 422 (issue #10 point 7)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser


def test_the_demo_exempt_proforma_converts_in_the_browser(
    demo_server: Any, chromium_path: Path, chromium_args: list[str]
) -> None:
    from playwright.sync_api import expect, sync_playwright

    url = demo_server.url
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium_path), args=chromium_args)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900}, locale="pl-PL")
            demo_server.sign_in(page, "client@demo.pl", language="pl")

            page.goto(f"{url}documents")
            page.get_by_role("link", name="PRO/", exact=False).first.click()
            expect(page.get_by_text("art. 43 ust. 1 pkt 29 lit. c ustawy o VAT")).to_be_visible()
            page.click("[data-test=convert]")
            page.wait_for_url("**/edit")
            expect(page.locator("[name='extra.exemption_basis']")).to_have_value(
                "art. 43 ust. 1 pkt 29 lit. c ustawy o VAT"
            )
        finally:
            browser.close()
