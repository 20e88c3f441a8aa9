"""cabinet.cash on both databases: desks, KP/KW numbering, reports that follow each other,
the never-negative balance, invoices paid in cash, access and the report workflow."""

from __future__ import annotations

import itertools
import threading
from datetime import date
from decimal import Decimal

import pytest
from cabinet_core.cashdesk import CashSlip, SlipKind
from cabinet_core.cashdesk.ledger import running
from cabinet_core.entities import Document, DocumentLine, Party, PaymentStatus
from cabinet_core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from fixtures_services import World
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

NOV = date(2026, 11, 1)


def _fields(exc: pytest.ExceptionInfo[ValidationError]) -> dict[str, str]:
    return {error.field: error.code for error in exc.value.errors}


def _desk(world: World, symbol: str = "KASA", currency: str = "PLN") -> int:
    desk = world.cabinet.cash.add_desk(
        world.actor(world.alice),
        world.client_id(world.client_a),
        name=f"Kasa {symbol}",
        symbol=symbol,
        currency=currency,
    )
    assert desk.id is not None
    return desk.id


def _slip(desk_id: int, kind: SlipKind, amount: str, on: date, **more: object) -> CashSlip:
    values: dict[str, object] = {"party_name": "Jan Kowalski", "title": "Zaliczka", **more}
    return CashSlip(desk_id=desk_id, kind=kind, on=on, amount=Decimal(amount), **values)  # type: ignore[arg-type]


def test_desks_per_client_and_currency_with_access(world: World) -> None:
    cash = world.cabinet.cash
    pln = _desk(world)
    eur = _desk(world, "EUR", "EUR")
    alice, bob = world.actor(world.alice), world.actor(world.bob)
    assert [d.currency for d in cash.list_desks(alice)] == ["EUR", "PLN"]
    assert cash.list_desks(bob) == []
    assert {d.id for d in cash.list_desks(world.actor(world.accountant))} == {pln, eur}
    assert {d.id for d in cash.list_desks(world.actor(world.manager))} == {pln, eur}
    assert cash.list_desks(world.actor(world.other_manager)) == []
    with pytest.raises(NotFound):
        cash.get_desk(bob, pln)
    with pytest.raises(PermissionDenied):
        cash.add_desk(
            world.actor(world.accountant),
            world.client_id(world.client_a),
            name="X",
            symbol="X",
        )
    with pytest.raises(ValidationError) as refused:
        cash.add_desk(
            alice, world.client_id(world.client_a), name="", symbol="kasa", currency="JPY"
        )
    assert _fields(refused) == {"name": "required", "symbol": "taken", "currency": "unsupported"}


def test_slips_are_numbered_per_desk_kind_and_year(world: World) -> None:
    cash, alice = world.cabinet.cash, world.actor(world.alice)
    desk, other = _desk(world), _desk(world, "EUR", "EUR")
    cash.open_report(
        alice,
        desk,
        period_from=date(2025, 12, 1),
        period_to=date(2025, 12, 31),
        initial_balance=Decimal("100.00"),
    )
    cash.open_report(alice, other, period_from=date(2025, 12, 1), period_to=date(2025, 12, 31))
    numbers = [
        cash.add_slip(alice, _slip(desk, SlipKind.KP, "10.00", date(2025, 12, 2))).number,
        cash.add_slip(alice, _slip(desk, SlipKind.KP, "10.00", date(2025, 12, 3))).number,
        cash.add_slip(alice, _slip(desk, SlipKind.KW, "5.00", date(2025, 12, 3))).number,
        cash.add_slip(alice, _slip(other, SlipKind.KP, "5.00", date(2025, 12, 3))).number,
    ]
    assert numbers == ["KP/1/2025/KASA", "KP/2/2025/KASA", "KW/1/2025/KASA", "KP/1/2025/EUR"]
    for month in range(1, 12):
        start = date(2026, month, 1)
        end = date(2026, month + 1, 1).toordinal() - 1
        cash.move_report(alice, cash.list_reports(alice, desk)[-1].id or 0, "close")
        cash.open_report(alice, desk, period_from=start, period_to=date.fromordinal(end))
    january = cash.add_slip(alice, _slip(desk, SlipKind.KP, "1.00", date(2026, 11, 2)))
    assert january.number == "KP/1/2026/KASA"
    reports = cash.list_reports(alice, desk)
    assert reports[0].number == "RK/1/2025/KASA" and reports[-1].number == "RK/11/2026/KASA"


def test_reports_follow_each_other_and_carry_the_balance(world: World) -> None:
    cash, alice = world.cabinet.cash, world.actor(world.alice)
    desk = _desk(world)
    october = cash.open_report(
        alice,
        desk,
        period_from=date(2026, 10, 1),
        period_to=date(2026, 10, 31),
        initial_balance=Decimal("500.00"),
    )
    cash.add_slip(alice, _slip(desk, SlipKind.KP, "250.00", date(2026, 10, 5)))
    cash.add_slip(alice, _slip(desk, SlipKind.KW, "100.50", date(2026, 10, 6)))
    with pytest.raises(ValidationError) as gap:
        cash.open_report(alice, desk, period_from=date(2026, 11, 2), period_to=date(2026, 11, 30))
    assert _fields(gap) == {"period_from": "gap"}
    with pytest.raises(ValidationError) as overlap:
        cash.open_report(alice, desk, period_from=date(2026, 10, 31), period_to=date(2026, 10, 31))
    assert _fields(overlap) == {"period_from": "overlap"}
    with pytest.raises(ValidationError) as carried:
        cash.open_report(
            alice,
            desk,
            period_from=NOV,
            period_to=date(2026, 11, 30),
            initial_balance=Decimal("1.00"),
        )
    assert _fields(carried) == {"initial_balance": "carried"}
    with pytest.raises(ValidationError) as long:
        cash.open_report(alice, desk, period_from=NOV, period_to=date(2026, 12, 3))
    assert _fields(long) == {"period_to": "longer_than_month"}
    november = cash.open_report(alice, desk, period_from=NOV, period_to=date(2026, 11, 15))
    cash.add_slip(alice, _slip(desk, SlipKind.KW, "49.50", date(2026, 11, 3)))
    first = cash.report_view(alice, october.id or 0).balance
    second = cash.report_view(alice, november.id or 0).balance
    assert (first.opening, first.receipts, first.payments, first.closing) == (
        Decimal("500.00"),
        Decimal("250.00"),
        Decimal("100.50"),
        Decimal("649.50"),
    )
    assert (second.opening, second.closing) == (Decimal("649.50"), Decimal("600.00"))
    # Closing the later report first is refused; in order it works, and the book freezes.
    with pytest.raises(Conflict):
        cash.move_report(alice, november.id or 0, "close")
    closed = cash.move_report(alice, october.id or 0, "close")
    assert closed.status == "closed" and closed.prepared_by == "Alice"
    with pytest.raises(ValidationError) as frozen:
        cash.add_slip(alice, _slip(desk, SlipKind.KP, "1.00", date(2026, 10, 7)))
    assert _fields(frozen) == {"date": "report_closed"}
    with pytest.raises(ValidationError) as elsewhere:
        cash.add_slip(
            alice, _slip(desk, SlipKind.KP, "1.00", date(2026, 11, 3)), report_id=october.id
        )
    assert _fields(elsewhere) == {"date": "outside_period"}
    with pytest.raises(ValidationError) as uncovered:
        cash.add_slip(alice, _slip(desk, SlipKind.KP, "1.00", date(2026, 11, 20)))
    assert _fields(uncovered) == {"date": "no_open_report"}


def test_the_workflow_signs_and_follows_the_roles(world: World) -> None:
    cash, alice = world.cabinet.cash, world.actor(world.alice)
    accountant = world.actor(world.accountant)
    desk = _desk(world)
    report = cash.open_report(alice, desk, period_from=NOV, period_to=date(2026, 11, 30))
    assert [t.key for t in cash.transitions(alice, report)] == ["close"]
    with pytest.raises(PermissionDenied):
        cash.move_report(accountant, report.id or 0, "close")
    cash.move_report(alice, report.id or 0, "close")
    with pytest.raises(PermissionDenied):
        cash.move_report(alice, report.id or 0, "approve")
    with pytest.raises(ValidationError):
        cash.move_report(accountant, report.id or 0, "reopen")
    reopened = cash.move_report(accountant, report.id or 0, "reopen", comment="Brak KP")
    assert reopened.status == "open"
    cash.move_report(alice, report.id or 0, "close")
    approved = cash.move_report(accountant, report.id or 0, "approve")
    assert (approved.status, approved.prepared_by, approved.approved_by) == (
        "approved",
        "Alice",
        "Accountant",
    )
    with pytest.raises(Conflict):
        cash.move_report(accountant, report.id or 0, "reopen", comment="x")
    with pytest.raises(NotFound):
        cash.get_report(world.actor(world.bob), report.id or 0)


def test_a_payment_below_zero_is_refused_at_the_entry_that_causes_it(world: World) -> None:
    cash, alice = world.cabinet.cash, world.actor(world.alice)
    desk = _desk(world)
    cash.open_report(
        alice, desk, period_from=NOV, period_to=date(2026, 11, 30), initial_balance=Decimal("50")
    )
    receipt = cash.add_slip(alice, _slip(desk, SlipKind.KP, "100.00", date(2026, 11, 10)))
    with pytest.raises(ValidationError) as early:
        # Dated before the receipt: 50 − 80 < 0 on the 9th although the period ends above zero.
        cash.add_slip(alice, _slip(desk, SlipKind.KW, "80.00", date(2026, 11, 9)))
    assert _fields(early) == {"amount": "negative_balance"}
    payment = cash.add_slip(alice, _slip(desk, SlipKind.KW, "120.00", date(2026, 11, 12)))
    # Lowering the earlier receipt would take the later payment below zero: named there.
    with pytest.raises(ValidationError) as later:
        cash.update_slip(
            alice,
            CashSlip(
                id=receipt.id,
                desk_id=desk,
                kind=SlipKind.KP,
                on=receipt.on,
                amount=Decimal("60.00"),
                party_name="Jan",
                title="Wpłata",
            ),
        )
    assert _fields(later) == {"amount": "negative_balance_later"}
    assert later.value.errors[0].params["number"] == payment.number
    # Moving the receipt after the payment is refused the same way.
    with pytest.raises(ValidationError):
        cash.update_slip(
            alice,
            CashSlip(
                id=receipt.id,
                desk_id=desk,
                kind=SlipKind.KP,
                on=date(2026, 11, 13),
                amount=receipt.amount,
                party_name="Jan",
                title="Wpłata",
            ),
        )
    # Removing it too; and only the last slip of a series can be removed.
    with pytest.raises(ValidationError) as removed:
        cash.remove_slip(alice, receipt.id or 0)
    assert _fields(removed) == {"slip": "negative_balance_later"}
    second = cash.add_slip(alice, _slip(desk, SlipKind.KP, "5.00", date(2026, 11, 14)))
    with pytest.raises(ValidationError) as not_last:
        cash.remove_slip(alice, receipt.id or 0)
    assert _fields(not_last) == {"slip": "not_last"}
    cash.remove_slip(alice, second.id or 0)
    again = cash.add_slip(alice, _slip(desk, SlipKind.KP, "5.00", date(2026, 11, 14)))
    assert again.number == second.number == "KP/2/2026/KASA"


def test_slip_input_is_checked(world: World) -> None:
    cash, alice = world.cabinet.cash, world.actor(world.alice)
    desk = _desk(world)
    cash.open_report(alice, desk, period_from=NOV, period_to=date(2026, 11, 30))
    bad = CashSlip(
        desk_id=desk,
        kind=SlipKind.KP,
        on=date(1999, 1, 1),
        amount=Decimal("1.001"),
        party_name=" ",
        title="x" * 501,
    )
    with pytest.raises(ValidationError) as refused:
        cash.add_slip(alice, bad)
    assert _fields(refused) == {
        "date": "too_early",
        "amount": "precision",
        "party_name": "required",
        "title": "too_long",
    }
    with pytest.raises(ValidationError) as future:
        cash.add_slip(alice, _slip(desk, SlipKind.KP, "-1", date(2999, 1, 1)))
    assert _fields(future) == {"date": "future", "amount": "positive"}
    with pytest.raises(NotFound):
        cash.add_slip(world.actor(world.bob), _slip(desk, SlipKind.KP, "1", date(2026, 11, 2)))
    with pytest.raises(PermissionDenied):
        cash.add_slip(
            world.actor(world.accountant), _slip(desk, SlipKind.KP, "1", date(2026, 11, 2))
        )


def test_a_slip_pays_an_invoice_and_sets_its_payment_status(world: World) -> None:
    cabinet, alice = world.cabinet, world.actor(world.alice)
    day = date(2026, 11, 4)
    invoice = cabinet.documents.create(
        alice,
        Document(
            client_id=world.client_id(world.client_a),
            doc_type="vat_invoice",
            issue_date=day,
            sale_date=day,
            buyer=Party(name="Kupiec sp. z o.o.", nip="5260001246"),
            lines=(DocumentLine(name="Usługa", unit_price=Decimal("100.00")),),
        ),
    )
    desk = _desk(world)
    cabinet.cash.open_report(alice, desk, period_from=NOV, period_to=date(2026, 11, 30))
    with pytest.raises(ValidationError) as draft:
        cabinet.cash.add_slip(alice, _slip(desk, SlipKind.KP, "50.00", day, document_id=invoice.id))
    assert _fields(draft) == {"document_id": "not_issued"}
    issued = cabinet.documents.transition(alice, invoice.id or 0, "issue")
    first = cabinet.cash.add_slip(
        alice, _slip(desk, SlipKind.KP, "50.00", day, document_id=issued.id)
    )
    assert (
        cabinet.documents.get(alice, issued.id or 0).payment_status is PaymentStatus.PARTIALLY_PAID
    )
    cabinet.cash.add_slip(alice, _slip(desk, SlipKind.KP, "73.00", day, document_id=issued.id))
    assert cabinet.documents.get(alice, issued.id or 0).payment_status is PaymentStatus.PAID
    view = cabinet.cash.slip_view(alice, first.id or 0)
    assert view.document_number == issued.number
    assert view.amount_in_words["pl"] == "pięćdziesiąt złotych 00/100"
    topics = [m.topic for m in cabinet.store.list_outbox(limit=100)]
    assert topics.count("document.payment_changed") == 2
    eur = _desk(world, "EUR", "EUR")
    cabinet.cash.open_report(alice, eur, period_from=NOV, period_to=date(2026, 11, 30))
    with pytest.raises(ValidationError) as currency:
        cabinet.cash.add_slip(alice, _slip(eur, SlipKind.KP, "1.00", day, document_id=issued.id))
    assert _fields(currency) == {"document_id": "currency"}


_symbols = itertools.count()
OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(list(SlipKind)),
        st.decimals(min_value=Decimal("0.01"), max_value=Decimal("500"), places=2),
        st.integers(min_value=1, max_value=30),
    ),
    max_size=12,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    opening=st.decimals(min_value=Decimal(0), max_value=Decimal("300"), places=2),
    operations=OPERATIONS,
)
def test_an_accepted_book_adds_up_and_never_goes_below_zero(
    world: World, opening: Decimal, operations: list[tuple[SlipKind, Decimal, int]]
) -> None:
    cash, alice = world.cabinet.cash, world.actor(world.alice)
    desk = _desk(world, f"H{next(_symbols)}")
    report = cash.open_report(
        alice, desk, period_from=NOV, period_to=date(2026, 11, 30), initial_balance=opening
    )
    accepted = []
    for kind, amount, day in operations:
        try:
            accepted.append(
                cash.add_slip(alice, _slip(desk, kind, str(amount), date(2026, 11, day)))
            )
        except ValidationError as exc:
            # Refused only for a payment: at itself, or at a later entry it would take below 0.
            assert kind is SlipKind.KW
            assert _fields_of(exc) in (
                {"amount": "negative_balance"},
                {"amount": "negative_balance_later"},
            )
    view = cash.report_view(alice, report.id or 0)
    receipts = sum((s.amount for s in accepted if s.kind is SlipKind.KP), Decimal(0))
    payments = sum((s.amount for s in accepted if s.kind is SlipKind.KW), Decimal(0))
    assert view.balance.opening == opening
    assert view.balance.closing == opening + receipts - payments
    assert all(line.balance >= 0 for line in view.lines)
    assert [line.balance for line in view.lines] == [
        line.balance for line in running(opening, accepted)
    ]


def _fields_of(exc: ValidationError) -> dict[str, str]:
    return {error.field: error.code for error in exc.errors}


def test_concurrent_payments_cannot_both_spend_the_same_cash(world: World) -> None:
    cash, alice = world.cabinet.cash, world.actor(world.alice)
    desk = _desk(world)
    cash.open_report(
        alice, desk, period_from=NOV, period_to=date(2026, 11, 30), initial_balance=Decimal("100")
    )
    start = threading.Barrier(4)
    outcomes: list[str] = []

    def pay() -> None:
        start.wait()
        try:
            cash.add_slip(alice, _slip(desk, SlipKind.KW, "60.00", date(2026, 11, 2)))
            outcomes.append("paid")
        except ValidationError:
            outcomes.append("refused")

    workers = [threading.Thread(target=pay) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sorted(outcomes) == ["paid", "refused", "refused", "refused"]
    assert [s.number for s in cash.list_slips(alice, desk)] == ["KW/1/2026/KASA"]


EDITS = st.lists(
    st.one_of(
        st.tuples(
            st.just("add"),
            st.sampled_from(list(SlipKind)),
            st.decimals(min_value=Decimal("0.01"), max_value=Decimal("300"), places=2),
            st.integers(min_value=1, max_value=30),
        ),
        st.tuples(
            st.just("edit"),
            st.integers(min_value=0, max_value=20),
            st.decimals(min_value=Decimal("0.01"), max_value=Decimal("300"), places=2),
            st.integers(min_value=1, max_value=30),
        ),
        st.tuples(st.just("remove"), st.integers(min_value=0, max_value=20), st.none(), st.none()),
    ),
    max_size=14,
)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(opening=st.decimals(min_value=Decimal(0), max_value=Decimal("200"), places=2), steps=EDITS)
def test_edits_and_removals_never_leave_a_negative_balance(
    world: World, opening: Decimal, steps: list[tuple[str, object, object, object]]
) -> None:
    cash, alice = world.cabinet.cash, world.actor(world.alice)
    desk = _desk(world, f"E{next(_symbols)}")
    report = cash.open_report(
        alice, desk, period_from=NOV, period_to=date(2026, 11, 30), initial_balance=opening
    )
    for action, first, amount, day in steps:
        slips = cash.list_slips(alice, desk)
        try:
            if action == "add":
                assert isinstance(first, SlipKind) and isinstance(day, int)
                cash.add_slip(alice, _slip(desk, first, str(amount), date(2026, 11, day)))
            elif slips and action == "edit":
                assert isinstance(first, int) and isinstance(day, int)
                target = slips[first % len(slips)]
                cash.update_slip(
                    alice,
                    CashSlip(
                        id=target.id,
                        desk_id=desk,
                        kind=target.kind,
                        on=date(2026, 11, day),
                        amount=Decimal(str(amount)),
                        party_name=target.party_name,
                        title=target.title,
                    ),
                )
            elif slips and action == "remove":
                assert isinstance(first, int)
                cash.remove_slip(alice, slips[first % len(slips)].id or 0)
        except ValidationError as exc:
            assert {e.code for e in exc.errors} <= {
                "negative_balance",
                "negative_balance_later",
                "not_last",
            }
    view = cash.report_view(alice, report.id or 0)
    kept = cash.list_slips(alice, desk)
    receipts = sum((s.amount for s in kept if s.kind is SlipKind.KP), Decimal(0))
    payments = sum((s.amount for s in kept if s.kind is SlipKind.KW), Decimal(0))
    assert view.balance.closing == opening + receipts - payments
    assert all(line.balance >= 0 for line in view.lines)
    for kind in SlipKind:
        # Numbers stay gapless whatever was removed.
        numbers = sorted(s.seq or 0 for s in kept if s.kind is kind)
        assert numbers == list(range(1, len(numbers) + 1))
