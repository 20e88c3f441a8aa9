"""The VAT-law defects found when the invoices were tried (issue #10 point 7), service level:
corrections of corrections, dates KSeF and the NBP cannot take, a correction's reason."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import attrs
import pytest
from cabinet_core.app import Cabinet
from cabinet_core.entities import Address, Document, DocumentLine, Party
from cabinet_core.errors import ValidationError
from cabinet_core.ksef import document_to_fa3, validate_fa3
from cabinet_core.storage import Store
from fixtures_services import HookRecorder, World
from invoicing_support import (
    CapturingMailer,
    buyer_client,
    example,
    issued,
    mail_cabinet,
    sales_document,
)

FA = "{http://crd.gov.pl/wzor/2025/06/25/13775/}"
#: The suite's "now": the day after invoicing_support.DAY, so "today" does not drift.
NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cabinet.sqlite3'}"


@pytest.fixture
def cabinet(store: Store, tmp_path: Path, hooks: HookRecorder) -> Iterator[Cabinet]:
    app = mail_cabinet(store, tmp_path, CapturingMailer(), hooks)
    store.clock = lambda: NOW  # type: ignore[method-assign]
    yield app


def fields_of(error: pytest.ExceptionInfo[ValidationError]) -> dict[str, str]:
    return {e.field: e.code for e in error.value.errors}


def issue_correction(world: World, draft: Document, quantity: str, *, reason: str) -> Document:
    """Edit the first "after" row's quantity and issue the correction."""
    cabinet, alice = world.cabinet, world.actor(world.alice)
    lines = list(draft.lines)
    lines[1] = attrs.evolve(lines[1], quantity=Decimal(quantity))
    edited = cabinet.documents.update(
        alice,
        attrs.evolve(draft, lines=tuple(lines), extra={**draft.extra, "reason": reason}),
    )
    assert edited.id is not None
    return cabinet.documents.transition(alice, edited.id, "issue")


# -- a second correction, and a correction of a correction ------------------------------------


def test_a_second_correction_starts_from_the_state_after_the_first(world: World) -> None:
    cabinet, alice = world.cabinet, world.actor(world.alice)
    invoice = issued(cabinet, alice, sales_document(world.client_id(world.client_a)))
    assert invoice.id is not None and invoice.lines[0].quantity == Decimal(2)
    first = issue_correction(
        world, cabinet.invoicing.correct(alice, invoice.id), "1", reason="Zwrot"
    )
    assert first.totals is not None and first.totals.gross == Decimal("-123.00")

    second = cabinet.invoicing.correct(alice, invoice.id, reason="Drugi zwrot")
    # The "before" rows are the first correction's "after" rows: Doradztwo at 1, not 2.
    before = [line for line in second.lines if line.before]
    assert [line.quantity for line in before] == [Decimal(1), Decimal(1)]
    assert second.related_id == invoice.id
    assert second.extra["corrected_number"] == invoice.number
    issued_second = issue_correction(world, second, "0", reason="Drugi zwrot")
    # Only the second return is its difference (100 net + 23 VAT), not both.
    assert issued_second.totals is not None
    assert issued_second.totals.gross == Decimal("-123.00")
    xml = document_to_fa3(
        issued_second,
        seller=issued_second.seller or Party(name="x"),
        created_at=issued_second.updated_at or issued_second.created_at,
    )
    assert validate_fa3(xml) == []
    assert "<P_8B>1</P_8B>" in xml.decode()  # StanPrzed quantity: the state after the first


def test_a_correcting_invoice_can_itself_be_corrected(world: World) -> None:
    cabinet, alice = world.cabinet, world.actor(world.alice)
    invoice = issued(cabinet, alice, sales_document(world.client_id(world.client_a)))
    assert invoice.id is not None
    kor = issue_correction(world, cabinet.invoicing.correct(alice, invoice.id), "1", reason="x")
    assert kor.id is not None
    assert "correct" in cabinet.invoicing.available(kor)

    of_kor = cabinet.invoicing.correct(alice, kor.id, reason="Korekta korekty")
    assert of_kor.related_id == kor.id
    assert of_kor.extra["corrected_number"] == kor.number
    assert [line.quantity for line in of_kor.lines if line.before] == [Decimal(1), Decimal(1)]
    done = issue_correction(world, of_kor, "3", reason="Korekta korekty")
    assert done.totals is not None and done.totals.net == Decimal("200.00")
    xml = document_to_fa3(
        done, seller=done.seller or Party(name="x"), created_at=done.updated_at or done.created_at
    )
    assert validate_fa3(xml) == []
    assert f"<NrFaKorygowanej>{kor.number}</NrFaKorygowanej>" in xml.decode()
    # The original's next correction starts from the end of the chain (quantity 3).
    third = cabinet.invoicing.correct(alice, invoice.id)
    assert next(line.quantity for line in third.lines if line.before) == Decimal(3)


# -- a correction needs a reason and a change -----------------------------------------------


def test_a_correction_is_issued_only_with_a_reason_and_a_change(world: World) -> None:
    cabinet, alice = world.cabinet, world.actor(world.alice)
    invoice = issued(cabinet, alice, sales_document(world.client_id(world.client_a)))
    assert invoice.id is not None
    draft = cabinet.invoicing.correct(alice, invoice.id)
    assert draft.id is not None
    with pytest.raises(ValidationError) as refused:
        cabinet.documents.transition(alice, draft.id, "issue")
    assert fields_of(refused) == {"extra.reason": "required", "lines": "no_difference"}
    # Nothing was numbered or moved.
    assert cabinet.documents.get(alice, draft.id).status == "draft"
    assert cabinet.documents.get(alice, draft.id).number is None

    with_reason = cabinet.documents.update(
        alice, attrs.evolve(draft, extra={**draft.extra, "reason": "Rabat"})
    )
    with pytest.raises(ValidationError) as still:
        cabinet.documents.transition(alice, draft.id, "issue")
    assert fields_of(still) == {"lines": "no_difference"}
    done = issue_correction(world, with_reason, "1", reason="Rabat")
    assert done.status == "issued" and done.number is not None


# -- dates: not in the future, not before 2011 ----------------------------------------------


def test_an_invoice_dated_after_today_is_refused(world: World) -> None:
    cabinet, alice = world.cabinet, world.actor(world.alice)
    client_id = world.client_id(world.client_a)
    tomorrow = date(2026, 11, 22)
    for doc_type in ("vat_invoice", "proforma"):
        with pytest.raises(ValidationError) as refused:
            cabinet.documents.create(
                alice, sales_document(client_id, doc_type, issue_date=tomorrow)
            )
        assert fields_of(refused) == {"issue_date": "in_future"}
    # Today is fine.
    today = cabinet.documents.create(
        alice, sales_document(client_id, issue_date=date(2026, 11, 21))
    )
    assert today.issue_date == date(2026, 11, 21)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"issue_date": date(2010, 12, 31), "due_date": None}, "issue_date"),
        ({"issue_date": date(1, 1, 1), "due_date": None, "currency": "EUR"}, "issue_date"),
        ({"sale_date": date(1, 1, 2), "currency": "USD"}, "sale_date"),
        ({"due_date": date(9999, 12, 31)}, "due_date"),
    ],
)
def test_dates_out_of_range_are_field_errors_everywhere(
    world: World, changes: dict[str, object], field: str
) -> None:
    cabinet, alice = world.cabinet, world.actor(world.alice)
    document = sales_document(world.client_id(world.client_a), **changes)
    for call in (
        cabinet.documents.create,
        cabinet.documents.validate,
        lambda actor, doc: cabinet.documents.save(actor, doc),
    ):
        with pytest.raises(ValidationError) as refused:
            call(alice, document)
        assert fields_of(refused).get(field) == "out_of_range"
    with pytest.raises(ValidationError) as previewed:
        cabinet.documents.preview(document)
    assert fields_of(previewed).get(field) == "out_of_range"


def test_an_extra_date_field_out_of_range_is_a_field_error(world: World) -> None:
    cabinet, alice = world.cabinet, world.actor(world.alice)
    document = sales_document(
        world.client_id(world.client_a), "proforma", extra={"valid_until": "0001-01-01"}
    )
    with pytest.raises(ValidationError) as refused:
        cabinet.documents.create(alice, document)
    assert fields_of(refused)["extra.valid_until"] == "out_of_range"


# -- intra-EU supplies: the buyer's EU VAT number, the seller's PL prefix ----------------------

EU_BUYER = Party(
    name="Kunde GmbH",
    vat_eu="DE136695976",
    address=Address(line1="Hauptstraße 1", postal_code="10115", city="Berlin", country="DE"),
)


@pytest.mark.parametrize("code", ["0 WDT", "np II"])
def test_an_intra_eu_supply_needs_the_buyers_eu_vat_number(world: World, code: str) -> None:
    cabinet, alice = world.cabinet, world.actor(world.alice)
    client_id = world.client_id(world.client_a)
    lines = (
        DocumentLine(
            name="Pralka", quantity=Decimal(1), unit_price=Decimal("1000.00"), vat_rate=code
        ),
    )
    for buyer, error in (
        (attrs.evolve(EU_BUYER, vat_eu=None), "required"),
        (attrs.evolve(EU_BUYER, vat_eu="DE123"), "invalid"),
        (attrs.evolve(EU_BUYER, vat_eu="PL5260001246"), "invalid"),
    ):
        for doc_type in ("vat_invoice", "proforma"):
            with pytest.raises(ValidationError) as refused:
                cabinet.documents.create(
                    alice, sales_document(client_id, doc_type, buyer=buyer, lines=lines)
                )
            assert fields_of(refused) == {"buyer.vat_eu": error}
    invoice = issued(cabinet, alice, sales_document(client_id, buyer=EU_BUYER, lines=lines))
    xml = document_to_fa3(
        invoice,
        seller=invoice.seller or Party(name="x"),
        created_at=invoice.updated_at or invoice.created_at,
    )
    # Valid against the FA(3) XSD, with the seller's prefix where example 22 has it.
    assert validate_fa3(xml) == []
    root = ET.fromstring(xml)
    podmiot1 = root.find(f"{FA}Podmiot1")
    assert podmiot1 is not None
    assert [child.tag for child in podmiot1][:2] == [
        f"{FA}PrefiksPodatnika",
        f"{FA}DaneIdentyfikacyjne",
    ]
    assert podmiot1.findtext(f"{FA}PrefiksPodatnika") == "PL"
    assert root.findtext(f"{FA}Podmiot2/{FA}DaneIdentyfikacyjne/{FA}KodUE") == "DE"


def test_a_domestic_invoice_has_no_seller_prefix(world: World) -> None:
    cabinet, alice = world.cabinet, world.actor(world.alice)
    invoice = issued(cabinet, alice, sales_document(world.client_id(world.client_a)))
    xml = document_to_fa3(
        invoice,
        seller=invoice.seller or Party(name="x"),
        created_at=invoice.updated_at or invoice.created_at,
    )
    assert validate_fa3(xml) == []
    assert b"PrefiksPodatnika" not in xml


def test_the_ministrys_example_22_has_the_prefix_the_export_writes() -> None:
    root = ET.fromstring(example(22))
    assert root.findtext(f"{FA}Podmiot1/{FA}PrefiksPodatnika") == "PL"
    assert "0 WDT" in [p.text for p in root.iter(f"{FA}P_12")]


# -- a proforma with an exempt line -----------------------------------------------------------

EXEMPT = (
    DocumentLine(
        name="Szkolenie", quantity=Decimal(1), unit_price=Decimal("500.00"), vat_rate="zw"
    ),
)


def test_a_proforma_with_an_exempt_line_takes_the_basis_and_converts(world: World) -> None:
    cabinet, alice = world.cabinet, world.actor(world.alice)
    client_id = world.client_id(world.client_a)
    with pytest.raises(ValidationError) as refused:
        cabinet.documents.create(alice, sales_document(client_id, "proforma", lines=EXEMPT))
    assert fields_of(refused) == {"extra.exemption_basis": "required"}
    basis = "art. 43 ust. 1 pkt 29 lit. c ustawy o VAT"
    proforma = issued(
        cabinet,
        alice,
        sales_document(client_id, "proforma", lines=EXEMPT, extra={"exemption_basis": basis}),
    )
    assert proforma.id is not None
    invoice = cabinet.invoicing.convert_proforma(alice, proforma.id)
    assert invoice.extra["exemption_basis"] == basis
    assert invoice.id is not None
    done = cabinet.documents.transition(alice, invoice.id, "issue")
    assert done.status == "issued"


# -- an import whose lines use different exchange rates (MF example 21) -----------------------


def test_an_import_with_per_line_rates_keeps_the_sellers_vat_in_pln(world: World) -> None:
    cabinet = world.cabinet
    client = buyer_client(cabinet)
    assert client.id is not None
    staff = world.actor(world.admin)
    result = cabinet.invoicing.import_fa3(staff, client.id, example(21))
    document = result.document
    assert "per_line" in [w.code for w in result.warnings]
    # The file's P_14_1W, not a recomputation without a rate (which has no PLN VAT at all).
    assert document.totals is not None
    assert document.totals.vat_pln == Decimal("13768.14")
    assert (document.totals.net, document.totals.vat, document.totals.gross) == (
        Decimal("13560.00"),
        Decimal("3118.80"),
        Decimal("16678.80"),
    )
    # And a later save (the client edits the draft) keeps it.
    assert document.id is not None
    again = cabinet.documents.update(staff, attrs.evolve(document, notes="sprawdzone"))
    assert again.totals is not None and again.totals.vat_pln == Decimal("13768.14")
