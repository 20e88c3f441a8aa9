"""The markup the accessibility suite (proof/test_accessibility.py) relies on, checked fast on
the server's HTML: the skip link, the bell's name, the PDF preview's name, each line's errors
tied to its inputs, and a language switch no page shadows."""

from __future__ import annotations

import re

from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor
from starlette.testclient import TestClient
from test_document_form import cost_invoice_form
from test_document_page import cost_invoice
from web_support import World, login


def test_every_page_starts_with_a_skip_link_to_the_content(client_web: TestClient) -> None:
    for path in ("/", "/documents", "/documents/new?type=vat_invoice", "/profile"):
        page = client_web.get(path).text
        body = page.split("<body>", 1)[1].lstrip()
        assert body.startswith('<a class="skip-link" href="#content"'), path
        assert '<main id="content" tabindex="-1">' in page


def test_the_bell_is_named_by_its_text(client_web: TestClient) -> None:
    bell = re.search(r'<a class="bell"[^>]*>(.*?)</a>', client_web.get("/").text, re.S)
    assert bell is not None
    assert "aria-label" not in bell.group(0)  # the name is the text, count included
    assert '<span class="visually-hidden">Powiadomienia</span>' in bell.group(1)


def test_the_pdf_preview_has_a_name(cabinet: Cabinet, client_web: TestClient, world: World) -> None:
    document = cost_invoice(cabinet, world)
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    cabinet.attachments.add(Actor.of(world.client_user), document.id, filename="skan.pdf", data=pdf)
    page = client_web.get(f"/documents/{document.id}").text
    preview = re.search(r"<object [^>]*class=\"pdf-preview\"[^>]*>", page)
    assert preview is not None
    assert 'aria-label="Podgląd pliku skan.pdf"' in preview.group(0)


def test_each_lines_errors_are_tied_to_its_inputs(client_web: TestClient) -> None:
    form = cost_invoice_form(client_web, **{"lines.1.unit_price": "abc", "lines.2.quantity": "x"})
    page = client_web.post("/documents/new?type=cost_invoice", data=form).text
    for field in ("lines.1.unit_price", "lines.2.quantity"):
        control = re.search(rf'<input name="{re.escape(field)}"[^>]*>', page)
        assert control is not None, field
        assert 'aria-invalid="true"' in control.group(0)
        assert f'aria-describedby="e-{field}"' in control.group(0)
        assert f'id="e-{field}"' in page


def test_the_contract_templates_pages_keep_the_language_switch(
    web: TestClient, world: World
) -> None:
    login(web, world.admin.email)
    for path in ("/settings/contract-templates", "/settings/contract-templates/new"):
        page = web.get(path).text
        switch = re.search(r'<form method="post" action="/language".*?</form>', page, re.S)
        assert switch is not None, path
        assert re.findall(r'name="language" value="(\w+)"', switch.group(0)) == ["pl", "en"]
