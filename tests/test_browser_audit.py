"""End to end in a real browser: an admin filters the audit log and exports exactly what the
filters show as CSV, then changes the brand colour (a colour too light for white text is
refused at the field) and sees the new one on the page."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser


def test_admin_filters_the_audit_log_exports_it_and_changes_the_brand_colour(
    demo_server: Any, chromium_path: Path, chromium_args: list[str]
) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium_path), args=chromium_args)
        try:
            context = browser.new_context(locale="pl-PL", accept_downloads=True)
            page = context.new_page()
            demo_server.sign_in(page, "admin@demo.pl", language="pl")

            page.get_by_role("link", name="Dziennik zdarzeń", exact=True).click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Dziennik zdarzeń")
            page.get_by_label("Co", exact=True).select_option(label="Zalogowano")
            page.get_by_role("button", name="Pokaż", exact=True).click()
            rows = page.locator('[data-test="audit-row"]')
            expect(rows.first).to_be_visible()
            count = rows.count()
            assert count >= 1
            for index in range(count):
                expect(rows.nth(index)).to_have_attribute("data-action", "login")
            # This very sign-in came from the browser: its address was recorded.
            expect(rows.first.locator('[data-test="audit-ip"]')).to_have_text("127.0.0.1")
            expect(rows.first).to_contain_text("Zalogowano")

            with page.expect_download() as download_info:
                page.locator('[data-test="audit-csv"]').click()
            download = download_info.value
            content = Path(download.path()).read_bytes().decode("utf-8-sig")
            lines = list(csv.reader(io.StringIO(content)))
            assert lines[0][:3] == ["ID", "Kiedy", "Kto"]
            assert len(lines) - 1 == count
            assert {line[6] for line in lines[1:]} == {"login"}

            page.goto(f"{demo_server.url}settings")
            page.get_by_role("link", name="Wygląd firmy").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Wygląd firmy")
            colour = page.get_by_label("Kolor główny (biały tekst na nim)")
            colour.fill("#777777")
            page.locator('[data-test="branding-save"]').click()
            expect(page.locator('[data-error-for="primary_color"]')).to_contain_text("4,5:1")
            page.get_by_label("Kolor główny (biały tekst na nim)").fill("#0b3d2e")
            page.locator('[data-test="branding-save"]').click()
            expect(page.get_by_role("status")).to_contain_text("Zapisano wygląd firmy.")
            expect(page.locator(".topbar")).to_have_css("background-color", "rgb(11, 61, 46)")

            page.goto(f"{demo_server.url}audit?action=branding.update")
            expect(page.locator('[data-test="audit-row"]').first).to_contain_text(
                "Zmieniono wygląd firmy"
            )
        finally:
            browser.close()
