"""Reading FA(3) files: all 26 official MF examples, and files that must be refused.

The expected parties, line counts and totals are read from each example with plain
ElementTree paths here, independently of the parser under test. The examples are the
repository's test fixtures in ``testdata/ksef-fa3/examples``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from cabinet_core.entities import PaymentMethod, PaymentStatus, PriceMode
from cabinet_core.errors import ValidationError
from cabinet_core.ksef import FA3_NAMESPACE, parse_fa3
from cabinet_core.ksef.fa3_import import MAX_FA3_BYTES
from cabinet_core.vat import POLAND_2026

SPECS = Path(__file__).parents[3] / "testdata" / "ksef-fa3"
EXAMPLES = sorted((SPECS / "examples").glob("FA_3_Przyklad_*.xml"))
NS = {"f": FA3_NAMESPACE}
#: Where the parser puts the totals of fields the rate table has no code for.
OTHER_FIELDS = {"4": "P_13_4", "OSS": "P_13_5", "marża": "P_13_11"}


def example(number: int) -> bytes:
    return (SPECS / "examples" / f"FA_3_Przyklad_{number:02d}.xml").read_bytes()


def stated_fields(xml: bytes) -> dict[str, Decimal]:
    """Every P_13_x / P_14_x / P_14_xW and P_15 of a file, read with plain XPath."""
    fa = ET.fromstring(xml).find("f:Fa", NS)
    assert fa is not None
    fields = {}
    for child in fa:
        name = child.tag.rpartition("}")[2]
        if name.startswith(("P_13_", "P_14_")) or name == "P_15":
            fields[name] = Decimal(child.text or "")
    return fields


def parsed_fields(xml: bytes) -> dict[str, Decimal]:
    """The same fields as the parser reports them in ``stated_totals``."""
    totals = parse_fa3(xml).stated_totals
    fields = {"P_15": totals.gross}
    for row in totals.rows:
        if row.rate in OTHER_FIELDS:
            net_field = OTHER_FIELDS[row.rate]
        else:
            net_field = POLAND_2026.rate(row.rate).fa3_net_field
        fields[net_field] = row.net
        suffix = net_field.removeprefix("P_13_")
        if suffix in ("1", "2", "3", "4", "5"):
            fields[f"P_14_{suffix}"] = row.vat
        if row.vat_pln is not None:
            fields[f"P_14_{suffix}W"] = row.vat_pln
    return fields


def test_the_fixtures_hold_all_26_official_examples() -> None:
    # An empty glob would quietly turn the parametrized tests below into skips.
    assert len(EXAMPLES) == 26


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.stem[-2:])
def test_every_official_example_imports_with_its_parties_lines_and_totals(path: Path) -> None:
    xml = path.read_bytes()
    root = ET.fromstring(xml)
    imported = parse_fa3(xml)
    document = imported.document

    assert document.seller is not None and document.buyer is not None
    assert document.seller.nip == root.findtext("f:Podmiot1/f:DaneIdentyfikacyjne/f:NIP", None, NS)
    buyer_ids = root.find("f:Podmiot2/f:DaneIdentyfikacyjne", NS)
    assert buyer_ids is not None
    assert document.buyer.nip == buyer_ids.findtext("f:NIP", None, NS)
    assert document.seller.name == root.findtext("f:Podmiot1/f:DaneIdentyfikacyjne/f:Nazwa", "", NS)
    assert len(document.lines) == len(root.findall("f:Fa/f:FaWiersz", NS))
    assert sum(line.before for line in document.lines) == len(
        root.findall("f:Fa/f:FaWiersz[f:StanPrzed='1']", NS)
    )
    assert imported.kind == root.findtext("f:Fa/f:RodzajFaktury", None, NS)
    assert document.currency == root.findtext("f:Fa/f:KodWaluty", None, NS)
    assert document.issue_date.isoformat() == root.findtext("f:Fa/f:P_1", None, NS)
    assert document.extra["seller_invoice_number"] == root.findtext("f:Fa/f:P_2", None, NS)
    assert parsed_fields(xml) == stated_fields(xml)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.stem[-2:])
def test_lines_that_state_their_amounts_recompute_to_the_stated_totals(path: Path) -> None:
    """Where the lines carry every amount, the cabinet's VAT arithmetic agrees with MF's files
    (all but example 01, whose P_15 is the buyer's rounded gross)."""
    imported = parse_fa3(path.read_bytes())
    computed = imported.computed_totals
    arithmetic = [d for d in imported.warning_details if d.field.startswith("totals.")]
    if path.stem.endswith("_01"):
        assert arithmetic
        return
    assert arithmetic == []
    if computed is not None:
        assert computed.gross == imported.stated_totals.gross
        assert computed.net == imported.stated_totals.net
        assert computed.vat == imported.stated_totals.vat


def test_example_01_is_imported_with_a_visible_one_grosz_warning() -> None:
    imported = parse_fa3(example(1))
    assert imported.stated_totals.gross == Decimal("2051")
    assert imported.stated_totals.net == Decimal("1667.61")
    assert imported.computed_totals is not None
    assert imported.computed_totals.gross == Decimal("2050.99")
    assert len(imported.warnings) == 1
    assert "2051" in imported.warnings[0] and "2050.99" in imported.warnings[0]
    (detail,) = imported.warning_details
    assert detail.field == "totals.gross"
    assert detail.code == "inconsistent"
    assert detail.params == {"stated": "2051", "sum": "2050.99", "currency": "PLN"}
    # The lines themselves are what the file says.
    assert [(line.name, line.unit_price, line.vat_rate) for line in imported.document.lines] == [
        ("lodówka Zimnotech mk1", Decimal("1626.01"), "23"),
        ("wniesienie sprzętu", Decimal("40.65"), "23"),
        ("promocja lodówka pełna mleka", Decimal("0.95"), "5"),
    ]
    assert imported.document.payment_status is PaymentStatus.PAID
    assert imported.document.sale_date == date(2026, 1, 27)
    assert imported.document.doc_type == "cost_invoice"


def test_a_discount_per_unit_is_folded_into_the_unit_price() -> None:
    """Example 04, line 2: 20 × 1000 less 100 per unit (P_10) = 18 000."""
    line = parse_fa3(example(4)).document.lines[1]
    assert (line.quantity, line.unit_price) == (Decimal(20), Decimal(900))


def test_a_correction_keeps_its_before_rows_and_the_invoice_it_corrects() -> None:
    imported = parse_fa3(example(2))
    before, after = imported.document.lines
    assert before.before and not after.before
    assert (before.unit_price, after.unit_price) == (Decimal("1626.01"), Decimal("1463.41"))
    assert imported.computed_totals is not None
    assert imported.computed_totals.gross == Decimal("-200.00")
    (corrected,) = imported.corrected
    assert corrected.number == "FV2026/02/150"
    assert corrected.issue_date == date(2026, 2, 15)
    assert corrected.ksef_number == "9999999999-20230908-8BEF280C8D35-4D"
    assert imported.correction_reason.startswith("obniżka ceny")
    assert len(parse_fa3(example(7)).corrected) == 6


def test_one_exchange_rate_for_all_lines_becomes_the_documents_rate() -> None:
    imported = parse_fa3(example(20))
    rate = imported.document.exchange_rate
    assert rate is not None
    assert (rate.currency, rate.rate) == ("EUR", Decimal("4.5005"))
    assert imported.computed_totals is not None
    assert imported.computed_totals.vat_pln == Decimal("14036.16")


def test_different_line_rates_are_kept_per_line_and_vat_in_pln_is_rounded_once() -> None:
    """MF example 21 (poland.md TV7): 13 768.14, not the 13 768.15 of per-line rounding."""
    imported = parse_fa3(example(21))
    assert imported.document.exchange_rate is None
    assert imported.line_exchange_rates == (
        Decimal("4.4080"),
        Decimal("4.5005"),
        Decimal("4.3250"),
    )
    assert imported.computed_totals is not None
    assert imported.computed_totals.vat_pln == Decimal("13768.14")
    assert imported.stated_totals.vat_pln == Decimal("13768.14")
    assert [d.code for d in imported.warning_details] == ["per_line"]


def test_foreign_buyers_keep_their_tax_id_with_its_country() -> None:
    eu = parse_fa3(example(22)).document.buyer
    outside = parse_fa3(example(23)).document.buyer
    assert eu is not None and outside is not None
    assert (eu.nip, eu.vat_eu) == (None, "DE999999999")
    assert (outside.nip, outside.vat_eu) == (None, "US999999999")


def test_payment_terms_and_the_sellers_account_are_read() -> None:
    document = parse_fa3(example(9)).document
    assert document.due_date == date(2026, 3, 15)
    assert document.payment_method is PaymentMethod.TRANSFER
    assert document.payment_status is PaymentStatus.UNPAID
    assert document.bank_account is not None
    assert document.bank_account.iban == "73111111111111111111111111"
    assert document.lines[1].vat_rate == "zw"
    assert document.seller is not None
    assert document.seller.address.postal_code == "00-001"
    assert document.seller.address.city == "Warszawa"


def test_gross_price_lines_and_margin_lines_without_a_rate_are_flagged() -> None:
    """Example 19: a margin-scheme line (no P_12) and a 23 % line, both in gross prices."""
    imported = parse_fa3(example(19))
    margin, taxed = imported.document.lines
    assert imported.document.price_mode is PriceMode.GROSS
    assert (margin.vat_rate, margin.unit_price) == ("", Decimal(2000))
    assert (taxed.vat_rate, taxed.unit_price) == ("23", Decimal(1000))
    assert [d.code for d in imported.warning_details] == ["no_vat_rate"]
    assert imported.computed_totals is None


def test_a_simplified_invoice_line_without_a_rate_takes_the_only_rate_of_the_totals() -> None:
    imported = parse_fa3(example(15))
    assert [line.vat_rate for line in imported.document.lines] == ["23"]
    assert imported.warnings == ()


def test_the_document_type_and_client_can_be_chosen() -> None:
    imported = parse_fa3(example(1), client_id=7, doc_type="vat_invoice")
    assert imported.document.client_id == 7
    assert imported.document.number == "FV2026/02/150"
    assert imported.document.extra == {"split_payment": False, "cash_method": False}
    exempt = parse_fa3(example(9), doc_type="vat_invoice").document.extra
    assert exempt["exemption_basis"] == "art. 43 ust. 1 pkt 37 ustawy VAT"
    correction = parse_fa3(example(2), doc_type="correcting_invoice").document.extra
    assert correction == {
        "corrected_number": "FV2026/02/150",
        "corrected_issue_date": "2026-02-15",
        "corrected_ksef_number": "9999999999-20230908-8BEF280C8D35-4D",
        "reason": "obniżka ceny o 200 zł z uwagi na uszkodzenia estetyczne",
    }


# -- files that are refused -------------------------------------------------------------------


def refused(xml: bytes) -> tuple[str, str]:
    with pytest.raises(ValidationError) as caught:
        parse_fa3(xml)
    (error,) = caught.value.errors
    assert error.field == "file"
    return error.code, error.message


def test_malformed_xml_is_refused() -> None:
    assert refused(b"<Faktura><Fa>")[0] == "malformed"
    assert refused(b"")[0] == "malformed"
    assert refused("zażółć".encode())[0] == "malformed"


def test_entities_and_dtds_are_refused_before_anything_is_expanded() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><Faktura>&lol2;</Faktura>'
    )
    assert refused(bomb)[0] == "unsafe_xml"
    external = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b"<Faktura>&e;</Faktura>"
    )
    assert refused(external)[0] == "unsafe_xml"


def test_an_fa2_file_or_another_document_is_not_fa3() -> None:
    fa2 = b'<Faktura xmlns="http://crd.gov.pl/wzor/2023/06/29/12648/"><Naglowek/></Faktura>'
    code, message = refused(fa2)
    assert code == "not_fa3"
    assert "FA(3)" in message
    assert refused(b"<html><body>invoice</body></html>")[0] == "not_fa3"


def test_a_file_that_breaks_the_schema_is_refused_with_the_place_of_the_error() -> None:
    broken = example(1).replace(b"<JST>2</JST>", b"")
    with pytest.raises(ValidationError) as caught:
        parse_fa3(broken)
    (error,) = caught.value.errors
    assert error.code == "schema"
    assert "Podmiot2" in error.params["errors"]


def test_a_file_larger_than_ksef_allows_is_refused() -> None:
    padding = b" " * (MAX_FA3_BYTES + 1)
    assert refused(b"<Faktura>" + padding + b"</Faktura>")[0] == "too_large"
