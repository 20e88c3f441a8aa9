"""Every element art. 106e requires (poland.md §2.1), per document type, language and template,
read back from the PDF with pypdf; the statutory markers; the two templates' different looks."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import attrs
import pytest
from cabinet_core.entities import DocumentLine, ExchangeRate, Party
from cabinet_core.vat import compute_correction
from cabinet_pdf.labels import MARKERS, statutory
from pypdf import PdfReader
from pypdf.generic import ContentStream
from reportlab.lib.pagesizes import A4

LANGUAGES = ("pl", "en", "pl+en")
TEMPLATES = ("classic", "modern")

#: What each language prints for the elements every invoice-like document shares.
COMMON = {
    "pl": {
        "issue_date": "Data wystawienia: 2026-11-27",
        "sale_date": "Data sprzedaży: 2026-11-26",
        "seller": "Sprzedawca",
        "buyer": "Nabywca",
        "nip": "NIP: ",
        "net": "1 234,56",
        "vat_23": "283,95",
        "net_5": "25,00",
        "vat_5": "1,25",
        "quantity": "2,5",
        "head": "Nazwa towaru lub usługi",
        "unit_head": "J.m.",
        "price_head": "Cena netto",
        "value_head": "Wartość netto",
        "rate_head": "Stawka VAT",
        "due": "Do zapłaty: 1 544,76 PLN",
        "words": "Słownie: tysiąc pięćset czterdzieści cztery złote 76/100",
    },
    "en": {
        "issue_date": "Issue date: 2026-11-27",
        "sale_date": "Date of sale: 2026-11-26",
        "seller": "Seller",
        "buyer": "Buyer",
        "nip": "Tax ID (NIP): ",
        "net": "1,234.56",
        "vat_23": "283.95",
        "net_5": "25.00",
        "vat_5": "1.25",
        "quantity": "2.5",
        "head": "Description",
        "unit_head": "Unit",
        "price_head": "Net price",
        "value_head": "Net amount",
        "rate_head": "VAT rate",
        "due": "Total due: 1,544.76 PLN",
        "words": "In words: one thousand five hundred forty-four PLN 76/100",
    },
    "pl+en": {
        "issue_date": "Data wystawienia / Issue date: 2026-11-27",
        "sale_date": "Data sprzedaży / Date of sale: 2026-11-26",
        "seller": "Sprzedawca / Seller",
        "buyer": "Nabywca / Buyer",
        "nip": "NIP / Tax ID (NIP): ",
        "net": "1 234,56",
        "vat_23": "283,95",
        "net_5": "25,00",
        "vat_5": "1,25",
        "quantity": "2,5",
        "head": "Nazwa towaru lub usługi / Description",
        "unit_head": "J.m. /",  # the bilingual head wraps
        "price_head": "Cena netto /",
        "value_head": "Wartość netto /",
        "rate_head": "Stawka VAT /",
        "due": "Do zapłaty / Total due: 1 544,76 PLN",
        "words": "In words: one thousand five hundred forty-four PLN 76/100",
    },
}

TITLES = {
    "vat_invoice": {"pl": "Faktura VAT", "en": "VAT invoice", "pl+en": "Faktura VAT / VAT invoice"},
    "proforma": {
        "pl": "FAKTURA PROFORMA",
        "en": "PROFORMA INVOICE",
        "pl+en": "FAKTURA PROFORMA / PROFORMA INVOICE",
    },
    "cost_invoice": {
        "pl": "Faktura kosztowa",
        "en": "Cost invoice",
        "pl+en": "Faktura kosztowa / Cost invoice",
    },
}


def render(cabinet, document, client, language="pl", template="classic"):
    from cabinet_pdf import PdfRenderer

    return PdfRenderer().render(
        cabinet,
        document,
        client=client,
        template=cabinet.templates[template],
        language=language,
    )


def _check_invoice_elements(text: str, language: str, seller: str, buyer: str) -> None:
    words = COMMON[language]
    # pkt 1, 6: issue date; sale date differing from it.
    assert words["issue_date"] in text
    assert words["sale_date"] in text
    # pkt 3-5: both parties' names, addresses and NIPs.
    assert words["seller"] in text and words["buyer"] in text
    for name in (seller, buyer):
        assert name in text
    assert "90-001 Łódź" in text and "ul. Łąkowa 5" in text
    assert "30-001 Kraków" in text and "ul. Źródlana 1" in text
    assert words["nip"] + "5260250274" in text
    assert words["nip"] + "1234563218" in text
    # pkt 7-12: name, unit, quantity, unit net price, net value, rate of each line.
    for head in ("head", "unit_head", "price_head", "value_head", "rate_head"):
        assert words[head] in text, head
    assert "Obsługa księgowa — październik" in text
    assert "Książka „Ćwiczenia”" in text
    assert "usł." in text and words["quantity"] in text
    assert "23%" in text and "5%" in text
    # pkt 13-14: net and VAT per rate; pkt 15: total due, with the amount in words.
    assert f"23%\n{words['net']}\n{words['vat_23']}" in text
    assert f"5%\n{words['net_5']}\n{words['vat_5']}" in text
    assert words["due"] in text
    assert words["words"] in text
    assert "■" not in text  # no missing glyphs


@pytest.mark.parametrize("template", TEMPLATES)
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("doc_type", ["vat_invoice", "proforma"])
def test_sales_documents_print_every_required_element(
    cabinet, client, invoice, pdf_text, doc_type, language, template
):
    document = attrs.evolve(invoice, doc_type=doc_type)
    text = pdf_text(render(cabinet, document, client, language, template).content)
    assert TITLES[doc_type][language] in text
    assert "FV/12/11/2026" in text  # pkt 2
    _check_invoice_elements(text, language, client.name, invoice.buyer.name)
    disclaimer = statutory(
        {"pl": "Dokument nie jest fakturą VAT", "en": "This is not a VAT invoice"}, language
    )
    assert (disclaimer in text) is (doc_type == "proforma")


@pytest.mark.parametrize("template", TEMPLATES)
@pytest.mark.parametrize("language", LANGUAGES)
def test_cost_invoice_summary_prints_the_sellers_invoice(
    cabinet, client, invoice, pdf_text, language, template
):
    supplier = Party(name="Dostawca Żółty Sp.j.", nip="1234563218", address=invoice.buyer.address)
    cost = attrs.evolve(
        invoice,
        doc_type="cost_invoice",
        status="approved",
        number="KOSZT/4/11/2026",
        seller=supplier,
        buyer=None,
        extra={"seller_invoice_number": "F/2026/118", "ksef_number": "5260250274-20261127-ABC"},
    )
    text = pdf_text(render(cabinet, cost, client, language, template).content)
    assert TITLES["cost_invoice"][language] in text
    _check_invoice_elements(text, language, "Dostawca Żółty Sp.j.", client.name)
    # The seller's own number, KSeF number and where the invoice stands.
    assert "F/2026/118" in text and "5260250274-20261127-ABC" in text
    status = {"pl": "Status: Zatwierdzona", "en": "Status: Approved"}
    status["pl+en"] = "Status: Zatwierdzona / Approved"
    assert status[language] in text


CORRECTION_EXTRA = {
    "corrected_number": "FV/3/10/2026",
    "corrected_issue_date": "2026-10-15",
    "corrected_ksef_number": "9999999999-20230908-8BEF280C8D35-4D",
    "reason": "Rabat potransakcyjny",
}


@pytest.mark.parametrize("template", TEMPLATES)
@pytest.mark.parametrize("language", LANGUAGES)
def test_correcting_invoice_prints_the_corrected_invoice_and_both_states(
    cabinet, client, invoice, pdf_text, language, template
):
    lines = (
        DocumentLine(name="Usługa źdźbło", unit_price=Decimal("30.00"), before=True),
        DocumentLine(name="Usługa źdźbło", unit_price=Decimal("16.50")),
    )
    kor = attrs.evolve(
        invoice,
        doc_type="correcting_invoice",
        number="KOR/1/11/2026",
        lines=lines,
        extra=CORRECTION_EXTRA,
    )
    text = pdf_text(render(cabinet, kor, client, language, template).content)
    labels = {
        "pl": ("Faktura korygująca", "Przed korektą", "Po korekcie", "Różnica"),
        "en": ("Correcting invoice", "Before correction", "After correction", "Difference"),
    }
    labels["pl+en"] = tuple(f"{p} / {e}" for p, e in zip(labels["pl"], labels["en"], strict=True))
    title, before, after, difference = labels[language]
    assert title in text
    assert text.index(before) < text.index(after) < text.index(difference)
    reference = {
        "pl": "Faktura korygowana: FV/3/10/2026 z dnia 2026-10-15",
        "en": "Corrected invoice: FV/3/10/2026 of 2026-10-15",
        "pl+en": "Faktura korygowana / Corrected invoice: FV/3/10/2026 z dnia / of 2026-10-15",
    }
    assert reference[language] in text
    assert "9999999999-20230908-8BEF280C8D35-4D" in text
    reason = {
        "pl": "Przyczyna korekty: Rabat potransakcyjny",
        "en": "Reason for the correction: Rabat potransakcyjny",
        "pl+en": "Przyczyna korekty / Reason for the correction: Rabat potransakcyjny",
    }
    # Next to the reference, before the lines, and only once.
    assert reason[language] in text
    assert text.index(reason[language]) < text.index(before)
    assert text.count("Rabat potransakcyjny") == 1
    # Before 30.00/6.90/36.90, after 16.50/3.80/20.30, difference −13.50/−3.10/−16.60 (TV10).
    correction = compute_correction(lines, currency="PLN")
    assert correction.difference.gross == Decimal("-16.60")
    sep = "," if language != "en" else "."
    assert f"23%\n30{sep}00\n6{sep}90\n36{sep}90" in text
    assert f"23%\n16{sep}50\n3{sep}80\n20{sep}30" in text
    assert f"23%\n-13{sep}50\n-3{sep}10\n-16{sep}60" in text
    # The reference fields are printed once, by their own block.
    assert text.count("FV/3/10/2026") == 1


@pytest.mark.parametrize("language", LANGUAGES)
def test_correction_request_names_the_invoice_and_the_correct_content(
    cabinet, client, invoice, pdf_text, language
):
    request = attrs.evolve(
        invoice,
        doc_type="correction_request",
        number="PK/2/2026",
        lines=(),
        seller=Party(name="Dostawca Żółty Sp.j.", nip="1234563218", address=invoice.buyer.address),
        buyer=None,
        extra={
            "kind": "request",
            "original_number": "F/2026/118",
            "original_issue_date": "2026-11-02",
            "original_ksef_number": "9999999999-20230908-76B2B580D4DC-80",
            "original_content": "Nabywca: Zażółć Gęśla",
            "requested_correction": "Nabywca: Zażółć Gęślą Sp. z o.o.",
        },
    )
    assert cabinet.document_type("correction_request").validate(request) == []
    text = pdf_text(render(cabinet, request, client, language).content)
    title = {"pl": "Wniosek o korektę faktury", "en": "Invoice correction request"}
    title["pl+en"] = f"{title['pl']} / {title['en']}"
    assert title[language] in text
    assert "PK/2/2026" in text
    # The seller it is addressed to and the client asking, with NIPs (the client's name also
    # heads the page: the request goes out in its name).
    assert client.name in text[text.index("Dostawca Żółty Sp.j.") :]
    assert "1234563218" in text and "5260250274" in text
    for value in (
        "F/2026/118",
        "2026-11-02",
        "9999999999-20230908-76B2B580D4DC-80",
        "Nabywca: Zażółć Gęśla",
        "Nabywca: Zażółć Gęślą Sp. z o.o.",
    ):
        assert value in text, value
    correct = {"pl": "Treść prawidłowa", "en": "Correct content"}
    correct["pl+en"] = "Treść prawidłowa / Correct content"
    assert correct[language] in text


@pytest.mark.parametrize("language", LANGUAGES)
def test_markers_are_printed_in_the_statutory_words(cabinet, client, invoice, pdf_text, language):
    document = attrs.evolve(
        invoice,
        lines=(
            *invoice.lines,
            DocumentLine(name="Złom stalowy", unit="kg", unit_price=Decimal("2.00"), vat_rate="oo"),
            DocumentLine(name="Szkolenie", unit_price=Decimal("100.00"), vat_rate="zw"),
        ),
        extra={"cash_method": True, "exemption_basis": "art. 43 ust. 1 pkt 29 ustawy"},
    )
    text = pdf_text(render(cabinet, document, client, language).content)
    assert "metoda kasowa" in text
    assert "odwrotne obciążenie" in text
    assert statutory(MARKERS["cash_method"], language) in text
    assert statutory(MARKERS["reverse_charge"], language) in text
    assert "art. 43 ust. 1 pkt 29 ustawy" in text
    # Below the threshold, and without annex-15 goods, no split-payment marker.
    assert "mechanizm podzielonej płatności" not in text
    # The flags are not printed a second time as "yes/no" rows.
    assert "Metoda kasowa\ntak" not in text


def test_markers_are_left_out_when_they_do_not_apply(cabinet, client, invoice, pdf_text):
    text = pdf_text(render(cabinet, invoice, client).content)
    for marker in ("metoda kasowa", "odwrotne obciążenie", "mechanizm podzielonej płatności"):
        assert marker not in text
    assert "Podstawa zwolnienia" not in text


@pytest.mark.parametrize(
    ("price", "annex15", "marked"),
    [
        ("15000.00", True, True),  # 18 450.00 gross > 15 000
        ("12195.12", True, False),  # 14 999.99 gross
        ("15000.00", False, False),  # above, but no annex-15 goods
    ],
)
def test_split_payment_marker_follows_the_rule(
    cabinet, client, invoice, pdf_text, price, annex15, marked
):
    document = attrs.evolve(
        invoice,
        lines=(DocumentLine(name="Stal", unit_price=Decimal(price)),),
        extra={"split_payment": annex15},
    )
    text = pdf_text(render(cabinet, document, client).content)
    assert ("mechanizm podzielonej płatności" in text) is marked


def test_split_payment_threshold_is_in_pln_for_foreign_currencies(
    cabinet, client, invoice, pdf_text
):
    rate = ExchangeRate(
        currency="EUR",
        rate=Decimal("4.30"),
        effective_date=date(2026, 11, 26),
        table_no="229/A/NBP/2026",
    )
    document = attrs.evolve(
        invoice,
        currency="EUR",
        exchange_rate=rate,
        # 3 100.00 EUR gross = 13 330.00 PLN: not above the threshold, though 3 100 < 15 000.
        lines=(DocumentLine(name="Steel", unit_price=Decimal("2520.33")),),
        extra={"split_payment": True},
    )
    text = pdf_text(render(cabinet, document, client, "en").content)
    assert "split payment mechanism" not in text
    bigger = attrs.evolve(document, lines=(DocumentLine(name="Steel", unit_price=Decimal("3000")),))
    # 3 690.00 EUR × 4.30 = 15 867.00 PLN.
    text = pdf_text(render(cabinet, bigger, client, "en").content)
    assert "split payment mechanism (mechanizm podzielonej płatności)" in text


def test_split_payment_words_follow_the_fa3_rule_for_annex_15_lines(
    cabinet, client, invoice, pdf_text
):
    """An annex-15 line marks the invoice without the hand-ticked flag, as P_18A does."""
    document = attrs.evolve(
        invoice,
        lines=(DocumentLine(name="Stal", unit_price=Decimal("15000.00"), annex15=True),),
        extra={},
    )
    text = pdf_text(render(cabinet, document, client).content)
    assert "mechanizm podzielonej płatności" in text


def _operations(content: bytes) -> tuple[set[str], list[tuple[str, list[float]]]]:
    reader = PdfReader(io.BytesIO(content))
    page = reader.pages[0]
    fonts = {str(font["/BaseFont"]) for font in page["/Resources"]["/Font"].values()}
    operations = [
        (operator.decode(), [float(x) for x in operands if isinstance(x, int | float)])
        for operands, operator in ContentStream(page.get_contents(), reader).operations
    ]
    return fonts, operations


def test_the_two_templates_look_different(cabinet, client, invoice, pdf_text):
    classic = render(cabinet, invoice, client, "pl", "classic").content
    modern = render(cabinet, invoice, client, "pl", "modern").content
    assert classic != modern
    # The same words on the page, drawn differently.
    for text in (pdf_text(classic), pdf_text(modern)):
        assert "Obsługa księgowa — październik" in text and "Do zapłaty: 1 544,76 PLN" in text
    classic_fonts, classic_ops = _operations(classic)
    modern_fonts, modern_ops = _operations(modern)
    # Classic sets its headings in a serif face; modern only in sans.
    assert any("DejaVuSerif-Bold" in font for font in classic_fonts)
    assert not any("Serif" in font for font in modern_fonts)
    # Modern paints a full-width band across the top of the page; classic does not.
    width, height = A4

    def band(ops):
        return [
            args
            for op, args in ops
            if op == "re" and args[0] == 0 and abs(args[2] - width) < 0.01 and args[1] > height / 2
        ]

    assert band(modern_ops) and not band(classic_ops)
    # Classic rules its tables (many stroked lines); modern draws far fewer strokes.
    strokes = [sum(1 for op, _ in ops if op == "l") for ops in (classic_ops, modern_ops)]
    assert strokes[0] > 2 * strokes[1]


def test_unknown_or_missing_template_falls_back_to_classic(cabinet, client, invoice):
    from cabinet_core.entities import Template
    from cabinet_pdf import PdfRenderer

    renderer = PdfRenderer()
    classic = render(cabinet, invoice, client, "pl", "classic").content
    plugin_template = Template(key="plugin-own", name="Own", document_types=("vat_invoice",))
    for template in (None, plugin_template):
        other = renderer.render(
            cabinet, invoice, client=client, template=template, language="pl"
        ).content
        assert other == classic
    # Without a template argument the document's own choice counts.
    chosen = attrs.evolve(invoice, template="modern")
    assert (
        renderer.render(cabinet, chosen, client=client, template=None, language="pl").content
        == render(cabinet, invoice, client, "pl", "modern").content
    )
