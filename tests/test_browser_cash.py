"""End to end in a real browser: a client opens a cash desk's report from the menu, adds a KP and
a KW inline (a KW too large is refused at its amount), changes the KP in place, closes the report
and downloads the KP, the KW and the report as PDF (amounts in words, signature lines,
sporządził / zatwierdził), in Polish and then in English; the next report carries the closing
balance and the KP/KW numbers go on through the year."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

pytestmark = pytest.mark.browser


def _pdf_text(path: str) -> str:
    with open(path, "rb") as handle:
        reader = PdfReader(io.BytesIO(handle.read()))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def _entry(page: Any, kind: str, day: str, party: str, title: str, amount: str) -> None:
    row = page.locator('[data-test="cash-new-entry"]')
    row.locator('[data-test="entry-kind"]').select_option(kind)
    row.locator('[data-test="entry-date"]').fill(day)
    row.locator('[data-test="entry-party"]').fill(party)
    row.locator('[data-test="entry-title"]').fill(title)
    row.locator('[data-test="entry-amount"]').fill(amount)
    row.locator('[data-test="entry-add"]').click()


def test_a_client_keeps_a_cash_report_with_kp_and_kw(
    demo_server: Any, chromium_path: Path, chromium_args: list[str]
) -> None:
    from playwright.sync_api import expect, sync_playwright

    url = demo_server.url
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium_path), args=chromium_args)
        try:
            context = browser.new_context(locale="pl-PL", accept_downloads=True)
            page = context.new_page()
            demo_server.sign_in(page, "client@demo.pl", language="pl")

            page.get_by_role("link", name="Kasy", exact=True).click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Kasy")
            page.get_by_label("Nazwa").fill("Kasa główna")
            page.get_by_label("Symbol (kończy numery, np. KASA)").fill("KASA")
            page.get_by_role("button", name="Dodaj kasę").click()
            expect(page.get_by_role("heading", level=1)).to_contain_text("Kasa główna")

            page.get_by_label("Okres od").fill("2026-11-01")
            page.get_by_label("Okres do").fill("2026-11-30")
            page.get_by_label("Saldo początkowe (pierwszy raport kasy)").fill("100,00")
            page.get_by_role("button", name="Otwórz raport").click()
            expect(page.locator('[data-test="cash-report-number"]')).to_have_text("RK/1/2026/KASA")
            expect(page.locator('[data-test="cash-report-status"]')).to_have_text("Otwarty")

            _entry(page, "KP", "2026-11-02", "Jan Nowak", "Wpłata do kasy", "500,00")
            expect(page.locator('[data-test="cash-entry"]')).to_have_count(1)
            # A payment larger than the cash in the desk is refused at its amount.
            _entry(page, "KW", "2026-11-03", "Sklep Papier", "Papier", "700,00")
            new_row = page.locator('[data-test="cash-new-entry"]')
            expect(new_row.locator('[data-error-for="amount"]')).to_contain_text("poniżej zera")
            new_row.locator('[data-test="entry-amount"]').fill("250,00")
            new_row.locator('[data-test="entry-add"]').click()
            entries = page.locator('[data-test="cash-entry"]')
            expect(entries).to_have_count(2)
            expect(page.locator('[data-test="closing-balance"]')).to_contain_text("350,00")

            # Change the KP in place: the running balance follows.
            kp = page.locator('[data-test="cash-entry"][data-number="KP/1/2026/KASA"]')
            kp.locator('[data-test="entry-amount"]').fill("450,00")
            kp.locator('[data-test="entry-save"]').click()
            expect(page.locator('[data-test="closing-balance"]')).to_contain_text("300,00")

            page.locator('[data-test="transition-close"]').click()
            expect(page.locator('[data-test="cash-report-status"]')).to_have_text("Zamknięty")
            expect(page.locator('[data-test="entry-add"]')).to_have_count(0)
            expect(page.locator('[data-test="prepared-by"]')).to_have_text("Jan Kowalski")

            with page.expect_download() as polish:
                page.locator('[data-test="slip-pdf-KW"]').click()
            assert polish.value.suggested_filename == "KW_1_2026_KASA.pdf"
            text = _pdf_text(str(polish.value.path()))
            assert "KW — Kasa wyda" in text and "dwieście pięćdziesiąt złotych 00/100" in text
            assert "Kasjer" in text and "Otrzymałem (odbiorca)" in text  # signature lines
            with page.expect_download() as receipt:
                page.locator('[data-test="slip-pdf-KP"]').click()
            text = _pdf_text(str(receipt.value.path()))
            assert "KP — Kasa przyjmie" in text and "KP/1/2026/KASA" in text
            assert "czterysta pięćdziesiąt złotych 00/100" in text and "Wpłacający" in text
            with page.expect_download() as raport:
                page.locator('[data-test="cash-report-pdf"]').click()
            text = _pdf_text(str(raport.value.path()))
            assert "Raport kasowy RK/1/2026/KASA" in text
            assert "Stan kasy z poprzedniego raportu" in text and "100,00" in text
            assert "Stan kasy na koniec okresu" in text and "300,00" in text
            assert "Sporządził" in text and "Zatwierdził" in text and "Jan Kowalski" in text

            page.get_by_role("button", name="English").click()
            expect(page.get_by_role("heading", level=1)).to_contain_text("Cash report")
            expect(page.locator('[data-test="cash-report-status"]')).to_have_text("Closed")
            with page.expect_download() as english:
                page.locator('[data-test="slip-pdf-KW"]').click()
            text = _pdf_text(str(english.value.path()))
            assert "KW — Cash payment" in text and "two hundred fifty PLN 00/100" in text
            with page.expect_download() as report:
                page.locator('[data-test="cash-report-pdf"]').click()
            text = _pdf_text(str(report.value.path()))
            assert "Cash report RK/1/2026/KASA" in text
            assert "Prepared by" in text and "Approved by" in text

            # The next report carries the closing balance (no balance to type) and the KP/KW
            # numbers go on through the year.
            page.goto(f"{url}cash")
            page.locator('[data-test="cash-desk-KASA"]').click()
            expect(page.get_by_label("Opening balance (the desk's first report)")).to_have_count(0)
            page.get_by_label("Period from").fill("2026-12-01")
            page.get_by_label("Period to").fill("2026-12-31")
            page.get_by_role("button", name="Open the report").click()
            expect(page.locator('[data-test="cash-report-number"]')).to_have_text("RK/2/2026/KASA")
            expect(page.locator('[data-test="opening-balance"]')).to_contain_text("300.00")
            _entry(page, "KP", "2026-12-02", "Jan Nowak", "Second deposit", "20.00")
            expect(
                page.locator('[data-test="cash-entry"][data-number="KP/2/2026/KASA"]')
            ).to_have_count(1)
            expect(page.locator('[data-test="closing-balance"]')).to_contain_text("320.00")
        finally:
            browser.close()
