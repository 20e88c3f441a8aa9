"""Civil-law contracts: umowa o dzieło (a specific work) and umowa zlecenie (a mandate).

The rachunek (bill) a contractor issues for each payment lives in
:mod:`cabinet_core.doctypes.bills`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from stdnum.pl import pesel as stdnum_pesel

from cabinet_core.contract_templates import FIELDS_OF_EXPLOITATION
from cabinet_core.doctypes.base import FieldSpec, Gender, State, Transition, Workflow
from cabinet_core.doctypes.common import (
    CLIENT_SIDE,
    DRAFT,
    BaseDocumentType,
    pl_en,
)
from cabinet_core.entities import Document, PartyKind
from cabinet_core.errors import N_, FieldError

#: Minimum hourly rate for an umowa zlecenie in 2026 (PLN, rozporządzenie on the minimum wage).
MIN_HOURLY_RATE_2026 = Decimal("31.40")

CONTRACT_KINDS = {
    "dzielo": pl_en("Umowa o dzieło", "Contract for a specific work"),
    "zlecenie": pl_en("Umowa zlecenie", "Contract of mandate"),
}

#: A contract and the bill made from it name the same kind of contract.
CONTRACT_KIND_FIELD = FieldSpec(
    name="contract_kind",
    kind="choice",
    label=pl_en("Rodzaj umowy", "Contract type"),
    required=True,
    choices=CONTRACT_KINDS,
)
RATE_TYPES = {
    "lump_sum": pl_en("Ryczałt", "Lump sum"),
    "hourly": pl_en("Stawka godzinowa", "Hourly rate"),
}

CONTRACT_WORKFLOW = Workflow(
    states=(
        DRAFT,
        State(key="signed", label=pl_en("Podpisana", "Signed")),
        State(key="completed", label=pl_en("Wykonana", "Completed"), final=True),
        State(key="terminated", label=pl_en("Rozwiązana", "Terminated"), final=True),
    ),
    transitions=(
        Transition(
            key="sign",
            source=("draft",),
            target="signed",
            roles=CLIENT_SIDE,
            label=pl_en("Podpisz", "Sign"),
            assigns_number=True,
        ),
        Transition(
            key="complete",
            source=("signed",),
            target="completed",
            roles=CLIENT_SIDE,
            label=pl_en("Oznacz jako wykonaną", "Mark as completed"),
        ),
        Transition(
            key="terminate",
            source=("signed",),
            target="terminated",
            roles=CLIENT_SIDE,
            label=pl_en("Rozwiąż", "Terminate"),
            needs_comment=True,
        ),
    ),
)


def _money_positive(document: Document, name: str, amount: object) -> Iterable[FieldError]:
    if isinstance(amount, Decimal) and amount <= 0:
        yield FieldError(
            field=f"extra.{name}",
            code="not_positive",
            message=N_("The amount must be greater than zero."),
        )


def _contractor_errors(document: Document, pesel: object) -> Iterable[FieldError]:
    """A natural person is identified by a valid PESEL (python-stdnum checks the date and the
    check digit)."""
    person = document.buyer is not None and document.buyer.kind is PartyKind.PERSON
    if not pesel:
        if person:
            yield FieldError(
                field="extra.contractor_pesel",
                code="required",
                message=N_("A person's PESEL is required."),
            )
        return
    if not stdnum_pesel.is_valid(str(pesel)):
        yield FieldError(
            field="extra.contractor_pesel",
            code="invalid_pesel",
            message=N_("This is not a valid PESEL number."),
        )


def _exploitation_errors(document: Document, transfer: bool) -> Iterable[FieldError]:
    """A copyright transfer names its fields of exploitation (art. 41 ust. 2 of the Copyright
    Act: a transfer covers only the fields named in the contract)."""
    chosen = document.extra.get("fields_of_exploitation") or []
    if not isinstance(chosen, list | tuple) or any(
        key not in FIELDS_OF_EXPLOITATION for key in chosen
    ):
        yield FieldError(
            field="extra.fields_of_exploitation",
            code="invalid_choice",
            message=N_("Choose fields of exploitation from the list."),
        )
    elif transfer and not chosen:
        yield FieldError(
            field="extra.fields_of_exploitation",
            code="required",
            message=N_("A copyright transfer needs at least one field of exploitation."),
        )


class Contract(BaseDocumentType):
    """A civil-law contract (umowa o dzieło or umowa zlecenie) with a contractor (the buyer)."""

    key = "contract"
    label = pl_en("Umowa", "Contract")
    gender = Gender.FEMININE
    series_pattern = "UM/{seq}/{YYYY}"
    workflow = CONTRACT_WORKFLOW
    buyer_required = True
    from_template = True
    #: The template version the text comes from and the chosen fields of exploitation (keys of
    #: :data:`~cabinet_core.contract_templates.FIELDS_OF_EXPLOITATION`).
    structured_extra = ("template_version_id", "fields_of_exploitation")
    fields = (
        CONTRACT_KIND_FIELD,
        FieldSpec(
            name="subject",
            kind="textarea",
            label=pl_en("Przedmiot umowy", "Subject of the contract"),
            required=True,
        ),
        FieldSpec(name="date_from", kind="date", label=pl_en("Od", "From"), required=True),
        FieldSpec(name="date_to", kind="date", label=pl_en("Do", "To")),
        FieldSpec(
            name="rate_type",
            kind="choice",
            label=pl_en("Wynagrodzenie", "Remuneration"),
            required=True,
            choices=RATE_TYPES,
            default="lump_sum",
        ),
        FieldSpec(
            name="amount",
            kind="money",
            label=pl_en("Kwota brutto", "Gross amount"),
        ),
        FieldSpec(
            name="hourly_rate",
            kind="money",
            label=pl_en("Stawka za godzinę brutto", "Gross hourly rate"),
        ),
        FieldSpec(
            name="copyright_transfer",
            kind="bool",
            label=pl_en(
                "Przeniesienie praw autorskich (KUP 50%)", "Copyright transfer (50% costs)"
            ),
            default=False,
        ),
        FieldSpec(
            name="contractor_pesel",
            kind="text",
            label=pl_en("PESEL wykonawcy", "Contractor's PESEL"),
        ),
    )

    def amount(self, document: Document) -> Decimal | None:
        """The lump sum (an hourly contract has no fixed amount)."""
        if self.value(document, "rate_type") != "lump_sum":
            return None
        value = self.value(document, "amount")
        return value if isinstance(value, Decimal) else None

    def check(self, document: Document) -> Iterable[FieldError]:
        """The period runs forward; the chosen remuneration is given; zlecenie pays the minimum."""
        start, end = self.value(document, "date_from"), self.value(document, "date_to")
        if isinstance(start, date) and isinstance(end, date) and end < start:
            yield FieldError(
                field="extra.date_to",
                code="before_start",
                message=N_("The end date cannot be before the start date."),
            )
        yield from _contractor_errors(document, self.value(document, "contractor_pesel"))
        yield from _exploitation_errors(document, bool(self.value(document, "copyright_transfer")))
        rate_type = self.value(document, "rate_type")
        needed = "hourly_rate" if rate_type == "hourly" else "amount"
        value = self.value(document, needed)
        if value is None:
            yield FieldError(
                field=f"extra.{needed}", code="required", message=N_("This field is required.")
            )
        yield from _money_positive(document, needed, value)
        if (
            rate_type == "hourly"
            and self.value(document, "contract_kind") == "zlecenie"
            and isinstance(value, Decimal)
            and document.currency == "PLN"
            and value < MIN_HOURLY_RATE_2026
        ):
            yield FieldError(
                field="extra.hourly_rate",
                code="below_minimum",
                message=N_("The hourly rate is below the 2026 minimum of 31.40 PLN."),
                params={"minimum": str(MIN_HOURLY_RATE_2026)},
            )
