"""Cash desks, KP/KW slips and cash reports (raport kasowy, poland.md §6): ``cabinet.cash``.

* A client keeps one desk per currency or more (``KASA`` in PLN, ``EUR`` …); its users, its
  manager and admins set them up and write to them; accountants read them and approve reports.
* A slip (KP money in, KW money out) is numbered in its desk's yearly series
  (``KP/37/2026/KASA``) and dated inside an *open* report of its desk: a closed report's
  entries are frozen, so every change to the book goes through a report being prepared.
* Reports of a desk follow each other day after day (no gap, no overlap) and cover at most a
  calendar month. Only the first states an opening balance; each later one opens with the
  previous closing balance, computed from the slips.
* The cash balance may never be negative after any entry, in the whole book: a slip that
  would make it so, or a change to an earlier slip that would make a later one do so, is
  refused with a field error naming that entry.
* A slip may name the invoice it pays; the invoice's payment status then follows the sum of
  its slips (paid, partially paid), with the audit entry and outbox row of a payment change.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

import attrs

from cabinet_core import access
from cabinet_core.cashdesk.entities import CashDesk, CashDeskReport, CashSlip, SlipKind
from cabinet_core.cashdesk.ledger import balance_of, first_negative, running
from cabinet_core.cashdesk.printing import CashPrinter, ReportView, SlipView
from cabinet_core.cashdesk.rules import (
    CENT,
    MAX_AMOUNT,
    amount_errors,
    date_errors,
    length_errors,
    period_errors,
)
from cabinet_core.cashdesk.workflow import CASH_DESK_REPORT_WORKFLOW, OPEN
from cabinet_core.doctypes.base import Transition
from cabinet_core.entities import Actor, Client, Document, PaymentStatus
from cabinet_core.errors import N_, Conflict, FieldError, NotFound, ValidationError
from cabinet_core.money import SUPPORTED_CURRENCIES
from cabinet_core.numbering_pattern import format_number, series_key
from cabinet_core.rendering import Rendered
from cabinet_core.services._base import Service, raise_if, required_text
from cabinet_core.storage import Tx, numbering
from cabinet_core.storage import cash as sql
from cabinet_core.sync import DocumentPaymentChange, Topic
from cabinet_core.words import amount_in_words

__all__ = ["CashService"]

SLIP_PATTERN = "{kind}/{{seq}}/{{YYYY}}"
REPORT_PATTERN = "RK/{seq}/{YYYY}"


def _series(desk: CashDesk, key: str) -> str:
    # One counter per desk: the store keys series per client, so the desk's id goes in the key.
    return f"cash:{desk.id}:{key}"


class CashService(Service):
    """The use cases of the cash desks (see the module docstring)."""

    workflow = CASH_DESK_REPORT_WORKFLOW

    # -- access
    def _desk(self, tx: Tx, actor: Actor, desk_id: int, *, write: bool = False) -> CashDesk:
        desk = sql.get_desk(tx.connection, desk_id, lock=write)
        if desk is None:
            raise NotFound(N_("Not found"), entity="cash_desk", id=desk_id)
        try:
            access.client_for(tx, actor, desk.client_id, write=write)
        except NotFound:
            raise NotFound(N_("Not found"), entity="cash_desk", id=desk_id) from None
        return desk

    def _report(
        self, tx: Tx, actor: Actor, report_id: int, *, write: bool = False
    ) -> tuple[CashDeskReport, CashDesk]:
        report = sql.get_report(tx.connection, report_id)
        if report is None:
            raise NotFound(N_("Not found"), entity="cash_desk_report", id=report_id)
        try:
            desk = self._desk(tx, actor, report.desk_id, write=write)
        except NotFound:
            raise NotFound(N_("Not found"), entity="cash_desk_report", id=report_id) from None
        return report, desk

    def _slip(
        self, tx: Tx, actor: Actor, slip_id: int, *, write: bool = False
    ) -> tuple[CashSlip, CashDesk]:
        slip = sql.get_slip(tx.connection, slip_id)
        if slip is None:
            raise NotFound(N_("Not found"), entity="cash_slip", id=slip_id)
        try:
            desk = self._desk(tx, actor, slip.desk_id, write=write)
        except NotFound:
            raise NotFound(N_("Not found"), entity="cash_slip", id=slip_id) from None
        return slip, desk

    def may_write(self, actor: Actor, desk: CashDesk) -> bool:
        """Whether ``actor`` may add desks, reports and slips for the desk's client."""
        with self.store.transaction(readonly=True) as tx:
            client = tx.get_client(desk.client_id)
            return client is not None and access.can_edit_client_data(actor, client)

    # -- desks
    def add_desk(
        self, actor: Actor, client_id: int, *, name: str, symbol: str, currency: str = "PLN"
    ) -> CashDesk:
        """A new cash desk of the client in ``currency``; ``symbol`` ends its numbers."""
        name, symbol, currency = name.strip(), symbol.strip().upper(), currency.strip().upper()
        with self.store.transaction() as tx:
            client = access.client_for(tx, actor, client_id, write=True)
            errors = required_text(name, "name") + required_text(symbol, "symbol")
            errors += length_errors({"name": name, "symbol": symbol})
            if symbol and not symbol.replace("-", "").replace("_", "").isalnum():
                errors.append(
                    FieldError(
                        field="symbol",
                        code="invalid",
                        message=N_("Use letters, digits, - and _ only."),
                    )
                )
            if currency not in SUPPORTED_CURRENCIES:
                errors.append(
                    FieldError(
                        field="currency",
                        code="unsupported",
                        message=N_("Choose one of the supported currencies."),
                    )
                )
            if symbol and sql.symbol_taken(tx.connection, client_id, symbol):
                errors.append(
                    FieldError(
                        field="symbol",
                        code="taken",
                        message=N_("The client already has a cash desk with this symbol."),
                    )
                )
            raise_if(errors)
            desk = sql.add_desk(
                tx.connection,
                CashDesk(client_id=client_id, name=name, symbol=symbol, currency=currency),
                self.now(),
            )
            self.record(
                tx,
                actor,
                action="cash.desk_added",
                entity="cash_desk",
                entity_id=desk.id,
                client_id=client.id,
                detail={"symbol": symbol, "currency": currency},
            )
        return desk

    def list_desks(self, actor: Actor, client_id: int | None = None) -> list[CashDesk]:
        """The desks ``actor`` may see (of ``client_id`` only, when given)."""
        with self.store.transaction(readonly=True) as tx:
            visible = access.visible_client_ids(tx, actor)
            wanted = access.narrow_client_ids(visible, None if client_id is None else (client_id,))
            return sql.list_desks(tx.connection, wanted)

    def get_desk(self, actor: Actor, desk_id: int) -> CashDesk:
        """One desk ``actor`` may see."""
        with self.store.transaction(readonly=True) as tx:
            return self._desk(tx, actor, desk_id)

    # -- reports
    def _opening(self, tx: Tx, desk: CashDesk, day: date) -> Decimal:
        """The cash at the start of ``day``: the first report's initial balance and every slip
        dated earlier."""
        assert desk.id is not None
        return self._initial(tx, desk) + sql.balance_before(tx.connection, desk.id, day)

    def _initial(self, tx: Tx, desk: CashDesk) -> Decimal:
        assert desk.id is not None
        reports = sql.list_reports(tx.connection, desk.id)
        initial = reports[0].initial_balance if reports else None
        return initial if initial is not None else Decimal("0.00")

    def open_report(
        self,
        actor: Actor,
        desk_id: int,
        *,
        period_from: date | None,
        period_to: date | None,
        initial_balance: Decimal | None = None,
    ) -> CashDeskReport:
        """Open the desk's next report for ``period_from``..``period_to``: right after the
        previous report's last day, at most one calendar month; only a desk's first report
        takes ``initial_balance`` (0 when left out)."""
        with self.store.transaction() as tx:
            desk = self._desk(tx, actor, desk_id, write=True)
            assert desk.id is not None
            errors: list[FieldError] = []
            if not isinstance(period_from, date):
                errors.append(
                    FieldError(
                        field="period_from", code="required", message=N_("This field is required.")
                    )
                )
            if not isinstance(period_to, date):
                errors.append(
                    FieldError(
                        field="period_to", code="required", message=N_("This field is required.")
                    )
                )
            previous = sql.list_reports(tx.connection, desk.id)
            if previous and initial_balance is not None:
                errors.append(
                    FieldError(
                        field="initial_balance",
                        code="carried",
                        message=N_(
                            "The opening balance is carried from the previous report's closing "
                            "balance."
                        ),
                    )
                )
            if initial_balance is not None:
                if not initial_balance.is_finite() or initial_balance < 0:
                    errors.append(
                        FieldError(
                            field="initial_balance",
                            code="negative",
                            message=N_("The cash balance cannot be negative."),
                        )
                    )
                elif initial_balance >= MAX_AMOUNT or initial_balance != initial_balance.quantize(
                    CENT
                ):
                    errors.extend(amount_errors(initial_balance, "initial_balance"))
            if isinstance(period_from, date) and isinstance(period_to, date):
                errors += period_errors(period_from, period_to, previous)
            raise_if(errors)
            assert isinstance(period_from, date) and isinstance(period_to, date)
            seq = numbering.next_number(
                tx.connection,
                desk.client_id,
                _series(desk, series_key(REPORT_PATTERN, period_from)),
            )
            report = sql.add_report(
                tx.connection,
                CashDeskReport(
                    desk_id=desk.id,
                    number=f"{format_number(REPORT_PATTERN, seq, period_from)}/{desk.symbol}",
                    period_from=period_from,
                    period_to=period_to,
                    status=OPEN,
                    initial_balance=(
                        None
                        if previous
                        else (initial_balance if initial_balance is not None else Decimal("0.00"))
                    ),
                ),
                self.now(),
            )
            self.record(
                tx,
                actor,
                action="cash.report_opened",
                entity="cash_desk_report",
                entity_id=report.id,
                client_id=desk.client_id,
                detail={"number": report.number, "from": str(period_from), "to": str(period_to)},
            )
        return report

    def list_reports(self, actor: Actor, desk_id: int) -> list[CashDeskReport]:
        """The desk's reports, oldest first."""
        with self.store.transaction(readonly=True) as tx:
            desk = self._desk(tx, actor, desk_id)
            assert desk.id is not None
            return sql.list_reports(tx.connection, desk.id)

    def get_report(self, actor: Actor, report_id: int) -> CashDeskReport:
        """One report ``actor`` may see."""
        with self.store.transaction(readonly=True) as tx:
            return self._report(tx, actor, report_id)[0]

    def report_view(self, actor: Actor, report_id: int) -> ReportView:
        """The report with its entries, the running balance and its sums."""
        with self.store.transaction(readonly=True) as tx:
            report, desk = self._report(tx, actor, report_id)
            return self._report_view(tx, report, desk)

    def _report_view(self, tx: Tx, report: CashDeskReport, desk: CashDesk) -> ReportView:
        assert desk.id is not None
        client = tx.get_client(desk.client_id)
        assert client is not None
        opening = self._opening(tx, desk, report.period_from)
        slips = sql.list_slips(
            tx.connection, desk.id, start=report.period_from, end=report.period_to
        )
        lines = tuple(running(opening, slips))
        return ReportView(
            report=report,
            desk=desk,
            client=client,
            lines=lines,
            balance=balance_of(opening, lines),
        )

    def transitions(self, actor: Actor, report: CashDeskReport) -> tuple[Transition, ...]:
        """The moves ``actor`` may make on ``report`` now."""
        return self.workflow.available(report.status, actor.role)

    def move_report(
        self, actor: Actor, report_id: int, transition_key: str, *, comment: str = ""
    ) -> CashDeskReport:
        """Close (sporządził: the actor), approve (zatwierdził: the actor) or return a report.

        An earlier report still open cannot be left behind by closing a later one, and a report
        cannot go back to open while a later one is closed (its closing balance is theirs)."""
        with self.store.transaction() as tx:
            report, desk = self._report(tx, actor, report_id)
            try:
                move = self.workflow.transition(transition_key)
            except KeyError:
                raise Conflict(
                    N_("This action is not available for this document"),
                    transition=transition_key,
                ) from None
            access.require(access.can_make_transition(actor, move.roles))
            client = tx.get_client(desk.client_id)
            assert client is not None
            if move.key == "close":
                access.require(access.can_edit_client_data(actor, client))
            if report.status not in move.source:
                raise Conflict(
                    N_("This action is not possible in the document's current state"),
                    transition=transition_key,
                    status=report.status,
                )
            if move.needs_comment and not comment.strip():
                raise ValidationError.single("comment", "required", N_("Please say why."))
            assert desk.id is not None
            others = sql.list_reports(tx.connection, desk.id)
            if move.key == "close" and any(
                r.period_from < report.period_from and r.status == OPEN for r in others
            ):
                raise Conflict(N_("Close the desk's earlier reports first."))
            if move.target == OPEN and any(
                r.period_from > report.period_from and r.status != OPEN for r in others
            ):
                raise Conflict(N_("A later report of this desk is closed; reopen it first."))
            name = self._name(tx, actor)
            changes: dict[str, Any] = {"status": move.target}
            if move.key == "close":
                changes["prepared_by"] = name
            elif move.target == OPEN:
                changes["approved_by"] = ""
            else:
                changes["approved_by"] = name
            stored = sql.update_report(tx.connection, attrs.evolve(report, **changes))
            self.record(
                tx,
                actor,
                action="cash.report_moved",
                entity="cash_desk_report",
                entity_id=stored.id,
                client_id=desk.client_id,
                detail={
                    "transition": move.key,
                    "from": report.status,
                    "to": stored.status,
                    "comment": comment.strip(),
                },
            )
        return stored

    @staticmethod
    def _name(tx: Tx, actor: Actor) -> str:
        user = tx.get_user(actor.user_id) if actor.user_id is not None else None
        return user.name if user is not None else "System"

    # -- slips
    def list_slips(
        self, actor: Actor, desk_id: int, *, kind: SlipKind | None = None
    ) -> list[CashSlip]:
        """The desk's slips in the book's order (of one ``kind``, when given)."""
        with self.store.transaction(readonly=True) as tx:
            desk = self._desk(tx, actor, desk_id)
            assert desk.id is not None
            return sql.list_slips(tx.connection, desk.id, kind=kind)

    def get_slip(self, actor: Actor, slip_id: int) -> CashSlip:
        """One slip ``actor`` may see."""
        with self.store.transaction(readonly=True) as tx:
            return self._slip(tx, actor, slip_id)[0]

    def slip_view(self, actor: Actor, slip_id: int) -> SlipView:
        """The slip as printed: amount in words, the paid invoice's number."""
        with self.store.transaction(readonly=True) as tx:
            slip, desk = self._slip(tx, actor, slip_id)
            client = tx.get_client(desk.client_id)
            assert client is not None
            document = tx.get_document(slip.document_id) if slip.document_id else None
            return SlipView(
                slip=slip,
                desk=desk,
                client=client,
                amount_in_words={
                    language: amount_in_words(slip.amount, desk.currency, language)
                    for language in ("pl", "en")
                },
                document_number=document.number if document is not None else None,
            )

    def add_slip(self, actor: Actor, slip: CashSlip, *, report_id: int | None = None) -> CashSlip:
        """Write a KP or KW into its desk's open report (see the module docstring); with
        ``report_id``, into that report only (a date outside its period is a field error)."""
        with self.store.transaction() as tx:
            desk = self._desk(tx, actor, slip.desk_id, write=True)
            if report_id is not None:
                report = sql.get_report(tx.connection, report_id)
                if report is None or report.desk_id != desk.id:
                    raise NotFound(N_("Not found"), entity="cash_desk_report", id=report_id)
                if isinstance(slip.on, date) and not (
                    report.period_from <= slip.on <= report.period_to
                ):
                    raise ValidationError.single(
                        "date",
                        "outside_period",
                        N_("The date is outside the report's period."),
                    )
            slip = self._checked(tx, desk, slip, None)
            assert desk.id is not None
            key = series_key(SLIP_PATTERN.format(kind=slip.kind.value), slip.on)
            seq = numbering.next_number(tx.connection, desk.client_id, _series(desk, key))
            number = f"{format_number(SLIP_PATTERN.format(kind=slip.kind.value), seq, slip.on)}"
            stored = sql.add_slip(
                tx.connection,
                attrs.evolve(slip, created_by=actor.user_id),
                number=f"{number}/{desk.symbol}",
                seq=seq,
                now=self.now(),
            )
            self._record_slip(tx, actor, "cash.slip_added", stored)
            self._settle(tx, actor, {stored.document_id})
        return stored

    def update_slip(self, actor: Actor, slip: CashSlip) -> CashSlip:
        """Change a slip of an open report (its number, kind, desk and year stay)."""
        if slip.id is None:
            raise NotFound(N_("Not found"), entity="cash_slip", id=None)
        with self.store.transaction() as tx:
            current, desk = self._slip(tx, actor, slip.id, write=True)
            self._require_open(tx, desk, current.on, field="slip")
            slip = attrs.evolve(
                slip, desk_id=current.desk_id, kind=current.kind, number=current.number
            )
            if isinstance(slip.on, date) and slip.on.year != current.on.year:
                raise ValidationError.single(
                    "date",
                    "other_year",
                    N_("A slip stays in the year of its number; write a new one instead."),
                )
            slip = self._checked(tx, desk, slip, current)
            stored = sql.update_slip(tx.connection, slip)
            self._record_slip(tx, actor, "cash.slip_changed", stored)
            self._settle(tx, actor, {current.document_id, stored.document_id})
        return stored

    def remove_slip(self, actor: Actor, slip_id: int) -> None:
        """Remove the last slip of its series from an open report (numbers stay gapless)."""
        with self.store.transaction() as tx:
            slip, desk = self._slip(tx, actor, slip_id, write=True)
            self._require_open(tx, desk, slip.on, field="slip")
            assert desk.id is not None and slip.seq is not None
            if sql.last_seq(tx.connection, desk.id, slip.kind, slip.on.year) != slip.seq:
                raise ValidationError.single(
                    "slip",
                    "not_last",
                    N_(
                        "Only the last %(kind)s of the year can be removed, so the numbers stay "
                        "continuous; correct this one instead."
                    ),
                    kind=slip.kind.value,
                )
            later = sql.list_slips(tx.connection, desk.id, start=slip.on)
            others = [s for s in later if s.id != slip.id]
            self._check_balance(tx, desk, slip.on, others, changed=None)
            sql.delete_slip(tx.connection, slip_id)
            key = series_key(SLIP_PATTERN.format(kind=slip.kind.value), slip.on)
            sql.release_number(tx.connection, desk.client_id, _series(desk, key), slip.seq)
            self._record_slip(tx, actor, "cash.slip_removed", slip)
            self._settle(tx, actor, {slip.document_id})

    def _require_open(self, tx: Tx, desk: CashDesk, on: date, *, field: str) -> CashDeskReport:
        assert desk.id is not None
        for report in sql.list_reports(tx.connection, desk.id):
            if report.period_from <= on <= report.period_to:
                if report.status != OPEN:
                    raise ValidationError.single(
                        field,
                        "report_closed",
                        N_("The cash report %(number)s with this date is closed."),
                        number=report.number,
                    )
                return report
        raise ValidationError.single(
            field,
            "no_open_report",
            N_("No open cash report of this desk covers this date; open one first."),
        )

    def _checked(
        self, tx: Tx, desk: CashDesk, slip: CashSlip, current: CashSlip | None
    ) -> CashSlip:
        """``slip`` validated and completed (party from the counterparty), or every error."""
        assert desk.id is not None
        party_name, title = slip.party_name.strip(), slip.title.strip()
        errors: list[FieldError] = []
        if not isinstance(slip.kind, SlipKind):
            errors.append(FieldError(field="kind", code="invalid", message=N_("Choose KP or KW.")))
        errors += date_errors(slip.on, "date", self.now().date())
        errors += amount_errors(slip.amount)
        counterparty_id = slip.counterparty_id
        if counterparty_id is not None:
            counterparty = tx.get_counterparty(counterparty_id)
            if counterparty is None or counterparty.client_id != desk.client_id:
                errors.append(
                    FieldError(field="counterparty_id", code="unknown", message=N_("Not found"))
                )
            elif not party_name:
                party_name = counterparty.name
        errors += required_text(party_name, "party_name") + required_text(title, "title")
        errors += length_errors({"party_name": party_name, "title": title})
        if slip.document_id is not None:
            errors += self._document_errors(tx, desk, slip.document_id)
        if not errors:
            try:
                self._require_open(tx, desk, slip.on, field="date")
            except ValidationError as exc:
                errors += exc.errors
        raise_if(errors)
        slip = attrs.evolve(
            slip,
            party_name=party_name,
            title=title,
            amount=slip.amount.quantize(CENT),
            client_id=desk.client_id,
        )
        # Only the book from the earliest day this change touches can go below zero.
        since = min(slip.on, current.on) if current is not None else slip.on
        others = [
            s
            for s in sql.list_slips(tx.connection, desk.id, start=since)
            if current is None or s.id != current.id
        ]
        self._check_balance(tx, desk, since, [*others, slip], changed=slip)
        return slip

    def _document_errors(self, tx: Tx, desk: CashDesk, document_id: int) -> list[FieldError]:
        document = tx.get_document(document_id)
        if document is None or document.client_id != desk.client_id:
            return [FieldError(field="document_id", code="unknown", message=N_("Not found"))]
        if document.currency != desk.currency:
            return [
                FieldError(
                    field="document_id",
                    code="currency",
                    message=N_(
                        "The invoice is in %(currency)s, the cash desk in another currency."
                    ),
                    params={"currency": document.currency},
                )
            ]
        if document.number is None or document.totals is None:
            return [
                FieldError(
                    field="document_id",
                    code="not_issued",
                    message=N_("Only an issued document with an amount can be paid in cash."),
                )
            ]
        return []

    def _check_balance(
        self,
        tx: Tx,
        desk: CashDesk,
        since: date,
        slips: Iterable[CashSlip],
        *,
        changed: CashSlip | None,
    ) -> None:
        """Refuse the change if the balance goes below zero after any entry of the book from
        ``since`` on (``slips``: the book from that day as the change would leave it)."""
        negative = first_negative(self._opening(tx, desk, since), slips)
        if negative is None:
            return
        if changed is not None and negative.slip is changed:
            raise ValidationError.single(
                "amount",
                "negative_balance",
                N_("The cash balance would go below zero here (%(balance)s)."),
                balance=str(negative.balance),
            )
        raise ValidationError.single(
            "amount" if changed is not None else "slip",
            "negative_balance_later",
            N_("The cash balance would go below zero at %(number)s of %(date)s (%(balance)s)."),
            number=negative.slip.number or "",
            date=negative.slip.on.isoformat(),
            balance=str(negative.balance),
        )

    def _record_slip(self, tx: Tx, actor: Actor, action: str, slip: CashSlip) -> None:
        self.record(
            tx,
            actor,
            action=action,
            entity="cash_slip",
            entity_id=slip.id,
            client_id=slip.client_id,
            detail={
                "number": slip.number,
                "date": slip.on.isoformat(),
                "amount": str(slip.amount),
                "document_id": slip.document_id,
            },
        )

    def _settle(self, tx: Tx, actor: Actor, document_ids: Iterable[int | None]) -> None:
        """Set the payment status of the invoices these slips pay from the sum of their slips:
        KP add to it (the client is paid), KW too (the client pays); a document never takes
        both, since one side of it is the client."""
        for document_id in {d for d in document_ids if d is not None}:
            document = tx.get_document(document_id)
            if document is None or document.totals is None:
                continue
            paid = sum((s.amount for s in sql.slips_paying(tx.connection, document_id)), Decimal(0))
            wanted = _status(paid, document)
            if wanted is document.payment_status:
                continue
            stored = tx.update_document(attrs.evolve(document, payment_status=wanted), lines=False)
            self.record(
                tx,
                actor,
                action="document.cash_payment",
                entity="document",
                entity_id=stored.id,
                client_id=stored.client_id,
                detail={"from": document.payment_status.value, "to": wanted.value},
                topic=Topic.DOCUMENT_PAYMENT_CHANGED,
                message=DocumentPaymentChange(
                    document=stored,
                    old_payment_status=document.payment_status,
                    new_payment_status=wanted,
                ),
            )

    # -- printing
    def _printer(self, media_type: str) -> CashPrinter:
        for printer in reversed(self.cabinet.cash_printers):
            if printer.media_type == media_type:
                return printer
        raise NotFound(N_("No renderer for this document"), media_type=media_type)

    def print_slip(
        self,
        actor: Actor,
        slip_id: int,
        *,
        language: str = "pl",
        media_type: str = "application/pdf",
    ) -> Rendered:
        """The KP or KW printed (a PDF by default)."""
        return self._printer(media_type).print_slip(
            self.cabinet, self.slip_view(actor, slip_id), language=language
        )

    def print_report(
        self,
        actor: Actor,
        report_id: int,
        *,
        language: str = "pl",
        media_type: str = "application/pdf",
    ) -> Rendered:
        """The cash report printed (a PDF by default), its entries with the running balance."""
        view = self.report_view(actor, report_id)
        return self._printer(media_type).print_report(self.cabinet, view, language=language)

    def client_of(self, actor: Actor, desk: CashDesk) -> Client:
        """The desk's client (for headings)."""
        with self.store.transaction(readonly=True) as tx:
            return access.client_for(tx, actor, desk.client_id)


def _status(paid: Decimal, document: Document) -> PaymentStatus:
    assert document.totals is not None
    if paid <= 0:
        return PaymentStatus.UNPAID
    if paid >= abs(document.totals.gross):
        return PaymentStatus.PAID
    return PaymentStatus.PARTIALLY_PAID
