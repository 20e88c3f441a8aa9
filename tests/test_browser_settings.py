"""End to end in a real browser: an admin finds the plugins' settings pages from the menu
(the ``settings_pages`` hook), in Polish and in English."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser


def test_an_admin_reaches_the_bitrix24_settings_from_the_menu(
    demo_server: Any, chromium_path: Path, chromium_args: list[str]
) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium_path), args=chromium_args)
        try:
            page = browser.new_context(locale="pl-PL").new_page()
            demo_server.sign_in(page, "admin@demo.pl", language="pl")

            page.get_by_role("link", name="Ustawienia", exact=True).click()
            expect(page).to_have_url(f"{demo_server.url}settings")
            expect(page.get_by_role("heading", level=1)).to_have_text("Ustawienia")

            page.get_by_role("link", name="Połączenie z Bitrix24").click()
            expect(page).to_have_url(f"{demo_server.url}settings/bitrix24")
            expect(page.get_by_role("heading", level=1)).to_have_text("Połączenie z Bitrix24")

            page.get_by_role("button", name="English").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Bitrix24 connection")
        finally:
            browser.close()
