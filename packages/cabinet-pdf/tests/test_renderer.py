from __future__ import annotations

import io
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import date, datetime
from decimal import Decimal

import attrs
import pytest
from cabinet_core.default_document_types import BUILT_IN_TYPES
from cabinet_core.entities import DocumentLine, ExchangeRate
from cabinet_core.ksef import FA3_NAMESPACE, document_to_fa3, validate_fa3
from cabinet_core.printing import file_stem, totals_of, view_of
from cabinet_core.rendering import ALL_DOCUMENT_TYPES, Renderer
from cabinet_core.services.documents import party_of_client
from cabinet_core.vat import POLAND_2026, compute_totals
from cabinet_core.words import amount_in_words
from cabinet_pdf.renderer import PdfRenderer
from pypdf import PdfReader

DOCUMENT_TYPES = tuple(document_type.key for document_type in BUILT_IN_TYPES)


def render(cabinet, document, client, language="pl"):
    return PdfRenderer().render(cabinet, document, client=client, template=None, language=language)


def test_is_a_renderer_of_pdf_for_every_document_type(cabinet):
    renderer = PdfRenderer()
    assert isinstance(renderer, Renderer)
    assert renderer.name == "pdf"
    assert renderer.media_type == "application/pdf"
    assert renderer.document_types is ALL_DOCUMENT_TYPES
    for key in (*DOCUMENT_TYPES, "power_of_attorney", "anything_a_plugin_adds"):
        assert key in renderer.document_types
        assert cabinet.renderer_for(key, "application/pdf").name == "pdf"
    # Limited to some types, it handles only those.
    only = PdfRenderer(["vat_invoice"])
    assert "vat_invoice" in only.document_types and "bill" not in only.document_types


def test_polish_invoice_reads_back_with_polish_letters(cabinet, client, invoice, pdf_text):
    rendered = render(cabinet, invoice, client)
    assert rendered.media_type == "application/pdf"
    assert rendered.filename == "FV-12-11-2026.pdf"
    text = pdf_text(rendered.content)
    for expected in (
        "Faktura VAT",
        "Nr FV/12/11/2026",
        "Data wystawienia: 2026-11-27",
        "Data sprzedaży: 2026-11-26",
        "Termin płatności: 2026-12-11",
        "Sprzedawca",
        "Nabywca",
        "Zażółć Gęślą Sp. z o.o.",
        "90-001 Łódź",
        "Jaźń Źródlana S.A.",
        "NIP: 1234563218",
        "Obsługa księgowa — październik",
        "Książka „Ćwiczenia”",
        "1 234,56",
        "2,5",
        "Do zapłaty: 1 544,76 PLN",
        "Słownie: tysiąc pięćset czterdzieści cztery złote 76/100",
        "Sposób płatności: przelew",
        "PL61109010140000071219812874",
        "Dziękujemy za współpracę.",
        # The client's own invoice says whose it is in its footer, not the firm's cabinet.
        "Zażółć Gęślą Sp. z o.o. · ul. Łąkowa 5 · 90-001 Łódź · NIP: 5260250274",
    ):
        assert expected in text, expected
    assert "Kancelaria Łużycka" not in text and "Wystawiono w kabinecie" not in text
    assert "■" not in text
    assert "PROJEKT" not in text


def test_vat_per_rate_rows_match_the_core_totals(cabinet, client, invoice, pdf_text):
    totals = compute_totals(invoice.lines, currency="PLN")
    text = pdf_text(render(cabinet, invoice, client).content)
    # 23%: 1234.56 net, 283.95 VAT, 1518.51 gross; 5%: 25.00, 1.25, 26.25.
    assert "23%\n1 234,56\n283,95\n1 518,51" in text
    assert "5%\n25,00\n1,25\n26,25" in text
    assert f"Razem\n1 259,56\n285,20\n{'1 544,76'}" in text
    assert totals.gross == Decimal("1544.76")


def test_english_and_bilingual_labels(cabinet, client, invoice, pdf_text):
    english = pdf_text(render(cabinet, invoice, client, "en").content)
    assert "VAT invoice" in english
    assert "Total due: 1,544.76 PLN" in english
    assert "In words: one thousand five hundred forty-four PLN 76/100" in english
    assert "Faktura" not in english

    both = pdf_text(render(cabinet, invoice, client, "pl+en").content)
    assert "Faktura VAT / VAT invoice" in both
    assert "Sprzedawca / Seller" in both
    assert "Do zapłaty / Total due: 1 544,76 PLN" in both
    assert "Słownie: tysiąc pięćset czterdzieści cztery złote 76/100" in both
    assert "In words: one thousand five hundred forty-four PLN 76/100" in both


def test_output_is_byte_identical_across_renders(cabinet, client, invoice):
    first = render(cabinet, invoice, client).content
    second = render(cabinet, invoice, client).content
    assert first == second
    changed = attrs.evolve(invoice, notes="Inna uwaga")
    assert render(cabinet, changed, client).content != first


def test_metadata_and_language_tag(cabinet, client, invoice):
    # Written by pypdf's incremental update: read strictly, any structural slip raises.
    reader = PdfReader(io.BytesIO(render(cabinet, invoice, client, "en").content), strict=True)
    assert reader.metadata.title == "VAT invoice FV/12/11/2026"
    assert reader.metadata.author == "Zażółć Gęślą Sp. z o.o."
    assert reader.metadata.subject == "VAT invoice"
    # The client's own invoice names no accounting firm, not even in its metadata.
    assert reader.metadata.creator == "cabinet"
    assert reader.metadata.producer == "cabinet-pdf (reportlab, pypdf)"
    assert reader.root_object["/Lang"] == "en-GB"
    assert set(reader.attachments) == {"FV-12-11-2026.xml"}
    polish = PdfReader(io.BytesIO(render(cabinet, invoice, client, "pl+en").content))
    assert polish.root_object["/Lang"] == "pl-PL"


def test_draft_is_watermarked_in_its_language(cabinet, client, invoice, pdf_text):
    draft = attrs.evolve(invoice, status="draft", number=None)
    rendered = render(cabinet, draft, client)
    assert "PROJEKT" in pdf_text(rendered.content)
    assert rendered.filename == "vat_invoice-7-draft.pdf"
    assert "DRAFT" in pdf_text(render(cabinet, draft, client, "en").content)
    assert "PROJEKT / DRAFT" in pdf_text(render(cabinet, draft, client, "pl+en").content)


def test_missing_totals_are_computed_and_stored_totals_are_printed(cabinet, client, invoice):
    computed, correction = totals_of(invoice, POLAND_2026)
    assert correction is None
    assert computed == compute_totals(invoice.lines, currency="PLN")
    stored = attrs.evolve(computed, gross=Decimal("1544.76"))
    assert totals_of(attrs.evolve(invoice, totals=stored), POLAND_2026)[0] is stored


def test_correcting_invoice_prints_before_after_and_difference(cabinet, client, invoice, pdf_text):
    kor = attrs.evolve(
        invoice,
        doc_type="correcting_invoice",
        number="KOR/1/11/2026",
        lines=(
            DocumentLine(name="Usługa", unit_price=Decimal("30.00"), before=True),
            DocumentLine(name="Usługa", unit_price=Decimal("16.50")),
        ),
    )
    text = pdf_text(render(cabinet, kor, client).content)
    assert "Faktura korygująca" in text
    assert text.index("Przed korektą") < text.index("Po korekcie") < text.index("Różnica")
    # TV10: 30.00/6.90 corrected to 16.50/3.80 states −13.50/−3.10.
    assert "23%\n-13,50\n-3,10\n-16,60" in text
    assert "Do zwrotu: 16,60 PLN" in text
    assert "Słownie: minus szesnaście złotych 60/100" in text


def test_foreign_currency_shows_vat_in_pln_and_the_nbp_rate(cabinet, client, invoice, pdf_text):
    rate = ExchangeRate(
        currency="EUR",
        rate=Decimal("4.5005"),
        effective_date=date(2026, 11, 26),
        table_no="229/A/NBP/2026",
    )
    eur = attrs.evolve(
        invoice,
        currency="EUR",
        exchange_rate=rate,
        lines=(DocumentLine(name="Consulting", unit_price=Decimal("3118.80")),),
    )
    text = pdf_text(render(cabinet, eur, client, "en").content)
    assert "VAT in PLN" in text
    # VAT 717.32 EUR; in PLN it is rounded once: round(3118.80 × 0.23 × 4.5005) = 3228.32.
    assert "3,228.32" in text
    assert "NBP rate: 1 EUR = 4.5005 PLN, 229/A/NBP/2026 (2026-11-26)" in text
    assert "Total due: 3,836.12 EUR" in text
    assert amount_in_words(Decimal("3836.12"), "EUR", "en") in text


def test_proforma_says_it_is_not_a_vat_invoice(cabinet, client, invoice, pdf_text):
    proforma = attrs.evolve(invoice, doc_type="proforma", number="PRO/3/11/2026")
    text = pdf_text(render(cabinet, proforma, client, "pl+en").content)
    assert "FAKTURA PROFORMA / PROFORMA INVOICE" in text
    assert "Dokument nie jest fakturą VAT / This is not a VAT invoice" in text
    english = pdf_text(render(cabinet, proforma, client, "en").content)
    assert "PROFORMA INVOICE" in english
    # The disclaimer keeps the Polish words even on an English proforma.
    assert "This is not a VAT invoice (Dokument nie jest fakturą VAT)" in english
    polish = pdf_text(render(cabinet, proforma, client, "pl").content)
    assert "FAKTURA PROFORMA" in polish
    assert "Dokument nie jest fakturą VAT" in polish
    assert "PROFORMA INVOICE" not in polish


def test_correction_request_before_february_2026_is_a_note(cabinet, client, invoice, pdf_text):
    old = attrs.evolve(invoice, doc_type="correction_request", issue_date=date(2026, 1, 15))
    new = attrs.evolve(invoice, doc_type="correction_request", issue_date=date(2026, 2, 1))
    assert "Nota korygująca" in pdf_text(render(cabinet, old, client).content)
    assert "Wniosek o korektę faktury" in pdf_text(render(cabinet, new, client).content)


def test_cost_invoice_puts_the_client_on_the_buyer_side(cabinet, client, invoice, pdf_text):
    supplier = attrs.evolve(invoice.buyer, name="Dostawca Żółty Sp.j.")
    cost = attrs.evolve(invoice, doc_type="cost_invoice", seller=supplier, buyer=None)
    text = pdf_text(render(cabinet, cost, client).content)
    assert "Faktura kosztowa" in text
    assert text.index("Dostawca Żółty Sp.j.") < text.index("Zażółć Gęślą Sp. z o.o.")


def test_contract_prints_its_fields_with_labels_and_the_remuneration(
    cabinet, client, invoice, pdf_text
):
    contract = attrs.evolve(
        invoice,
        doc_type="contract",
        number="UM/1/2026",
        lines=(),
        extra={
            "contract_kind": "dzielo",
            "subject": "Projekt logo „Żuraw”",
            "date_from": "2026-11-01",
            "rate_type": "lump_sum",
            "amount": "1500.00",
        },
    )
    contract_type = cabinet.document_type("contract")
    assert contract_type.validate(contract) == []
    # As the service stores it: extra fields in their JSON form, defaults filled, totals set.
    contract = attrs.evolve(
        contract,
        extra=contract_type.normalise_extra(contract.extra),
        totals=cabinet.documents.preview_totals(contract),
    )
    text = pdf_text(render(cabinet, contract, client).content)
    assert "Umowa" in text
    assert "Zamawiający\nWykonawca" in text
    assert "Sprzedawca" not in text
    assert "Rodzaj umowy\nUmowa o dzieło" in text
    assert "Przedmiot umowy\nProjekt logo „Żuraw”" in text
    assert "Od\n2026-11-01" in text
    assert "Przeniesienie praw autorskich (KUP\n50%)\nnie" in text  # the label wraps
    assert "Wynagrodzenie: 1 500,00 PLN" in text
    assert "Słownie: tysiąc pięćset złotych 00/100" in text
    assert "Do zapłaty" not in text
    assert "Stawka VAT" not in text


def test_bill_states_the_amount_due_in_words(cabinet, client, invoice, pdf_text):
    bill = attrs.evolve(
        invoice,
        doc_type="bill",
        number="R/3/2026",
        lines=(),
        extra={
            "contract_number": "UM/1/2026",
            "contract_date": "2026-11-01",
            "contract_kind": "zlecenie",
            "gross_amount": "2345.67",
        },
    )
    bill = attrs.evolve(bill, totals=cabinet.documents.preview_totals(bill))
    text = pdf_text(render(cabinet, bill, client, "pl+en").content)
    assert "Rachunek / Bill" in text
    assert "Numer umowy / Contract number: UM/1/2026" in " ".join(text.split())
    assert "Kwota brutto / Gross amount\n2 345,67 PLN" in text
    # Due is the payout after ZUS, health and the PIT advance (test_bill_layout has the rows).
    assert "Do zapłaty / Total due: 1 694,20 PLN" in text
    assert "Słownie: tysiąc sześćset dziewięćdziesiąt cztery złote 20/100" in text


def test_cash_report_lists_operations_and_balances(cabinet, client, invoice, pdf_text):
    report = attrs.evolve(
        invoice,
        doc_type="cash_report",
        number="RK/11/2026",
        lines=(),
        buyer=None,
        extra={
            "cash_desk": "KASA",
            "period_from": "2026-11-01",
            "period_to": "2026-11-30",
            "opening_balance": "100.00",
            "entries": [
                {
                    "date": "2026-11-03",
                    "description": "Wpłata gotówki — sprzedaż",
                    "document_number": "KP 1/2026",
                    "receipt": "250.00",
                },
                {
                    "date": "2026-11-05",
                    "description": "Zakup znaczków",
                    "document_number": "KW 1/2026",
                    "payment": "30.50",
                },
            ],
        },
    )
    report_type = cabinet.document_type("cash_report")
    assert report_type.validate(report) == []
    text = pdf_text(render(cabinet, report, client).content)
    assert "Raport kasowy" in text
    assert "Firma\nZażółć Gęślą Sp. z o.o." in text
    assert "Nabywca" not in text
    assert "Sposób płatności" not in text
    assert "1\n2026-11-03\nWpłata gotówki — sprzedaż\nKP 1/2026\n250,00" in text
    assert "2\n2026-11-05\nZakup znaczków\nKW 1/2026\n30,50" in text
    balance = report_type.balance(report)
    assert balance.closing == Decimal("319.50")
    assert "Stan kasy z poprzedniego raportu\n100,00 PLN" in text
    assert "Przychody\n250,00 PLN" in text
    assert "Rozchody\n30,50 PLN" in text
    assert "Stan kasy na koniec okresu\n319,50 PLN" in text
    assert "Do zapłaty" not in text


def test_list_fields_of_other_types_become_tables(cabinet, client, invoice, pdf_text):
    document = attrs.evolve(
        invoice, extra={"attachments": [{"name": "Protokół odbioru", "pages": 2}]}
    )
    text = pdf_text(render(cabinet, document, client).content)
    assert "Attachments" in text
    assert "Protokół odbioru" in text


def test_long_documents_break_onto_numbered_pages(cabinet, client, invoice):
    many = attrs.evolve(
        invoice,
        lines=tuple(
            DocumentLine(name=f"Pozycja {n}", unit_price=Decimal("1.00")) for n in range(120)
        ),
    )
    reader = PdfReader(io.BytesIO(render(cabinet, many, client).content))
    assert len(reader.pages) > 1
    assert "Strona 2" in reader.pages[1].extract_text()
    # The header row repeats on every page.
    assert "Nazwa towaru lub usługi" in reader.pages[1].extract_text()


@pytest.mark.parametrize("doc_type", DOCUMENT_TYPES)
def test_every_declared_type_renders(cabinet, client, invoice, doc_type):
    document = attrs.evolve(invoice, doc_type=doc_type)
    reader = PdfReader(io.BytesIO(render(cabinet, document, client).content))
    assert len(reader.pages) >= 1
    text = reader.pages[0].extract_text()
    assert "Nr FV/12/11/2026" in text
    # A cash report names only the company; every other type shows the other party too.
    party = "Zażółć Gęślą Sp. z o.o." if doc_type == "cash_report" else "Jaźń Źródlana S.A."
    assert party in text


def test_filename_is_safe_for_downloads(cabinet, client, invoice):
    assert file_stem(attrs.evolve(invoice, number="FV 1/11/2026")) == "FV-1-11-2026"
    assert file_stem(attrs.evolve(invoice, number=None)) == "vat_invoice-7-draft"
    view = view_of(cabinet, attrs.evolve(invoice, number="FV 1/11/2026"), client)
    assert view.filename == "FV-1-11-2026.pdf"
    assert view.fa3 is not None and view.fa3.filename == "FV-1-11-2026.xml"


RENDER_IN_A_FRESH_PROCESS = """
import hashlib, io, sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import attrs
import cabinet_pdf.plugin
from cabinet_core import Cabinet, Settings
from cabinet_core.entities import Address, Client, Document, DocumentLine, Party
from cabinet_pdf import PdfRenderer
from pypdf import PdfReader

settings = Settings(data_dir=Path(sys.argv[1]))
with Cabinet(settings, load_entrypoints=False, plugins=[cabinet_pdf.plugin]) as cabinet:
    cabinet.migrate()
    document = Document(
        id=1, client_id=1, doc_type="vat_invoice", status="draft",
        issue_date=date(2026, 11, 27),
        buyer=Party(name="Jaźń S.A.", nip="1234563218", address=Address(line1="ul. Polna 1")),
        lines=tuple(
            DocumentLine(name=f"Usługa źdźbło {n}", unit_price=Decimal("12.34")) for n in range(30)
        ),
    )
    client = Client(
        id=1, name="Zażółć Sp. z o.o.", nip="5260250274", address=Address(line1="ul. Łąkowa 5")
    )
    issued = attrs.evolve(document, status="issued", number="FV/1/11/2026")
    for doc, template in ((document, "classic"), (issued, "modern")):
        content = PdfRenderer().render(
            cabinet, doc, client=client, template=cabinet.templates[template], language="pl+en"
        ).content
        files = len(PdfReader(io.BytesIO(content)).attachments)
        print(hashlib.sha256(content).hexdigest(), files)
"""


def test_output_does_not_depend_on_the_process(tmp_path):
    digests = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [sys.executable, "-c", RENDER_IN_A_FRESH_PROCESS, str(tmp_path)],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        digests.add(result.stdout.strip())
    assert len(digests) == 1
    draft, issued = (line.split() for line in digests.pop().splitlines())
    # The draft has no XML; the issued invoice carries it, and both hash the same every time.
    assert draft[1] == "0" and issued[1] == "1"
    assert len(draft[0]) == len(issued[0]) == 64


def _attachments(content: bytes) -> dict[str, bytes]:
    reader = PdfReader(io.BytesIO(content))
    return {name: files[0] for name, files in reader.attachments.items()}


@pytest.mark.parametrize("language", ["pl", "en", "pl+en"])
@pytest.mark.parametrize("template", ["classic", "modern"])
def test_issued_vat_invoice_embeds_its_valid_fa3_xml(cabinet, client, invoice, language, template):
    rendered = PdfRenderer().render(
        cabinet, invoice, client=client, template=cabinet.templates[template], language=language
    )
    files = _attachments(rendered.content)
    assert list(files) == ["FV-12-11-2026.xml"]
    xml = files["FV-12-11-2026.xml"]
    assert validate_fa3(xml) == []
    root = ET.fromstring(xml)
    ns = {"fa": FA3_NAMESPACE}
    assert root.findtext("fa:Fa/fa:P_2", namespaces=ns) == "FV/12/11/2026"
    assert root.findtext("fa:Fa/fa:P_15", namespaces=ns) == "1544.76"
    assert root.findtext("fa:Fa/fa:RodzajFaktury", namespaces=ns) == "VAT"
    # The client issues its sales invoices: it is Podmiot1, the buyer Podmiot2.
    assert root.findtext("fa:Podmiot1/fa:DaneIdentyfikacyjne/fa:NIP", namespaces=ns) == client.nip
    assert root.findtext("fa:Podmiot2/fa:DaneIdentyfikacyjne/fa:NIP", namespaces=ns) == (
        "1234563218"
    )
    # It is the same file the core writes for the document.
    assert xml == document_to_fa3(
        invoice, seller=party_of_client(client), created_at=datetime(2026, 11, 27, 12, 0)
    )
    # Declared as the document's data (PDF/A-3 associated file).
    reader = PdfReader(io.BytesIO(rendered.content))
    (spec,) = [ref.get_object() for ref in reader.root_object["/AF"]]
    assert spec["/AFRelationship"] == "/Data"
    assert spec["/F"] == "FV-12-11-2026.xml"


def test_correcting_invoice_embeds_a_valid_kor_file(cabinet, client, invoice):
    kor = attrs.evolve(
        invoice,
        doc_type="correcting_invoice",
        number="KOR/1/11/2026",
        lines=(
            DocumentLine(name="Usługa", unit_price=Decimal("30.00"), before=True),
            DocumentLine(name="Usługa", unit_price=Decimal("16.50")),
        ),
        extra={
            "corrected_number": "FV/3/10/2026",
            "corrected_issue_date": "2026-10-15",
            "corrected_ksef_number": "9999999999-20230908-8BEF280C8D35-4D",
        },
        updated_at=datetime(2026, 11, 27, 9, 30),
    )
    xml = _attachments(render(cabinet, kor, client).content)["KOR-1-11-2026.xml"]
    assert validate_fa3(xml) == []
    root = ET.fromstring(xml)
    ns = {"fa": FA3_NAMESPACE}
    assert root.findtext("fa:Fa/fa:RodzajFaktury", namespaces=ns) == "KOR"
    assert root.findtext("fa:Fa/fa:P_15", namespaces=ns) == "-16.60"
    assert root.findtext("fa:Fa/fa:DaneFaKorygowanej/fa:NrKSeFFaKorygowanej", namespaces=ns) == (
        "9999999999-20230908-8BEF280C8D35-4D"
    )
    # DataWytworzeniaFa is the document's last change, so re-rendering gives the same file.
    assert root.findtext("fa:Naglowek/fa:DataWytworzeniaFa", namespaces=ns) == (
        "2026-11-27T09:30:00Z"
    )


def test_only_issued_vat_and_correcting_invoices_carry_xml(cabinet, client, invoice):
    draft = attrs.evolve(invoice, status="draft", number=None)
    assert _attachments(render(cabinet, draft, client).content) == {}
    proforma = attrs.evolve(invoice, doc_type="proforma", number="PRO/3/11/2026")
    assert _attachments(render(cabinet, proforma, client).content) == {}
    # A client FA(3) cannot name (no NIP) still gets its PDF, without the file.
    no_nip = attrs.evolve(client, nip=None)
    rendered = render(cabinet, invoice, no_nip)
    assert rendered.content.startswith(b"%PDF")
    assert _attachments(rendered.content) == {}
    view = view_of(cabinet, invoice, no_nip)
    assert view.fa3 is None
    assert ("seller.nip", "required") in {(e.field, e.code) for e in view.fa3_errors}


def test_output_with_the_embedded_xml_is_byte_identical(cabinet, client, invoice):
    for template in ("classic", "modern"):
        chosen = attrs.evolve(invoice, template=template)
        assert render(cabinet, chosen, client, "pl+en").content == (
            render(cabinet, chosen, client, "pl+en").content
        )


def test_modern_template_keeps_metadata_and_watermark(cabinet, client, invoice, pdf_text):
    draft = attrs.evolve(invoice, status="draft", number=None, template="modern")
    content = render(cabinet, draft, client, "pl+en").content
    reader = PdfReader(io.BytesIO(content))
    assert reader.metadata.title == "Faktura VAT / VAT invoice"
    assert reader.metadata.author == "Zażółć Gęślą Sp. z o.o."
    assert reader.root_object["/Lang"] == "pl-PL"
    assert "PROJEKT / DRAFT" in pdf_text(content)
