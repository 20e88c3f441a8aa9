"""Finishing a rendered PDF with pypdf: metadata, ``/Lang``, attached files, a draft watermark.

reportlab writes the pages; pypdf then stamps what belongs to the file as a whole. Both steps
are byte-deterministic: reportlab runs with ``invariant=1`` and pypdf keeps the file identifier
reportlab wrote, so the same document always gives the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import attrs
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, NameObject, TextStringObject
from reportlab.lib import colors
from reportlab.pdfgen.canvas import Canvas

from cabinet_pdf.fonts import BOLD


@attrs.frozen(kw_only=True)
class Attachment:
    """A file embedded in the PDF (an invoice's FA(3) XML), listed as the document's data."""

    filename: str
    content: bytes
    media_type: str = "application/xml"
    description: str = ""


#: BCP 47 tags for the document catalogue's ``/Lang`` (a bilingual document is primarily Polish).
LANG_TAGS = {"pl": "pl-PL", "en": "en-GB"}


def watermark_page(text: str, width: float, height: float) -> bytes:
    """A one-page PDF with ``text`` written diagonally across the page in light grey."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(width, height), invariant=1)
    canvas.saveState()
    canvas.setFillColor(colors.HexColor("#c0392b"))
    canvas.setFillAlpha(0.15)
    canvas.translate(width / 2, height / 2)
    canvas.rotate(45)
    size = min(96.0, 1.4 * width / max(len(text), 1))
    canvas.setFont(BOLD, size)
    canvas.drawCentredString(0, -size / 3, text)
    canvas.restoreState()
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def finish_pdf(
    content: bytes,
    *,
    title: str,
    author: str,
    subject: str,
    creator: str,
    language: str,
    watermark: str | None = None,
    attachments: Sequence[Attachment] = (),
) -> bytes:
    """Return ``content`` with its metadata set, ``/Lang`` in the catalogue, ``attachments``
    embedded (and named in the catalogue's ``/AF`` as the PDF/A-3 way of saying "this file is
    the document's data") and, when ``watermark`` is given, that text stamped over every page.

    No dates are written into the attachments, so the bytes stay the same for the same input.
    """
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(content)))
    if watermark:
        for page in writer.pages:
            box = page.mediabox
            stamp = PdfReader(
                io.BytesIO(watermark_page(watermark, float(box.width), float(box.height)))
            ).pages[0]
            page.merge_page(stamp, over=True)
    writer.add_metadata(
        {
            "/Title": title,
            "/Author": author,
            "/Subject": subject,
            "/Creator": creator,
            "/Producer": "cabinet-pdf (reportlab, pypdf)",
        }
    )
    associated = ArrayObject()
    for attachment in attachments:
        embedded = writer.add_attachment(attachment.filename, attachment.content)
        embedded.subtype = NameObject("/" + attachment.media_type.replace("/", "#2F"))
        embedded.associated_file_relationship = NameObject("/Data")
        if attachment.description:
            embedded.description = TextStringObject(attachment.description)
        associated.append(embedded.pdf_object.indirect_reference)
    if associated:
        writer.root_object[NameObject("/AF")] = associated
    primary = language.split("+")[0]
    writer.root_object[NameObject("/Lang")] = TextStringObject(LANG_TAGS.get(primary, primary))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
