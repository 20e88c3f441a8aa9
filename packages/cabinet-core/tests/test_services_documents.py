"""cabinet.documents on both databases: validation, totals, FX, numbering, workflow, access,
audit and outbox in the same transaction, hooks after commit, nothing half-saved."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from decimal import Decimal

import attrs
import pytest
from cabinet_core.entities import (
    Actor,
    Counterparty,
    Document,
    DocumentLine,
    ExchangeRate,
    Party,
    PaymentStatus,
)
from cabinet_core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from cabinet_core.storage import DocumentQuery
from fixtures_services import HookRecorder, World

DAY = date(2026, 11, 20)
LINES = (
    DocumentLine(name="Doradztwo", quantity=Decimal(2), unit_price=Decimal("100.00")),
    DocumentLine(name="Książka", quantity=Decimal(1), unit_price=Decimal("50.00"), vat_rate="5"),
)
BUYER = Party(name="Kupiec sp. z o.o.", nip="1234563218")


def invoice(world: World, **changes: object) -> Document:
    document = Document(
        client_id=world.client_id(world.client_a),
        doc_type="vat_invoice",
        issue_date=DAY,
        buyer=BUYER,
        lines=LINES,
    )
    return attrs.evolve(document, **changes)


def cost_invoice(world: World) -> Document:
    return Document(
        client_id=world.client_id(world.client_a),
        doc_type="cost_invoice",
        issue_date=DAY,
        seller=Party(name="Dostawca S.A.", nip="5260001246"),
        lines=LINES[:1],
        extra={"seller_invoice_number": "S/77/2026"},
    )


def outbox_topics(world: World) -> list[str]:
    return [m.topic for m in world.cabinet.store.list_outbox(limit=1000)]


def test_create_computes_totals_fills_parties_and_records(
    world: World, hooks: HookRecorder
) -> None:
    alice = world.actor(world.alice)
    stored = world.cabinet.documents.create(alice, invoice(world))
    assert stored.id is not None and stored.status == "draft" and stored.number is None
    assert stored.totals is not None
    assert (stored.totals.net, stored.totals.vat, stored.totals.gross) == (
        Decimal("250.00"),
        Decimal("48.50"),
        Decimal("298.50"),
    )
    assert [row.rate for row in stored.totals.rows] == ["23", "5"]
    # The client is the seller of its sales document, paid into its PLN account.
    assert stored.seller is not None and stored.seller.nip == "1234563218"
    assert stored.bank_account is not None and stored.bank_account.currency == "PLN"
    assert stored.created_by == world.alice.id
    assert stored.exchange_rate is None
    assert world.cabinet.documents.get(alice, stored.id) == stored
    assert "document.created" in outbox_topics(world)
    audit = world.cabinet.audit.list(world.actor(world.admin), entity="document")
    assert [(a.action, a.entity_id) for a in audit] == [("document.create", stored.id)]
    assert hooks.calls[-1][0] == "document_saved" and hooks.calls[-1][1]["created"] is True


def test_client_id_is_forced_to_the_client_users_own(world: World) -> None:
    bob = world.actor(world.bob)
    stored = world.cabinet.documents.create(bob, invoice(world))  # asks for client A
    assert stored.client_id == world.client_b.id


def test_invalid_document_is_not_saved(world: World) -> None:
    alice = world.actor(world.alice)
    before = outbox_topics(world)
    bad = invoice(world, lines=(attrs.evolve(LINES[0], quantity=Decimal(0), vat_rate="22"),))
    with pytest.raises(ValidationError) as info:
        world.cabinet.documents.create(alice, bad)
    fields = {(e.field, e.code) for e in info.value.errors}
    assert fields == {
        ("lines.0.quantity", "not_positive"),
        ("lines.0.vat_rate", "unknown_vat_rate"),
    }
    assert world.cabinet.documents.list(alice, DocumentQuery()).total == 0
    assert outbox_topics(world) == before


@pytest.mark.parametrize(
    ("quantity", "price", "field", "code"),
    [
        (Decimal("NaN"), Decimal("1"), "lines.0.quantity", "number"),
        (Decimal(1), Decimal("Infinity"), "lines.0.unit_price", "number"),
        (Decimal("1e13"), Decimal("1"), "lines.0.quantity", "too_large"),
        (Decimal(1), Decimal("0.0000001"), "lines.0.unit_price", "precision"),
        (Decimal("999999999999"), Decimal("999999"), "lines", "too_large"),
    ],
)
def test_numbers_no_column_can_hold_are_field_errors_for_every_caller(
    world: World, quantity: Decimal, price: Decimal, field: str, code: str
) -> None:
    alice = world.actor(world.alice)
    bad = invoice(world, lines=(attrs.evolve(LINES[0], quantity=quantity, unit_price=price),))
    with pytest.raises(ValidationError) as saving:
        world.cabinet.documents.create(alice, bad)
    with pytest.raises(ValidationError) as previewing:
        world.cabinet.documents.preview_totals(bad)
    for info in (saving, previewing):
        assert (field, code) in {(e.field, e.code) for e in info.value.errors}
    assert world.cabinet.documents.list(alice, DocumentQuery()).total == 0


def test_unknown_type_is_a_field_error(world: World) -> None:
    with pytest.raises(ValidationError) as info:
        world.cabinet.documents.create(world.actor(world.alice), invoice(world, doc_type="memo"))
    assert info.value.errors[0].field == "doc_type"


def test_foreign_currency_fixes_the_nbp_rate_on_the_document(world: World) -> None:
    alice = world.actor(world.alice)
    stored = world.cabinet.documents.create(
        alice, invoice(world, currency="EUR", sale_date=date(2026, 11, 23))
    )
    rate = stored.exchange_rate
    assert rate is not None and rate.currency == "EUR"
    # Invoice issued before the sale: the rate of the last business day before the issue date.
    assert rate.effective_date < DAY
    expected = world.cabinet.rate_provider.rate_for("EUR", DAY)
    assert rate == expected
    assert stored.totals is not None and stored.totals.vat_pln is not None
    # P_14_xW: each rate's exact tax times the rate, rounded once per rate (MF example 21).
    vat_23 = (Decimal("200.00") * Decimal("0.23") * rate.rate).quantize(Decimal("0.01"))
    vat_5 = (Decimal("50.00") * Decimal("0.05") * rate.rate).quantize(Decimal("0.01"))
    assert stored.totals.vat_pln == vat_23 + vat_5
    # A client cannot smuggle its own rate in: the provider's rate wins.
    fake = ExchangeRate(currency="EUR", rate=Decimal(1), effective_date=DAY, table_no="x")
    again = world.cabinet.documents.create(
        alice, invoice(world, currency="EUR", exchange_rate=fake)
    )
    assert again.exchange_rate == world.cabinet.rate_provider.rate_for("EUR", DAY)


def test_saved_rate_is_kept_while_currency_and_tax_point_stay(world: World) -> None:
    alice = world.actor(world.alice)
    stored = world.cabinet.documents.create(alice, invoice(world, currency="USD"))
    pinned = attrs.evolve(
        stored,
        exchange_rate=attrs.evolve(stored.exchange_rate, rate=Decimal("9.9999"), table_no="old"),
    )
    with world.cabinet.store.transaction() as tx:
        pinned = tx.update_document(pinned)
    edited = world.cabinet.documents.update(alice, attrs.evolve(pinned, notes="edited"))
    assert edited.exchange_rate is not None and edited.exchange_rate.table_no == "old"
    moved = world.cabinet.documents.update(
        alice, attrs.evolve(edited, issue_date=date(2026, 11, 25))
    )
    assert moved.exchange_rate is not None and moved.exchange_rate.table_no != "old"
    back_to_pln = world.cabinet.documents.update(alice, attrs.evolve(moved, currency="PLN"))
    assert back_to_pln.exchange_rate is None
    assert back_to_pln.totals is not None and back_to_pln.totals.vat_pln is None


def test_issue_assigns_gapless_numbers_per_client_and_month(world: World) -> None:
    alice, bob = world.actor(world.alice), world.actor(world.bob)
    docs = world.cabinet.documents
    numbers = []
    for _ in range(3):
        draft = docs.create(alice, invoice(world))
        assert draft.id is not None
        numbers.append(docs.transition(alice, draft.id, "issue").number)
    assert numbers == ["FV/1/11/2026", "FV/2/11/2026", "FV/3/11/2026"]
    december = docs.create(alice, invoice(world, issue_date=date(2026, 12, 1)))
    assert december.id is not None
    assert docs.transition(alice, december.id, "issue").number == "FV/1/12/2026"
    other = docs.create(bob, invoice(world))
    assert other.id is not None
    issued = docs.transition(bob, other.id, "issue")
    assert (issued.number, issued.series) == ("FV/1/11/2026", "FV/11/2026")


def test_issued_document_is_frozen(world: World) -> None:
    alice = world.actor(world.alice)
    draft = world.cabinet.documents.create(alice, invoice(world))
    assert draft.id is not None
    issued = world.cabinet.documents.transition(alice, draft.id, "issue")
    with pytest.raises(Conflict):
        world.cabinet.documents.update(alice, attrs.evolve(issued, notes="late change"))
    with pytest.raises(Conflict):
        world.cabinet.documents.delete(alice, draft.id)
    # The number survives every later move.
    sent = world.cabinet.documents.transition(alice, draft.id, "send")
    paid = world.cabinet.documents.transition(world.actor(world.accountant), draft.id, "mark_paid")
    assert sent.number == paid.number == issued.number
    assert paid.payment_status is PaymentStatus.PAID
    assert world.cabinet.documents.transitions(alice, draft.id) == ()


def test_stale_version_conflicts(world: World) -> None:
    alice = world.actor(world.alice)
    draft = world.cabinet.documents.create(alice, invoice(world))
    world.cabinet.documents.update(alice, attrs.evolve(draft, notes="first"))
    with pytest.raises(Conflict):
        world.cabinet.documents.update(alice, attrs.evolve(draft, notes="second"))


def test_cost_invoice_workflow_with_roles(world: World, hooks: HookRecorder) -> None:
    docs = world.cabinet.documents
    alice, accountant = world.actor(world.alice), world.actor(world.accountant)
    draft = docs.create(alice, cost_invoice(world))
    assert draft.id is not None
    # The client is the buyer of its cost invoice.
    assert draft.buyer is not None and draft.buyer.name == world.client_a.name
    assert {t.key for t in docs.transitions(alice, draft.id)} == {"submit"}
    with pytest.raises(PermissionDenied):
        docs.transition(accountant, draft.id, "submit")
    submitted = docs.transition(alice, draft.id, "submit")
    assert submitted.number == "KOSZT/1/11/2026"
    with pytest.raises(PermissionDenied):
        docs.transition(alice, draft.id, "approve")
    with pytest.raises(ValidationError) as info:
        docs.transition(accountant, draft.id, "return")
    assert info.value.errors[0].field == "comment"
    returned = docs.transition(accountant, draft.id, "return", comment="Brak NIP sprzedawcy")
    assert returned.status == "returned"
    # Returned invoices are editable again and keep their register number on resubmission.
    edited = docs.update(alice, attrs.evolve(returned, notes="poprawione"))
    resubmitted = docs.transition(alice, draft.id, "resubmit")
    assert resubmitted.number == "KOSZT/1/11/2026" and edited.notes == "poprawione"
    docs.transition(accountant, draft.id, "approve")
    booked = docs.transition(accountant, draft.id, "book")
    assert booked.status == "booked"
    with pytest.raises(Conflict):
        docs.transition(accountant, draft.id, "approve")
    with pytest.raises(Conflict):
        docs.transition(accountant, draft.id, "fly")
    # Alice was told about the accountant's moves, in her language, with the reason.
    texts = [n.text for n in world.cabinet.notifications.list(alice)]
    assert any("Brak NIP sprzedawcy" in text and "Zwrócona" in text for text in texts)
    changes = [c[1] for c in hooks.calls if c[0] == "document_status_changed"]
    assert [(c["old"], c["new"]) for c in changes] == [
        ("draft", "submitted"),
        ("submitted", "returned"),
        ("returned", "submitted"),
        ("submitted", "approved"),
        ("approved", "booked"),
    ]
    assert outbox_topics(world).count("document.status_changed") == 5


def test_accountant_reads_everything_but_edits_nothing(world: World) -> None:
    docs = world.cabinet.documents
    draft = docs.create(world.actor(world.alice), invoice(world))
    accountant = world.actor(world.accountant)
    assert draft.id is not None
    assert docs.get(accountant, draft.id).id == draft.id
    with pytest.raises(PermissionDenied):
        docs.update(accountant, attrs.evolve(draft, notes="x"))
    with pytest.raises(PermissionDenied):
        docs.create(accountant, invoice(world))


def test_other_clients_documents_do_not_exist_for_you(world: World) -> None:
    docs = world.cabinet.documents
    draft = docs.create(world.actor(world.alice), invoice(world))
    assert draft.id is not None
    for outsider in (world.bob, world.other_manager):
        actor = world.actor(outsider)
        with pytest.raises(NotFound):
            docs.get(actor, draft.id)
        with pytest.raises(NotFound):
            docs.transition(actor, draft.id, "issue")
        with pytest.raises(NotFound):
            docs.update(actor, attrs.evolve(draft, notes="x"))
        with pytest.raises(NotFound):
            docs.delete(actor, draft.id)
        with pytest.raises(NotFound):
            docs.transitions(actor, draft.id)
    # Its own manager may work on it.
    assert docs.get(world.actor(world.manager), draft.id).id == draft.id


def test_list_is_narrowed_to_visible_clients(world: World) -> None:
    docs = world.cabinet.documents
    docs.create(world.actor(world.alice), invoice(world))
    docs.create(world.actor(world.bob), invoice(world))
    a_id, b_id = world.client_id(world.client_a), world.client_id(world.client_b)

    def clients_seen(actor: Actor, query: DocumentQuery) -> set[int]:
        return {d.client_id for d in docs.list(actor, query).items}

    assert clients_seen(world.actor(world.alice), DocumentQuery()) == {a_id}
    assert clients_seen(world.actor(world.alice), DocumentQuery(client_ids=(b_id,))) == set()
    assert clients_seen(world.actor(world.manager), DocumentQuery()) == {a_id}
    assert clients_seen(world.actor(world.accountant), DocumentQuery()) == {a_id, b_id}
    assert clients_seen(world.actor(world.admin), DocumentQuery(client_ids=(b_id,))) == {b_id}


def test_delete_drafts_only_with_audit(world: World) -> None:
    alice = world.actor(world.alice)
    draft = world.cabinet.documents.create(alice, invoice(world))
    assert draft.id is not None
    world.cabinet.documents.delete(alice, draft.id)
    with pytest.raises(NotFound):
        world.cabinet.documents.get(alice, draft.id)
    assert "document.deleted" in outbox_topics(world)


def test_counterparty_fills_the_buyer_and_must_be_own(world: World) -> None:
    alice, bob = world.actor(world.alice), world.actor(world.bob)
    mine = world.cabinet.counterparties.create(
        alice, Counterparty(client_id=0, name="Gamma sp.j.", nip="PL 526-000-12-46")
    )
    theirs = world.cabinet.counterparties.create(bob, Counterparty(client_id=0, name="Delta"))
    stored = world.cabinet.documents.create(
        alice, invoice(world, buyer=None, counterparty_id=mine.id)
    )
    assert stored.buyer is not None
    assert (stored.buyer.name, stored.buyer.nip) == ("Gamma sp.j.", "5260001246")
    with pytest.raises(ValidationError) as info:
        world.cabinet.documents.create(alice, invoice(world, counterparty_id=theirs.id))
    assert info.value.errors[0].field == "counterparty_id"


def test_related_document_must_be_the_same_clients(world: World) -> None:
    alice, bob = world.actor(world.alice), world.actor(world.bob)
    foreign = world.cabinet.documents.create(bob, invoice(world))
    with pytest.raises(ValidationError) as info:
        world.cabinet.documents.create(alice, invoice(world, related_id=foreign.id))
    assert info.value.errors[0].field == "related_id"


def test_correcting_invoice_totals_are_differences(world: World) -> None:
    before = DocumentLine(
        name="Usługa", quantity=Decimal(1), unit_price=Decimal("30.00"), before=True
    )
    after = DocumentLine(name="Usługa", quantity=Decimal(1), unit_price=Decimal("16.50"))
    stored = world.cabinet.documents.create(
        world.actor(world.alice),
        invoice(
            world,
            doc_type="correcting_invoice",
            lines=(before, after),
            extra={"corrected_number": "FV/1/10/2026", "corrected_issue_date": "2026-10-01"},
        ),
    )
    assert stored.totals is not None
    # poland.md TV10: 30.00/6.90 corrected to 16.50/3.80 states −13.50/−3.10.
    assert (stored.totals.net, stored.totals.vat) == (Decimal("-13.50"), Decimal("-3.10"))
    assert stored.extra["corrected_issue_date"] == "2026-10-01"


def test_documents_without_lines_carry_their_amount(world: World) -> None:
    bill = world.cabinet.documents.create(
        world.actor(world.alice),
        invoice(
            world,
            doc_type="bill",
            lines=(),
            extra={
                "contract_number": "UM/1/2026",
                "contract_date": date(2026, 11, 2),
                "contract_kind": "zlecenie",
                "gross_amount": Decimal("1000"),
            },
        ),
    )
    # A bill's amount is what it pays out: 1 000.00 less ZUS, health and the PIT advance
    # (poland.md §5.2 B, no sickness insurance).
    assert bill.totals is not None and bill.totals.gross == Decimal("722.53")
    assert bill.extra["contract_date"] == "2026-11-02"
    assert bill.extra["gross_amount"] == "1000.00"
    assert bill.extra["breakdown"]["gross"] == "1000.00"


def test_historic_correction_note_is_stored_read_only(world: World) -> None:
    alice = world.actor(world.alice)
    note = Document(
        client_id=world.client_id(world.client_a),
        doc_type="correction_request",
        issue_date=date(2026, 1, 20),
        seller=Party(name="Dostawca S.A."),
        extra={
            "kind": "nota",
            "original_number": "FV/5/01/2026",
            "original_issue_date": "2026-01-10",
            "requested_correction": "Adres nabywcy: ul. Prosta 1",
        },
    )
    stored = world.cabinet.documents.create(alice, note)
    assert stored.status == "historic"
    assert stored.id is not None
    assert world.cabinet.documents.transitions(alice, stored.id) == ()
    with pytest.raises(Conflict):
        world.cabinet.documents.update(alice, attrs.evolve(stored, notes="x"))
    with pytest.raises(ValidationError) as info:
        world.cabinet.documents.create(alice, attrs.evolve(note, issue_date=date(2026, 2, 2)))
    assert info.value.errors[0].code == "nota_repealed"
    request = world.cabinet.documents.create(
        alice,
        attrs.evolve(note, issue_date=date(2026, 2, 2), extra={**note.extra, "kind": "request"}),
    )
    assert request.id is not None and request.status == "draft"
    sent = world.cabinet.documents.transition(alice, request.id, "send")
    assert sent.number == "PK/1/2026"


def test_preview_totals_is_pure(world: World) -> None:
    before = outbox_topics(world)
    totals = world.cabinet.documents.preview_totals(invoice(world))
    assert totals.gross == Decimal("298.50")
    empty = world.cabinet.documents.preview_totals(
        invoice(world, doc_type="contract", lines=(), extra={"rate_type": "hourly"})
    )
    assert empty.gross == Decimal("0.00")
    assert outbox_topics(world) == before


def test_a_failing_plugin_hook_does_not_undo_the_change(world: World) -> None:
    from cabinet_core.hookspecs import hookimpl

    class Broken:
        @hookimpl
        def document_saved(self, **kwargs: object) -> None:
            raise RuntimeError("plugin bug")

    broken = Broken()
    world.cabinet.pm.register(broken)
    try:
        stored = world.cabinet.documents.create(world.actor(world.alice), invoice(world))
    finally:
        world.cabinet.pm.unregister(broken)
    assert stored.id is not None
    assert world.cabinet.documents.get(world.actor(world.alice), stored.id).id == stored.id


def test_inactive_client_cannot_get_new_documents(world: World) -> None:
    admin = world.actor(world.admin)
    world.cabinet.clients.update(admin, attrs.evolve(world.client_a, active=False))
    with pytest.raises(ValidationError) as info:
        world.cabinet.documents.create(world.actor(world.alice), invoice(world))
    assert info.value.errors[-1].field == "client_id"


def test_templates_follow_the_clients_allowed_list(world: World) -> None:
    alice = world.actor(world.alice)
    docs = world.cabinet.documents
    # Without a list, any registered template for the type will do.
    assert docs.create(alice, invoice(world, template="modern")).template == "modern"
    world.cabinet.clients.assign_templates(
        world.actor(world.admin), world.client_id(world.client_a), ["classic"], "classic"
    )
    assert docs.create(alice, invoice(world)).template == "classic"
    for key in ("modern", "nonexistent"):
        with pytest.raises(ValidationError) as info:
            docs.create(alice, invoice(world, template=key))
        assert (info.value.errors[0].field, info.value.errors[0].code) == (
            "template",
            "not_allowed",
        )
    # A template only lays out the types it declares; the default applies where it fits.
    with pytest.raises(ValidationError):
        docs.create(alice, attrs.evolve(cost_invoice(world), template="classic"))
    assert docs.create(alice, cost_invoice(world)).template is None


def test_concurrent_issues_get_gapless_distinct_numbers(world: World) -> None:
    alice = world.actor(world.alice)
    docs = world.cabinet.documents
    ids = [docs.create(alice, invoice(world)).id for _ in range(12)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        issued = list(pool.map(lambda doc_id: docs.transition(alice, doc_id, "issue"), ids))
    numbers = sorted(int((d.number or "").split("/")[1]) for d in issued)
    assert numbers == list(range(1, 13))


def test_a_failure_inside_a_transition_leaves_nothing_behind(world: World) -> None:
    alice = world.actor(world.alice)
    docs = world.cabinet.documents
    store = world.cabinet.store
    draft = docs.create(alice, invoice(world))
    assert draft.id is not None
    outbox_before = outbox_topics(world)
    audit_before = world.cabinet.audit.list(world.actor(world.admin))
    working_clock = store.clock

    def broken_clock() -> datetime:
        raise RuntimeError("clock failure after the number was taken")

    store.clock = broken_clock
    try:
        with pytest.raises(RuntimeError):
            docs.transition(alice, draft.id, "issue")
    finally:
        store.clock = working_clock
    unchanged = docs.get(alice, draft.id)
    assert (unchanged.status, unchanged.number, unchanged.version) == ("draft", None, 1)
    assert outbox_topics(world) == outbox_before
    assert world.cabinet.audit.list(world.actor(world.admin)) == audit_before
    # The number taken inside the failed transaction was rolled back with it: still no gap.
    assert docs.transition(alice, draft.id, "issue").number == "FV/1/11/2026"


def test_own_party_must_carry_the_clients_nip(world: World) -> None:
    alice = world.actor(world.alice)
    impostor = Party(name="Alfa", nip="5260001246")
    with pytest.raises(ValidationError) as info:
        world.cabinet.documents.create(alice, invoice(world, seller=impostor))
    assert (info.value.errors[0].field, info.value.errors[0].code) == ("seller.nip", "not_own")
    with pytest.raises(ValidationError) as info:
        world.cabinet.documents.create(alice, attrs.evolve(cost_invoice(world), buyer=impostor))
    assert info.value.errors[0].field == "buyer.nip"
    branch = Party(name="Alfa — oddział Kraków", nip="PL 123-456-32-18")
    stored = world.cabinet.documents.create(alice, invoice(world, seller=branch))
    assert stored.seller == attrs.evolve(branch, nip="1234563218")


def test_cost_invoice_register_number_follows_the_receipt_month(world: World) -> None:
    alice = world.actor(world.alice)
    late = attrs.evolve(cost_invoice(world), receipt_date=date(2026, 12, 2))
    draft = world.cabinet.documents.create(alice, late)
    assert draft.id is not None
    submitted = world.cabinet.documents.transition(alice, draft.id, "submit")
    assert (submitted.number, submitted.series) == ("KOSZT/1/12/2026", "KOSZT/12/2026")
