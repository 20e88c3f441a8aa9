"""What a printed bill (rachunek) adds to the common layout: the calculation from the gross to
the amount paid out, and the signature lines (poland.md §5, "Rachunek document content").

Registered for the bill in :mod:`cabinet_pdf.printed_types`; the amount due in figures and
words is the common block, since a bill's amount is its net payout. The contractor's
declarations (student under 26, PIT-2, sickness insurance, other insurance) are the type's
declared fields, printed with the other fields.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Spacer, Table, TableStyle
from reportlab.platypus.flowables import KeepTogether

from cabinet_pdf.fonts import BOLD, REGULAR
from cabinet_pdf.formatting import format_date
from cabinet_pdf.labels import pick

if TYPE_CHECKING:
    from cabinet_pdf.layout import Layout

ZERO = Decimal("0.00")

WORDS: Mapping[str, Mapping[str, str]] = {
    "the_contract": {"pl": "Umowa", "en": "Contract"},
    "contractor": {"pl": "Wykonawca", "en": "Contractor"},
    "calculation": {"pl": "Wyliczenie wynagrodzenia", "en": "Calculation of the remuneration"},
    "gross": {"pl": "Wynagrodzenie brutto", "en": "Gross remuneration"},
    "pension": {"pl": "Składka emerytalna (9,76%)", "en": "Pension contribution (9.76%)"},
    "disability": {"pl": "Składka rentowa (1,5%)", "en": "Disability contribution (1.5%)"},
    "sickness": {"pl": "Składka chorobowa (2,45%)", "en": "Sickness contribution (2.45%)"},
    "social": {"pl": "Razem składki społeczne", "en": "Social contributions"},
    "health": {"pl": "Składka zdrowotna (9%)", "en": "Health contribution (9%)"},
    "costs": {"pl": "Koszty uzyskania przychodu", "en": "Deductible costs"},
    "tax_base": {"pl": "Podstawa opodatkowania", "en": "Tax base"},
    "pit2_relief": {"pl": "Kwota zmniejszająca (PIT-2)", "en": "Tax-reducing amount (PIT-2)"},
    "tax": {"pl": "Zaliczka na podatek dochodowy", "en": "Income tax advance"},
    "flat_tax": {"pl": "Zryczałtowany podatek (12%)", "en": "Flat-rate tax (12%)"},
    "exempt": {
        "pl": "Podatek: zwolnienie (ulga dla młodych)",
        "en": "Tax: exempt (young person's relief)",
    },
    "earlier_exempt_income": {
        "pl": "Przychód zwolniony wcześniej w roku",
        "en": "Exempt income earlier this year",
    },
    "earlier_pension_base": {
        "pl": "Podstawa składek emerytalnej i rentowej wcześniej w roku",
        "en": "Pension and disability base earlier this year",
    },
    "pension_base": {
        "pl": "Podstawa składek emerytalnej i rentowej (limit roczny)",
        "en": "Pension and disability base (yearly cap)",
    },
    "exempt_income": {
        "pl": "Przychód zwolniony (ulga dla młodych)",
        "en": "Income exempt (young person's relief)",
    },
    "net": {"pl": "Do wypłaty", "en": "To pay out"},
    "employer": {"pl": "Koszt zamawiającego", "en": "The orderer's cost"},
    "employer_contributions": {
        "pl": "Składki ZUS finansowane przez zamawiającego",
        "en": "ZUS contributions paid by the orderer",
    },
    "employer_cost": {"pl": "Koszt łączny", "en": "Total cost"},
    "declarations": {"pl": "Oświadczenia wykonawcy", "en": "The contractor's declarations"},
    # Why a declared under-26 rule was not applied (cabinet_core.payroll.age).
    "young_relief_ended": {
        "pl": "Wykonawca ukończył(a) 26 lat {turned}: wypłata z {paid} nie korzysta z ulgi dla "
        "młodych.",
        "en": "The contractor turned 26 on {turned}: pay received on {paid} gets no young "
        "person's relief.",
    },
    "student_exemption_ended": {
        "pl": "Wykonawca ukończył(a) 26 lat {turned}: od wypłaty z {paid} należą się składki ZUS "
        "i zdrowotna.",
        "en": "The contractor turned 26 on {turned}: ZUS and health contributions are due on "
        "pay received on {paid}.",
    },
    "contractor_signature": {"pl": "podpis wykonawcy", "en": "contractor's signature"},
    "approved": {
        "pl": "zatwierdzono do wypłaty (zamawiający)",
        "en": "approved for payment (ordering party)",
    },
    "received": {"pl": "Kwotę otrzymałem/am", "en": "Amount received"},
}


def _breakdown_of(layout: Layout) -> Mapping[str, Any] | None:
    known = layout.document_type
    return known.breakdown(layout.document) if known is not None else None


def _amount(breakdown: Mapping[str, Any], key: str) -> Decimal:
    return Decimal(str(breakdown.get(key, "0")))


#: The contract reference and the contractor's details, each printed as one line of facts.
CONTRACT = ("contract_kind", "contract_number", "contract_date", "period_from", "period_to")
CONTRACTOR = ("contractor_pesel", "tax_office", "contractor_account")


def _facts(layout: Layout, heading: str, names: tuple[str, ...]) -> list[Flowable]:
    extra = layout.document.extra
    shown = [
        f"{escape(layout.extra_label(name))}: "
        f"<b>{escape(layout.extra_value(name, extra[name]))}</b>"
        for name in names
        if extra.get(name) not in (None, "")
    ]
    if not shown:
        return []
    title = pick(WORDS[heading], layout.language)
    return [layout.p(f"<b>{escape(title)}</b>: " + " · ".join(shown))]


def reference(layout: Layout) -> list[Flowable]:
    """Which contract the bill is for, and the contractor's PESEL, tax office and account."""
    out = [*_facts(layout, "the_contract", CONTRACT), *_facts(layout, "contractor", CONTRACTOR)]
    return [*out, Spacer(1, 3 * mm)] if out else []


def calculation(layout: Layout) -> list[Flowable]:
    """The contract reference, then the gross, each contribution, the costs, the tax base and
    the tax, the payout."""
    breakdown = _breakdown_of(layout)
    if breakdown is None:
        return reference(layout)
    language = layout.language

    def words(key: str) -> str:
        return pick(WORDS[key], language)

    rows: list[list[str]] = [[words("gross"), layout.amount(_amount(breakdown, "gross"))]]
    for key in ("earlier_exempt_income", "earlier_pension_base"):
        if _amount(breakdown, key):
            rows.append([words(key), layout.amount(_amount(breakdown, key))])
    capped = breakdown.get("pension_base")
    if _amount(breakdown, "social") and capped is not None and capped != breakdown.get("gross"):
        rows.append([words("pension_base"), layout.amount(_amount(breakdown, "pension_base"))])
    for key in ("pension", "disability", "sickness"):
        if _amount(breakdown, key):
            rows.append([f"− {words(key)}", layout.amount(_amount(breakdown, key))])
    if _amount(breakdown, "social"):
        rows.append([words("social"), layout.amount(_amount(breakdown, "social"))])
    if _amount(breakdown, "health"):
        rows.append([f"− {words('health')}", layout.amount(_amount(breakdown, "health"))])
    method = breakdown.get("tax_method")
    if method in ("scale", "flat") and _amount(breakdown, "exempt_income"):
        rows.append([words("exempt_income"), layout.amount(_amount(breakdown, "exempt_income"))])
    if method == "scale":
        rate = layout.number(_amount(breakdown, "costs_rate") * 100, places=None)
        rows.append([f"{words('costs')} ({rate}%)", layout.amount(_amount(breakdown, "costs"))])
        rows.append([words("tax_base"), layout.amount(_amount(breakdown, "tax_base"))])
        if _amount(breakdown, "pit2_relief"):
            relief = _amount(breakdown, "pit2_relief")
            rows.append([words("pit2_relief"), layout.amount(relief)])
        rows.append([f"− {words('tax')}", layout.amount(_amount(breakdown, "tax"))])
    elif method == "flat":
        rows.append([words("tax_base"), layout.amount(_amount(breakdown, "tax_base"))])
        rows.append([f"− {words('flat_tax')}", layout.amount(_amount(breakdown, "tax"))])
    else:
        rows.append([words("exempt"), layout.amount(ZERO)])
    rows.append([words("net"), layout.amount(_amount(breakdown, "net"))])
    employer = _amount(breakdown, "employer_contributions")
    rows.append([words("employer_contributions"), layout.amount(employer)])
    rows.append([words("employer_cost"), layout.amount(_amount(breakdown, "employer_cost"))])
    net_row = len(rows) - 3
    table = Table(rows, colWidths=[120 * mm, 45 * mm], hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), REGULAR),
                ("FONTSIZE", (0, 0), (-1, -1), 8.5),
                ("TOPPADDING", (0, 0), (-1, -1), 1),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
                ("ALIGN", (1, 0), (1, -1), "RIGHT"),
                ("FONTNAME", (0, net_row), (-1, net_row), BOLD),
                ("LINEABOVE", (0, net_row), (-1, net_row), 0.8, layout.look.primary),
                ("TEXTCOLOR", (0, net_row + 1), (-1, -1), layout.look.primary),
                ("LINEABOVE", (0, net_row + 1), (-1, net_row + 1), 0.3, layout.look.primary),
            ]
        )
    )
    heading = layout.p(words("calculation"), "heading")
    return [*reference(layout), KeepTogether([heading, table]), Spacer(1, 4 * mm)]


#: The pay earned elsewhere this year: printed inside the calculation's year-to-date rows (with
#: the earlier bills), not again among the other fields.
YEAR_TO_DATE = ("exempt_income_elsewhere", "pension_base_elsewhere")

#: The contractor's declarations (the bill's fields), printed together above the signatures.
DECLARATIONS = ("student_under_26", "under_26", "sickness_insurance", "insured_elsewhere", "pit2")


def declarations(layout: Layout) -> list[Flowable]:
    """What the contractor declared, each with yes or no, in one paragraph."""
    stated = [
        f"{escape(layout.extra_label(name))}: "
        f"<b>{escape(layout.extra_value(name, layout.document.extra.get(name, False)))}</b>"
        for name in DECLARATIONS
    ]
    heading = pick(WORDS["declarations"], layout.language)
    text = f"<b>{escape(heading)}</b>: " + " · ".join(stated)
    breakdown = _breakdown_of(layout) or {}
    turned, paid = breakdown.get("turns_26"), breakdown.get("pay_date")
    for rule in ("young_relief", "student_exemption"):
        if breakdown.get(rule) == "ended" and isinstance(turned, str) and isinstance(paid, str):
            why = pick(WORDS[f"{rule}_ended"], layout.language).format(
                turned=format_date(date.fromisoformat(turned)),
                paid=format_date(date.fromisoformat(paid)),
            )
            text += f" {escape(why)}"
    return [layout.p(text), Spacer(1, 2 * mm)]


def signatures(layout: Layout) -> list[Flowable]:
    """The declarations, then two signature lines: the contractor's, and the orderer's
    approval for payment."""
    language = layout.language
    line = "." * 48
    cells = [
        [line, line],
        [pick(WORDS["contractor_signature"], language), pick(WORDS["approved"], language)],
    ]
    table = Table(cells, colWidths=[85 * mm, 85 * mm])
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), REGULAR),
                ("FONTSIZE", (0, 0), (-1, 0), 9),
                ("FONTSIZE", (0, 1), (-1, 1), 7.5),
                ("ALIGN", (0, 0), (-1, -1), "CENTER"),
                ("TOPPADDING", (0, 0), (-1, 0), 10 * mm),
            ]
        )
    )
    return [*declarations(layout), Spacer(1, 3 * mm), KeepTogether([table])]


#: The blocks a bill adds: before the amount due, and at the end.
BEFORE_TOTAL: Callable[[Layout], list[Flowable]] = calculation
CLOSING: Callable[[Layout], list[Flowable]] = signatures
