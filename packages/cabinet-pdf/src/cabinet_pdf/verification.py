"""The verification QR codes a printed KSeF invoice carries (KOD I, and KOD II offline).

The view (:attr:`cabinet_core.printing.DocumentView.verification_codes`) brings each code's URL
and label, as the KSeF plugin computed them; this module only draws them: reportlab's own QR
widget (error correction M), the label printed under the code. It never imports the plugin.
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape

from cabinet_core.ksef.submission import VerificationCode
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, Spacer, Table, TableStyle

__all__ = ["QR_SIZE", "qr_drawing", "verification_block"]

#: The printed side of one code: large enough to scan from paper (KSeF asks for readability,
#: and a ~100-character URL at level M is a version 6–7 code, 41–45 modules).
QR_SIZE = 32 * mm


def qr_drawing(url: str, size: float = QR_SIZE) -> Drawing:
    """``url`` as a QR code drawing of ``size`` points square."""
    widget = QrCodeWidget(url, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    width, height = x1 - x0, y1 - y0
    drawing = Drawing(size, size, transform=[size / width, 0, 0, size / height, 0, 0])
    drawing.add(widget)
    return drawing


def verification_block(
    codes: Sequence[VerificationCode], *, heading: str, label_style: ParagraphStyle
) -> list[Flowable]:
    """The codes side by side, each with its label under it, after a heading line."""
    if not codes:
        return []
    cells = [[qr_drawing(code.url), Paragraph(escape(code.label), label_style)] for code in codes]
    table = Table([cells], colWidths=[QR_SIZE + 24 * mm] * len(cells), hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    return [Spacer(1, 3 * mm), Paragraph(escape(heading), label_style), table]
