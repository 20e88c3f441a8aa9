"""End to end in a real browser: the demo server, its login page in Polish, the switch to
English, signing in as the demo client and its home page on a 375 px wide phone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser


def test_demo_client_logs_in_and_switches_to_english(
    demo_server: Any, chromium_path: Path, chromium_args: list[str], tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    assert set(demo_server.logins) == {
        "client@demo.pl",
        "manager@demo.pl",
        "accountant@demo.pl",
        "admin@demo.pl",
    }
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium_path), args=chromium_args)
        try:
            context = browser.new_context(
                viewport={"width": 375, "height": 812}, locale="pl-PL", device_scale_factor=2
            )
            page = context.new_page()
            page.goto(demo_server.url)
            expect(page).to_have_url(f"{demo_server.url}login?next=%2F")
            expect(page.locator("html")).to_have_attribute("lang", "pl")
            expect(page.get_by_role("heading", level=1)).to_have_text(
                "Zaloguj się do Panelu Klienta"
            )

            page.get_by_role("button", name="English").click()
            expect(page.locator("html")).to_have_attribute("lang", "en")
            expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to your cabinet")

            page.get_by_label("E-mail").fill("client@demo.pl")
            page.get_by_label("Password").fill(demo_server.logins["client@demo.pl"])
            page.get_by_role("button", name="Sign in", exact=True).click()

            expect(page).to_have_url(demo_server.url)
            expect(page.locator("html")).to_have_attribute("lang", "en")
            expect(page.get_by_role("heading", level=1)).to_have_text(
                "Kowalski Software sp. z o.o."
            )
            expect(page.get_by_role("heading", name="Quick links")).to_be_visible()
            expect(page.get_by_role("heading", name="News")).to_be_visible()
            expect(page.get_by_role("button", name="Sign out")).to_be_visible()
            # Nothing is wider than the phone: no sideways scrolling on a 375 px screen.
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 375
            shot = tmp_path / "home-375.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
        finally:
            browser.close()
