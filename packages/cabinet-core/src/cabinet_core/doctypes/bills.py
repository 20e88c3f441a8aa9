"""The rachunek (bill) a contractor issues for each payment under a civil-law contract.

Saving a bill computes what it pays (:mod:`cabinet_core.payroll`, poland.md §5): ZUS, health,
deductible costs, the PIT advance or the flat tax, the net payout and the orderer's cost, with
the parameters of the issue date's tax year. The result is stored in ``extra["breakdown"]``, so
the page, the PDF and the API show what was computed when the bill was saved.

Two yearly caps need the contractor's earlier pay in the year: the young person's PIT exemption
(``young_exemption_limit``) and the pension and disability base (``pension_base_cap``). They are
read from the contractor's earlier bills of the same client this year (same PESEL, else the same
counterparty, else the same name; not cancelled; issued earlier, or the same day and saved
earlier) plus what the bill states was earned elsewhere this year. The breakdown keeps which
earlier bills it counted (``counted``), so :meth:`Bill.drift` can tell when one of them changed
afterwards; the documents service recomputes the later drafts itself (:meth:`Bill.restate_period`).

The under-26 rules (the young person's relief, the student's ZUS exemption) are declarations the
contractor's age decides on the day the pay is received (:meth:`Bill.pay_date`): the age comes
from the PESEL (python-stdnum reads its date of birth), else from the date of birth typed on the
bill (:mod:`cabinet_core.payroll.age`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs
from stdnum import iban
from stdnum.pl import pesel

from cabinet_core.doctypes.base import FieldSpec, Gender
from cabinet_core.doctypes.common import (
    BaseDocumentType,
    ComputationDrift,
    EarlierDocument,
    pl_en,
    sales_workflow,
)
from cabinet_core.doctypes.contracts import CONTRACT_KIND_FIELD
from cabinet_core.doctypes.invoice_effects import SALES_EFFECTS
from cabinet_core.entities import Document
from cabinet_core.errors import N_, FieldError, ValidationError
from cabinet_core.money import round_money
from cabinet_core.payroll import (
    ZLECENIE,
    BillBreakdown,
    BillTerms,
    InsuranceStatus,
    TaxYears,
    calculate_bill,
)
from cabinet_core.payroll.age import APPLIED, UnderTwentySix, under_26_rules

if TYPE_CHECKING:
    from cabinet_core.settings import Settings

#: The settings namespace of the tax-year parameters (``CABINET_PAYROLL_<YEAR>_<NAME>``).
PAYROLL_SETTINGS = "payroll"


def _flag(name: str, pl: str, en: str) -> FieldSpec:
    return FieldSpec(name=name, kind="bool", label=pl_en(pl, en), default=False)


def _money_positive(name: str, amount: object) -> Iterable[FieldError]:
    if isinstance(amount, Decimal) and amount <= 0:
        yield FieldError(
            field=f"extra.{name}",
            code="not_positive",
            message=N_("The amount must be greater than zero."),
        )


def _contractor_errors(document: Document) -> Iterable[FieldError]:
    # Checked with python-stdnum: a PESEL's date and check digit, an IBAN's (a Polish NRB of
    # 26 digits is the IBAN without its "PL").
    raw_pesel = str(document.extra.get("contractor_pesel") or "").strip()
    if raw_pesel and not pesel.is_valid(raw_pesel):
        yield FieldError(
            field="extra.contractor_pesel",
            code="invalid_pesel",
            message=N_("This PESEL is not valid."),
        )
    raw_account = str(document.extra.get("contractor_account") or "")
    account = "".join(raw_account.split()).upper()
    if account.isdigit() and len(account) == 26:
        account = "PL" + account
    if account and not iban.is_valid(account):
        yield FieldError(
            field="extra.contractor_account",
            code="invalid_iban",
            message=N_("This bank account number is not valid."),
        )


def breakdown_record(
    breakdown: BillBreakdown,
    terms: BillTerms,
    *,
    age: UnderTwentySix | None = None,
    counted: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The breakdown as stored in ``extra["breakdown"]``: amounts as strings, to the grosz.

    ``earlier_exempt_income`` and ``earlier_pension_base`` are the year-to-date amounts the
    caps were applied after; ``exempt_income`` and ``pension_base`` are this bill's, which a
    later bill of the same contractor adds to its own year-to-date amounts. ``counted`` lists
    the earlier bills behind those amounts (:meth:`Bill.counted`); ``young_relief`` and
    ``student_exemption`` say what the contractor's age made of the under-26 declarations
    (``applied``, ``ended`` or ``not_declared``), ``turns_26`` and ``pay_date`` why."""
    employee, employer, tax = breakdown.employee, breakdown.employer, breakdown.tax
    amounts = {
        "gross": breakdown.gross,
        "earlier_exempt_income": terms.earlier_exempt_income,
        "exempt_income": tax.exempt,
        "taxed_income": breakdown.gross - tax.exempt,
        "earlier_pension_base": terms.earlier_pension_base,
        "pension_base": breakdown.pension_base,
        "pension": employee.pension,
        "disability": employee.disability,
        "sickness": employee.sickness,
        "social": employee.social,
        "health_base": breakdown.gross - employee.social,
        "health": employee.health,
        "social_deducted": tax.social,
        "costs": tax.costs,
        "tax_base": tax.base,
        "pit2_relief": tax.relief,
        "tax": tax.tax,
        "net": breakdown.net,
        "employer_pension": employer.pension,
        "employer_disability": employer.disability,
        "employer_accident": employer.accident,
        "employer_labour_fund": employer.labour_fund,
        "employer_guaranteed_benefits": employer.guaranteed_benefits,
        "employer_contributions": employer.total,
        "employer_cost": breakdown.employer_cost,
    }
    record: dict[str, Any] = {name: str(value) for name, value in amounts.items()}
    record["tax_year"] = breakdown.year
    record["tax_method"] = tax.method
    record["costs_rate"] = str(tax.costs_rate)
    record["counted"] = [dict(entry) for entry in counted]
    if age is not None:
        record["pay_date"] = age.received.isoformat()
        record["turns_26"] = age.turns_26.isoformat() if age.turns_26 else None
        record["young_relief"] = age.young_relief
        record["student_exemption"] = age.student_exemption
    return record


def _amount(value: object) -> Decimal:
    try:
        return Decimal(str(value)) if value not in (None, "") else Decimal("0.00")
    except ArithmeticError:
        return Decimal("0.00")


def _earlier_part(stored: Mapping[str, Any], key: str, whole: bool) -> Decimal:
    """An earlier bill's exempt income or pension base; a bill saved before these were kept
    counts its whole gross when it was exempt (or paid pension), else nothing."""
    if key in stored:
        return _amount(stored[key])
    return _amount(stored.get("gross")) if whole else Decimal("0.00")


def _before(other: Document, document: Document) -> bool:
    """``other`` comes before ``document`` in the year: issued earlier, or the same day and
    saved first (a smaller id; a bill not saved yet comes after every saved one)."""
    if other.issue_date != document.issue_date:
        return other.issue_date < document.issue_date
    if document.id is None:
        return True
    return other.id is not None and other.id < document.id


class Bill(BaseDocumentType):
    """A bill (rachunek) for work under a civil-law contract; not an invoice, never in KSeF.

    ``related_id`` points at the :class:`~cabinet_core.doctypes.contracts.Contract` it is made
    from; the contract's number, date, kind and amounts are copied into ``extra`` so the bill
    reads alone. The contractor's declarations (student under 26, PIT-2, sickness insurance,
    insured elsewhere) decide the computation.
    """

    key = "bill"
    label = pl_en("Rachunek", "Bill")
    gender = Gender.MASCULINE
    series_pattern = "R/{seq}/{YYYY}"
    workflow = sales_workflow(cancellable_from=("draft", "issued"), gender=Gender.MASCULINE)
    buyer_required = True
    sendable_states = frozenset({"issued", "sent", "paid"})
    effects = SALES_EFFECTS
    offer_new = True
    made_from = ("contract",)
    structured_extra = ("breakdown",)
    #: How the page names the seller and buyer sides: the client orders, the contractor bills.
    party_labels = (pl_en("Zamawiający", "Ordering party"), pl_en("Wykonawca", "Contractor"))
    fields = (
        FieldSpec(
            name="contract_number",
            kind="text",
            label=pl_en("Numer umowy", "Contract number"),
            required=True,
        ),
        FieldSpec(
            name="contract_date",
            kind="date",
            label=pl_en("Data umowy", "Contract date"),
            required=True,
        ),
        CONTRACT_KIND_FIELD,
        FieldSpec(
            name="contract_amount",
            kind="money",
            label=pl_en("Kwota wskazana w umowie", "Amount stated in the contract"),
        ),
        FieldSpec(
            name="contractor_pesel",
            kind="text",
            label=pl_en("PESEL wykonawcy", "Contractor's PESEL"),
        ),
        FieldSpec(
            name="contractor_birth_date",
            kind="date",
            label=pl_en("Data urodzenia wykonawcy", "Contractor's date of birth"),
            # PESEL dates start in 1800; nobody older bills today.
            earliest=date(1900, 1, 1),
        ),
        FieldSpec(
            name="tax_office",
            kind="text",
            label=pl_en("Urząd skarbowy wykonawcy", "Contractor's tax office"),
        ),
        FieldSpec(
            name="contractor_account",
            kind="text",
            label=pl_en("Rachunek bankowy wykonawcy", "Contractor's bank account"),
        ),
        FieldSpec(name="period_from", kind="date", label=pl_en("Okres od", "Period from")),
        FieldSpec(name="period_to", kind="date", label=pl_en("Okres do", "Period to")),
        FieldSpec(
            name="hours",
            kind="decimal",
            label=pl_en("Liczba godzin", "Hours worked"),
        ),
        FieldSpec(
            name="hourly_rate",
            kind="money",
            label=pl_en("Stawka za godzinę brutto", "Gross hourly rate"),
        ),
        FieldSpec(
            name="gross_amount",
            kind="money",
            label=pl_en("Kwota brutto", "Gross amount"),
        ),
        _flag(
            "copyright_transfer",
            "Przeniesienie praw autorskich (KUP 50%)",
            "Copyright transfer (50% costs)",
        ),
        FieldSpec(
            name="copyright_costs_claimed",
            kind="money",
            label=pl_en(
                "KUP 50% wykorzystane wcześniej w roku", "50% costs already claimed this year"
            ),
        ),
        _flag(
            "student_under_26",
            "Uczeń lub student poniżej 26 lat",
            "Pupil or student under 26",
        ),
        _flag("under_26", "Poniżej 26 lat (ulga dla młodych)", "Under 26 (young person's relief)"),
        FieldSpec(
            name="exempt_income_elsewhere",
            kind="money",
            label=pl_en(
                "Przychód zwolniony (ulga dla młodych) uzyskany wcześniej w roku poza tą firmą",
                "Income exempt under the young person's relief earned elsewhere this year",
            ),
        ),
        FieldSpec(
            name="pension_base_elsewhere",
            kind="money",
            label=pl_en(
                "Podstawa składek emerytalnej i rentowej wcześniej w roku poza tą firmą",
                "Pension and disability base reached elsewhere this year",
            ),
        ),
        _flag(
            "sickness_insurance",
            "Dobrowolne ubezpieczenie chorobowe",
            "Voluntary sickness insurance",
        ),
        _flag(
            "insured_elsewhere",
            "Zatrudniony gdzie indziej (co najmniej płaca minimalna)",
            "Employed elsewhere (at least the minimum wage)",
        ),
        _flag("pit2", "Złożony PIT-2", "PIT-2 filed"),
    )

    def amount(self, document: Document) -> Decimal | None:
        """What the bill pays out (the net after ZUS and tax) once computed, else the gross."""
        breakdown = document.extra.get("breakdown")
        if isinstance(breakdown, Mapping) and breakdown.get("net") is not None:
            return Decimal(str(breakdown["net"]))
        value = self.value(document, "gross_amount")
        return value if isinstance(value, Decimal) else None

    def gross(self, document: Document) -> Decimal | None:
        """The gross billed: the amount typed, else hours × the hourly rate."""
        value = self.value(document, "gross_amount")
        if isinstance(value, Decimal):
            return value
        hours, rate = self.value(document, "hours"), self.value(document, "hourly_rate")
        if isinstance(hours, Decimal) and isinstance(rate, Decimal):
            return round_money(hours * rate, "PLN")
        return None

    def breakdown(self, document: Document) -> Mapping[str, Any] | None:
        """The stored computation (:func:`breakdown_record`), ``None`` before the first save."""
        value = document.extra.get("breakdown")
        return value if isinstance(value, Mapping) else None

    def taken_from(self, source: Document) -> dict[str, Any]:
        """A contract's number, date, kind, stated amount, rate, period and copyright flag."""
        extra = source.extra
        taken: dict[str, Any] = {
            "contract_number": source.number,
            "contract_date": source.issue_date.isoformat(),
            "contract_kind": extra.get("contract_kind"),
            "contractor_pesel": extra.get("contractor_pesel"),
            "copyright_transfer": extra.get("copyright_transfer"),
            "period_from": extra.get("date_from"),
            "period_to": extra.get("date_to"),
        }
        if extra.get("rate_type") == "hourly":
            taken["hourly_rate"] = extra.get("hourly_rate")
        else:
            taken["contract_amount"] = extra.get("amount")
            taken["gross_amount"] = extra.get("amount")
        return {name: value for name, value in taken.items() if value not in (None, "")}

    def contractor_key(self, document: Document) -> str:
        """Who the bill pays, for the yearly caps: the PESEL, else the counterparty, else the
        contractor's name."""
        raw_pesel = "".join(str(document.extra.get("contractor_pesel") or "").split())
        if raw_pesel:
            return f"pesel:{raw_pesel}"
        if document.counterparty_id is not None:
            return f"counterparty:{document.counterparty_id}"
        name = document.buyer.name if document.buyer is not None else ""
        return "name:" + " ".join(name.split()).casefold()

    def earlier_period(self, document: Document) -> tuple[date, date] | None:
        """The bill's year up to its issue date: the yearly caps count the pay in it."""
        return date(document.issue_date.year, 1, 1), document.issue_date

    def counted(self, document: Document, earlier: Iterable[Document]) -> list[dict[str, Any]]:
        """The contractor's bills among ``earlier`` that the yearly caps count before
        ``document`` (same contractor and year, not cancelled, issued before it or the same
        day and saved before it), each with what it adds: ``id``, ``number``, ``issue_date``,
        ``exempt_income`` and ``pension_base`` (strings, as stored)."""
        key = self.contractor_key(document)
        found: list[dict[str, Any]] = []
        for other in earlier:
            if (
                other.doc_type != self.key
                or other.status == "cancelled"
                or other.issue_date.year != document.issue_date.year
                or (other.id is not None and other.id == document.id)
                or not _before(other, document)
                or self.contractor_key(other) != key
            ):
                continue
            stored = self.breakdown(other) or {}
            exempt = _earlier_part(stored, "exempt_income", stored.get("tax_method") == "exempt")
            base = _earlier_part(stored, "pension_base", bool(_amount(stored.get("pension"))))
            found.append(
                {
                    "id": other.id,
                    "number": other.number,
                    "issue_date": other.issue_date.isoformat(),
                    "exempt_income": str(exempt),
                    "pension_base": str(base),
                }
            )
        return found

    def year_to_date(
        self, document: Document, earlier: Iterable[Document]
    ) -> tuple[Decimal, Decimal]:
        """The contractor's exempt przychód and pension base this year before ``document``:
        from the earlier bills among ``earlier`` (:meth:`counted`), plus the amounts typed as
        earned elsewhere."""
        return self._year_to_date(document, self.counted(document, earlier))

    def _year_to_date(
        self, document: Document, counted: Iterable[Mapping[str, Any]]
    ) -> tuple[Decimal, Decimal]:
        exempt, base = Decimal("0.00"), Decimal("0.00")
        for entry in counted:
            exempt += _amount(entry["exempt_income"])
            base += _amount(entry["pension_base"])
        exempt += _amount(self.value(document, "exempt_income_elsewhere"))
        base += _amount(self.value(document, "pension_base_elsewhere"))
        return exempt, base

    def restate_period(self, document: Document) -> tuple[date, date] | None:
        """The rest of the bill's year from its issue date: a later bill of the contractor
        there counts this one."""
        return document.issue_date, date(document.issue_date.year, 12, 31)

    def drift(self, document: Document, earlier: Sequence[Document]) -> ComputationDrift | None:
        """How the year-to-date figures the bill was computed with differ from what the
        contractor's earlier bills give now (one was edited, cancelled, deleted or added
        since); ``None`` when they agree, the bill was never computed or is cancelled."""
        stored = self.breakdown(document)
        if stored is None or document.status == "cancelled":
            return None
        counted = self.counted(document, earlier)
        exempt, base = self._year_to_date(document, counted)
        differences = {
            name: now - _amount(stored.get(name))
            for name, now in (("earlier_exempt_income", exempt), ("earlier_pension_base", base))
            if now != _amount(stored.get(name))
        }
        if not differences:
            return None
        then = stored.get("counted")
        changed: list[EarlierDocument] = []
        if isinstance(then, list):
            before = {entry.get("id"): entry for entry in then if isinstance(entry, Mapping)}
            now_by_id = {entry["id"]: entry for entry in counted}
            for key in [*before, *(k for k in now_by_id if k not in before)]:
                old, new = before.get(key), now_by_id.get(key)
                if (
                    old is not None
                    and new is not None
                    and all(
                        _amount(old.get(name)) == _amount(new[name])
                        for name in ("exempt_income", "pension_base")
                    )
                ):
                    continue
                entry = new if new is not None else old
                if entry is not None:
                    changed.append(_earlier_document(entry))
        return ComputationDrift(changed=tuple(changed), differences=differences)

    def pay_date(self, document: Document) -> date:
        """The day the contractor receives the pay, which the under-26 rules are decided on:
        the bill's due date, else its issue date."""
        return document.due_date or document.issue_date

    def birth_date(self, document: Document) -> date | None:
        """The contractor's date of birth: the PESEL's (when valid), else the one typed."""
        raw_pesel = str(document.extra.get("contractor_pesel") or "").strip()
        if raw_pesel and pesel.is_valid(raw_pesel):
            born: date = pesel.get_birth_date(raw_pesel)
            return born
        typed = self.value(document, "contractor_birth_date")
        return typed if isinstance(typed, date) else None

    def age_rules(self, document: Document) -> UnderTwentySix:
        """The under-26 declarations as the contractor's age on :meth:`pay_date` leaves them."""
        student = bool(self.value(document, "student_under_26"))
        return under_26_rules(
            self.birth_date(document),
            self.pay_date(document),
            relief_declared=student or bool(self.value(document, "under_26")),
            student_declared=student,
        )

    def terms(self, document: Document, earlier: Iterable[Document] = ()) -> BillTerms:
        """What the computation starts from, read from a bill whose fields are valid, with the
        year-to-date amounts from the contractor's ``earlier`` bills (:meth:`year_to_date`) and
        the under-26 declarations as the contractor's age leaves them (:meth:`age_rules`)."""
        claimed = self.value(document, "copyright_costs_claimed")
        age = self.age_rules(document)
        earlier_exempt, earlier_base = self.year_to_date(document, earlier)
        return BillTerms(
            earlier_exempt_income=earlier_exempt,
            earlier_pension_base=earlier_base,
            kind=self.value(document, "contract_kind"),
            gross=self.gross(document) or Decimal("0.00"),
            contract_amount=self.value(document, "contract_amount"),
            copyright=bool(self.value(document, "copyright_transfer")),
            copyright_costs_claimed=claimed if isinstance(claimed, Decimal) else Decimal("0.00"),
            under_26=age.young_relief == APPLIED,
            pit2=bool(self.value(document, "pit2")),
            status=InsuranceStatus(
                student_under_26=age.student_exemption == APPLIED,
                insured_elsewhere=bool(self.value(document, "insured_elsewhere")),
                sickness=bool(self.value(document, "sickness_insurance")),
            ),
        )

    def derive(
        self, document: Document, settings: Settings, earlier: Sequence[Document] = ()
    ) -> Document:
        """The bill with its gross and its breakdown under the issue date's tax year, the
        yearly caps applied after the contractor's ``earlier`` bills."""
        try:
            years = TaxYears.from_settings(settings.plugin_config(PAYROLL_SETTINGS))
        except ValueError as problem:
            raise ValidationError.single(
                "issue_date",
                "tax_settings",
                N_("The tax-year settings are not valid: %(problem)s"),
                problem=str(problem),
            ) from None
        year = years.get(document.issue_date.year, field="issue_date")
        rate = self.value(document, "hourly_rate")
        if (
            self.value(document, "contract_kind") == ZLECENIE
            and isinstance(rate, Decimal)
            and rate < year.minimum_hourly_rate
        ):
            raise ValidationError.single(
                "extra.hourly_rate",
                "below_minimum",
                N_("The hourly rate is below the minimum of %(minimum)s PLN in %(year)s."),
                minimum=str(year.minimum_hourly_rate),
                year=year.year,
            )
        terms = self.terms(document, earlier)
        breakdown = calculate_bill(terms, year)
        record = breakdown_record(
            breakdown,
            terms,
            age=self.age_rules(document),
            counted=self.counted(document, earlier),
        )
        extra = {**document.extra, "gross_amount": str(breakdown.gross), "breakdown": record}
        return attrs.evolve(document, extra=extra)

    def check(self, document: Document) -> Iterable[FieldError]:
        """Work is billed after the contract; the period runs forward; a gross amount (or hours
        and a rate) is given and positive; bills are in PLN (ZUS and PIT are)."""
        contract_date = self.value(document, "contract_date")
        if isinstance(contract_date, date) and contract_date > document.issue_date:
            yield FieldError(
                field="extra.contract_date",
                code="after_issue_date",
                message=N_("The contract must be dated before the bill."),
            )
        start, end = self.value(document, "period_from"), self.value(document, "period_to")
        if isinstance(start, date) and isinstance(end, date) and end < start:
            yield FieldError(
                field="extra.period_to",
                code="before_start",
                message=N_("The end date cannot be before the start date."),
            )
        for name in ("gross_amount", "hourly_rate", "contract_amount"):
            yield from _money_positive(name, self.value(document, name))
        hours = self.value(document, "hours")
        if isinstance(hours, Decimal) and hours <= 0:
            yield FieldError(
                field="extra.hours",
                code="not_positive",
                message=N_("The number of hours must be greater than zero."),
            )
        for name in (
            "copyright_costs_claimed",
            "exempt_income_elsewhere",
            "pension_base_elsewhere",
        ):
            claimed = self.value(document, name)
            if isinstance(claimed, Decimal) and claimed < 0:
                yield FieldError(
                    field=f"extra.{name}",
                    code="negative",
                    message=N_("The amount cannot be negative."),
                )
        if self.gross(document) is None and document.extra.get("gross_amount") in (None, ""):
            yield FieldError(
                field="extra.gross_amount",
                code="required",
                message=N_("Enter the gross amount, or the hours and the hourly rate."),
            )
        yield from _contractor_errors(document)
        yield from self._birth_date_errors(document)
        if document.currency != "PLN":
            yield FieldError(
                field="currency",
                code="not_pln",
                message=N_("A bill is paid in PLN: ZUS and income tax are settled in złoty."),
            )

    def _birth_date_errors(self, document: Document) -> Iterable[FieldError]:
        """The under-26 declarations need the contractor's age; a typed date of birth agrees
        with the PESEL and comes before the bill."""
        typed = self.value(document, "contractor_birth_date")
        born = self.birth_date(document)
        if isinstance(typed, date) and born is not None and typed != born:
            yield FieldError(
                field="extra.contractor_birth_date",
                code="not_the_pesels",
                message=N_("The date of birth differs from the one in the PESEL (%(date)s)."),
                params={"date": born.isoformat()},
            )
        elif born is not None and born > document.issue_date:
            yield FieldError(
                field="extra.contractor_birth_date",
                code="after_issue_date",
                message=N_("The date of birth must be before the bill."),
            )
        # A PESEL typed wrong is reported at its own field; the age waits for it.
        typed_pesel = str(document.extra.get("contractor_pesel") or "").strip()
        if (
            born is None
            and not typed_pesel
            and (self.value(document, "student_under_26") or self.value(document, "under_26"))
        ):
            yield FieldError(
                field="extra.contractor_birth_date",
                code="required_under_26",
                message=N_(
                    "Enter the contractor's PESEL or date of birth: the under-26 rules depend "
                    "on the age on the day the bill is paid."
                ),
            )


def _earlier_document(entry: Mapping[str, Any]) -> EarlierDocument:
    day = entry.get("issue_date")
    number = entry.get("number")
    return EarlierDocument(
        id=entry.get("id") if isinstance(entry.get("id"), int) else None,
        number=number if isinstance(number, str) else None,
        issue_date=date.fromisoformat(day) if isinstance(day, str) else date.min,
    )
