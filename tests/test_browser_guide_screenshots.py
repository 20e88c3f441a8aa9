"""The guides' screenshots are taken here, by the browser, from the demo: the pages the guides
show exist and render in both languages, and every picture a guide shows is one this test takes.

Run with ``CABINET_UPDATE_SCREENSHOTS=1`` to write them into cabinet-web's help folder (they are
committed, so a guide never shows a page that is not the cabinet's).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
HELP = ROOT / "packages/cabinet-web/src/cabinet_web/help"
SCREENSHOTS = HELP / "screenshots"
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")

#: name -> (demo user, path, heading the page must show: Polish, English)
SHOTS = {
    "client-home": ("client@demo.pl", "/", ("Twoje finanse", "Your money")),
    "client-new-invoice": (
        "client@demo.pl",
        "/documents/new?type=vat_invoice",
        ("Pozycje", "Lines"),
    ),
    "staff-home": ("accountant@demo.pl", "/", ("Wymaga uwagi", "Needs attention")),
}


def _referenced() -> set[str]:
    names = set()
    for guide in HELP.glob("*/*.md"):
        for target in IMAGE.findall(guide.read_text("utf-8")):
            names.add(Path(target).name)
    return names


def test_screenshots_of_the_guides(
    demo_server: Any, chromium_path: Path, chromium_args: list[str], tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    update = os.environ.get("CABINET_UPDATE_SCREENSHOTS") == "1"
    target = SCREENSHOTS if update else tmp_path
    target.mkdir(parents=True, exist_ok=True)
    taken: set[str] = set()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium_path), args=chromium_args)
        try:
            # English first: the demo users keep the language they used last (the session-wide
            # demo server is shared with tests that expect Polish).
            for language, locale in (("en", "en-GB"), ("pl", "pl-PL")):
                for email in sorted({user for user, _, _ in SHOTS.values()}):
                    context = browser.new_context(
                        viewport={"width": 1280, "height": 800}, locale=locale
                    )
                    page = context.new_page()
                    demo_server.sign_in(page, email, language=language)
                    for name, (user, path, headings) in SHOTS.items():
                        if user != email:
                            continue
                        page.goto(demo_server.url.rstrip("/") + path)
                        heading = headings[0] if language == "pl" else headings[1]
                        expect(page.get_by_text(heading, exact=True).first).to_be_visible()
                        file = target / f"{language}-{name}.jpg"
                        page.screenshot(path=str(file), type="jpeg", quality=70)
                        assert file.stat().st_size > 10_000
                        taken.add(file.name)
                    context.close()
        finally:
            browser.close()
    # Every picture in a guide is one this test takes (and so shows the cabinet as it is).
    assert _referenced() <= taken, _referenced() - taken
    if not update:
        committed = {path.name for path in SCREENSHOTS.glob("*.jpg")}
        assert committed == taken, "run with CABINET_UPDATE_SCREENSHOTS=1 and commit"
