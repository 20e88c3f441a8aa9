"""End to end in a real browser: an admin edits a contract template from the settings index
(a wrong placeholder is refused at the field, the preview shows the change, saving makes
version 2); a client then makes a contract from it through "New contract" (a wrong PESEL is
refused at its field) and downloads its PDF, which carries the edited clause and both
signature lines."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pypdf
import pytest

pytestmark = pytest.mark.browser


def test_admin_edits_a_template_and_a_client_makes_a_contract_and_downloads_it(
    demo_server: Any, chromium_path: Path, chromium_args: list[str]
) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium_path), args=chromium_args)
        try:
            admin = browser.new_context(locale="pl-PL").new_page()
            demo_server.sign_in(admin, "admin@demo.pl", language="pl")
            admin.get_by_role("link", name="Ustawienia", exact=True).click()
            admin.get_by_role("link", name="Wzory umów").click()
            expect(admin.get_by_role("heading", level=1)).to_have_text("Wzory umów")
            expect(admin.locator('[data-test="template-row"]')).to_have_count(4)
            admin.get_by_role("link", name="Umowa o dzieło", exact=True).click()
            body = admin.locator('textarea[name="body"]')
            original = body.input_value()
            # The session's demo server is shared: count from what is there now.
            versions = admin.locator('[data-test="versions"] li').count()
            assert "§ 1. Przedmiot umowy" in original

            body.fill(original.replace("{{ contract.subject }}", "{{ contract.salary }}"))
            admin.locator('[data-test="save-template"]').click()
            expect(admin.locator('[data-error-for="body"]')).to_contain_text("Nieznane pole")
            expect(admin.locator('[data-error-for="body"]')).to_contain_text("salary")

            body = admin.locator('textarea[name="body"]')
            body.fill(original.replace("§ 1. Przedmiot umowy", "§ 1. Przedmiot zamówienia"))
            admin.locator('[data-test="preview-template"]').click()
            expect(admin.locator('[data-test="contract-text"]')).to_contain_text(
                "§ 1. Przedmiot zamówienia"
            )
            admin.locator('[data-test="save-template"]').click()
            saved = f"Wzór zapisano (wersja {versions + 1})."
            expect(admin.get_by_role("status")).to_contain_text(saved)
            expect(admin.locator('[data-test="versions"] li')).to_have_count(versions + 1)

            client = browser.new_context(locale="pl-PL", accept_downloads=True).new_page()
            demo_server.sign_in(client, "client@demo.pl", language="pl")
            client.get_by_role("link", name="Nowa umowa", exact=True).click()
            expect(client.get_by_role("heading", level=1)).to_have_text("Nowa umowa")
            client.locator('select[name="template_id"]').select_option(
                label="Umowa o dzieło (Umowa o dzieło, pl)"
            )
            client.locator('[name="contractor.name"]').fill("Zofia Źdźbło")
            client.locator('[name="contractor.pesel"]').fill("44051401358")
            client.locator('[name="contractor.address"]').fill("ul. Łąkowa 5")
            client.locator('[name="contractor.postal_code"]').fill("30-001")
            client.locator('[name="contractor.city"]').fill("Kraków")
            client.locator('[name="subject"]').fill("Ilustracje do katalogu")
            client.locator('[name="date_from"]').fill("2026-12-01")
            client.locator('[name="date_to"]').fill("2026-12-20")
            client.locator('[name="amount"]').fill("1 200,00")
            client.locator('[name="copyright_transfer"]').check()
            client.locator('[name="foe_recording"]').check()
            client.locator('[data-test="create-contract"]').click()
            expect(client.locator('[data-error-for="contractor.pesel"]')).to_have_text(
                "To nie jest prawidłowy numer PESEL."
            )
            expect(client.locator('[name="contractor.name"]')).to_have_value("Zofia Źdźbło")

            client.locator('[name="contractor.pesel"]').fill("44051401359")
            client.locator('[data-test="create-contract"]').click()
            expect(client).to_have_url(re.compile(r"/contracts/\d+$"))
            contract_id = client.url.rsplit("/", 1)[1]
            text = client.locator('[data-test="contract-text"]')
            expect(text).to_contain_text("§ 1. Przedmiot zamówienia")
            expect(text).to_contain_text("Zofia Źdźbło")
            expect(text).to_contain_text("1 200,00 PLN")
            expect(client.locator('[data-test="signatures"]')).to_contain_text("Wykonawca")

            with client.expect_download() as download_info:
                client.locator('[data-test="contract-pdf"]').click()
            pdf_path = download_info.value.path()
            reader = pypdf.PdfReader(io.BytesIO(Path(pdf_path).read_bytes()))
            printed = re.sub(r"\s+", " ", " ".join(p.extract_text() for p in reader.pages))
            assert "§ 1. Przedmiot zamówienia" in printed
            assert "Zofia Źdźbło" in printed and "PESEL 44051401359" in printed
            assert re.search(r"\.{40,} Zamawiający", printed)
            assert re.search(r"\.{40,} Wykonawca Zofia Źdźbło", printed)

            menu = client.get_by_role("navigation", name="Menu główne")
            menu.get_by_role("link", name="Umowy", exact=True).click()
            mine = client.locator(f'[data-test="contract-row"][data-id="{contract_id}"]')
            expect(mine).to_have_count(1)
        finally:
            browser.close()
