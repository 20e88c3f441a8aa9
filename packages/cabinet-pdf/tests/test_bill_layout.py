"""A printed bill: the calculation from the gross to the payout (poland.md §5.2 A), the amount
due in figures and words, the declarations and the signature lines."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date

import attrs
import pytest
from cabinet_core.app import Cabinet
from cabinet_core.entities import Client, Document, Party
from cabinet_pdf.renderer import PdfRenderer
from pypdf import PdfReader

BILL_EXTRA = {
    "contract_number": "UM/1/2026",
    "contract_date": "2026-11-01",
    "contract_kind": "zlecenie",
    "contract_amount": "1000.00",
    "contractor_pesel": "44051401359",
    "tax_office": "Urząd Skarbowy Łódź-Bałuty",
    "contractor_account": "PL61109010140000071219812874",
    "period_from": "2026-11-02",
    "period_to": "2026-11-30",
    "gross_amount": "1000.00",
    "sickness_insurance": True,
}

#: Born on 1 March 2004: under 26 all of 2026 (the under-26 rules follow the PESEL's age).
YOUNG_PESEL = "04230101234"


@pytest.fixture
def bill(cabinet: Cabinet, invoice: Document) -> Document:
    document = attrs.evolve(
        invoice,
        doc_type="bill",
        number="R/3/2026",
        lines=(),
        due_date=None,
        bank_account=None,
        notes="",
        buyer=Party(name="Jan Kowalski"),
        extra=BILL_EXTRA,
    )
    # What saving computes (the breakdown), then the totals the saved bill carries.
    return computed(cabinet, document)


def computed(cabinet: Cabinet, document: Document) -> Document:
    """The bill as saving leaves it: defaults filled, the breakdown computed, its totals."""
    bill_type = cabinet.document_type("bill")
    extra = bill_type.normalise_extra(document.extra)  # type: ignore[attr-defined]
    document = attrs.evolve(document, extra=extra)
    document = bill_type.derive(document, cabinet.settings)  # type: ignore[attr-defined]
    return attrs.evolve(document, totals=cabinet.documents.preview_totals(document))


def text_of(
    cabinet: Cabinet,
    bill: Document,
    client: Client,
    language: str,
    pdf_text: Callable[[bytes], str],
) -> str:
    rendered = PdfRenderer().render(cabinet, bill, client=client, template=None, language=language)
    return pdf_text(rendered.content)


def test_polish_bill_prints_the_calculation_and_702_24_due(
    cabinet: Cabinet, bill: Document, client: Client, pdf_text: Callable[[bytes], str]
) -> None:
    text = text_of(cabinet, bill, client, "pl", pdf_text)
    flat = " ".join(text.split())
    assert "Rachunek" in text
    assert "Zamawiający\nWykonawca" in text and "Jan Kowalski" in text
    assert "PESEL wykonawcy: 44051401359" in flat
    assert "Numer umowy: UM/1/2026" in flat
    for row in (
        "Wynagrodzenie brutto\n1 000,00 PLN",
        "− Składka emerytalna (9,76%)\n97,60 PLN",
        "− Składka rentowa (1,5%)\n15,00 PLN",
        "− Składka chorobowa (2,45%)\n24,50 PLN",
        "Razem składki społeczne\n137,10 PLN",
        "− Składka zdrowotna (9%)\n77,66 PLN",
        "Koszty uzyskania przychodu (20%)\n172,58 PLN",
        "Podstawa opodatkowania\n690,00 PLN",
        "− Zaliczka na podatek dochodowy\n83,00 PLN",
        "Do wypłaty\n702,24 PLN",
        "Koszt łączny\n1 179,30 PLN",
    ):
        assert row in text, row
    assert "Do zapłaty: 702,24 PLN" in text
    assert "Słownie: siedemset dwa złote 24/100" in text
    assert "Oświadczenia wykonawcy: Uczeń lub student poniżej 26 lat: nie" in flat
    assert "Dobrowolne ubezpieczenie chorobowe: tak" in flat
    assert "Złożony PIT-2: nie" in flat
    assert "podpis wykonawcy" in text
    assert "zatwierdzono do wypłaty (zamawiający)" in text


@pytest.mark.parametrize("language", ["pl", "en", "pl+en"])
def test_a_bill_fits_one_page(
    cabinet: Cabinet, bill: Document, client: Client, language: str
) -> None:
    rendered = PdfRenderer().render(cabinet, bill, client=client, template=None, language=language)
    assert len(PdfReader(io.BytesIO(rendered.content)).pages) == 1


def test_english_bill(
    cabinet: Cabinet, bill: Document, client: Client, pdf_text: Callable[[bytes], str]
) -> None:
    text = text_of(cabinet, bill, client, "en", pdf_text)
    assert "Bill" in text
    assert "Income tax advance\n83.00 PLN" in text
    assert "To pay out\n702.24 PLN" in text
    assert "Total due: 702.24 PLN" in text
    assert "contractor's signature" in text


def test_a_flat_tax_and_an_exempt_bill_say_so(
    cabinet: Cabinet, bill: Document, client: Client, pdf_text: Callable[[bytes], str]
) -> None:
    small = computed(
        cabinet,
        attrs.evolve(
            bill, extra={**BILL_EXTRA, "contract_amount": "200.00", "gross_amount": "200.00"}
        ),
    )
    text = text_of(cabinet, small, client, "pl", pdf_text)
    assert "− Zryczałtowany podatek (12%)\n24,00 PLN" in text
    assert "Do zapłaty: 133,05 PLN" in text
    young = computed(
        cabinet,
        attrs.evolve(
            bill, extra={**BILL_EXTRA, "student_under_26": True, "contractor_pesel": YOUNG_PESEL}
        ),
    )
    text = text_of(cabinet, young, client, "pl", pdf_text)
    assert "Podatek: zwolnienie (ulga dla młodych)\n0,00 PLN" in text
    assert "Do zapłaty: 1 000,00 PLN" in text


def test_a_bill_crossing_both_yearly_caps_prints_the_split(
    cabinet: Cabinet, bill: Document, client: Client, pdf_text: Callable[[bytes], str]
) -> None:
    # By hand: base 600.00 left of the 282 600.00 cap → pension 58.56, disability 9.00,
    # sickness 24.50 = 92.06; health 907.94 × 9 % = 81.71; 500.00 left of the 85 528.00 limit
    # → 500.00 taxed, carrying 46.03 of the contributions; costs 90.79 (of 90.794); base
    # 363.18 → 363; tax 43.56 → 44; net 1 000 − 92.06 − 81.71 − 44 = 782.23.
    extra = {
        **BILL_EXTRA,
        "under_26": True,
        "contractor_pesel": YOUNG_PESEL,
        "exempt_income_elsewhere": "85028.00",
        "pension_base_elsewhere": "282000.00",
    }
    crossing = computed(cabinet, attrs.evolve(bill, extra=extra))
    text = text_of(cabinet, crossing, client, "pl", pdf_text)
    for row in (
        "Przychód zwolniony wcześniej w roku\n85 028,00 PLN",
        "Podstawa składek emerytalnej i rentowej wcześniej w roku\n282 000,00 PLN",
        "Podstawa składek emerytalnej i rentowej (limit roczny)\n600,00 PLN",
        "− Składka emerytalna (9,76%)\n58,56 PLN",
        "Przychód zwolniony (ulga dla młodych)\n500,00 PLN",
        "Koszty uzyskania przychodu (20%)\n90,79 PLN",
        "− Zaliczka na podatek dochodowy\n44,00 PLN",
        "Do wypłaty\n782,23 PLN",
    ):
        assert row in text, row
    english = text_of(cabinet, crossing, client, "en", pdf_text)
    assert "Income exempt (young person's relief)\n500.00 PLN" in english
    for language in ("pl", "en"):
        reader = PdfReader(io.BytesIO(render_pdf(cabinet, crossing, client, language)))
        assert len(reader.pages) == 1, language
    # Bilingual, the five extra rows push the signatures to a second page, kept together there.
    reader = PdfReader(io.BytesIO(render_pdf(cabinet, crossing, client, "pl+en")))
    assert len(reader.pages) <= 2
    last = reader.pages[-1].extract_text()
    assert "podpis wykonawcy" in last and "zatwierdzono do wypłaty" in last


def render_pdf(cabinet: Cabinet, bill: Document, client: Client, language: str) -> bytes:
    return (
        PdfRenderer().render(cabinet, bill, client=client, template=None, language=language).content
    )


def test_a_bill_paid_after_the_26th_birthday_prints_why_the_declarations_did_not_apply(
    cabinet: Cabinet, bill: Document, client: Client, pdf_text: Callable[[bytes], str]
) -> None:
    extra = {
        **BILL_EXTRA,
        "student_under_26": True,
        "contractor_pesel": "00312001238",  # born 20 November 2000
    }
    late = computed(cabinet, attrs.evolve(bill, issue_date=date(2026, 11, 30), extra=extra))
    text = " ".join(text_of(cabinet, late, client, "pl", pdf_text).split())
    assert (
        "Wykonawca ukończył(a) 26 lat 2026-11-20: wypłata z 2026-11-30 nie korzysta z ulgi" in text
    )
    assert "od wypłaty z 2026-11-30 należą się składki ZUS i zdrowotna." in text
    english = " ".join(text_of(cabinet, late, client, "en", pdf_text).split())
    assert "The contractor turned 26 on 2026-11-20: pay received on 2026-11-30 gets no" in english
