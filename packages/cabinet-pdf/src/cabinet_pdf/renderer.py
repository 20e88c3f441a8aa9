"""The PDF renderer: a :class:`cabinet_core.rendering.Renderer` of every document type.

The built-in types have their own blocks (:mod:`cabinet_pdf.layout`); any other type is laid
out from its declared fields. What the document says beyond its stored fields (totals, the
amount in words, the MPP marking, the FA(3) file it carries) comes from one
:class:`cabinet_core.printing.DocumentView`, the one the e-mail and the downloads use too. The
template (``Template.key``: ``classic`` or ``modern``, see :mod:`cabinet_pdf.themes`) picks the
look.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

from cabinet_core.entities import Client, Document, Template
from cabinet_core.printing import DocumentView, view_of
from cabinet_core.rendering import ALL_DOCUMENT_TYPES, Rendered
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import SimpleDocTemplate

from cabinet_pdf.branding import logo_image
from cabinet_pdf.contract_text import contract_story
from cabinet_pdf.fonts import register_fonts
from cabinet_pdf.identity import issuer_look, sent_in_clients_name
from cabinet_pdf.labels import label, languages_of
from cabinet_pdf.layout import Look, build_story, colour, document_title, draw_page
from cabinet_pdf.postprocess import Attachment, FlateCanvas, language_tag
from cabinet_pdf.themes import theme_for

if TYPE_CHECKING:
    from collections.abc import Container

    from cabinet_core.app import Cabinet

#: The ``/Producer`` of every PDF written here.
PRODUCER = "cabinet-pdf (reportlab, pypdf)"


def template_key(document: Document, template: Template | None) -> str | None:
    """The template to lay out with: the one passed, else the document's own choice."""
    return template.key if template is not None else document.template


def fa3_attachment(view: DocumentView) -> Attachment | None:
    """The view's FA(3) XML as a file embedded in the PDF (PDF/A-3 associated data); a
    document FA(3) cannot express (a draft without a number, a client without a NIP …) is
    printed without it: the PDF is still wanted, and the XML download reports the reasons."""
    if view.fa3 is None:
        return None
    return Attachment(
        filename=view.fa3.filename, content=view.fa3.content, description="KSeF FA(3)"
    )


def amount_words(view: DocumentView, language: str) -> Sequence[str]:
    """The total due in words, once per printed language."""
    return tuple(
        view.amount_in_words[lang]
        for lang in languages_of(language)
        if lang in view.amount_in_words
    )


class PdfRenderer:
    """Renders documents to PDF with reportlab (DejaVu Sans, A4): every type by default, or
    only the ``document_types`` given."""

    name = "pdf"
    media_type = "application/pdf"

    def __init__(self, document_types: Sequence[str] | None = None) -> None:
        self.document_types: Container[str] = (
            ALL_DOCUMENT_TYPES if document_types is None else tuple(document_types)
        )

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
        view = view_of(cabinet, document, client, template)
        document_type = view.document_type
        theme = theme_for(template_key(document, template))
        if document_type is not None and sent_in_clients_name(document_type):
            # The client's counterparty reads the client's name, not its accountants'.
            look = issuer_look(document, client, document_type, theme=theme, language=language)
        else:
            # The admins' branding page, the environment winning (cabinet.branding).
            branding = cabinet.branding.for_documents()
            look = Look(
                firm_name=branding.firm_name,
                primary=colour(branding.primary_color, "#1f4e79"),
                accent=colour(branding.accent_color, "#f2a900"),
                theme=theme,
                logo=logo_image(branding.logo_url),
            )
        title = document_title(document, language, document_type)
        full_title = f"{title} {document.number}" if document.number else title
        seller = document.seller.name if document.seller else client.name
        buffer = io.BytesIO()
        xml = fa3_attachment(view)
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
            draw_page(canvas, doc.page, look, language, reference=full_title)

        # A contract made from a template prints its text (clauses, signatures), not its fields.
        story = (
            contract_story(view.text)
            if view.text is not None
            else build_story(
                document,
                client=client,
                document_type=document_type,
                totals=view.totals,
                amount_words=amount_words(view, language),
                look=look,
                language=language,
                correction=view.correction,
                rules=view.rules,
                split_payment=view.split_payment,
                ksef_number=view.ksef_number,
                verification_codes=view.verification_codes,
                offline_mode=view.ksef_offline_mode,
            )
        )
        page.build(story, onFirstPage=on_page, onLaterPages=on_page, canvasmaker=FlateCanvas)
        # pypdf (tens of MB) is loaded by the first PDF, not by every web process at start.
        from cabinet_pdf.finishing import Metadata, finish

        content = finish(
            buffer.getvalue(),
            metadata=Metadata(
                title=full_title,
                author=seller,
                subject=title,
                creator="cabinet" if look.footer else f"cabinet — {look.firm_name}",
                producer=PRODUCER,
            ),
            lang=language_tag(language),
            attachments=[xml] if xml else [],
            watermark=label("draft", language) if view.draft else None,
        )
        return Rendered(content=content, media_type=self.media_type, filename=view.filename)
