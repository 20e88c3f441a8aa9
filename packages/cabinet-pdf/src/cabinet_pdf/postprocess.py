"""What belongs to the PDF file as a whole: attached files, ``/Lang``, a draft watermark.

Issue #3 had pypdf stamp these (and the metadata) on reportlab's finished file. That pass
re-parsed and re-wrote every object of the file (font programs included) and cost about a
fifth of a render, so reportlab now writes them itself while it writes the pages: the metadata
and ``/Lang`` through its document template's arguments, the attached files through its
``pdfdoc`` objects (:func:`embed_files`), the watermark as the last drawing on each page
(:func:`draw_watermark`). pypdf remains the *reader* the tests check every one of them with
(docs/performance.md has the figures).

The output stays byte-deterministic: reportlab runs with ``invariant=1`` and nothing here
writes a date or a random identifier.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
from reportlab.lib import colors
from reportlab.pdfbase import pdfdoc
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

WATERMARK_COLOUR = colors.HexColor("#c0392b")


def language_tag(language: str) -> str:
    """The ``/Lang`` of a document printed in ``language`` ("pl", "en", "pl+en")."""
    primary = language.split("+")[0]
    return LANG_TAGS.get(primary, primary)


def _name(text: str) -> str:
    """A PDF name object for ``text``; reportlab's :func:`~reportlab.pdfbase.pdfdoc.PDFName`
    leaves a ``/`` unescaped, which would end the name ("application/xml" → ``/application``
    followed by a second name), so it is written ``#2F``."""
    return "/" + pdfdoc.PDFName(text)[1:].replace("/", "#2F")


def embed_files(canvas: Canvas, attachments: Sequence[Attachment]) -> None:
    """Attach ``attachments`` to the PDF ``canvas`` is writing.

    Each file is an ``/EmbeddedFile`` stream (Flate-compressed, its MIME type as ``/Subtype``),
    listed in the catalogue's ``/EmbeddedFiles`` name tree (what viewers show as attachments)
    and in its ``/AF`` array with ``/AFRelationship /Data``: the PDF/A-3 way of saying "this
    file is the document's data", as e-invoice formats (ZUGFeRD, Factur-X) do it.
    """
    if not attachments:
        return
    document = canvas._doc
    names: list[object] = []
    associated = []
    for attachment in sorted(attachments, key=lambda a: a.filename):
        stream = pdfdoc.PDFStream(
            pdfdoc.PDFDictionary(
                {
                    "Type": pdfdoc.PDFName("EmbeddedFile"),
                    "Subtype": _name(attachment.media_type),
                    "Params": pdfdoc.PDFDictionary({"Size": len(attachment.content)}),
                }
            ),
            content=attachment.content,
            filters=[pdfdoc.PDFZCompress],
        )
        stream_ref = document.Reference(stream)
        spec: dict[str, object] = {
            "Type": pdfdoc.PDFName("Filespec"),
            "F": pdfdoc.PDFString(attachment.filename),
            "UF": pdfdoc.PDFString(attachment.filename),
            "EF": pdfdoc.PDFDictionary({"F": stream_ref, "UF": stream_ref}),
            "AFRelationship": pdfdoc.PDFName("Data"),
        }
        if attachment.description:
            spec["Desc"] = pdfdoc.PDFString(attachment.description)
        spec_ref = document.Reference(pdfdoc.PDFDictionary(spec))
        names += [pdfdoc.PDFString(attachment.filename), spec_ref]
        associated.append(spec_ref)
    catalog = document.Catalog
    catalog.Names = pdfdoc.PDFDictionary(
        {"EmbeddedFiles": pdfdoc.PDFDictionary({"Names": pdfdoc.PDFArray(names)})}
    )
    # reportlab's catalogue writes only the keys it lists; /AF (PDF 2.0, PDF/A-3) is not among
    # them, so this catalogue instance lists it too.
    catalog.AF = pdfdoc.PDFArray(associated)
    catalog.__NoDefault__ = [*pdfdoc.PDFCatalog.__NoDefault__, "AF"]


class FlateCanvas(Canvas):  # type: ignore[misc]  # reportlab has no type hints
    """A canvas that writes its page streams Flate-compressed only.

    reportlab also ASCII85-encodes every page stream by default, so that a PDF survives 7-bit
    channels; that makes the pages 25 % larger and, in pure Python, costs a few percent of a
    render. Its switch (``rl_config.useA85``) is process-wide, and a library must not flip it
    under its host, so this canvas sets the filters on its own pages instead.
    """

    def showPage(self) -> None:
        """Close the page as reportlab does, then give its stream the Flate filter alone."""
        super().showPage()
        page = self._doc.Pages.pages[-1]
        if page.compression and not page.Contents:
            page.Contents = pdfdoc.PDFStream(content=page.stream, filters=[pdfdoc.PDFZCompress])


def draw_watermark(canvas: Canvas, text: str) -> None:
    """Write ``text`` diagonally across the current page in translucent red, over what is
    drawn so far: call it as the page's last drawing."""
    width, height = canvas._pagesize
    canvas.saveState()
    canvas.setFillColor(WATERMARK_COLOUR)
    canvas.setFillAlpha(0.15)
    canvas.translate(width / 2, height / 2)
    canvas.rotate(45)
    size = min(96.0, 1.4 * width / max(len(text), 1))
    canvas.setFont(BOLD, size)
    canvas.drawCentredString(0, -size / 3, text)
    canvas.restoreState()
