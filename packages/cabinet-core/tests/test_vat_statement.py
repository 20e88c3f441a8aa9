"""The VAT statement and JPK_V7M(3) through the service, on SQLite and PostgreSQL: the golden
cases of poland.md §4 and §9 with exact numbers, every JPK file validated against the official
schema shipped in the package."""

from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import attrs
import pytest
from cabinet_core.entities import Actor, Address, Document, DocumentLine, Party
from cabinet_core.errors import NotFound, PermissionDenied, ValidationError
from cabinet_core.vat_statement import (
    PURCHASE,
    SALES,
    Period,
    RateAmount,
    RegisterEntry,
    RegisterRow,
    VatStatement,
    validate_jpk,
)
from fixtures_services import World
from invoicing_support import buyer_client, example

SAMPLE = (
    Path(__file__).resolve().parents[3] / "testdata" / "jpk-v7m" / "jpk_v7m3_sample_2026-11.xml"
)
NOV = date(2026, 11, 10)
BUYER = Party(name="F.H.U. Jan Kowalski", nip="1111111111")
SELLER = Party(name="ABC AGD sp. z o. o.", nip="9999999999")
EU_BUYER = Party(
    name="Kunde GmbH", vat_eu="DE136695976", address=Address(city="Berlin", country="DE")
)
TV3_LINES = (
    DocumentLine(name="Kurs", quantity=Decimal(2), unit_price=Decimal("149.99")),
    DocumentLine(name="Książka", quantity=Decimal(1), unit_price=Decimal("45.50"), vat_rate="8"),
    DocumentLine(name="Gazeta", quantity=Decimal(3), unit_price=Decimal("12.35"), vat_rate="5"),
    DocumentLine(
        name="Szkolenie", quantity=Decimal(1), unit_price=Decimal("200.00"), vat_rate="zw"
    ),
)
TAX_OFFICE = "1471"


def _sale(world: World, lines: tuple[DocumentLine, ...], **changes: object) -> Document:
    cabinet, alice = world.cabinet, world.actor(world.alice)
    document = Document(
        client_id=world.client_id(world.client_a),
        doc_type="vat_invoice",
        issue_date=NOV,
        buyer=BUYER,
        lines=lines,
        extra={"exemption_basis": "art. 43 ust. 1 pkt 29 lit. c"}
        if any(line.vat_rate == "zw" for line in lines)
        else {},
    )
    stored = cabinet.documents.create(alice, attrs.evolve(document, **changes))
    assert stored.id is not None
    return cabinet.documents.transition(alice, stored.id, "issue")


def _purchase(world: World, net: str, *, number: str = "FZ/77/2026", **changes: object) -> Document:
    cabinet, alice = world.cabinet, world.actor(world.alice)
    document = Document(
        client_id=world.client_id(world.client_a),
        doc_type="cost_invoice",
        issue_date=date(2026, 11, 3),
        receipt_date=date(2026, 11, 4),
        seller=SELLER,
        lines=(DocumentLine(name="Pralka", unit_price=Decimal(net)),),
        extra={"seller_invoice_number": number},
    )
    stored = cabinet.documents.create(alice, attrs.evolve(document, **changes))
    assert stored.id is not None
    cabinet.documents.transition(alice, stored.id, "submit")
    return cabinet.documents.transition(world.actor(world.accountant), stored.id, "approve")


def _statement(world: World, period: str = "2026-11", actor: Actor | None = None) -> VatStatement:
    return world.cabinet.vat_statements.statement(
        actor or world.actor(world.accountant), world.client_id(world.client_a), period
    )


def _jpk(world: World, period: str = "2026-11", **options: object) -> str:
    out = io.BytesIO()
    world.cabinet.vat_statements.write_jpk(
        world.actor(world.accountant),
        world.client_id(world.client_a),
        period,
        out,
        tax_office=TAX_OFFICE,
        **options,  # type: ignore[arg-type]
    )
    xml = out.getvalue()
    assert validate_jpk(xml) == []
    return xml.decode()


def _k(row: RegisterRow) -> dict[str, str]:
    return {name: f"{value:.2f}" for name, value in row.k.items()}


def _block(xml: str, name: str) -> str:
    match = re.search(rf"<{name}>.*?</{name}>", xml, re.S)
    assert match is not None, name
    return match.group(0)


def test_the_research_sample_validates_against_the_shipped_schema() -> None:
    assert validate_jpk(SAMPLE.read_bytes()) == []


def test_tv3_and_a_cost_invoice_give_the_sample_declaration(world: World) -> None:
    """poland.md TV3 (one sale at four rates) and a 1000.00 + 230.00 purchase: the registers,
    the JPK rows and the declaration of the research sample, to the grosz and the złoty."""
    _sale(world, TV3_LINES)
    _purchase(world, "1000.00")
    statement = _statement(world)
    (sale,) = statement.sales
    assert _k(sale) == {
        "K_10": "200.00",
        "K_15": "37.05",
        "K_16": "1.85",
        "K_17": "45.50",
        "K_18": "3.64",
        "K_19": "299.98",
        "K_20": "69.00",
    }
    assert (sale.net_pln, sale.vat_pln, sale.gross_pln) == (
        Decimal("582.53"),
        Decimal("74.49"),
        Decimal("657.02"),
    )
    assert (sale.tax_id, sale.counterparty_name, sale.ksef_marker) == (
        "1111111111",
        "F.H.U. Jan Kowalski",
        "BFK",
    )
    (purchase,) = statement.purchases
    assert _k(purchase) == {"K_42": "1000.00", "K_43": "230.00"}
    assert purchase.number == "FZ/77/2026" and purchase.other_date == date(2026, 11, 4)
    assert statement.tax_due == Decimal("74.49") and statement.tax_deductible == Decimal("230.00")
    by_rate = {rate.rate: (rate.net_pln, rate.vat_pln) for rate in statement.sales_totals.rates}
    assert by_rate == {
        "23": (Decimal("299.98"), Decimal("69.00")),
        "8": (Decimal("45.50"), Decimal("3.64")),
        "5": (Decimal("37.05"), Decimal("1.85")),
        "zw": (Decimal("200.00"), Decimal("0.00")),
    }
    assert statement.declaration is not None
    assert {name: value for name, value in statement.declaration.written()} == {
        "P_10": 200,
        "P_15": 37,
        "P_16": 2,
        "P_17": 46,
        "P_18": 4,
        "P_19": 300,
        "P_20": 69,
        "P_37": 583,
        "P_38": 75,
        "P_42": 1000,
        "P_43": 230,
        "P_48": 230,
        "P_51": 0,
        "P_53": 155,
        "P_62": 155,
    }
    xml = _jpk(world)
    sample = SAMPLE.read_text(encoding="utf-8")
    squeeze = lambda text: re.sub(r">\s+<", "><", text)  # noqa: E731
    assert squeeze(_block(xml, "PozycjeSzczegolowe")) == squeeze(
        _block(sample, "PozycjeSzczegolowe")
    )
    assert "<PodatekNalezny>74.49</PodatekNalezny>" in xml
    assert "<PodatekNaliczony>230.00</PodatekNaliczony>" in xml
    assert "<LiczbaWierszySprzedazy>1</LiczbaWierszySprzedazy>" in xml
    assert "<KodUrzedu>1471</KodUrzedu><Rok>2026</Rok><Miesiac>11</Miesiac>" in xml


def test_tv6_eur_sale_converts_the_net_and_takes_the_invoices_pln_vat(world: World) -> None:
    """TV6: 1000.00 EUR at 23 %, NBP 4.2512 → K_19 4251.20, K_20 977.78."""
    line = DocumentLine(name="Consulting", unit_price=Decimal("1000.00"))
    _sale(world, (line,), currency="EUR")
    (row,) = _statement(world).sales
    assert _k(row) == {"K_19": "4251.20", "K_20": "977.78"}
    assert (row.currency, row.currency_gross, row.exchange_rate) == (
        "EUR",
        Decimal("1230.00"),
        Decimal("4.2512"),
    )
    assert row.rate_table and row.rate_date
    assert "<K_19>4251.20</K_19><K_20>977.78</K_20>" in _jpk(world)


def test_rows_and_entries_made_without_init_are_whole_frozen_and_equal_to_made_with_it(
    world: World,
) -> None:
    """The store's entries, the rows and their amounts are made from a dict of every field
    (no ``__init__``, for speed): each has every field, is frozen and equals the same made by
    ``__init__`` (``attrs.evolve``)."""
    _sale(world, (DocumentLine(name="Consulting", unit_price=Decimal("1000.00")),), currency="EUR")
    _sale(world, TV3_LINES)
    _purchase(world, "100.00")
    statement = _statement(world)
    with world.cabinet.store.transaction(readonly=True) as tx:
        entries = [
            entry
            for side in (SALES, PURCHASE)
            for entry in tx.vat_register_entries(
                client_id=world.client_id(world.client_a),
                selections=world.cabinet.vat_statements.selections(side),
                start=date(2026, 11, 1),
                end=date(2026, 11, 30),
                buyer_side=side == PURCHASE,
            )
        ]
    made: list[object] = [*entries, *statement.sales, *statement.purchases]
    made += [amount for row in (*statement.sales, *statement.purchases) for amount in row.amounts]
    assert len(entries) == 3 and len(made) == 3 + 3 + 6
    for instance in made:
        cls = type(instance)
        assert cls in (RegisterEntry, RegisterRow, RateAmount)
        assert vars(instance).keys() == {field.name for field in attrs.fields(cls)}
        assert attrs.evolve(instance) == instance
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            instance.document_id = 0  # type: ignore[attr-defined]


def test_tv9_usd_sale_at_two_rates(world: World) -> None:
    """TV9: 250.00 @23 and 80.00 @8 in USD at 3.7123."""
    lines = (
        DocumentLine(name="Porada", quantity=Decimal("2.5"), unit_price=Decimal("100.00")),
        DocumentLine(name="Książka", unit_price=Decimal("80.00"), vat_rate="8"),
    )
    _sale(world, lines, currency="USD")
    (row,) = _statement(world).sales
    assert _k(row) == {"K_17": "296.98", "K_18": "23.76", "K_19": "928.08", "K_20": "213.46"}
    _jpk(world)


def test_tv11_eu_service_np_ii_goes_to_k11_and_k12_with_the_buyers_country(world: World) -> None:
    """TV11: a legal service to an EU business, 5000.00 EUR np II → K_11 = K_12 = 21256.00; the
    buyer's VAT number without its country prefix, the country in KodKrajuNadaniaTIN."""
    line = DocumentLine(name="Legal advice", unit_price=Decimal("5000.00"), vat_rate="np II")
    _sale(world, (line,), currency="EUR", buyer=EU_BUYER)
    (row,) = _statement(world).sales
    assert _k(row) == {"K_11": "21256.00", "K_12": "21256.00"}
    xml = _jpk(world)
    assert (
        "<KodKrajuNadaniaTIN>DE</KodKrajuNadaniaTIN><NrKontrahenta>136695976</NrKontrahenta>" in xml
    )
    assert "<P_11>21256</P_11><P_12>21256</P_12>" in xml


def test_tv10_correction_counts_in_its_own_month_with_negative_amounts(world: World) -> None:
    """TV10: 3 × 10.00 corrected to 3 × 5.50 in December: the December register has the
    correction at −13.50 / −3.10; November keeps the original invoice."""
    cabinet, alice = world.cabinet, world.actor(world.alice)
    line = DocumentLine(name="Usługa", quantity=Decimal(3), unit_price=Decimal("10.00"))
    invoice = _sale(world, (line,))
    draft = cabinet.invoicing.correct(alice, invoice.id or 0, reason="Obniżka ceny")
    before, after = draft.lines
    edited = cabinet.documents.update(
        alice,
        attrs.evolve(
            draft,
            issue_date=date(2026, 12, 2),
            lines=(before, attrs.evolve(after, unit_price=Decimal("5.50"))),
        ),
    )
    cabinet.documents.transition(alice, edited.id or 0, "issue")
    november, december = _statement(world), _statement(world, "2026-12")
    assert [_k(row) for row in november.sales] == [{"K_19": "30.00", "K_20": "6.90"}]
    (correction,) = december.sales
    assert _k(correction) == {"K_19": "-13.50", "K_20": "-3.10"}
    assert december.tax_due == Decimal("-3.10")
    assert december.declaration is not None
    assert (december.declaration["P_19"], december.declaration["P_20"]) == (-14, -3)
    assert december.declaration["P_51"] == 0 and december.declaration["P_53"] == 3
    assert "<K_19>-13.50</K_19><K_20>-3.10</K_20>" in _jpk(world, "2026-12")
    quarter = _statement(world, "2026-Q4")
    assert [row.number for row in quarter.sales] == [invoice.number, correction.number]
    assert quarter.sales_totals.vat_pln == Decimal("3.80")


def test_a_non_deductible_purchase_stays_in_the_register_and_leaves_jpk(world: World) -> None:
    cabinet = world.cabinet
    kept = _purchase(world, "1000.00")
    dropped = _purchase(world, "200.00", number="FZ/78/2026")
    mark = cabinet.vat_statements.mark(
        world.actor(world.accountant), dropped.id or 0, non_deductible=True
    )
    assert mark.non_deductible
    statement = _statement(world)
    assert [row.non_deductible for row in statement.purchases] == [False, True]
    assert statement.purchase_totals.vat_pln == Decimal("276.00")
    assert statement.purchase_totals.non_deductible_vat_pln == Decimal("46.00")
    assert statement.tax_deductible == Decimal("230.00")
    assert statement.declaration is not None and statement.declaration["P_43"] == 230
    xml = _jpk(world)
    assert "FZ/78/2026" not in xml and "<LiczbaWierszyZakupow>1</LiczbaWierszyZakupow>" in xml
    entries = cabinet.audit.list(world.actor(world.admin), entity="document")
    assert any(e.action == "vat_marked" and e.entity_id == dropped.id for e in entries)
    cabinet.vat_statements.mark(world.actor(world.accountant), dropped.id or 0)
    assert _statement(world).tax_deductible == Decimal("276.00")
    assert kept.id is not None


def test_only_bookkeeping_marks_and_only_purchases_are_non_deductible(world: World) -> None:
    purchase = _purchase(world, "100.00")
    sale = _sale(world, (DocumentLine(name="Porada", unit_price=Decimal("10.00")),))
    with pytest.raises(PermissionDenied):
        world.cabinet.vat_statements.mark(
            world.actor(world.alice), purchase.id or 0, non_deductible=True
        )
    with pytest.raises(PermissionDenied):
        world.cabinet.vat_statements.mark(
            world.actor(world.manager), purchase.id or 0, non_deductible=True
        )
    with pytest.raises(ValidationError) as refused:
        world.cabinet.vat_statements.mark(
            world.actor(world.accountant),
            sale.id or 0,
            non_deductible=True,
            markers=["GTU_99", "IMP"],
            document_kind="MK",
            ksef_marker="NrKSeF",
        )
    assert sorted(error.field for error in refused.value.errors) == [
        "document_kind",
        "ksef_marker",
        "markers",
        "markers",
        "non_deductible",
    ]
    with pytest.raises(NotFound):
        world.cabinet.vat_statements.mark(world.actor(world.accountant), 999_999)


def test_gtu_from_lines_and_markers_from_the_accountant_reach_the_jpk_row(world: World) -> None:
    lines = (
        DocumentLine(name="Porada prawna", unit_price=Decimal("500.00"), gtu="GTU_12"),
        DocumentLine(name="Inne", unit_price=Decimal("100.00")),
    )
    sale = _sale(world, lines)
    world.cabinet.vat_statements.mark(
        world.actor(world.accountant), sale.id or 0, markers=["tp"], ksef_marker="OFF"
    )
    (row,) = _statement(world).sales
    assert row.markers == ("GTU_12", "TP") and row.ksef_marker == "OFF"
    xml = _jpk(world)
    assert "<OFF>1</OFF><GTU_12>1</GTU_12><TP>1</TP><K_19>600.00</K_19><K_20>138.00</K_20>" in xml


def test_a_ksef_number_on_a_purchase_is_its_marker(world: World) -> None:
    number = "5265877635-20250826-0100001AF629-AF"
    _purchase(world, "100.00", extra={"seller_invoice_number": "F/1", "ksef_number": number})
    (row,) = _statement(world).purchases
    assert row.ksef_number == number and row.ksef_marker == "NrKSeF"
    assert f"<NrKSeF>{number}</NrKSeF>" in _jpk(world)


def test_drafts_cancelled_and_unapproved_documents_are_left_out(world: World) -> None:
    cabinet, alice = world.cabinet, world.actor(world.alice)
    line = DocumentLine(name="Porada", unit_price=Decimal("10.00"))
    document = Document(
        client_id=world.client_id(world.client_a),
        doc_type="vat_invoice",
        issue_date=NOV,
        buyer=BUYER,
        lines=(line,),
    )
    cabinet.documents.create(alice, document)
    submitted = cabinet.documents.create(
        alice,
        Document(
            client_id=world.client_id(world.client_a),
            doc_type="cost_invoice",
            issue_date=NOV,
            seller=SELLER,
            lines=(line,),
            extra={"seller_invoice_number": "X/1"},
        ),
    )
    cabinet.documents.transition(alice, submitted.id or 0, "submit")
    statement = _statement(world)
    assert statement.sales == () and statement.purchases == ()
    xml = _jpk(world)
    assert "<LiczbaWierszySprzedazy>0</LiczbaWierszySprzedazy>" in xml


def test_who_may_read_the_statement(world: World) -> None:
    _sale(world, (DocumentLine(name="Porada", unit_price=Decimal("10.00")),))
    for user in (world.alice, world.manager, world.accountant, world.admin):
        assert len(_statement(world, actor=world.actor(user)).sales) == 1
    for user in (world.bob, world.other_manager):
        with pytest.raises(NotFound):
            _statement(world, actor=world.actor(user))


def test_jpk_refuses_a_quarter_an_early_month_and_a_bad_tax_office(world: World) -> None:
    cabinet = world.cabinet
    for period, office, fields in (
        ("2026-Q4", TAX_OFFICE, ["period"]),
        ("2026-01", TAX_OFFICE, ["period"]),
        ("2026-11", "9999", ["tax_office"]),
    ):
        with pytest.raises(ValidationError) as refused:
            cabinet.vat_statements.write_jpk(
                world.actor(world.accountant),
                world.client_id(world.client_a),
                period,
                io.BytesIO(),
                tax_office=office,
            )
        assert [error.field for error in refused.value.errors] == fields
    with pytest.raises(ValidationError):
        _statement(world, "2026-13")


def test_the_csv_download_has_every_row_and_the_totals(world: World) -> None:
    _sale(world, TV3_LINES)
    _purchase(world, "1000.00")
    rendered = world.cabinet.vat_statements.render(
        world.actor(world.accountant),
        world.client_id(world.client_a),
        "2026-11",
        "text/csv",
        language="pl",
    )
    text = rendered.content.decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert lines[0].startswith("Rejestr,Lp.,Numer dokumentu")
    assert len(lines) == 5  # heading, a sale, a purchase, two totals
    assert "657.02" in lines[1] and "FZ/77/2026" in lines[2] and "1230.00" in lines[4]
    assert rendered.filename.endswith("2026-11.csv")


def test_period_parsing() -> None:
    assert Period.parse("2026-Q4").months[2] == Period(year=2026, number=12)
    assert Period.parse("2026-02").last_day == date(2026, 2, 28)
    assert str(Period.parse("2026-q1")) == "2026-Q1"
    with pytest.raises(ValueError):
        Period.parse("2026-Q5")


def test_a_foreign_purchase_without_an_exchange_rate_blocks_the_jpk(world: World) -> None:
    """MF example 21 has a different NBP rate on each line and so none for the document: the
    register shows the row with its PLN net unknown, and the JPK is refused naming it, never
    written with amounts in euro taken for złoty."""
    cabinet = world.cabinet
    client = buyer_client(cabinet)
    assert client.id is not None
    staff = world.actor(world.admin)
    imported = cabinet.invoicing.import_fa3(staff, client.id, example(21)).document
    assert imported.id is not None and imported.exchange_rate is None
    cabinet.documents.transition(staff, imported.id, "submit")
    moved = cabinet.documents.transition(world.actor(world.accountant), imported.id, "approve")
    assert moved.receipt_date is not None
    period = f"{moved.receipt_date:%Y-%m}"
    accountant = world.actor(world.accountant)
    statement = cabinet.vat_statements.statement(accountant, client.id, period)
    (row,) = statement.purchases
    assert row.rate_missing and row.currency == "EUR"
    assert row.currency_gross == Decimal("16678.80") and row.net_pln == 0
    with pytest.raises(ValidationError) as refused:
        cabinet.vat_statements.write_jpk(
            accountant, client.id, period, io.BytesIO(), tax_office=TAX_OFFICE
        )
    (error,) = refused.value.errors
    assert error.code == "rate_missing" and moved.number in error.params["numbers"]


def test_a_received_correction_enters_the_purchase_register_with_negative_amounts(
    world: World,
) -> None:
    """MF example 02: a correcting invoice received through KSeF lowers the net by 162.60 and the
    VAT by 37.40; it counts in the month it is received, negative, in K_42/K_43."""
    cabinet = world.cabinet
    client = buyer_client(cabinet)
    assert client.id is not None
    staff, accountant = world.actor(world.admin), world.actor(world.accountant)
    imported = cabinet.invoicing.import_fa3(staff, client.id, example(2)).document
    assert imported.id is not None
    cabinet.documents.transition(staff, imported.id, "submit")
    moved = cabinet.documents.transition(accountant, imported.id, "approve")
    assert moved.receipt_date is not None
    period = f"{moved.receipt_date:%Y-%m}"
    (row,) = cabinet.vat_statements.statement(accountant, client.id, period).purchases
    assert _k(row) == {"K_42": "-162.60", "K_43": "-37.40"}
    out = io.BytesIO()
    declaration = cabinet.vat_statements.write_jpk(
        accountant, client.id, period, out, tax_office=TAX_OFFICE
    )
    assert validate_jpk(out.getvalue()) == []
    assert declaration is not None and declaration["P_43"] == -37
    assert declaration["P_48"] == -37 and declaration["P_51"] == 37
