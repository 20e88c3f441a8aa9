"""The PDF renderer: a :class:`cabinet_core.rendering.Renderer` for the invoice-like built-ins.

The template (``Template.key``: ``classic`` or ``modern``, see :mod:`cabinet_pdf.themes`) picks
the look; an issued VAT or correcting invoice carries its FA(3) XML as an attached file.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from datetime import datetime, time
from typing import TYPE_CHECKING

from cabinet_core.entities import Client, Document, DocumentTotals, Party, Template
from cabinet_core.errors import ValidationError
from cabinet_core.ksef import document_to_fa3
from cabinet_core.ksef.fa3_export import INVOICE_KINDS
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

from cabinet_pdf.branding import logo_image
from cabinet_pdf.finishing import Metadata, finish
from cabinet_pdf.fonts import register_fonts
from cabinet_pdf.labels import label, languages_of
from cabinet_pdf.layout import Look, build_story, client_party, colour, document_title, draw_page
from cabinet_pdf.postprocess import Attachment, FlateCanvas, language_tag
from cabinet_pdf.themes import theme_for

if TYPE_CHECKING:
    from cabinet_core.app import Cabinet
    from cabinet_core.doctypes import DocumentType

#: The ``/Producer`` of every PDF written here.
PRODUCER = "cabinet-pdf (reportlab, pypdf)"

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


def template_key(document: Document, template: Template | None) -> str | None:
    """The template to lay out with: the one passed, else the document's own choice."""
    return template.key if template is not None else document.template


def fa3_attachment(
    document: Document, client: Client, rules: TaxRules | None = None
) -> Attachment | None:
    """The FA(3) XML of an issued VAT or correcting invoice, to embed in its PDF.

    The seller is the document's own snapshot, else the client (who issues its sales
    invoices). ``DataWytworzeniaFa`` is the document's last change (else its issue date), so
    the same document always embeds the same file. A document FA(3) cannot express (a draft
    without a number, a client without a NIP …) is printed without the file: the PDF is still
    wanted, and the XML download reports the reasons.
    """
    if document.doc_type not in INVOICE_KINDS or not document.number:
        return None
    seller: Party = document.seller or client_party(client)
    created_at = (
        document.updated_at
        or document.created_at
        or datetime.combine(document.issue_date, time(12, 0))
    )
    try:
        xml = document_to_fa3(
            document, seller=seller, created_at=created_at, rules=rules or POLAND_2026
        )
    except ValidationError:
        return None
    return Attachment(
        filename=filename_for(document).removesuffix(".pdf") + ".xml",
        content=xml,
        description="KSeF FA(3)",
    )


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
        theme = theme_for(template_key(document, template))
        look = Look(
            firm_name=branding.firm_name,
            primary=colour(branding.primary_color, "#1f4e79"),
            accent=colour(branding.accent_color, "#f2a900"),
            theme=theme,
            logo=logo_image(branding.logo_url),
        )
        rules = rules_for(cabinet, document)
        totals, correction = totals_of(document, rules)
        title = document_title(document, language, document_type)
        full_title = f"{title} {document.number}" if document.number else title
        seller = document.seller.name if document.seller else client.name
        buffer = io.BytesIO()
        xml = fa3_attachment(document, client, rules)
        # reportlab lays out and writes the pages; pypdf finishes the file (metadata, /Lang,
        # the FA(3) XML, a draft's watermark) as an incremental update (cabinet_pdf.finishing).
        page = SimpleDocTemplate(
            buffer,
            pagesize=A4,
            leftMargin=15 * mm,
            rightMargin=15 * mm,
            topMargin=theme.top_margin,
            bottomMargin=18 * mm,
            invariant=1,
        )

        def on_page(canvas: Canvas, doc: SimpleDocTemplate) -> None:
            draw_page(canvas, doc.page, look, language)

        story = build_story(
            document,
            client=client,
            document_type=document_type,
            totals=totals,
            amount_words=amount_words(totals, language),
            look=look,
            language=language,
            correction=correction,
            rules=rules or POLAND_2026,
        )
        page.build(story, onFirstPage=on_page, onLaterPages=on_page, canvasmaker=FlateCanvas)
        content = finish(
            buffer.getvalue(),
            metadata=Metadata(
                title=full_title,
                author=seller,
                subject=title,
                creator=f"cabinet — {look.firm_name}",
                producer=PRODUCER,
            ),
            lang=language_tag(language),
            attachments=[xml] if xml else [],
            watermark=label("draft", language) if is_draft(document, document_type) else None,
        )
        return Rendered(
            content=content, media_type=self.media_type, filename=filename_for(document)
        )
