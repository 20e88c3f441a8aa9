"""cabinet.invoicing.import_fa3 on SQLite: every official MF example becomes a cost-invoice
draft with the right parties, lines and totals; warnings are stored on the document; a bad
file is a field error and saves nothing.

Kinds whose amounts are not the sum of their lines (advance ZAL, settlement ROZ, their
corrections, a KOR stating only differences) and margin-scheme invoices keep the totals the
file states; everything else is recomputed from the lines and compared with the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import attrs
import pytest
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor, Client
from cabinet_core.errors import ValidationError
from cabinet_core.ksef import parse_fa3
from cabinet_core.storage import DocumentQuery, Store
from fixtures_services import HookRecorder, World
from invoicing_support import EXAMPLES, CapturingMailer, buyer_client, example, mail_cabinet

ALL_EXAMPLES = sorted(EXAMPLES.glob("FA_3_Przyklad_*.xml"))
#: Examples whose buyer is not the MF examples' usual NIP 1111111111.
OTHER_BUYER = {22, 23, 26}
#: Examples whose stored totals are the file's own (not line sums, or margin scheme).
STATED_TOTALS = {5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19}


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cabinet.sqlite3'}"


@pytest.fixture
def cabinet(store: Store, tmp_path: Path, hooks: HookRecorder) -> Iterator[Cabinet]:
    yield mail_cabinet(store, tmp_path, CapturingMailer(), hooks)


@pytest.fixture
def client(world: World) -> Client:
    return buyer_client(world.cabinet, manager_id=world.manager.id)


def test_all_26_examples_are_there() -> None:
    assert len(ALL_EXAMPLES) == 26


@pytest.mark.parametrize("path", ALL_EXAMPLES, ids=lambda path: path.stem[-2:])
def test_every_official_example_imports_as_a_cost_invoice_draft(
    world: World, client: Client, path: Path
) -> None:
    cabinet, staff = world.cabinet, world.actor(world.manager)
    number = int(path.stem[-2:])
    parsed = parse_fa3(path.read_bytes())
    assert client.id is not None
    result = cabinet.invoicing.import_fa3(staff, client.id, path.read_bytes(), filename=path.name)
    document = result.document

    assert document.id is not None and document.client_id == client.id
    assert (document.doc_type, document.status, document.number) == ("cost_invoice", "draft", None)
    assert document == cabinet.documents.get(staff, document.id)
    # Parties: the seller as the file names it; the client as the buyer.
    assert document.seller is not None and parsed.document.seller is not None
    assert (document.seller.name, document.seller.nip) == (
        parsed.document.seller.name,
        parsed.document.seller.nip,
    )
    assert document.buyer is not None and document.buyer.nip == "1111111111"
    counterparty = cabinet.counterparties.get(staff, document.counterparty_id or 0)
    assert counterparty.nip == parsed.document.seller.nip
    # Lines: every row, before rows of a correction included, names and quantities as stated.
    assert [(line.name, line.quantity, line.before) for line in document.lines] == [
        (line.name, line.quantity, line.before) for line in parsed.document.lines
    ]
    # The seller's number and the invoice kind are kept.
    assert document.extra["seller_invoice_number"] == parsed.document.extra["seller_invoice_number"]
    assert document.extra["ksef_kind"] == parsed.kind
    # Totals: what the cabinet recomputes, or what the file states where it cannot.
    assert document.totals is not None
    if number in STATED_TOTALS:
        assert document.totals == parsed.stated_totals
    else:
        assert parsed.computed_totals is not None
        assert document.totals.gross == parsed.computed_totals.gross
        assert document.totals.net == parsed.computed_totals.net
        if number != 1:
            assert document.totals.gross == parsed.stated_totals.gross
    # What the import noticed is on the document, so the preview page can show it.
    stored = document.extra["import_warnings"]
    assert [w["code"] for w in stored] == [w.code for w in result.warnings]
    assert ("not_own" in [w.code for w in result.warnings]) == (number in OTHER_BUYER)


def test_example_01_imports_with_its_one_grosz_warning_kept_on_the_document(
    world: World, client: Client
) -> None:
    assert client.id is not None
    result = world.cabinet.invoicing.import_fa3(world.actor(world.admin), client.id, example(1))
    document = result.document
    assert document.totals is not None and document.totals.gross == Decimal("2050.99")
    (warning,) = document.extra["import_warnings"]
    assert warning["field"] == "totals.gross" and warning["code"] == "inconsistent"
    assert warning["params"] == {"stated": "2051", "sum": "2050.99", "currency": "PLN"}
    assert warning["message"] % warning["params"] == (
        "The file's total due 2051 PLN is not the sum of its net and VAT amounts (2050.99 PLN)."
    )


def test_margin_lines_are_recorded_without_vat_and_say_so(world: World, client: Client) -> None:
    assert client.id is not None
    result = world.cabinet.invoicing.import_fa3(world.actor(world.admin), client.id, example(8))
    assert [line.vat_rate for line in result.document.lines] == ["zw"]
    assert [w.code for w in result.warnings] == ["margin_scheme"]
    assert result.document.totals is not None
    assert result.document.totals.gross == Decimal("15000")


def test_a_client_user_imports_into_its_own_client_only(world: World, client: Client) -> None:
    cabinet = world.cabinet
    bob = world.actor(world.bob)
    result = cabinet.invoicing.import_fa3(bob, client.id or 0, example(26))
    # Bob's client is Beta (NIP 5260001246), not the file's buyer: imported for Beta, warned.
    assert result.document.client_id == world.client_b.id
    assert result.document.buyer is not None and result.document.buyer.nip == "5260001246"
    (warning,) = [w for w in result.warnings if w.code == "not_own"]
    assert "2222222222" in warning.params["buyer"]


def test_the_seller_becomes_one_counterparty_and_a_second_import_is_flagged(
    world: World, client: Client
) -> None:
    cabinet, staff = world.cabinet, world.actor(world.admin)
    assert client.id is not None
    first = cabinet.invoicing.import_fa3(staff, client.id, example(1))
    again = cabinet.invoicing.import_fa3(staff, client.id, example(1))
    other = cabinet.invoicing.import_fa3(staff, client.id, example(10))  # FZ2026/02/150
    assert first.document.counterparty_id == again.document.counterparty_id
    assert other.document.counterparty_id == first.document.counterparty_id  # same seller NIP
    assert cabinet.counterparties.list(staff, client.id).total == 1
    assert "duplicate" in [w.code for w in again.warnings]
    assert "duplicate" not in [w.code for w in first.warnings + other.warnings]


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"<Faktura><oops></Faktura>", "malformed"),
        (b'<?xml version="1.0"?><Invoice xmlns="urn:x"/>', "not_fa3"),
        (example(1).replace(b"<P_2>", b"<P_2x>").replace(b"</P_2>", b"</P_2x>"), "schema"),
    ],
)
def test_a_bad_file_is_a_field_error_and_saves_nothing(
    world: World, client: Client, content: bytes, code: str
) -> None:
    cabinet, staff = world.cabinet, world.actor(world.admin)
    assert client.id is not None
    with pytest.raises(ValidationError) as info:
        cabinet.invoicing.import_fa3(staff, client.id, content)
    assert [(e.field, e.code) for e in info.value.errors] == [("file", code)]
    assert cabinet.documents.list(staff, DocumentQuery()).total == 0
    assert cabinet.counterparties.list(staff, client.id).total == 0


def test_nobody_imports_into_a_client_they_do_not_see(world: World, client: Client) -> None:
    from cabinet_core.errors import NotFound

    with pytest.raises(NotFound):
        world.cabinet.invoicing.import_fa3(
            world.actor(world.other_manager), client.id or 0, example(1)
        )
    assert world.cabinet.documents.list(Actor.system(), DocumentQuery()).total == 0


def test_the_ksef_number_comes_from_the_caller_or_the_downloaded_files_name(
    world: World, client: Client
) -> None:
    cabinet, staff = world.cabinet, world.actor(world.admin)
    assert client.id is not None
    named = cabinet.invoicing.import_fa3(
        staff, client.id, example(1), filename="9999999999-20260215-0100001AF629-A5.xml"
    )
    assert named.document.extra["ksef_number"] == "9999999999-20260215-0100001AF629-A5"
    # Another seller's number in the name is not this invoice's.
    other = cabinet.invoicing.import_fa3(
        staff, client.id, example(9), filename="5265877635-20250826-0100001AF629-AF.xml"
    )
    assert "ksef_number" not in other.document.extra
    given = cabinet.invoicing.import_fa3(
        staff, client.id, example(4), ksef_number="9999999999-20260215-0100001AF629-A5"
    )
    assert given.document.extra["ksef_number"] == "9999999999-20260215-0100001AF629-A5"
    count = cabinet.documents.list(staff, DocumentQuery()).total
    for number, code in (
        ("9999999999-20260215-0100001AF629-A4", "invalid"),
        ("5265877635-20250826-0100001AF629-AF", "other_seller"),
    ):
        with pytest.raises(ValidationError) as info:
            cabinet.invoicing.import_fa3(staff, client.id, example(1), ksef_number=number)
        assert [(e.field, e.code) for e in info.value.errors] == [("ksef_number", code)]
    assert cabinet.documents.list(staff, DocumentQuery()).total == count


def test_annex_15_lines_are_read_for_the_split_payment_rule(world: World, client: Client) -> None:
    marked = example(1).replace(
        b"<P_12>23</P_12>", b"<P_12>23</P_12><P_12_Zal_15>1</P_12_Zal_15>", 1
    )
    assert parse_fa3(marked).document.lines[0].annex15
    assert client.id is not None
    imported = world.cabinet.invoicing.import_fa3(world.actor(world.admin), client.id, marked)
    assert [line.annex15 for line in imported.document.lines] == [True, False, False]


@pytest.mark.parametrize("number", [8, 10, 14])
def test_totals_the_lines_cannot_give_are_kept_with_the_document(
    world: World, client: Client, number: int
) -> None:
    assert client.id is not None
    document = world.cabinet.invoicing.import_fa3(
        world.actor(world.admin), client.id, example(number)
    ).document
    cost_invoice = world.cabinet.document_type("cost_invoice")
    assert cost_invoice.stated_totals(document) == document.totals  # type: ignore[attr-defined]
    assert document.totals == parse_fa3(example(number)).stated_totals


@pytest.mark.parametrize("number", [8, 14])
def test_a_later_save_keeps_the_stated_totals(world: World, client: Client, number: int) -> None:
    """Editing an imported advance/settlement draft (its notes, say) must not sum its lines
    into new totals: the file's totals are the invoice's."""
    assert client.id is not None
    actor = world.actor(world.admin)
    document = world.cabinet.invoicing.import_fa3(actor, client.id, example(number)).document
    edited = world.cabinet.documents.update(actor, attrs.evolve(document, notes="checked"))
    assert edited.notes == "checked"
    assert edited.totals == parse_fa3(example(number)).stated_totals


def test_invoices_whose_lines_are_their_totals_state_none(world: World, client: Client) -> None:
    assert client.id is not None
    document = world.cabinet.invoicing.import_fa3(
        world.actor(world.admin), client.id, example(1)
    ).document
    assert "stated_totals" not in document.extra
    cost_invoice = world.cabinet.document_type("cost_invoice")
    assert cost_invoice.stated_totals(document) is None  # type: ignore[attr-defined]


def test_a_schema_valid_file_with_unacceptable_data_names_it_on_the_file_field(
    world: World, client: Client
) -> None:
    # The schema checks only the NIP's shape; its check digit is wrong here.
    broken = example(1).replace(b"<NIP>9999999999</NIP>", b"<NIP>9999999998</NIP>", 1)
    staff = world.actor(world.admin)
    with pytest.raises(ValidationError) as info:
        world.cabinet.invoicing.import_fa3(staff, client.id or 0, broken)
    first, *rest = info.value.errors
    assert (first.field, first.code, first.params) == (
        "file",
        "invalid_content",
        {"fields": "seller.nip"},
    )
    assert [(e.field, e.code) for e in rest] == [("seller.nip", "nip_checksum")]
    assert world.cabinet.documents.list(staff, DocumentQuery()).total == 0
    assert world.cabinet.counterparties.list(staff, client.id or 0).total == 0
