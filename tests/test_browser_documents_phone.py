"""On a 375 px phone the documents list comes first (its filters wait behind a button), status
badges never break inside a word, and the demo shows no example plugin; on a wide screen the
filters are open. In a real browser against ``cabinet demo``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

#: For every status badge: does any of its words run over two lines? A word split by the page's
#: ``overflow-wrap: anywhere`` has more than one client rectangle.
BROKEN_WORDS = """
() => {
  const broken = [];
  for (const badge of document.querySelectorAll(".status")) {
    const node = badge.firstChild;
    if (!node || node.nodeType !== Node.TEXT_NODE) continue;
    const text = node.textContent;
    let start = 0;
    for (const word of text.split(" ")) {
      const range = document.createRange();
      range.setStart(node, start);
      range.setEnd(node, start + word.length);
      const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
      if (word && lines.size > 1) broken.push(word);
      start += word.length + 1;
    }
  }
  return broken;
}
"""


def test_phone_list_first_badges_whole_and_no_example_plugin(
    demo_server: Any, chromium_path: Path, chromium_args: list[str], tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium_path), args=chromium_args)
        try:
            phone = browser.new_context(
                viewport={"width": 375, "height": 812}, locale="pl-PL", device_scale_factor=2
            )
            page = phone.new_page()
            demo_server.sign_in(page, "client@demo.pl", language="pl")
            expect(page.get_by_role("heading", level=1)).to_be_visible()
            # cabinet-hello is installed, but the demo leaves the example out.
            assert "Pozdrowienia od wtyczki cabinet-hello" not in page.content()
            assert page.get_by_role("link", name="Pełnomocnictwa").count() == 0

            page.goto(f"{demo_server.url}documents")
            panel = page.locator("[data-test=filters-panel]")
            expect(panel).not_to_have_attribute("open", "")
            expect(page.locator("#f-search")).to_be_hidden()
            rows = page.locator("[data-test=document-row]")
            expect(rows.first).to_be_visible()
            page.screenshot(path=str(tmp_path / "documents-375.png"), full_page=True)
            first = rows.first.bounding_box()
            assert first is not None and first["y"] < 812, first  # on the first screen
            assert page.evaluate(BROKEN_WORDS) == []
            assert page.evaluate("document.documentElement.scrollWidth") <= 375

            page.locator("[data-test=filters-toggle]").click()
            expect(page.locator("#f-search")).to_be_visible()
            page.fill("#f-search", "FV")
            page.click("[data-test=filter]")
            # Filtered, the list still comes first and the button counts the active filter.
            expect(page.locator("[data-test=active-filters]")).to_have_text("1")
            expect(page.locator("#f-search")).to_be_hidden()

            wide = browser.new_context(viewport={"width": 1280, "height": 900}, locale="pl-PL")
            desk = wide.new_page()
            demo_server.sign_in(desk, "client@demo.pl", language="pl")
            desk.goto(f"{demo_server.url}documents")
            expect(desk.locator("#f-search")).to_be_visible()
            assert desk.evaluate(BROKEN_WORDS) == []
        finally:
            browser.close()
