"""Writing FA(3): every file is checked against the official schema, read back, and compared.

The documents are the golden vectors of poland.md §9 (TV3 PLN with four rates, TV9 USD, TV10
correction, TV11 EUR "np II", TV12 split payment) plus the exemption basis, per-line VAT and
gross prices. TV3 and TV9 are also compared with the research examples' totals in the
repository's fixtures, ``testdata/ksef-fa3/examples-research``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from cabinet_core.entities import (
    Address,
    BankAccount,
    Document,
    DocumentLine,
    ExchangeRate,
    Party,
    PaymentMethod,
    PriceMode,
    VatMethod,
)
from cabinet_core.errors import ValidationError
from cabinet_core.ksef import FA3_NAMESPACE, document_to_fa3, parse_fa3, validate_fa3
from cabinet_core.vat import POLAND_2026, compute_correction, compute_totals
from hypothesis import given, settings
from hypothesis import strategies as st

D = Decimal
FIXTURES = Path(__file__).parents[3] / "testdata" / "ksef-fa3"
RESEARCH = FIXTURES / "examples-research"
NS = {"f": FA3_NAMESPACE}
CREATED = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)

SELLER = Party(
    name="Przykładowa Firma sp. z o.o.",
    nip="526-104-08-28",
    address=Address(line1="ul. Prosta 1", postal_code="00-001", city="Warszawa"),
    email="biuro@example.pl",
)
BUYER = Party(
    name="F.H.U. Jan Kowalski",
    nip="1111111111",
    address=Address(line1="ul. Polna 1", postal_code="00-001", city="Warszawa"),
)
EU_BUYER = Party(
    name="Beispiel GmbH",
    vat_eu="DE 136695976",
    address=Address(line1="Hauptstraße 5", postal_code="10115", city="Berlin", country="DE"),
)


def line(quantity: str, price: str, rate: str = "23", *, before: bool = False) -> DocumentLine:
    return DocumentLine(
        name=f"usługa {rate}",
        quantity=D(quantity),
        unit_price=D(price),
        vat_rate=rate,
        before=before,
    )


def invoice(*lines: DocumentLine, **changes: Any) -> Document:
    fields: dict[str, Any] = {
        "client_id": 1,
        "doc_type": "vat_invoice",
        "number": "FV/4/11/2026",
        "issue_date": date(2026, 11, 10),
        "buyer": BUYER,
        "lines": lines,
    }
    fields.update(changes)
    return Document(**fields)


def rate(kurs: str, currency: str) -> ExchangeRate:
    return ExchangeRate(
        currency=currency, rate=D(kurs), effective_date=date(2026, 11, 9), table_no="218/A/NBP/2026"
    )


def export(document: Document) -> bytes:
    xml = document_to_fa3(document, seller=SELLER, created_at=CREATED)
    assert validate_fa3(xml) == []
    return xml


def fields(xml: bytes) -> dict[str, str]:
    """``Fa``'s direct children (totals, P_15, RodzajFaktury …) by name."""
    fa = ET.fromstring(xml).find("f:Fa", NS)
    assert fa is not None
    return {child.tag.rpartition("}")[2]: (child.text or "").strip() for child in fa}


def text(xml: bytes, path: str) -> str | None:
    return ET.fromstring(xml).findtext(path, None, NS)


def expected_totals(document: Document) -> Any:
    options: dict[str, Any] = {
        "currency": document.currency,
        "price_mode": document.price_mode,
        "vat_method": document.vat_method,
        "exchange_rate": document.exchange_rate,
    }
    if document.doc_type == "correcting_invoice":
        return compute_correction(document.lines, **options).difference
    return compute_totals(document.lines, **options)


def assert_round_trip(document: Document, xml: bytes) -> None:
    """The file reads back to the same lines and the same totals, stated and recomputed."""
    imported = parse_fa3(xml)
    expected = expected_totals(document)
    assert imported.document.lines == document.lines
    assert imported.document.currency == document.currency
    assert imported.document.price_mode is document.price_mode
    if any(POLAND_2026.rate(line.vat_rate).bears_vat for line in document.lines):
        # Only taxed lines carry P_11Vat, which is how a reader tells the per-line method.
        assert imported.document.vat_method is document.vat_method
    assert imported.warnings == ()
    assert imported.computed_totals == expected
    stated = imported.stated_totals
    assert stated.gross == expected.gross
    assert [(r.rate, r.net, r.vat, r.vat_pln) for r in stated.rows] == [
        (r.rate, r.net, r.vat, r.vat_pln) for r in expected.rows
    ]
    if document.exchange_rate is not None:
        assert imported.document.exchange_rate is not None
        assert imported.document.exchange_rate.rate == document.exchange_rate.rate


TV3 = invoice(
    line("2", "149.99", "23"),
    line("1", "45.50", "8"),
    line("3", "12.35", "5"),
    line("1", "200.00", "zw"),
    extra={"exemption_basis": "art. 43 ust. 1 pkt 37 ustawy o VAT"},
    due_date=date(2026, 11, 24),
    bank_account=BankAccount(currency="PLN", iban="PL61 1090 1014 0000 0712 1981 2874"),
)
TV9 = invoice(
    attrs.evolve(line("2.5", "100", "23"), unit="h"),
    line("1", "80.00", "8"),
    currency="USD",
    exchange_rate=rate("3.7123", "USD"),
)


def test_tv3_pln_with_four_rates_and_an_exemption_basis() -> None:
    xml = export(TV3)
    written = fields(xml)
    assert {k: written[k] for k in written if k.startswith(("P_13", "P_14", "P_15"))} == {
        "P_13_1": "299.98",
        "P_14_1": "69.00",
        "P_13_2": "45.50",
        "P_14_2": "3.64",
        "P_13_3": "37.05",
        "P_14_3": "1.85",
        "P_13_7": "200.00",
        "P_15": "657.02",
    }
    assert text(xml, "f:Fa/f:Adnotacje/f:Zwolnienie/f:P_19") == "1"
    assert text(xml, "f:Fa/f:Adnotacje/f:Zwolnienie/f:P_19A") == (
        "art. 43 ust. 1 pkt 37 ustawy o VAT"
    )
    assert text(xml, "f:Fa/f:Platnosc/f:TerminPlatnosci/f:Termin") == "2026-11-24"
    assert text(xml, "f:Fa/f:Platnosc/f:FormaPlatnosci") == "6"
    assert text(xml, "f:Fa/f:Platnosc/f:RachunekBankowy/f:NrRB") == "PL61109010140000071219812874"
    assert_round_trip(TV3, xml)


def test_tv9_usd_states_the_vat_in_pln_per_rate_and_the_rate_on_every_line() -> None:
    xml = export(TV9)
    written = fields(xml)
    assert (written["KodWaluty"], written["P_14_1W"], written["P_14_2W"]) == (
        "USD",
        "213.46",
        "23.76",
    )
    assert written["P_15"] == "393.90"
    kursy = [row.findtext("f:KursWaluty", None, NS) for row in ET.fromstring(xml).iter()]
    assert [k for k in kursy if k is not None] == ["3.7123", "3.7123"]
    assert_round_trip(TV9, xml)


@pytest.mark.parametrize(
    ("document", "research"),
    [(TV3, "tv3_pln_multirate.xml"), (TV9, "tv9_usd_multirate.xml")],
    ids=["TV3", "TV9"],
)
def test_key_totals_match_the_research_examples(document: Document, research: str) -> None:
    reference = fields((RESEARCH / research).read_bytes())
    ours = fields(export(document))
    keys = [k for k in reference if k.startswith(("P_13", "P_14", "P_15"))]
    assert keys
    assert {k: D(ours[k]) for k in keys} == {k: D(reference[k]) for k in keys}
    assert [k for k in ours if k.startswith(("P_13", "P_14"))] == [
        k for k in reference if k.startswith(("P_13", "P_14"))
    ]


def test_tv11_eur_np_ii_is_reverse_charged_with_an_eu_vat_number() -> None:
    document = invoice(
        line("1", "5000.00", "np II"),
        buyer=EU_BUYER,
        currency="EUR",
        exchange_rate=rate("4.2512", "EUR"),
    )
    xml = export(document)
    written = fields(xml)
    assert written["P_13_9"] == "5000.00"
    assert written["P_15"] == "5000.00"
    assert not [k for k in written if k.startswith("P_14")]
    assert text(xml, "f:Fa/f:Adnotacje/f:P_18") == "1"
    assert text(xml, "f:Podmiot2/f:DaneIdentyfikacyjne/f:KodUE") == "DE"
    assert text(xml, "f:Podmiot2/f:DaneIdentyfikacyjne/f:NrVatUE") == "136695976"
    assert text(xml, "f:Podmiot2/f:Adres/f:KodKraju") == "DE"
    assert_round_trip(document, xml)


TV10 = Document(
    client_id=1,
    doc_type="correcting_invoice",
    number="KOR/1/11/2026",
    issue_date=date(2026, 11, 20),
    buyer=BUYER,
    lines=(line("3", "10.00", before=True), line("3", "5.50")),
    extra={
        "corrected_number": "FV/4/11/2026",
        "corrected_issue_date": "2026-11-10",
        "corrected_ksef_number": "5265877635-20250826-0100001AF629-AF",
        "reason": "obniżka ceny",
    },
)


def test_tv10_correction_states_differences_of_rounded_states_with_before_rows() -> None:
    xml = export(TV10)
    written = fields(xml)
    assert (written["P_13_1"], written["P_14_1"], written["P_15"]) == ("-13.50", "-3.10", "-16.60")
    assert written["RodzajFaktury"] == "KOR"
    assert written["PrzyczynaKorekty"] == "obniżka ceny"
    corrected = "f:Fa/f:DaneFaKorygowanej/"
    assert text(xml, corrected + "f:DataWystFaKorygowanej") == "2026-11-10"
    assert text(xml, corrected + "f:NrFaKorygowanej") == "FV/4/11/2026"
    assert text(xml, corrected + "f:NrKSeF") == "1"
    assert text(xml, corrected + "f:NrKSeFFaKorygowanej") == "5265877635-20250826-0100001AF629-AF"
    rows = ET.fromstring(xml).findall("f:Fa/f:FaWiersz", NS)
    # The "before" row and its "after" row share NrWierszaFa, as in MF example 02.
    assert [
        (r.findtext("f:NrWierszaFa", None, NS), r.findtext("f:StanPrzed", None, NS)) for r in rows
    ] == [
        ("1", "1"),
        ("1", None),
    ]
    assert_round_trip(TV10, xml)


def test_a_correction_of_an_invoice_issued_outside_ksef_says_so() -> None:
    extra = {**TV10.extra, "corrected_ksef_number": ""}
    xml = export(attrs.evolve(TV10, extra=extra))
    assert text(xml, "f:Fa/f:DaneFaKorygowanej/f:NrKSeFN") == "1"
    assert text(xml, "f:Fa/f:DaneFaKorygowanej/f:NrKSeF") is None


@pytest.mark.parametrize(
    ("document", "marker"),
    [
        # TV12: 12 195.13 + 2 804.88 = 15 000.01 PLN with annex-15 goods: marked.
        (invoice(line("1", "12195.13"), extra={"split_payment": True}), "1"),
        # 15 000.00 exactly is not above the threshold.
        (invoice(line("1", "12195.12"), extra={"split_payment": True}), "2"),
        # Above the threshold but nothing from annex 15.
        (invoice(line("1", "20000.00")), "2"),
        # EUR 3 600.00 × 4.2512 = 15 304.32 PLN.
        (
            invoice(
                line("1", "3600.00", "np II"),
                buyer=EU_BUYER,
                currency="EUR",
                exchange_rate=rate("4.2512", "EUR"),
                extra={"split_payment": True},
            ),
            "1",
        ),
    ],
    ids=["15000.01", "15000.00", "no-annex-15", "EUR"],
)
def test_split_payment_is_marked_strictly_above_15000_pln(document: Document, marker: str) -> None:
    xml = export(document)
    assert text(xml, "f:Fa/f:Adnotacje/f:P_18A") == marker
    assert_round_trip(document, xml)


@pytest.mark.parametrize(
    ("others", "marker"),
    [((), "2"), ((line("1", "1.00", "8"),), "1")],
    ids=["annex-line-alone-15000.00", "plus-another-line-15001.08"],
)
def test_annex15_lines_are_marked_and_decide_split_payment(
    others: tuple[DocumentLine, ...], marker: str
) -> None:
    # 12 195.12 + 2 804.88 VAT = 15 000.00 exactly; the invoice's whole total is what counts,
    # so another (non-annex) line tips it over the threshold.
    annex = attrs.evolve(line("1", "12195.12"), annex15=True)
    xml = export(invoice(annex, *others))  # valid against the XSD: P_12_Zal_15 after P_12
    rows = ET.fromstring(xml).findall("f:Fa/f:FaWiersz", NS)
    assert [row.findtext("f:P_12_Zal_15", None, NS) for row in rows] == ["1"] + [None] * len(others)
    assert text(xml, "f:Fa/f:Adnotacje/f:P_18A") == marker
    # The reader sets the flag back on the line.
    assert_round_trip(invoice(annex, *others), xml)


def test_correction_is_marked_by_the_corrected_total_not_the_difference() -> None:
    before = attrs.evolve(line("1", "20000.00", before=True), annex15=True)
    after = attrs.evolve(line("1", "19900.00"), annex15=True)
    correction = attrs.evolve(TV10, lines=(before, after))
    xml = export(correction)
    assert fields(xml)["P_15"] == "-123.00"
    assert text(xml, "f:Fa/f:Adnotacje/f:P_18A") == "1"


def test_cash_method_per_line_vat_gross_prices_and_other_payment_methods() -> None:
    per_line = invoice(
        line("1", "10.33"),
        line("1", "10.33"),
        line("1", "10.33"),
        vat_method=VatMethod.PER_LINE,
        extra={"cash_method": "true"},
        payment_method=PaymentMethod.OTHER,
        sale_date=date(2026, 11, 5),
    )
    xml = export(per_line)
    # TV2: per-line VAT 3 × 2.38 = 7.14, P_15 38.13.
    assert fields(xml)["P_14_1"] == "7.14"
    assert fields(xml)["P_15"] == "38.13"
    assert fields(xml)["P_6"] == "2026-11-05"
    assert [v.text for v in ET.fromstring(xml).iter(f"{{{FA3_NAMESPACE}}}P_11Vat")] == ["2.38"] * 3
    assert text(xml, "f:Fa/f:Adnotacje/f:P_16") == "1"
    assert text(xml, "f:Fa/f:Platnosc/f:PlatnoscInna") == "1"
    assert_round_trip(per_line, xml)

    gross = invoice(line("3", "99.99"), price_mode=PriceMode.GROSS)
    xml = export(gross)
    # TV4: gross 299.97 → VAT 56.09, net 243.88.
    assert (fields(xml)["P_13_1"], fields(xml)["P_14_1"]) == ("243.88", "56.09")
    assert text(xml, "f:Fa/f:FaWiersz/f:P_9B") == "99.99"
    assert text(xml, "f:Fa/f:FaWiersz/f:P_11A") == "299.97"
    assert_round_trip(gross, xml)


def test_the_header_and_parties_are_as_ksef_expects() -> None:
    local = datetime(2026, 11, 10, 10, 30, tzinfo=timezone(timedelta(hours=1)))
    xml = document_to_fa3(TV3, seller=SELLER, created_at=local, system_info="kancelaria")
    assert xml.startswith(b"<?xml") and not xml.startswith(b"\xef\xbb\xbf")
    root = ET.fromstring(xml)
    assert root.tag == f"{{{FA3_NAMESPACE}}}Faktura"
    code = root.find("f:Naglowek/f:KodFormularza", NS)
    assert code is not None
    assert code.attrib == {"kodSystemowy": "FA (3)", "wersjaSchemy": "1-0E"}
    assert text(xml, "f:Naglowek/f:WariantFormularza") == "3"
    assert text(xml, "f:Naglowek/f:DataWytworzeniaFa") == "2026-11-10T09:30:00Z"
    assert text(xml, "f:Naglowek/f:SystemInfo") == "kancelaria"
    assert text(xml, "f:Podmiot1/f:DaneIdentyfikacyjne/f:NIP") == "5261040828"
    assert text(xml, "f:Podmiot1/f:Adres/f:AdresL2") == "00-001 Warszawa"
    assert text(xml, "f:Podmiot1/f:DaneKontaktowe/f:Email") == "biuro@example.pl"
    assert (text(xml, "f:Podmiot2/f:JST"), text(xml, "f:Podmiot2/f:GV")) == ("2", "2")


@pytest.mark.parametrize(
    ("basis", "element"),
    [
        ("art. 113 ust. 1 ustawy o VAT", "P_19A"),
        ("art. 132 ust. 1 lit. i dyrektywy 2006/112/WE", "P_19B"),
        ("zwolnienie na podstawie rozporządzenia MF", "P_19C"),
    ],
)
def test_the_exemption_basis_goes_to_the_statute_directive_or_other_element(
    basis: str, element: str
) -> None:
    xml = export(invoice(line("1", "100.00", "zw"), extra={"exemption_basis": basis}))
    assert text(xml, f"f:Fa/f:Adnotacje/f:Zwolnienie/f:{element}") == basis


def test_a_buyer_without_a_tax_id_is_written_as_brak_id() -> None:
    consumer = Party(name="Anna Nowak")
    xml = export(invoice(line("1", "100.00"), buyer=consumer))
    assert text(xml, "f:Podmiot2/f:DaneIdentyfikacyjne/f:BrakID") == "1"
    assert text(xml, "f:Podmiot2/f:Adres") is None


def errors_of(document: Document, seller: Party = SELLER) -> set[tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        document_to_fa3(document, seller=seller, created_at=CREATED)
    return {(error.field, error.code) for error in caught.value.errors}


def test_documents_that_cannot_be_written_as_fa3_are_refused_with_field_errors() -> None:
    assert errors_of(attrs.evolve(TV3, doc_type="proforma")) == {("doc_type", "not_ksef")}
    assert ("number", "required") in errors_of(attrs.evolve(TV3, number=None))
    assert errors_of(attrs.evolve(TV3, extra={})) == {("extra.exemption_basis", "required")}
    assert errors_of(attrs.evolve(TV9, exchange_rate=None)) == {("exchange_rate", "required")}
    assert ("buyer", "required") in errors_of(attrs.evolve(TV3, buyer=None))
    assert errors_of(attrs.evolve(TV10, extra={})) == {
        ("extra.corrected_number", "required"),
        ("extra.corrected_issue_date", "required"),
    }
    no_nip = attrs.evolve(SELLER, nip=None)
    assert errors_of(TV3, seller=no_nip) == {("seller.nip", "required")}
    assert errors_of(TV3, seller=attrs.evolve(SELLER, nip="1234567890")) == {
        ("seller.nip", "nip_checksum")
    }
    assert errors_of(attrs.evolve(TV3, buyer=attrs.evolve(BUYER, name=" "))) == {
        ("buyer.name", "required")
    }
    too_precise = invoice(line("1.1234567", "1"))
    assert errors_of(too_precise) == {("lines.0.quantity", "too_many_decimals")}


AMOUNTS = st.decimals(min_value=D("0.01"), max_value=D("99999.99"), places=2)
QUANTITIES = st.decimals(min_value=D("0.001"), max_value=D("1000"), places=3)
RATES = st.sampled_from(["23", "8", "5", "0 KR", "0 WDT", "0 EX", "np I", "np II", "oo"])


@settings(max_examples=40, deadline=None)
@given(
    lines=st.lists(
        st.builds(
            lambda q, p, r: DocumentLine(name="pozycja", quantity=q, unit_price=p, vat_rate=r),
            QUANTITIES,
            AMOUNTS,
            RATES,
        ),
        min_size=1,
        max_size=8,
    ),
    currency=st.sampled_from(["PLN", "EUR", "USD"]),
    kurs=st.decimals(min_value=D("3.5"), max_value=D("5"), places=4),
    method=st.sampled_from(list(VatMethod)),
)
def test_any_invoice_is_schema_valid_and_reads_back_to_the_same_lines_and_totals(
    lines: list[DocumentLine], currency: str, kurs: Decimal, method: VatMethod
) -> None:
    document = invoice(
        *lines,
        currency=currency,
        vat_method=method,
        exchange_rate=None if currency == "PLN" else rate(str(kurs), currency),
    )
    assert_round_trip(document, export(document))


SPECS_EXAMPLES = FIXTURES / "examples"


@pytest.mark.parametrize("number", [4, 9, 20, 22, 23, 24, 26])
def test_official_vat_examples_read_as_sales_invoices_write_back_the_same_totals(
    number: int,
) -> None:
    """MF's own invoices, read and written again: schema-valid, same P_13/P_14/P_15 and
    parties (example 22 is an EUR WDT without an exchange rate, 23 a USD export to a buyer
    identified outside the EU)."""
    original = (SPECS_EXAMPLES / f"FA_3_Przyklad_{number:02d}.xml").read_bytes()
    imported = parse_fa3(original, client_id=1, doc_type="vat_invoice")
    assert imported.document.seller is not None
    xml = document_to_fa3(imported.document, seller=imported.document.seller, created_at=CREATED)
    assert validate_fa3(xml) == []
    theirs, ours = fields(original), fields(xml)
    totals = [k for k in theirs if k.startswith(("P_13", "P_14", "P_15"))]
    assert {k: D(ours[k]) for k in totals} == {k: D(theirs[k]) for k in totals}
    assert [k for k in ours if k.startswith(("P_13", "P_14"))] == [
        k for k in theirs if k.startswith(("P_13", "P_14"))
    ]
    buyer_ids = "f:Podmiot2/f:DaneIdentyfikacyjne/"
    for element in ("NIP", "KodUE", "NrVatUE", "KodKraju", "NrID", "Nazwa"):
        assert text(xml, buyer_ids + "f:" + element) == text(original, buyer_ids + "f:" + element)
    for marker in ("P_16", "P_18", "P_18A", "Zwolnienie/f:P_19A"):
        path_ = "f:Fa/f:Adnotacje/f:" + marker
        assert text(xml, path_) == text(original, path_)


def test_an_official_correction_read_as_a_correcting_invoice_writes_back_the_same_file() -> None:
    original = (SPECS_EXAMPLES / "FA_3_Przyklad_02.xml").read_bytes()
    document = parse_fa3(original, client_id=1, doc_type="correcting_invoice").document
    assert document.seller is not None
    xml = document_to_fa3(document, seller=document.seller, created_at=CREATED)
    assert validate_fa3(xml) == []
    ours, theirs = fields(xml), fields(original)
    for name in ("P_13_1", "P_14_1", "P_15"):
        assert D(ours[name]) == D(theirs[name])
    for name in ("RodzajFaktury", "PrzyczynaKorekty"):
        assert ours[name] == theirs[name]
    corrected = "f:Fa/f:DaneFaKorygowanej/"
    for name in ("DataWystFaKorygowanej", "NrFaKorygowanej", "NrKSeFFaKorygowanej"):
        assert text(xml, corrected + "f:" + name) == text(original, corrected + "f:" + name)
    rows = ET.fromstring(xml).findall("f:Fa/f:FaWiersz", NS)
    assert [r.findtext("f:StanPrzed", None, NS) for r in rows] == ["1", None]


def test_an_unknown_vat_rate_is_a_field_error_not_a_crash() -> None:
    assert errors_of(invoice(line("1", "100.00", "7"))) == {
        ("lines.0.vat_rate", "unknown_vat_rate")
    }
