"""The layout of a contract made from a template: its text, not a data sheet.

The text arrives as :class:`cabinet_core.contract_text.Block` values (headings, paragraphs,
numbered and bulleted clauses, the signature block), already read from the safe HTML subset the
template produced; this module turns them into reportlab flowables. Nothing the template wrote
reaches reportlab's own paragraph markup unescaped: every run is escaped here and only the
bold and italic styles are added back.
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape

from cabinet_core.contract_text import Block, Run
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from cabinet_pdf.fonts import BOLD, REGULAR

#: The signature lines' width (a pen needs room).
SIGNATURE_LINE = 70 * mm

_BASE = ParagraphStyle(
    "contract-text", fontName=REGULAR, fontSize=10, leading=14, alignment=TA_JUSTIFY
)
_STYLES = {
    "h1": ParagraphStyle(
        "contract-h1",
        parent=_BASE,
        fontName=BOLD,
        fontSize=15,
        leading=19,
        alignment=TA_CENTER,
        spaceAfter=8,
    ),
    "h2": ParagraphStyle(
        "contract-h2",
        parent=_BASE,
        fontName=BOLD,
        fontSize=11,
        leading=15,
        alignment=TA_CENTER,
        spaceBefore=8,
        spaceAfter=3,
        keepWithNext=1,  # a section heading never ends a page without its clauses
    ),
    "h3": ParagraphStyle(
        "contract-h3",
        parent=_BASE,
        fontName=BOLD,
        fontSize=10,
        leading=14,
        spaceBefore=6,
        spaceAfter=2,
        keepWithNext=1,
    ),
    "p": ParagraphStyle("contract-p", parent=_BASE, spaceAfter=4),
    "li": ParagraphStyle(
        "contract-li",
        parent=_BASE,
        spaceAfter=2,
        leftIndent=7 * mm,
        bulletIndent=1 * mm,
        bulletFontName=REGULAR,
        bulletFontSize=10,
    ),
    "sign": ParagraphStyle(
        "contract-sign", parent=_BASE, fontSize=9, leading=12, alignment=TA_CENTER
    ),
}


def markup(runs: Sequence[Run]) -> str:
    """Runs as reportlab paragraph markup: the text escaped, bold as the bold face, italic as
    ``<i>``, line breaks as ``<br/>``."""
    parts = []
    for run in runs:
        if run.text == "\n":
            parts.append("<br/>")
            continue
        text = escape(run.text)
        if run.italic:
            text = f"<i>{text}</i>"
        if run.bold:
            text = f'<font name="{BOLD}">{text}</font>'
        parts.append(text)
    return "".join(parts)


def _list(block: Block) -> list[Flowable]:
    """Numbered (``ol``) or bulleted (``ul``) clauses, one paragraph each with a hanging
    number: plain paragraphs, so a heading kept with the next flowable keeps its first clause
    (reportlab's ListFlowable is a container that ``keepWithNext`` skips)."""
    return [
        Paragraph(
            markup(item),
            _STYLES["li"],
            bulletText=f"{number}." if block.kind == "ol" else "•",
        )
        for number, item in enumerate(block.items, start=1)
    ]


def _signatures(block: Block) -> Flowable:
    """Side by side: a dotted line to sign on, the party's role and name under it."""
    cells = [
        [Paragraph("." * 60, _STYLES["sign"]), Paragraph(markup(item), _STYLES["sign"])]
        for item in block.items
    ]
    columns = max(len(cells), 1)
    centred = TableStyle([("ALIGN", (0, 0), (-1, -1), "CENTER")])
    table = Table(
        [
            [
                Table([[line], [label]], colWidths=[SIGNATURE_LINE], style=centred)
                for line, label in cells
            ]
        ],
        colWidths=[180 * mm / columns] * columns,
    )
    table.setStyle(
        TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("ALIGN", (0, 0), (-1, -1), "CENTER")])
    )
    return KeepTogether([Spacer(1, 18 * mm), table])


def contract_story(blocks: Sequence[Block]) -> list[Flowable]:
    """The flowables of a contract's text."""
    story: list[Flowable] = []
    for block in blocks:
        if block.kind in ("ol", "ul"):
            story.extend(_list(block))
        elif block.kind == "signatures":
            story.append(_signatures(block))
        else:
            story.append(Paragraph(markup(block.runs), _STYLES[block.kind]))
    return story


__all__ = ["contract_story", "markup"]
