"""Invoices: the cost invoice a client receives, and the proforma, VAT invoice and correcting
invoice (faktura korygująca, art. 106j) a client issues."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from datetime import date
from types import MappingProxyType

import attrs
import cattrs
from stdnum.eu import vat as eu_vat

from cabinet_core.converter import from_json_dict
from cabinet_core.doctypes.base import FieldSpec, Gender, State, Transition, Workflow
from cabinet_core.doctypes.common import (
    BOOKKEEPING,
    CLIENT_SIDE,
    DRAFT,
    BaseDocumentType,
    check_lines,
    pl_en,
    sales_workflow,
)
from cabinet_core.doctypes.invoice_effects import SALES_EFFECTS, link_received_correction
from cabinet_core.doctypes.ksef_effects import KSEF_SALES_EFFECTS
from cabinet_core.entities import Document, DocumentTotals, Role
from cabinet_core.errors import N_, FieldError
from cabinet_core.vat import needs_eu_buyer

COST_INVOICE_WORKFLOW = Workflow(
    states=(
        DRAFT,
        State(key="submitted", label=pl_en("Przekazana", "Submitted")),
        State(key="returned", label=pl_en("Zwrócona", "Returned"), editable=True),
        State(key="approved", label=pl_en("Zatwierdzona", "Approved")),
        State(key="booked", label=pl_en("Zaksięgowana", "Booked")),
        State(key="paid", label=pl_en("Opłacona", "Paid"), final=True),
    ),
    transitions=(
        Transition(
            key="submit",
            source=("draft",),
            target="submitted",
            roles=CLIENT_SIDE,
            label=pl_en("Przekaż do księgowości", "Submit"),
            assigns_number=True,
        ),
        Transition(
            key="approve",
            source=("submitted",),
            target="approved",
            roles=BOOKKEEPING,
            label=pl_en("Zatwierdź", "Approve"),
        ),
        Transition(
            key="return",
            source=("submitted",),
            target="returned",
            roles=BOOKKEEPING,
            label=pl_en("Zwróć do poprawy", "Return"),
            needs_comment=True,
        ),
        Transition(
            key="resubmit",
            source=("returned",),
            target="submitted",
            roles=CLIENT_SIDE,
            label=pl_en("Przekaż ponownie", "Resubmit"),
        ),
        Transition(
            key="book",
            source=("approved",),
            target="booked",
            roles=BOOKKEEPING,
            label=pl_en("Zaksięguj", "Book"),
        ),
        Transition(
            key="mark_paid",
            source=("approved", "booked"),
            target="paid",
            roles=frozenset({Role.CLIENT, Role.ACCOUNTANT, Role.ADMIN}),
            label=pl_en("Oznacz jako opłaconą", "Mark as paid"),
        ),
    ),
)


#: FA(3) ``RodzajFaktury`` values a received invoice may have.
KSEF_KINDS = ("VAT", "KOR", "ZAL", "ROZ", "UPR", "KOR_ZAL", "KOR_ROZ")
#: Kinds that correct another invoice (their lines may be differences, even negative).
KSEF_CORRECTION_KINDS = frozenset({"KOR", "KOR_ZAL", "KOR_ROZ"})
#: Kinds whose amounts are not the sum of lines (an advance, a settlement, a correction that
#: states only the differences): such a file may come without any line.
KSEF_KINDS_WITHOUT_LINES = frozenset({"ZAL", "ROZ", "KOR", "KOR_ZAL", "KOR_ROZ"})


class CostInvoice(BaseDocumentType):
    """A purchase invoice (faktura kosztowa) the client received and hands to the accountant.

    It gets an internal register number (``KOSZT/…``) when submitted; the seller's own number is
    kept in ``extra["seller_invoice_number"]``.
    """

    key = "cost_invoice"
    label = pl_en("Faktura kosztowa", "Cost invoice")
    gender = Gender.FEMININE
    series_pattern = "KOSZT/{seq}/{MM}/{YYYY}"
    workflow = COST_INVOICE_WORKFLOW
    has_lines = True
    vat_bearing = True
    seller_required = True
    client_is_buyer = True
    offer_new = True
    issued_no_later_than_today = True
    effects = MappingProxyType({"submit": (link_received_correction,)})
    # Totals are after − before per rate: a received KOR with "before" rows states differences;
    # without "before" rows (every ordinary invoice) that is simply the lines' own totals.
    corrects = True
    # The right to deduct arises no earlier than the month the invoice is received
    # (art. 86 ust. 10b pkt 1); only invoices the accountant approved are booked.
    vat_register = "purchase"
    vat_register_states = frozenset({"approved", "booked", "paid"})
    vat_period_basis = "receipt_date"
    review_states = frozenset({"submitted"})
    returned_states = frozenset({"returned"})
    fields = (
        FieldSpec(
            name="seller_invoice_number",
            kind="text",
            label=pl_en("Numer faktury sprzedawcy", "Seller's invoice number"),
            required=True,
        ),
        FieldSpec(
            name="ksef_number",
            kind="text",
            label=pl_en("Numer KSeF", "KSeF number"),
        ),
        FieldSpec(
            name="ksef_kind",
            kind="choice",
            label=pl_en("Rodzaj faktury (KSeF)", "Invoice kind (KSeF)"),
            choices={kind: pl_en(kind, kind) for kind in KSEF_KINDS},
        ),
        FieldSpec(
            name="corrected_number",
            kind="text",
            label=pl_en("Numer faktury korygowanej", "Number of the corrected invoice"),
        ),
        FieldSpec(
            name="corrected_issue_date",
            kind="date",
            label=pl_en(
                "Data wystawienia faktury korygowanej", "Issue date of the corrected invoice"
            ),
        ),
    )
    #: What an FA(3) import noticed (``cabinet.invoicing.import_fa3``): a list of
    #: ``{"field", "code", "message", "params"}`` with ``message`` an English msgid; and
    #: ``stated_totals``, the file's own totals when its lines cannot give them (see
    #: :meth:`stated_totals`).
    structured_extra = ("import_warnings", "stated_totals")

    def stated_totals(self, document: Document) -> DocumentTotals | None:
        """The totals an imported invoice states when its lines cannot give them (an advance
        or settlement invoice, a correction stating only differences, a margin-scheme sale):
        the documents service keeps them on every save instead of summing the lines.
        ``None`` for every invoice whose lines are its totals."""
        raw = document.extra.get("stated_totals")
        if not isinstance(raw, Mapping):
            return None
        try:
            return from_json_dict(DocumentTotals, raw)
        except (TypeError, ValueError, KeyError, cattrs.BaseValidationError):
            return None

    def is_correction(self, document: Document) -> bool:
        """A correcting invoice the client received (FA(3) KOR, or a corrected number given)."""
        return self.value(document, "ksef_kind") in KSEF_CORRECTION_KINDS or bool(
            self.value(document, "corrected_number")
        )

    def check_lines(self, document: Document, vat_codes: Collection[str]) -> list[FieldError]:
        """A received correction may reduce a quantity to zero or state negative difference
        rows (MF example 03); advances, settlements and amount-only corrections may come
        without lines (their totals are the ones the file states)."""
        kind = self.value(document, "ksef_kind")
        if not document.lines and kind in KSEF_KINDS_WITHOUT_LINES:
            return []
        if not self.is_correction(document):
            return check_lines(document, vat_codes)
        return [
            error
            for error in check_lines(document, vat_codes, allow_zero_quantity=True)
            if error.code not in ("negative", "not_positive")
        ]

    def numbering_date(self, document: Document) -> date:
        """The register follows receipt: an invoice received in December counts in December."""
        return document.receipt_date or document.issue_date

    def check(self, document: Document) -> Iterable[FieldError]:
        """The invoice cannot have been received before it was issued."""
        if document.receipt_date is not None and document.receipt_date < document.issue_date:
            yield FieldError(
                field="receipt_date",
                code="before_issue_date",
                message=N_("The receipt date cannot be before the issue date."),
            )


#: A proforma ends as "converted" when a VAT invoice is made from it. Nobody makes the move by
#: hand (no roles): only ``cabinet.invoicing.convert_proforma`` does, together with the invoice.
PROFORMA_WORKFLOW = sales_workflow(
    cancellable_from=("draft", "issued", "sent"),
    gender=Gender.FEMININE,
    extra_states=(
        State(
            key="converted",
            label=pl_en("Zamieniona na fakturę", "Converted to invoice"),
            final=True,
        ),
    ),
    extra_transitions=(
        Transition(
            key="convert",
            source=("issued", "sent"),
            target="converted",
            roles=frozenset(),
            label=pl_en("Zamień na fakturę VAT", "Convert to VAT invoice"),
        ),
    ),
)


class Proforma(BaseDocumentType):
    """A proforma invoice (faktura proforma): an offer to pay, not a VAT invoice, never in KSeF."""

    key = "proforma"
    label = pl_en("Faktura proforma", "Proforma invoice")
    gender = Gender.FEMININE
    series_pattern = "PRO/{seq}/{MM}/{YYYY}"
    workflow = PROFORMA_WORKFLOW
    has_lines = True
    vat_bearing = True
    buyer_required = True
    sendable_states = frozenset({"issued", "sent"})
    split_payment = True
    offer_new = True
    issued_no_later_than_today = True
    effects = SALES_EFFECTS
    fields = (
        FieldSpec(
            name="split_payment",
            kind="bool",
            label=pl_en("Mechanizm podzielonej płatności", "Split payment"),
            default=False,
        ),
        FieldSpec(
            name="valid_until",
            kind="date",
            label=pl_en("Ważna do", "Valid until"),
        ),
        # The VAT invoice a proforma becomes needs it for its exempt lines; asked here so the
        # conversion goes through.
        FieldSpec(
            name="exemption_basis",
            kind="text",
            label=pl_en("Podstawa zwolnienia z VAT", "Legal basis of the VAT exemption"),
        ),
    )

    @property
    def deliverable_states(self) -> frozenset[str]:
        """A proforma queued when issued (auto-send) may be converted or paid before the worker
        gets to it, and is still worth the buyer's reading."""
        return self.sendable_states | {"converted", "paid"}

    def check(self, document: Document) -> Iterable[FieldError]:
        """An offer cannot expire before it is made."""
        valid_until = self.value(document, "valid_until")
        if isinstance(valid_until, date) and valid_until < document.issue_date:
            yield FieldError(
                field="extra.valid_until",
                code="before_issue_date",
                message=N_("The offer cannot expire before the issue date."),
            )
        yield from _exemption_checks(self, document)
        yield from _eu_buyer_checks(document)


class VatInvoice(BaseDocumentType):
    """A VAT sales invoice (faktura VAT, art. 106e); from 2026 issued in KSeF as FA(3) ``VAT``.

    An issued VAT invoice is never cancelled: a correcting invoice changes it.
    """

    key = "vat_invoice"
    label = pl_en("Faktura VAT", "VAT invoice")
    gender = Gender.FEMININE
    series_pattern = "FV/{seq}/{MM}/{YYYY}"
    workflow = sales_workflow(cancellable_from=("draft",), ksef=True, gender=Gender.FEMININE)
    has_lines = True
    vat_bearing = True
    buyer_required = True
    ksef_kind = "VAT"
    sendable_states = frozenset({"issued", "sent", "paid"})
    split_payment = True
    offer_new = True
    issued_no_later_than_today = True
    effects = KSEF_SALES_EFFECTS
    # The tax point is the supply (art. 19a ust. 1): the sale date, else the issue date.
    vat_register = "sales"
    vat_register_states = frozenset({"issued", "sent", "paid"})
    vat_period_basis = "sale_date"
    fields = (
        FieldSpec(
            name="split_payment",
            kind="bool",
            label=pl_en("Mechanizm podzielonej płatności", "Split payment"),
            default=False,
        ),
        FieldSpec(
            name="cash_method",
            kind="bool",
            label=pl_en("Metoda kasowa", "Cash accounting"),
            default=False,
        ),
        FieldSpec(
            name="exemption_basis",
            kind="text",
            label=pl_en("Podstawa zwolnienia z VAT", "Legal basis of the VAT exemption"),
        ),
    )

    def check(self, document: Document) -> Iterable[FieldError]:
        """Exempt lines need the legal basis of the exemption (art. 106e ust. 1 pkt 19)."""
        yield from _exemption_checks(self, document)
        yield from _eu_buyer_checks(document)


def _eu_buyer_checks(document: Document) -> Iterable[FieldError]:
    """A 0 % intra-EU supply (WDT) or an EU service outside Polish VAT (np II) is made to a
    buyer with a valid VAT number of another member state (art. 42 ust. 1 pkt 1, art. 28b)."""
    if not needs_eu_buyer(line.vat_rate for line in document.lines):
        return
    raw = document.buyer.vat_eu if document.buyer is not None else None
    # The separators people type (spaces, dots, dashes) go; the country prefix stays.
    number = re.sub(r"[\s.-]", "", raw or "").upper()
    if not number:
        yield FieldError(
            field="buyer.vat_eu",
            code="required",
            message=N_(
                "A zero-rated intra-EU supply (0 WDT) or an EU service (np II) needs the buyer's "
                "EU VAT number."
            ),
        )
    elif number[:2] == "PL" or not eu_vat.is_valid(number):
        yield FieldError(
            field="buyer.vat_eu",
            code="invalid",
            message=N_(
                "Enter the buyer's VAT number of another EU country, with its country prefix "
                "(e.g. DE136695976)."
            ),
        )


def _exemption_checks(document_type: BaseDocumentType, document: Document) -> Iterable[FieldError]:
    """Exempt lines need the legal basis of the exemption (art. 106e ust. 1 pkt 19)."""
    if any(line.vat_rate == "zw" for line in document.lines) and not document_type.value(
        document, "exemption_basis"
    ):
        yield FieldError(
            field="extra.exemption_basis",
            code="required",
            message=N_("Give the legal basis of the VAT exemption."),
        )


class CorrectingInvoice(BaseDocumentType):
    """A correcting invoice (faktura korygująca, art. 106j; FA(3) ``KOR``), issued by the seller.

    Lines marked ``before`` hold the corrected invoice's state and the others the state after
    the correction, so the totals are the differences (after − before) per rate.
    """

    key = "correcting_invoice"
    label = pl_en("Faktura korygująca", "Correcting invoice")
    gender = Gender.FEMININE
    series_pattern = "KOR/{seq}/{MM}/{YYYY}"
    workflow = sales_workflow(cancellable_from=("draft",), ksef=True, gender=Gender.FEMININE)
    has_lines = True
    vat_bearing = True
    buyer_required = True
    corrects = True
    ksef_kind = "KOR"
    sendable_states = frozenset({"issued", "sent", "paid"})
    split_payment = True
    offer_new = True
    issued_no_later_than_today = True
    effects = KSEF_SALES_EFFECTS
    # A correction lowering the tax base counts in the month it is issued (art. 29a ust. 13);
    # the register takes every correction in its issue month, with negative differences.
    vat_register = "sales"
    vat_register_states = frozenset({"issued", "sent", "paid"})
    vat_period_basis = "issue_date"
    fields = (
        FieldSpec(
            name="corrected_number",
            kind="text",
            label=pl_en("Numer faktury korygowanej", "Number of the corrected invoice"),
            required=True,
        ),
        FieldSpec(
            name="split_payment",
            kind="bool",
            label=pl_en("Mechanizm podzielonej płatności", "Split payment"),
            default=False,
        ),
        FieldSpec(
            name="corrected_issue_date",
            kind="date",
            label=pl_en(
                "Data wystawienia faktury korygowanej", "Issue date of the corrected invoice"
            ),
            required=True,
        ),
        FieldSpec(
            name="corrected_ksef_number",
            kind="text",
            label=pl_en("Numer KSeF faktury korygowanej", "KSeF number of the corrected invoice"),
        ),
        FieldSpec(
            name="reason",
            kind="textarea",
            label=pl_en("Przyczyna korekty", "Reason for the correction"),
        ),
    )

    def check_issue(self, document: Document) -> Iterable[FieldError]:
        """A correction says why it is made (art. 106j ust. 2 pkt 3: shown when it lowers the
        tax base, asked for always so the buyer and the accountant know) and changes something:
        a draft still equal to the invoice it corrects is no correction."""
        if not str(self.value(document, "reason") or "").strip():
            yield FieldError(
                field="extra.reason",
                code="required",
                message=N_("Say why the invoice is corrected."),
            )
        before = [attrs.evolve(line, before=False) for line in document.lines if line.before]
        after = [line for line in document.lines if not line.before]
        if before == after:
            yield FieldError(
                field="lines",
                code="no_difference",
                message=N_("The correction changes nothing: edit the lines after the correction."),
            )

    def check_lines(self, document: Document, vat_codes: Collection[str]) -> list[FieldError]:
        """A correction may bring a quantity down to zero (a full return)."""
        return check_lines(document, vat_codes, allow_zero_quantity=True)

    def check(self, document: Document) -> Iterable[FieldError]:
        """A correction comes after the invoice it corrects."""
        yield from _eu_buyer_checks(document)
        corrected = self.value(document, "corrected_issue_date")
        if isinstance(corrected, date) and corrected > document.issue_date:
            yield FieldError(
                field="extra.corrected_issue_date",
                code="after_issue_date",
                message=N_("The corrected invoice must be dated before this correction."),
            )
