"""What the file as a whole carries besides its pages: attached files and ``/Lang``; and the
canvas the pages are written with.

:mod:`cabinet_pdf.finishing` writes them (with the metadata and a draft's watermark) onto
reportlab's file with pypdf.
"""

from __future__ import annotations

import attrs
from reportlab.pdfbase import pdfdoc
from reportlab.pdfgen.canvas import Canvas


@attrs.frozen(kw_only=True)
class Attachment:
    """A file embedded in the PDF (an invoice's FA(3) XML), listed as the document's data."""

    filename: str
    content: bytes
    media_type: str = "application/xml"
    description: str = ""


#: BCP 47 tags for the document catalogue's ``/Lang`` (a bilingual document is primarily Polish).
LANG_TAGS = {"pl": "pl-PL", "en": "en-GB"}


def language_tag(language: str) -> str:
    """The ``/Lang`` of a document printed in ``language`` ("pl", "en", "pl+en")."""
    primary = language.split("+")[0]
    return LANG_TAGS.get(primary, primary)


class FlateCanvas(Canvas):
    """A canvas that writes its page streams Flate-compressed only.

    reportlab also ASCII85-encodes every page stream by default, so that a PDF survives 7-bit
    channels; that makes the pages 25 % larger and, in pure Python, costs a few percent of a
    render. Its switch (``rl_config.useA85``) is process-wide, and a library must not flip it
    under its host, so this canvas sets the filters on its own pages instead.
    """

    def showPage(self) -> None:
        """Close the page as reportlab does, then give its stream the Flate filter alone."""
        super().showPage()
        # _doc is the canvas's document (private, and left out of types-reportlab, as is the
        # document's Pages, which its __init__ sets).
        page = self._doc.Pages.pages[-1]  # type: ignore[attr-defined]
        if page.compression and not page.Contents:
            page.Contents = pdfdoc.PDFStream(content=page.stream, filters=[pdfdoc.PDFZCompress])
