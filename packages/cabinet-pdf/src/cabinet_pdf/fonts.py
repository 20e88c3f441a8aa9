"""The vendored DejaVu Sans faces, registered with reportlab on first use.

reportlab's built-in Helvetica has no glyphs for ą ć ę ł ń ś ź ż, so every PDF this package writes
uses DejaVu Sans (Bitstream Vera licence, see ``fonts/LICENSE``), shipped inside the wheel so the
output does not depend on which fonts the host happens to have.
"""

from __future__ import annotations

from importlib import resources

from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

REGULAR = "CabinetDejaVuSans"
BOLD = "CabinetDejaVuSans-Bold"
#: The classic template's headings (DejaVu Serif Bold, same licence and version).
SERIF_BOLD = "CabinetDejaVuSerif-Bold"

_FILES = {
    REGULAR: "DejaVuSans.ttf",
    BOLD: "DejaVuSans-Bold.ttf",
    SERIF_BOLD: "DejaVuSerif-Bold.ttf",
}


def register_fonts() -> None:
    """Register the three faces (and the bold mapping for ``<b>`` in paragraphs) once per process.

    reportlab keeps fonts in a process-wide registry, so this is called lazily by the renderer
    rather than at import time.
    """
    registered = set(pdfmetrics.getRegisteredFontNames())
    folder = resources.files("cabinet_pdf") / "fonts"
    for name, filename in _FILES.items():
        if name in registered:
            continue
        with resources.as_file(folder / filename) as path:
            pdfmetrics.registerFont(TTFont(name, str(path)))
    addMapping(REGULAR, 0, 0, REGULAR)
    addMapping(REGULAR, 1, 0, BOLD)
    addMapping(REGULAR, 0, 1, REGULAR)
    addMapping(REGULAR, 1, 1, BOLD)
