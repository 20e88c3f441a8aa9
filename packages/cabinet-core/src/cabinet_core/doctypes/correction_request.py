"""The buyer's request to the seller for a correcting invoice (prośba o korektę).

The buyer's own correction, the *nota korygująca* (former art. 106k VAT Act), was repealed on
1 February 2026 for all invoices. Notes dated before that day can still be recorded as history
(kind ``nota``; they start and stay in the read-only ``historic`` state); from that day only a
request can be made, and a request dated earlier is refused, since then a note was the way.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date
from types import MappingProxyType

from cabinet_core.doctypes.base import FieldSpec, Gender, State, Transition, Workflow
from cabinet_core.doctypes.common import CLIENT_SIDE, DRAFT, BaseDocumentType, check_lines, pl_en
from cabinet_core.doctypes.invoice_effects import mail_on_send
from cabinet_core.entities import Document
from cabinet_core.errors import N_, FieldError

#: The day art. 106k (nota korygująca) stopped applying.
NOTA_REPEALED_ON = date(2026, 2, 1)

KIND_REQUEST = "request"
KIND_NOTA = "nota"

CORRECTION_REQUEST_WORKFLOW = Workflow(
    states=(
        DRAFT,
        State(key="sent", label=pl_en("Wysłana", "Sent")),
        State(key="accepted", label=pl_en("Przyjęta", "Accepted"), final=True),
        State(key="rejected", label=pl_en("Odrzucona", "Rejected"), final=True),
        State(key="historic", label=pl_en("Archiwalna", "Historic"), final=True),
    ),
    transitions=(
        Transition(
            key="send",
            source=("draft",),
            target="sent",
            roles=CLIENT_SIDE,
            label=pl_en("Wyślij do sprzedawcy", "Send to the seller"),
            # cabinet.invoicing queues the e-mail to the seller in the same transaction.
            assigns_number=True,
        ),
        Transition(
            key="accept",
            source=("sent",),
            target="accepted",
            roles=CLIENT_SIDE,
            label=pl_en("Sprzedawca wystawił korektę", "The seller corrected the invoice"),
        ),
        Transition(
            key="reject",
            source=("sent",),
            target="rejected",
            roles=CLIENT_SIDE,
            label=pl_en("Sprzedawca odmówił", "The seller refused"),
            needs_comment=True,
        ),
    ),
)


class CorrectionRequest(BaseDocumentType):
    """A correction request (prośba o korektę); also holds historic notes (nota korygująca)."""

    key = "correction_request"
    label = pl_en("Prośba o korektę", "Correction request")
    gender = Gender.FEMININE
    series_pattern = "PK/{seq}/{YYYY}"
    workflow = CORRECTION_REQUEST_WORKFLOW
    seller_required = True
    client_is_buyer = True
    sendable_states = frozenset({"sent", "accepted", "rejected"})
    # Its ``send`` move numbers the request and mails it to the seller in one transaction.
    effects = MappingProxyType({"send": (mail_on_send,)})
    # Optional lines say what should change: "before" rows copy the invoice, the others are
    # the state asked for, so the totals are the differences a correcting invoice would state.
    has_lines = True
    corrects = True
    fields = (
        FieldSpec(
            name="kind",
            kind="choice",
            label=pl_en("Rodzaj", "Kind"),
            required=True,
            choices={
                KIND_REQUEST: pl_en("Prośba o korektę", "Correction request"),
                KIND_NOTA: pl_en(
                    "Nota korygująca (przed 1.02.2026)", "Correction note (before 1 Feb 2026)"
                ),
            },
            default=KIND_REQUEST,
        ),
        FieldSpec(
            name="original_number",
            kind="text",
            label=pl_en("Numer faktury", "Invoice number"),
            required=True,
        ),
        FieldSpec(
            name="original_issue_date",
            kind="date",
            label=pl_en("Data wystawienia faktury", "Invoice issue date"),
            required=True,
        ),
        FieldSpec(
            name="original_ksef_number",
            kind="text",
            label=pl_en("Numer KSeF faktury", "Invoice KSeF number"),
        ),
        FieldSpec(
            name="original_content",
            kind="textarea",
            label=pl_en("Treść korygowana", "Content to correct"),
        ),
        FieldSpec(
            name="requested_correction",
            kind="textarea",
            label=pl_en("Treść prawidłowa", "Correct content"),
            required=True,
        ),
        FieldSpec(
            name="seller_email",
            kind="text",
            label=pl_en("E-mail sprzedawcy", "Seller's e-mail"),
        ),
    )

    def check_lines(self, document: Document, vat_codes: Collection[str]) -> list[FieldError]:
        """Lines are optional (the text may say it all); given ones follow the correcting
        invoice's rules (a quantity may go down to zero)."""
        if not document.lines:
            return []
        return check_lines(document, vat_codes, allow_zero_quantity=True)

    def is_historic_note(self, document: Document) -> bool:
        """Whether ``document`` records a nota korygująca (which can only be history now)."""
        return bool(self.value(document, "kind") == KIND_NOTA)

    def initial_status(self, document: Document) -> str:
        """Historic notes are stored read-only; requests start as drafts."""
        return "historic" if self.is_historic_note(document) else self.workflow.initial

    def check(self, document: Document) -> Iterable[FieldError]:
        """Notes only before the repeal, requests only from it; the invoice precedes both."""
        if self.is_historic_note(document):
            if document.issue_date >= NOTA_REPEALED_ON:
                yield FieldError(
                    field="issue_date",
                    code="nota_repealed",
                    message=N_(
                        "The correction note was abolished on 1 February 2026; "
                        "send a correction request to the seller instead."
                    ),
                )
        elif document.issue_date < NOTA_REPEALED_ON:
            yield FieldError(
                field="issue_date",
                code="before_2026_02_01",
                message=N_(
                    "Correction requests start on 1 February 2026; "
                    "record an earlier correction as a historic note."
                ),
            )
        original = self.value(document, "original_issue_date")
        if isinstance(original, date) and original > document.issue_date:
            yield FieldError(
                field="extra.original_issue_date",
                code="after_issue_date",
                message=N_("The invoice must be dated before this document."),
            )
