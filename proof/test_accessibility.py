"""Accessibility: axe-core on every page, and the invoice form by keyboard alone.

A ``cabinet demo`` server (seeded with documents, attachments, chat, cash and contracts) is
crawled in Debian's Chromium as a client user and as an admin: every page reachable by a link
from the home page, one per route (``/documents/7`` stands for every document), in Polish and
English, at a desktop width and at 375 px. axe-core (vendored, ``fixtures/axe-core``) runs on
each with the WCAG 2.0/2.1 A and AA rules; a serious or critical violation fails the suite.

The keyboard walkthrough fills and saves the invoice form without a mouse: the skip link comes
first, removing a line moves the focus to a sensible place instead of losing it, and each
line's error messages are tied to that line's inputs (``aria-describedby``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
AXE = Path(__file__).parent / "fixtures" / "axe-core" / "axe.min.js"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING_IMPACTS = ("serious", "critical")
WIDTHS = {"desktop": 1280, "phone": 375}
#: Enough for every route of either role (the crawl stops there and says so).
MAX_PAGES = 80

# Links that are not pages to check: downloads, files, sign-out, streams.
NOT_PAGES = re.compile(
    r"(/logout|/language|/static/|/api/|\.pdf$|\.xml$|\.csv$|/pdf$|/xml$|/jpk$|/upo$|/download"
    r"|/export|/file$|/events$|/attachments/\d+$|[?&]download=|[?&]format=)"
)


def _shared_fixtures() -> Any:
    """The root test suite's fixtures (the demo server, Chromium) without copying them."""
    spec = importlib.util.spec_from_file_location(
        "cabinet_root_conftest", ROOT / "tests" / "conftest.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_root = _shared_fixtures()
demo_server = _root.demo_server
chromium_path = _root.chromium_path
chromium_args = _root.chromium_args


@pytest.fixture(scope="module")
def axe_source() -> str:
    data = AXE.read_bytes()
    assert hashlib.sha256(data).hexdigest() == AXE_SHA256, "axe.min.js differs from its README"
    return data.decode("utf-8")


@pytest.fixture(scope="module")
def browser(chromium_path: Path, chromium_args: list[str]) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(chromium_path), args=chromium_args
        )
        try:
            yield chromium
        finally:
            chromium.close()


def _sign_in(browser: Any, demo_server: Any, email: str) -> Any:
    # axe is injected as an inline script: the cabinet's CSP would (rightly) refuse it.
    context = browser.new_context(bypass_csp=True, locale="pl-PL")
    page = context.new_page()
    page.goto(f"{demo_server.url}login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", demo_server.logins[email])
    page.locator("form[action='/login'] button[type=submit]").click()
    page.wait_for_url(demo_server.url)
    return page


def _set_language(page: Any, language: str) -> None:
    switch = page.locator(f".language-switch button[value={language}]")
    if switch.get_attribute("aria-pressed") != "true":
        switch.click()
        page.wait_for_load_state()


def route_of(path: str, query: str = "") -> str:
    """The route a page belongs to: numbers stand for any id, and of the query only the
    document type counts (each type has a form of its own)."""
    route = re.sub(r"/\d+(?=/|$)", "/{id}", path)
    kind = re.search(r"(?:^|&)type=(\w+)", query)
    return f"{route}?type={kind.group(1)}" if kind else route


def _crawl(page: Any, base: str) -> list[str]:
    """One path per route reachable by links from the home page, in the order first found."""
    origin = urlsplit(base).netloc
    queue = ["/"]
    routes: dict[str, str] = {}
    while queue and len(routes) < MAX_PAGES:
        path = queue.pop(0)
        parts = urlsplit(path)
        route = route_of(parts.path, parts.query)
        if route in routes:
            continue
        response = page.goto(urljoin(base, path))
        if response is None or response.status != 200:
            continue
        if not (response.headers.get("content-type") or "").startswith("text/html"):
            continue
        routes[route] = path
        hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
        for href in hrefs:
            parts = urlsplit(href)
            if parts.netloc != origin or NOT_PAGES.search(href):
                continue
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if route_of(parts.path, parts.query) not in routes and target not in queue:
                queue.append(target)
    assert len(routes) < MAX_PAGES, "the crawl hit MAX_PAGES: raise it so no route is skipped"
    return list(routes.values())


def _violations(page: Any, axe_source: str) -> list[dict[str, Any]]:
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=axe_source)
    result = page.evaluate(
        """async (tags) => {
            const r = await axe.run(document, {runOnly: {type: 'tag', values: tags},
                                               resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(' ') + ' :: ' + n.failureSummary)}));
        }""",
        WCAG_AA,
    )
    return [v for v in result if v["impact"] in FAILING_IMPACTS]


def _pdf(tmp_path: Path) -> Path:
    """A one-page PDF to attach (the cabinet decides the type by the bytes)."""
    from reportlab.pdfgen import canvas

    path = tmp_path / "skan-faktury.pdf"
    drawing = canvas.Canvas(str(path), invariant=1)
    drawing.drawString(72, 720, "Scan")
    drawing.save()
    return path


def _document_with_a_pdf(page: Any, base: str, tmp_path: Path) -> str:
    """A draft document of the client with a PDF attached: its page shows the PDF preview."""
    page.goto(urljoin(base, "/documents?status=draft"))
    page.locator("table a[href^='/documents/']").first.click()
    page.wait_for_load_state()
    path = urlsplit(page.url).path
    page.set_input_files("[data-test=attachment-form] input[name=file]", str(_pdf(tmp_path)))
    page.locator("[data-test=attachment-form] button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("object.pdf-preview").count() >= 1
    return path


@pytest.mark.parametrize("email", ["client@demo.pl", "admin@demo.pl"])
def test_every_page_has_no_serious_violations(
    browser: Any, demo_server: Any, axe_source: str, email: str, tmp_path: Path
) -> None:
    page = _sign_in(browser, demo_server, email)
    try:
        _set_language(page, "pl")
        paths = _crawl(page, demo_server.url)
        if email.startswith("client"):
            # The crawl's document may have no attachment; this one has a PDF preview.
            paths.append(_document_with_a_pdf(page, demo_server.url, tmp_path))
        assert len(paths) > 5, paths
        found: list[str] = []
        for language in ("pl", "en"):
            _set_language(page, language)
            for label, width in WIDTHS.items():
                page.set_viewport_size({"width": width, "height": 900})
                for path in paths:
                    page.goto(urljoin(demo_server.url, path))
                    for violation in _violations(page, axe_source):
                        nodes = "\n    ".join(violation["nodes"][:5])
                        found.append(
                            f"{path} [{language}, {label}] {violation['impact']} "
                            f"{violation['id']}: {violation['help']}\n    {nodes}"
                        )
        assert not found, f"{len(found)} violations on {len(paths)} pages:\n" + "\n".join(found)
    finally:
        _set_language(page, "pl")
        page.context.close()


def _tab_to(page: Any, selector: str, *, limit: int = 250) -> None:
    """Press Tab until ``selector`` has the focus (the way a keyboard user gets there)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} never got the focus in {limit} presses of Tab")


def _focused(page: Any) -> dict[str, Any]:
    return dict(
        page.evaluate(
            """() => { const e = document.activeElement, row = e.closest('tr.line');
                return {tag: e.tagName, test: e.dataset.test || '', id: e.id || '',
                        name: e.getAttribute('name') || '',
                        row: row ? row.getAttribute('data-index') : null}; }"""
        )
    )


def test_the_invoice_form_by_keyboard_alone(browser: Any, demo_server: Any) -> None:
    page = _sign_in(browser, demo_server, "client@demo.pl")
    try:
        _set_language(page, "pl")
        page.goto(urljoin(demo_server.url, "/documents/new?type=vat_invoice"))

        # The first Tab reaches the skip link; Enter takes the focus past the menus.
        page.keyboard.press("Tab")
        assert _focused(page)["test"] == "skip-link"
        assert page.locator("[data-test=skip-link]").is_visible()
        page.keyboard.press("Enter")
        assert _focused(page)["id"] == "content"

        # Two more lines, added from the keyboard: the focus lands in each new line's name.
        for name in ("Druga usługa", "Trzecia usługa"):
            _tab_to(page, "[data-test=add-line]")
            page.keyboard.press("Enter")
            focused = _focused(page)
            assert focused["name"].endswith(".name"), focused
            page.keyboard.type(name)
        rows = page.locator("tr.line")
        assert rows.count() == 3

        # Removing the middle line keeps the focus in the lines: on the Remove button of the
        # line that took its place, not lost on the page.
        page.focus("tr.line[data-index='0'] [name$='.name']")
        page.keyboard.type("Pierwsza usługa")
        _tab_to(page, "tr.line[data-index='1'] .remove-line")
        page.keyboard.press("Enter")
        assert rows.count() == 2
        focused = _focused(page)
        assert (focused["test"], focused["row"]) == ("remove-line", "2"), focused

        # Save with a bad price on the last line: after the reload every line's message is
        # tied to its input (aria-invalid, aria-describedby naming the message).
        page.focus("tr.line[data-index='2'] [name$='.unit_price']")
        page.keyboard.type("abc")
        page.fill("[name=issue_date]", "2026-11-16")
        _tab_to(page, "[data-test=save]")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        invalid = page.locator("tr.line [aria-invalid=true]")
        messages = page.eval_on_selector_all(
            "[data-error-for]", "ps => ps.map(p => p.dataset.errorFor + ': ' + p.innerText)"
        )
        assert invalid.count() >= 1, messages
        for index in range(invalid.count()):
            control = invalid.nth(index)
            described = control.get_attribute("aria-describedby")
            assert described, control.get_attribute("name")
            message = page.locator(f"[id='{described}']")
            assert message.count() == 1 and message.inner_text().strip()
            # The message sits in the same line as the control it describes.
            assert control.evaluate(
                "(c, id) => c.closest('tr') === document.getElementById(id).closest('tr')",
                described,
            )
    finally:
        page.context.close()
