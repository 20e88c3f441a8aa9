"""The VAT statement use cases: the registers of a client and period, the downloads (PDF, CSV,
JPK_V7M(3)) and the accountant's marks on documents (not deductible, markers)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date
from typing import TYPE_CHECKING, BinaryIO

import attrs

from cabinet_core import access
from cabinet_core.entities import Actor, Client
from cabinet_core.errors import N_, FieldError, NotFound, ValidationError
from cabinet_core.identifiers import is_valid_nip
from cabinet_core.rendering import Rendered
from cabinet_core.services._base import Service, raise_if
from cabinet_core.storage import Tx
from cabinet_core.storage.vat_register import RegisterSelection, Stamp
from cabinet_core.vat import TaxRules
from cabinet_core.vat_statement.declaration import Declaration, compute_declaration
from cabinet_core.vat_statement.jpk_v7m import JpkHeader, Taxpayer, tax_office_codes, write_jpk
from cabinet_core.vat_statement.markers import (
    KSEF_MARKERS,
    PURCHASE_DOCUMENT_KINDS,
    PURCHASE_MARKERS,
    SALES_DOCUMENT_KINDS,
    SALES_MARKERS,
)
from cabinet_core.vat_statement.period import Period
from cabinet_core.vat_statement.registers import (
    PURCHASE,
    SALES,
    KTotals,
    RegisterRow,
    RegisterTotals,
    VatMark,
    build_row,
)
from cabinet_core.vat_statement.statement import VatStatement

if TYPE_CHECKING:
    from cabinet_core.app import Cabinet

__all__ = ["VatStatementService"]

#: JPK_V7M(3) is filed for settlement periods from February 2026.
FIRST_JPK_V7M3_MONTH = (2026, 2)
#: How many built register rows a cabinet keeps per register side (about 1 KB each).
ROW_CACHE_SIZE = 50_000
#: The document dates a type may place its documents in a VAT period by.
PERIOD_BASES = frozenset({"issue_date", "sale_date", "receipt_date"})


def _error(field: str, code: str, message: str, **params: object) -> FieldError:
    return FieldError(field=field, code=code, message=message, params=params)


class VatStatementService(Service):
    """``cabinet.vat_statements``: see the module docstring. Reading is open to whoever may see
    the client (its users, its manager, accountants, admins); marking documents to accountants
    and admins (:func:`cabinet_core.access.can_mark_vat_registers`)."""

    def __init__(self, cabinet: Cabinet) -> None:
        super().__init__(cabinet)
        self._row_cache: dict[str, dict[tuple[int, Stamp], RegisterRow]] = {}

    # -- reading ----------------------------------------------------------------------------
    def selections(self, side: str) -> list[RegisterSelection]:
        """The register's part of every type that declares it (``vat_register``, a member of the
        ``DocumentType`` protocol); a period basis other than the three document dates falls
        back to the issue date."""
        selections = []
        for document_type in self.cabinet.document_types.values():
            if document_type.vat_register != side:
                continue
            basis = document_type.vat_period_basis
            selections.append(
                RegisterSelection(
                    doc_type=document_type.key,
                    states=frozenset(document_type.vat_register_states),
                    basis=basis if basis in PERIOD_BASES else "issue_date",
                )
            )
        return selections

    def _rules(self) -> Callable[[date], TaxRules]:
        cache: dict[date, TaxRules] = {}

        def rules(on: date) -> TaxRules:
            found = cache.get(on)
            if found is None:
                found = cache[on] = self.cabinet.tax_rules_on(on)
            return found

        return rules

    def rows(self, tx: Tx, client: Client, period: Period, side: str) -> Iterator[RegisterRow]:
        """The rows of one register of ``client`` in ``period``, streamed from ``tx`` (the
        caller has checked access).

        A row built once is kept (up to :data:`ROW_CACHE_SIZE` per register side, per cabinet)
        under its document's id and stamp, which changes with every change of the document or of
        its mark: the page, its PDF and CSV and the JPK file's two passes read the same month
        again, and an unchanged document's row is then taken as it was instead of rebuilt."""
        assert client.id is not None
        rules = self._rules()
        known = self._row_cache.setdefault(side, {})
        entries = tx.vat_register_entries(
            client_id=client.id,
            selections=self.selections(side),
            start=period.first_day,
            end=period.last_day,
            buyer_side=side == PURCHASE,
            reuse=known,
        )
        for lp, entry in enumerate(entries, 1):
            if isinstance(entry, RegisterRow):
                yield entry if entry.lp == lp else attrs.evolve(entry, lp=lp)
                continue
            row = build_row(entry, side=side, lp=lp, rules=rules)
            if entry.stamp is not None:
                if len(known) >= ROW_CACHE_SIZE:
                    known.clear()
                known[(entry.document_id, entry.stamp)] = row
            yield row

    def forget_rows(self) -> None:
        """Drop the kept rows (a benchmark's cold run; tax rules changed at run time)."""
        self._row_cache.clear()

    def _period(self, period: Period | str) -> Period:
        if isinstance(period, Period):
            return period
        try:
            return Period.parse(period)
        except ValueError:
            raise ValidationError.single(
                "period", "invalid", N_("Choose a month (2026-11) or a quarter (2026-Q4).")
            ) from None

    def statement(self, actor: Actor, client_id: int, period: Period | str) -> VatStatement:
        """The VAT statement of ``client_id`` for ``period`` (a month or a quarter)."""
        wanted = self._period(period)
        with self.store.transaction(readonly=True) as tx:
            client = access.client_for(tx, actor, client_id)
            sales = tuple(self.rows(tx, client, wanted, SALES))
            purchases = tuple(self.rows(tx, client, wanted, PURCHASE))
        rules = self.cabinet.tax_rules_on(wanted.last_day)
        sold, bought = KTotals(side=SALES), KTotals(side=PURCHASE)
        sold.add_all(sales)
        bought.add_all(purchases)
        sales_totals = RegisterTotals.of(sales, rules.order)
        purchase_totals = RegisterTotals.of(purchases, rules.order)
        # Every rate of every row has its sum in the totals.
        used = {rate.rate for rate in (*sales_totals.rates, *purchase_totals.rates)}
        return VatStatement(
            client=client,
            period=wanted,
            sales=sales,
            purchases=purchases,
            sales_totals=sales_totals,
            purchase_totals=purchase_totals,
            sales_k=dict(sold.k),
            purchase_k=dict(bought.k),
            tax_due=sold.tax,
            tax_deductible=bought.tax,
            declaration=None if wanted.quarter else compute_declaration(sold.k, bought.k),
            rate_codes=tuple(sorted(used, key=rules.order)),
        )

    def render(
        self, actor: Actor, client_id: int, period: Period | str, media_type: str, *, language: str
    ) -> Rendered:
        """The statement as a file of ``media_type`` (``text/csv``, ``application/pdf`` …)."""
        renderer = self.cabinet.statement_renderers.get(media_type)
        if renderer is None:
            raise NotFound(N_("Not found"), media_type=media_type)
        statement = self.statement(actor, client_id, period)
        return renderer.render(statement, language=language)

    # -- JPK_V7M(3) ---------------------------------------------------------------------------
    def _jpk_errors(
        self, client: Client, period: Period, tax_office: str, purpose: int, surplus: int
    ) -> list[FieldError]:
        errors = []
        if period.quarter:
            errors.append(
                _error(
                    "period", "not_a_month", N_("JPK_V7M is filed for one month; choose a month.")
                )
            )
        elif (period.year, period.number) < FIRST_JPK_V7M3_MONTH:
            errors.append(
                _error(
                    "period",
                    "before_jpk_v7m3",
                    N_("JPK_V7M(3) covers settlement periods from February 2026."),
                )
            )
        if tax_office not in tax_office_codes():
            errors.append(
                _error("tax_office", "invalid", N_("Enter the four-digit code of the tax office."))
            )
        if purpose not in (1, 2):
            errors.append(_error("purpose", "invalid", N_("Choose one of the options.")))
        if surplus < 0:
            errors.append(
                _error("surplus_from_previous", "negative", N_("The amount cannot be negative."))
            )
        if not client.nip or not is_valid_nip(client.nip):
            errors.append(
                _error("client.nip", "required", N_("The client needs a valid NIP for JPK."))
            )
        if not client.email.strip():
            errors.append(
                _error(
                    "client.email", "required", N_("The client needs an e-mail address for JPK.")
                )
            )
        return errors

    def write_jpk(
        self,
        actor: Actor,
        client_id: int,
        period: Period | str,
        out: BinaryIO,
        *,
        tax_office: str,
        purpose: int = 1,
        surplus_from_previous: int = 0,
        with_declaration: bool = True,
    ) -> Declaration | None:
        """Write the JPK_V7M(3) file of a month to ``out``, streamed, and return its declaration.

        Two passes over the registers in one read-only transaction: the first sums the ``K_``
        fields the declaration (written before the rows) needs, the second writes the rows;
        neither keeps the rows, so memory stays flat. ``ValidationError`` names every problem
        (a quarter, a month before February 2026, an unknown tax office, a client without NIP
        or e-mail) before anything is written.
        """
        wanted = self._period(period)
        tax_office = tax_office.strip()
        with self.store.transaction(readonly=True) as tx:
            client = access.client_for(tx, actor, client_id)
            raise_if(self._jpk_errors(client, wanted, tax_office, purpose, surplus_from_previous))
            sold, bought = KTotals(side=SALES), KTotals(side=PURCHASE)
            unconvertible: list[str] = []
            for totals, side in ((sold, SALES), (bought, PURCHASE)):
                for row in self.rows(tx, client, wanted, side):
                    totals.add(row)
                    if row.rate_missing and row.in_jpk:
                        unconvertible.append(row.register_number or row.number)
            if unconvertible:
                raise ValidationError.single(
                    "period",
                    "rate_missing",
                    N_(
                        "These documents in a foreign currency have no exchange rate, so their "
                        "amounts in PLN are unknown: %(numbers)s."
                    ),
                    numbers=", ".join(unconvertible),
                )
            declaration = (
                compute_declaration(sold.k, bought.k, surplus_from_previous=surplus_from_previous)
                if with_declaration
                else None
            )
            assert client.nip is not None
            written = write_jpk(
                out,
                header=JpkHeader(
                    year=wanted.year,
                    month=wanted.number,
                    tax_office=tax_office,
                    created_at=self.now(),
                    purpose=purpose,
                ),
                taxpayer=Taxpayer(
                    nip=client.nip.replace("-", "").replace(" ", ""),
                    name=client.name,
                    email=client.email.strip(),
                ),
                declaration=declaration,
                sales=self.rows(tx, client, wanted, SALES),
                purchases=self.rows(tx, client, wanted, PURCHASE),
            )
        # Both passes read one snapshot; a difference would be a bug in the writer.
        assert written[0].k == sold.k and written[1].k == bought.k
        return declaration

    # -- the accountant's marks -----------------------------------------------------------------
    def mark(
        self,
        actor: Actor,
        document_id: int,
        *,
        non_deductible: bool = False,
        fixed_asset: bool = False,
        markers: Iterable[str] = (),
        document_kind: str | None = None,
        ksef_marker: str | None = None,
    ) -> VatMark:
        """Set what the registers need beyond the document itself: a purchase not deductible
        (kept in the register, left out of JPK) or a fixed asset, GTU and procedure markers,
        the JPK document kind, the KSeF marker of a document without a KSeF number. One
        transaction with its audit entry; ``ValidationError`` names every bad value."""
        access.require(access.can_mark_vat_registers(actor))
        chosen = tuple(
            dict.fromkeys(marker.strip().upper() for marker in markers if marker.strip())
        )
        kind = (document_kind or "").strip().upper() or None
        ksef = (ksef_marker or "").strip().upper() or None
        with self.store.transaction() as tx:
            document = tx.get_document(document_id)
            if document is None:
                raise NotFound(N_("Not found"), entity="document", id=document_id)
            access.client_for(tx, actor, document.client_id)
            side = self.cabinet.document_type(document.doc_type).vat_register
            raise_if(
                self._mark_errors(
                    side, chosen, kind, ksef, non_deductible=non_deductible, fixed_asset=fixed_asset
                )
            )
            mark = VatMark(
                document_id=document_id,
                client_id=document.client_id,
                non_deductible=non_deductible,
                fixed_asset=fixed_asset,
                markers=chosen,
                document_kind=kind,
                ksef_marker=ksef,
                updated_by=actor.user_id,
            )
            before = tx.get_vat_mark(document_id)
            tx.put_vat_mark(mark)
            self.record(
                tx,
                actor,
                action="vat_marked",
                entity="document",
                entity_id=document_id,
                client_id=document.client_id,
                detail={
                    "non_deductible": non_deductible,
                    "fixed_asset": fixed_asset,
                    "markers": list(chosen),
                    "document_kind": kind,
                    "ksef_marker": ksef,
                    "before": None
                    if before is None
                    else {
                        "non_deductible": before.non_deductible,
                        "fixed_asset": before.fixed_asset,
                        "markers": list(before.markers),
                        "document_kind": before.document_kind,
                        "ksef_marker": before.ksef_marker,
                    },
                },
            )
        return mark

    @staticmethod
    def _mark_errors(
        side: str | None,
        markers: Sequence[str],
        kind: str | None,
        ksef: str | None,
        *,
        non_deductible: bool,
        fixed_asset: bool,
    ) -> list[FieldError]:
        if side is None:
            return [
                _error("document", "not_in_register", N_("This document is in no VAT register."))
            ]
        errors = []
        allowed = SALES_MARKERS if side == SALES else PURCHASE_MARKERS
        kinds = SALES_DOCUMENT_KINDS if side == SALES else PURCHASE_DOCUMENT_KINDS
        for marker in markers:
            if marker not in allowed:
                errors.append(
                    _error("markers", "unknown", N_("Unknown marker: %(marker)s."), marker=marker)
                )
        if kind is not None and kind not in kinds:
            errors.append(_error("document_kind", "unknown", N_("Choose one of the options.")))
        if ksef is not None and ksef not in KSEF_MARKERS[1:]:
            errors.append(_error("ksef_marker", "unknown", N_("Choose one of the options.")))
        if side == SALES and (non_deductible or fixed_asset):
            errors.append(
                _error(
                    "non_deductible",
                    "sales",
                    N_("Only a purchase can be marked not deductible or a fixed asset."),
                )
            )
        return errors
