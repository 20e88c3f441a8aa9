"""What a person reads on the pages: prices, quantities and NBP rates formatted by Babel for the
page's language to their significant decimals (never the stored ``450.000000`` or ``4,251200``),
the history in words (never ``attachment.add``), and status words that agree with the document
type's grammatical gender."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from babel import Locale
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor, Document, DocumentLine, Party
from cabinet_web import numbers
from starlette.testclient import TestClient
from web_support import World, csrf_of

PL, EN = Locale.parse("pl_PL"), Locale.parse("en_GB")


def test_numbers_show_their_significant_decimals_in_each_locale() -> None:
    assert numbers.price(Decimal("450.000000"), PL) == "450,00"
    assert numbers.price(Decimal("0.125000"), EN) == "0.125"
    assert numbers.price(Decimal("1234.5"), PL) == "1\xa0234,50"
    assert numbers.price_money(Decimal("450.000000"), "PLN", PL) == "450,00\xa0zł"
    assert numbers.price_money(Decimal("0.123456"), "EUR", EN) == "€0.123456"
    assert numbers.quantity(Decimal("2.500000"), PL) == "2,5"
    assert numbers.quantity(Decimal("3.000000"), EN) == "3"
    assert numbers.rate(Decimal("4.251200"), PL) == "4,2512"
    assert numbers.rate(Decimal("4.2512"), EN) == "4.2512"
    # What a form field shows is what the form reads back: no grouping separators.
    assert numbers.price_input(Decimal("1234.500000"), PL) == "1234,50"
    assert numbers.quantity_input(Decimal("1.000000"), PL) == "1"
    assert numbers.price(None, PL) == ""


def _eur_cost_invoice(cabinet: Cabinet, world: World) -> Document:
    assert world.client.id is not None
    return cabinet.documents.create(
        Actor.of(world.client_user),
        Document(
            client_id=world.client.id,
            doc_type="cost_invoice",
            currency="EUR",
            issue_date=date(2026, 11, 16),
            receipt_date=date(2026, 11, 17),
            seller=Party(name="Lieferant GmbH", vat_eu="DE136695976"),
            lines=(
                DocumentLine(
                    name="Beratung",
                    quantity=Decimal("2.5"),
                    unit_price=Decimal("450"),
                    vat_rate="23",
                ),
            ),
            extra={"seller_invoice_number": "RE-1"},
        ),
    )


def test_the_document_page_and_form_show_prices_rates_and_quantities_as_people_write_them(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    document = _eur_cost_invoice(cabinet, world)
    page = client_web.get(f"/documents/{document.id}").text.replace("\xa0", " ")
    assert "450,00 €" in page and ">2,5<" in page
    assert "4,2512" in page
    assert not re.search(r"\d[.,]\d{5,}", page), re.findall(r"\d[.,]\d{5,}", page)
    form = client_web.get(f"/documents/{document.id}/edit").text
    assert 'value="450,00"' in form and 'value="2,5"' in form
    assert "450.000000" not in form and "2.500000" not in form
    client_web.post(
        "/language", data={"language": "en", "next": "/", "csrf_token": csrf_of(client_web, "/")}
    )
    english = client_web.get(f"/documents/{document.id}").text
    assert "€450.00" in english and "4.2512" in english and ">2.5<" in english


def test_the_history_is_in_words_with_the_file_name(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    document = _eur_cost_invoice(cabinet, world)
    assert document.id is not None
    actor = Actor.of(world.client_user)
    added = cabinet.attachments.add(actor, document.id, filename="umowa.pdf", data=b"%PDF-1.4 x")
    assert added.id is not None
    cabinet.attachments.delete(actor, added.id)
    page = client_web.get(f"/documents/{document.id}").text
    history = page[page.index('data-test="history"') :]
    cells = re.findall(r'data-label="Co">([^<]*)<', history)
    assert cells[-2:] == ["Dodano załącznik: umowa.pdf", "Usunięto załącznik: umowa.pdf"]
    assert not any(re.fullmatch(r"[a-z_]+\.[a-z_]+", cell.strip()) for cell in cells), cells


def test_status_words_agree_with_the_document_type(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    assert world.client.id is not None
    actor = Actor.of(world.client_user)
    invoice = cabinet.documents.create(
        actor,
        Document(
            client_id=world.client.id,
            doc_type="vat_invoice",
            issue_date=date(2026, 11, 20),
            sale_date=date(2026, 11, 20),
            due_date=date(2026, 12, 4),
            buyer=Party(name="Gamma S.A.", nip="9510000239"),
            lines=(DocumentLine(name="Audyt", unit_price=Decimal("100"), vat_rate="23"),),
        ),
    )
    assert invoice.id is not None
    cabinet.documents.transition(actor, invoice.id, "issue")
    listing = client_web.get("/documents").text
    row = listing[listing.index(f'data-id="{invoice.id}"') :].split("</tr>")[0]
    assert "Faktura VAT" in row and ">Wystawiona<" in row and "Wystawiony" not in row
