"""End to end in a real browser: the demo's accountant opens Reports from the menu, filters and
groups the sales, sees the table's totals and the chart, and exports the table as XLSX, which
openpyxl reads back with the same rows; then the client's own user, in English."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser


def test_reports_filter_chart_totals_and_xlsx_export(
    demo_server: Any, chromium_path: Path, chromium_args: list[str], tmp_path: Path
) -> None:
    from openpyxl import load_workbook
    from playwright.sync_api import expect, sync_playwright

    url = demo_server.url
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium_path), args=chromium_args)
        try:
            context = browser.new_context(locale="pl-PL", accept_downloads=True)
            page = context.new_page()
            demo_server.sign_in(page, "accountant@demo.pl", language="pl")
            page.get_by_role("link", name="Raporty", exact=True).click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Raporty")

            # A bad date is a field error, not a blank page.
            page.goto(f"{url}reports?date_from=2026-02-30")
            expect(page.locator("#e-date_from")).to_be_visible()

            page.goto(f"{url}reports")
            page.get_by_label("Grupuj według").select_option("client")
            page.get_by_label("Waluta").select_option("PLN")
            page.get_by_role("button", name="Pokaż", exact=True).click()
            rows = page.locator("[data-test=report-row]")
            expect(rows.first).to_be_visible()
            labels = [text.strip() for text in rows.locator("td:first-child").all_inner_texts()]
            assert labels and all(labels)
            grand = page.locator("[data-test=report-total][data-grand='1']")
            expect(grand).to_contain_text("Razem w PLN")

            chart = page.get_by_role("img", name="Kwoty brutto w PLN w grupach")
            expect(chart).to_be_visible()
            bars = chart.locator("g.bar")
            expect(bars).to_have_count(len(labels))
            for index, label in enumerate(labels):
                assert bars.nth(index).get_attribute("data-label") == label

            with page.expect_download() as caught:
                page.get_by_role("button", name="Eksportuj XLSX").click()
            target = tmp_path / caught.value.suggested_filename
            caught.value.save_as(target)
            assert target.suffix == ".xlsx"
            sheet = load_workbook(target).active  # read fully: the file is closed at once
            assert sheet is not None
            cells = [list(row) for row in sheet.iter_rows(values_only=True)]
            assert cells[0][0] == "Klient"
            assert [row[0] for row in cells[1 : 1 + len(labels)]] == labels
            assert cells[-1][0] == "Razem w PLN"
            shown_total = (
                grand.locator("td").last.inner_text().replace("\u00a0", "").replace(" ", "")
            )
            assert f"{cells[-1][-1]:.2f}".replace(".", ",") == shown_total

            # The client's own user sees only its own client, in English.
            english = browser.new_context(locale="pl-PL").new_page()
            demo_server.sign_in(english, "client@demo.pl", language="en")
            english.goto(f"{url}reports?group_by=client")
            expect(english.get_by_role("heading", level=1)).to_have_text("Reports")
            own = english.locator("[data-test=report-row] td:first-child")
            expect(own.first).to_be_visible()
            # One row per currency, all of them the user's own client.
            assert set(own.all_inner_texts()) == {"Kowalski Software sp. z o.o."}
        finally:
            browser.close()
