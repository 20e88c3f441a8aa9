"""The vendored DejaVu faces, registered with reportlab on first use, with reusable subsets.

reportlab's built-in Helvetica has no glyphs for ą ć ę ł ń ś ź ż, so every PDF this package writes
uses DejaVu Sans (Bitstream Vera licence, see ``fonts/LICENSE``), shipped inside the wheel so the
output does not depend on which fonts the host happens to have.

Embedding a TrueType face means cutting a subset of its glyphs out of the file and compressing
it, about 2.5 ms per face and document in pure Python: a third of a whole invoice. reportlab
numbers the glyphs of a subset in the order the document first uses them, so no two documents
share a subset and there is nothing to reuse. :class:`CabinetTTFont` instead starts every
document's first subset with the same :data:`REPERTOIRE` (ASCII is already fixed there: Polish
letters, the typographic marks invoices use, the accented letters of EU company names), so
every document whose text stays inside it embeds byte-identical subsets, and
:class:`SubsetCachingFace` keeps the compressed font programs of the last few subsets it cut.
A document with other letters simply gets other subsets, cut and cached the same way. The
price is a fixed ~130 glyphs per embedded face instead of the few dozen a document uses (see
``docs/performance.md`` for bytes and milliseconds).
"""

from __future__ import annotations

import threading
import zlib
from collections import OrderedDict
from importlib import resources
from typing import Any

from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfbase.ttfonts import FF_NONSYMBOLIC, FF_SYMBOLIC, TTFont, TTFontFace

REGULAR = "CabinetDejaVuSans"
BOLD = "CabinetDejaVuSans-Bold"
#: The classic template's headings (DejaVu Serif Bold, same licence and version).
SERIF_BOLD = "CabinetDejaVuSerif-Bold"

_FILES = {
    REGULAR: "DejaVuSans.ttf",
    BOLD: "DejaVuSans-Bold.ttf",
    SERIF_BOLD: "DejaVuSerif-Bold.ttf",
}

#: The letters and marks every document's first subset starts with, after ASCII (which
#: reportlab always places there): Polish first, then typography, then other EU letters.
REPERTOIRE = (
    "ąćęłńóśźżĄĆĘŁŃÓŚŹŻ"
    "–—„”“‘’‚«»…•·×°§©®™€£¥"
    "äöüÄÖÜßéèêëÉÈÊËáàâãåÁÀÂÃÅíìîïÍÌÎÏúùûÚÙÛôõøÔÕØçÇñÑ"
    "čďěňřšťůžČĎĚŇŘŠŤŮŽľĺŕĽĹŔőűŐŰășțĂȘȚėįųūĖĮŲŪ"
)

#: How many compressed subsets each face keeps (a few per template and language are enough).
CACHED_SUBSETS = 32


class SubsetCachingFace(TTFontFace):  # type: ignore[misc]  # reportlab has no type hints
    """A TrueType face that keeps the compressed programs of the subsets it cut.

    Only :meth:`addSubsetObjects` differs from reportlab's: the font program is taken from the
    cache when the same glyphs were embedded before, and is written already Flate-compressed
    (the bytes are the ones reportlab would write).
    """

    _programs: OrderedDict[tuple[int, ...], tuple[int, bytes]]
    _lock: threading.Lock

    def addSubsetObjects(self, doc: Any, fontname: str, subset: list[int]) -> Any:
        """Add the subset's font program and descriptor to ``doc``; returns the descriptor's
        reference (reportlab's contract)."""
        length, program = self._program(tuple(subset), compress=bool(doc.compression))
        dictionary = pdfdoc.PDFDictionary({"Length1": length})
        if doc.compression:
            # A stream whose dictionary names its filter is written as is (already encoded).
            dictionary["Filter"] = pdfdoc.PDFArray([pdfdoc.PDFName("FlateDecode")])
        font_file = pdfdoc.PDFStream(dictionary, content=program)
        font_file_ref = doc.Reference(font_file, f"fontFile:{self.filename}({fontname})")
        flags = (self.flags & ~FF_NONSYMBOLIC) | FF_SYMBOLIC
        descriptor = pdfdoc.PDFDictionary(
            {
                "Type": "/FontDescriptor",
                "Ascent": self.ascent,
                "CapHeight": self.capHeight,
                "Descent": self.descent,
                "Flags": flags,
                "FontBBox": pdfdoc.PDFArray(self.bbox),
                "FontName": pdfdoc.PDFName(fontname),
                "ItalicAngle": self.italicAngle,
                "StemV": self.stemV,
                "FontFile2": font_file_ref,
                "MissingWidth": self.defaultWidth,
            }
        )
        return doc.Reference(descriptor, "fontDescriptor:" + fontname)

    def _program(self, subset: tuple[int, ...], *, compress: bool) -> tuple[int, bytes]:
        if not compress:
            raw: bytes = self.makeSubset(list(subset))
            return len(raw), raw
        with self._lock:
            cached = self._programs.get(subset)
            if cached is not None:
                self._programs.move_to_end(subset)
                return cached
        raw = self.makeSubset(list(subset))
        made = (len(raw), zlib.compress(raw))
        with self._lock:
            self._programs[subset] = made
            while len(self._programs) > CACHED_SUBSETS:
                self._programs.popitem(last=False)
        return made


class CabinetTTFont(TTFont):  # type: ignore[misc]  # reportlab has no type hints
    """A TrueType font whose subsets start with :data:`REPERTOIRE` in every document and whose
    face caches compressed subsets (see the module's docstring)."""

    def __init__(self, name: str, filename: str) -> None:
        super().__init__(name, filename)
        face = self.face
        # Same object, one more method: the face was parsed by reportlab's own constructor.
        face.__class__ = SubsetCachingFace
        face._programs = OrderedDict()
        face._lock = threading.Lock()
        self.repertoire = "".join(ch for ch in REPERTOIRE if ord(ch) in face.charToGlyph)

    def splitString(self, text: str, doc: Any, encoding: str = "utf-8") -> Any:
        """reportlab's split, after placing the repertoire when ``doc`` first uses the font."""
        if doc not in self.state:
            super().splitString(self.repertoire, doc)
        return super().splitString(text, doc, encoding)


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
            pdfmetrics.registerFont(CabinetTTFont(name, str(path)))
    addMapping(REGULAR, 0, 0, REGULAR)
    addMapping(REGULAR, 1, 0, BOLD)
    addMapping(REGULAR, 0, 1, REGULAR)
    addMapping(REGULAR, 1, 1, BOLD)
