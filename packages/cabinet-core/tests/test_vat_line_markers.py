"""JPK_V7M(3) markers per product and per line, and purchase lines not deductible: from the
catalogue and the document's lines to the register rows, their totals and the JPK file (which is
validated against the official schema)."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import attrs
import pytest
from cabinet_core.entities import Document, DocumentLine, Party, Product
from cabinet_core.errors import ValidationError
from cabinet_core.vat_statement import VatStatement, validate_jpk
from fixtures_services import World

BUYER = Party(name="F.H.U. Jan Kowalski", nip="1111111111")
SELLER = Party(name="ABC AGD sp. z o. o.", nip="9999999999")


def _sale(world: World, *lines: DocumentLine) -> Document:
    alice = world.actor(world.alice)
    stored = world.cabinet.documents.create(
        alice,
        Document(
            client_id=world.client_id(world.client_a),
            doc_type="vat_invoice",
            issue_date=date(2026, 11, 10),
            buyer=BUYER,
            lines=lines,
        ),
    )
    return world.cabinet.documents.transition(alice, stored.id or 0, "issue")


def _purchase(world: World, *lines: DocumentLine) -> Document:
    alice = world.actor(world.alice)
    stored = world.cabinet.documents.create(
        alice,
        Document(
            client_id=world.client_id(world.client_a),
            doc_type="cost_invoice",
            issue_date=date(2026, 11, 3),
            receipt_date=date(2026, 11, 4),
            seller=SELLER,
            lines=lines,
            extra={"seller_invoice_number": "FZ/9/2026"},
        ),
    )
    world.cabinet.documents.transition(alice, stored.id or 0, "submit")
    return world.cabinet.documents.transition(
        world.actor(world.accountant), stored.id or 0, "approve"
    )


def _statement(world: World) -> VatStatement:
    return world.cabinet.vat_statements.statement(
        world.actor(world.accountant), world.client_id(world.client_a), "2026-11"
    )


def _jpk(world: World) -> str:
    out = io.BytesIO()
    world.cabinet.vat_statements.write_jpk(
        world.actor(world.accountant),
        world.client_id(world.client_a),
        "2026-11",
        out,
        tax_office="1471",
    )
    assert validate_jpk(out.getvalue()) == []
    return out.getvalue().decode()


def test_a_products_procedure_markers_are_kept_in_schema_order(world: World) -> None:
    product = world.cabinet.products.create(
        world.actor(world.alice),
        Product(
            client_id=world.client_id(world.client_a),
            name="Doradztwo prawne",
            unit_price=Decimal("500.00"),
            gtu="GTU_12",
            procedures=("TP", "MR_UZ", "TP"),
        ),
    )
    assert product.procedures == ("TP", "MR_UZ")
    assert world.cabinet.products.get(world.actor(world.alice), product.id or 0) == product


def test_an_unknown_procedure_marker_on_a_product_is_a_field_error(world: World) -> None:
    with pytest.raises(ValidationError) as refused:
        world.cabinet.products.create(
            world.actor(world.alice),
            Product(
                client_id=world.client_id(world.client_a),
                name="X",
                procedures=("TP", "GTU_12", "XX"),
            ),
        )
    assert [(e.field, e.params["marker"]) for e in refused.value.errors] == [
        ("procedures", "GTU_12"),
        ("procedures", "XX"),
    ]


def test_line_gtu_and_procedures_reach_the_register_row_and_the_jpk(world: World) -> None:
    _sale(
        world,
        DocumentLine(name="Porada", unit_price=Decimal("500.00"), gtu="GTU_12", procedures=("TP",)),
        DocumentLine(name="Auto", unit_price=Decimal("100.00"), procedures=("MR_UZ",)),
    )
    (row,) = _statement(world).sales
    assert row.markers == ("GTU_12", "TP", "MR_UZ")
    xml = _jpk(world)
    assert "<GTU_12>1</GTU_12><TP>1</TP><MR_UZ>1</MR_UZ><K_19>600.00</K_19>" in xml


def test_bad_line_markers_and_a_non_deductible_sale_line_are_field_errors(world: World) -> None:
    with pytest.raises(ValidationError) as refused:
        _sale(
            world,
            DocumentLine(
                name="Porada",
                unit_price=Decimal("1.00"),
                gtu="GTU_14",
                procedures=("IMP",),
                non_deductible=True,
            ),
        )
    assert sorted(e.field for e in refused.value.errors) == [
        "lines.0.gtu",
        "lines.0.non_deductible",
        "lines.0.procedures",
    ]


def test_a_non_deductible_line_leaves_only_its_share_out_of_jpk(world: World) -> None:
    """Two 23 % lines of 1000.00 and 300.00 (VAT 299.00 rounded once) and a 8 % line of 100.00:
    marking the 300.00 line leaves 300/1300 of the 23 % rate's net and VAT undeducted."""
    _purchase(
        world,
        DocumentLine(name="Pralka", unit_price=Decimal("1000.00")),
        DocumentLine(name="Kolacja", unit_price=Decimal("300.00"), non_deductible=True),
        DocumentLine(name="Książka", unit_price=Decimal("100.00"), vat_rate="8"),
    )
    statement = _statement(world)
    (row,) = statement.purchases
    assert not row.non_deductible and row.in_jpk
    assert row.vat_pln == Decimal("307.00")
    assert row.non_deductible_net_pln == Decimal("300.00")
    assert row.non_deductible_vat_pln == Decimal("69.00")
    assert {name: f"{value:.2f}" for name, value in row.k.items()} == {
        "K_42": "1100.00",
        "K_43": "238.00",
    }
    assert statement.purchase_totals.non_deductible_vat_pln == Decimal("69.00")
    assert statement.tax_deductible == Decimal("238.00")
    xml = _jpk(world)
    assert "<K_42>1100.00</K_42><K_43>238.00</K_43>" in xml
    assert "<PodatekNaliczony>238.00</PodatekNaliczony>" in xml


def test_a_purchase_whose_every_line_is_marked_is_not_deductible_whole(world: World) -> None:
    line = DocumentLine(name="Kolacja", unit_price=Decimal("200.00"), non_deductible=True)
    _purchase(world, line, attrs.evolve(line, name="Wino", vat_rate="8"))
    statement = _statement(world)
    (row,) = statement.purchases
    assert row.non_deductible and not row.in_jpk and row.k == {}
    assert row.non_deductible_vat_pln == Decimal("62.00")
    assert statement.tax_deductible == Decimal("0.00")
    assert "<LiczbaWierszyZakupow>0</LiczbaWierszyZakupow>" in _jpk(world)


def test_an_unchanged_documents_row_is_reused_and_a_changed_one_rebuilt(world: World) -> None:
    sale = _sale(world, DocumentLine(name="Porada", unit_price=Decimal("100.00")))
    purchase = _purchase(world, DocumentLine(name="Pralka", unit_price=Decimal("1000.00")))
    first = _statement(world)
    again = _statement(world)
    assert again.sales[0] is first.sales[0] and again.purchases[0] is first.purchases[0]
    accountant = world.actor(world.accountant)
    world.cabinet.vat_statements.mark(accountant, purchase.id or 0, non_deductible=True)
    marked = _statement(world)
    assert marked.sales[0] is first.sales[0]
    assert marked.purchases[0].non_deductible and marked.tax_deductible == Decimal("0.00")
    # The clock is pinned: the mark's values, not its time, tell the change.
    world.cabinet.vat_statements.mark(accountant, purchase.id or 0, non_deductible=False)
    assert _statement(world).tax_deductible == Decimal("230.00")
    world.cabinet.vat_statements.mark(accountant, sale.id or 0, markers=["TP"])
    assert _statement(world).sales[0].markers == ("TP",)
    world.cabinet.vat_statements.forget_rows()
    assert _statement(world).sales[0] is not first.sales[0]
