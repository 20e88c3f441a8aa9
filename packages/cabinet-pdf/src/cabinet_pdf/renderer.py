"""The PDF renderer: a :class:`cabinet_core.rendering.Renderer` for the invoice-like built-ins."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from cabinet_core.entities import Client, Document, DocumentTotals, Template
from cabinet_core.rendering import Rendered
from cabinet_core.vat import (
    POLAND_2026,
    CorrectionTotals,
    TaxRules,
    compute_correction,
    compute_totals,
    rates_for,
)
from cabinet_core.words import amount_in_words
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import SimpleDocTemplate

from cabinet_pdf.fonts import REGULAR, register_fonts
from cabinet_pdf.labels import label, languages_of
from cabinet_pdf.layout import Look, build_story, colour, document_title
from cabinet_pdf.postprocess import finish_pdf

if TYPE_CHECKING:
    from cabinet_core.app import Cabinet
    from cabinet_core.doctypes import DocumentType

#: The built-in document types this renderer prints.
DOCUMENT_TYPES: tuple[str, ...] = (
    "cost_invoice",
    "proforma",
    "vat_invoice",
    "correcting_invoice",
    "correction_request",
    "bill",
    "contract",
    "cash_report",
)


def filename_for(document: Document) -> str:
    """A download name built from the number (``FV/1/11/2026`` → ``FV-1-11-2026.pdf``)."""
    stem = document.number or f"{document.doc_type}-{document.id or 'new'}-draft"
    return re.sub(r"[^0-9A-Za-z._-]+", "-", stem).strip("-") + ".pdf"


def is_draft(document: Document, document_type: DocumentType | None) -> bool:
    """A document still in its type's first workflow state (or, for an unknown type, in
    ``draft``) is printed with a watermark so nobody takes it for the issued document."""
    initial = document_type.workflow.initial if document_type is not None else "draft"
    return document.status == initial


def totals_of(
    document: Document, rules: TaxRules | None = None
) -> tuple[DocumentTotals | None, CorrectionTotals | None]:
    """What the document states (its stored totals, else computed now with ``rules``) and, for
    a correction written as before/after rows, both states."""
    if not document.lines:
        return document.totals, None
    rules = rules or POLAND_2026
    if any(line.before for line in document.lines):
        correction = compute_correction(
            document.lines,
            currency=document.currency,
            price_mode=document.price_mode,
            vat_method=document.vat_method,
            exchange_rate=document.exchange_rate,
            rules=rules,
        )
        return document.totals or correction.difference, correction
    computed = document.totals or compute_totals(
        document.lines,
        currency=document.currency,
        price_mode=document.price_mode,
        vat_method=document.vat_method,
        exchange_rate=document.exchange_rate,
        rules=rules,
    )
    return computed, None


def rules_for(cabinet: Cabinet, document: Document) -> TaxRules | None:
    """The cabinet's VAT rules valid on the document's issue date (``None``: the built-in)."""
    try:
        return rates_for(cabinet.tax_rules, document.issue_date)
    except LookupError:
        return None


def amount_words(totals: DocumentTotals | None, language: str) -> Sequence[str]:
    """The total due in words, once per printed language."""
    if totals is None:
        return ()
    return tuple(
        amount_in_words(totals.gross, totals.currency, lang) for lang in languages_of(language)
    )


class PdfRenderer:
    """Renders invoice-like documents to PDF with reportlab (DejaVu Sans, A4)."""

    name = "pdf"
    media_type = "application/pdf"

    def __init__(self, document_types: Sequence[str] = DOCUMENT_TYPES) -> None:
        self.document_types = tuple(document_types)

    def render(
        self,
        cabinet: Cabinet,
        document: Document,
        *,
        client: Client,
        template: Template | None,
        language: str,
    ) -> Rendered:
        """Render ``document`` in ``language`` ("pl", "en" or "pl+en")."""
        register_fonts()
        document_type = cabinet.document_types.get(document.doc_type)
        branding = cabinet.settings.branding
        look = Look(
            firm_name=branding.firm_name,
            primary=colour(branding.primary_color, "#1f4e79"),
            accent=colour(branding.accent_color, "#f2a900"),
        )
        totals, correction = totals_of(document, rules_for(cabinet, document))
        title = document_title(document, language, document_type)
        full_title = f"{title} {document.number}" if document.number else title
        seller = document.seller.name if document.seller else client.name
        buffer = io.BytesIO()
        page = SimpleDocTemplate(
            buffer,
            pagesize=A4,
            leftMargin=15 * mm,
            rightMargin=15 * mm,
            topMargin=15 * mm,
            bottomMargin=18 * mm,
            title=full_title,
            author=seller,
            invariant=1,
        )
        footer = f"{label('issued_in', language)}: {look.firm_name}"

        def on_page(canvas: Canvas, doc: SimpleDocTemplate) -> None:
            canvas.saveState()
            canvas.setFont(REGULAR, 7)
            canvas.setFillColor(look.primary)
            canvas.drawString(15 * mm, 10 * mm, footer)
            canvas.drawRightString(
                A4[0] - 15 * mm, 10 * mm, f"{label('page', language)} {doc.page}"
            )
            canvas.restoreState()

        story = build_story(
            document,
            client=client,
            document_type=document_type,
            totals=totals,
            amount_words=amount_words(totals, language),
            look=look,
            language=language,
            correction=correction,
        )
        page.build(story, onFirstPage=on_page, onLaterPages=on_page)
        content = finish_pdf(
            buffer.getvalue(),
            title=full_title,
            author=seller,
            subject=title,
            creator=f"cabinet — {look.firm_name}",
            language=language,
            watermark=label("draft", language) if is_draft(document, document_type) else None,
        )
        return Rendered(
            content=content, media_type=self.media_type, filename=filename_for(document)
        )
