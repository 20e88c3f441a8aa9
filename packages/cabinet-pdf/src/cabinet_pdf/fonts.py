"""The vendored DejaVu faces, registered with reportlab on first use, with reusable subsets.

reportlab's built-in Helvetica has no glyphs for ą ć ę ł ń ś ź ż, so every PDF this package writes
uses DejaVu Sans (Bitstream Vera licence, see ``fonts/LICENSE``), shipped inside the wheel so the
output does not depend on which fonts the host happens to have.

Embedding a TrueType face means cutting a subset of its glyphs out of the file, compressing it,
and writing the subset's widths and ToUnicode map: about 3.5 ms per face and document in pure
Python, half of a whole invoice. reportlab numbers the glyphs of a subset in the order the
document first uses them, so no two documents share a subset and there is nothing to reuse.
:class:`CabinetTTFont` instead starts every document's first subset with the same
:data:`REPERTOIRE` (ASCII is already fixed there: Polish letters, the typographic marks
invoices use, the accented letters of EU company names), so every document whose text stays
inside it embeds byte-identical subsets, and it keeps those parts of its last few subsets. A
document with other letters simply gets other subsets, made and kept the same way. The price
is a fixed ~130 glyphs per embedded face beyond what a document uses, about 8 KB per face
(``docs/performance.md`` has bytes and milliseconds).
"""

from __future__ import annotations

import threading
import zlib
from collections import OrderedDict
from importlib import resources
from typing import Any

from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfbase.ttfonts import (
    FF_NONSYMBOLIC,
    FF_SYMBOLIC,
    SUBSETN,
    TTFont,
    makeToUnicodeCMap,
)

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


class Preformatted(pdfdoc.PDFObject):
    """A PDF object whose bytes were formatted before (a cached ``/Widths`` array)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def format(self, document: Any) -> bytes:
        """The stored bytes (reportlab's formatting contract)."""
        return self.data


def _flate_stream(dictionary: dict[str, Any], packed: bytes) -> Any:
    """A stream of already Flate-compressed bytes: a stream whose dictionary names its filter
    is written as is by reportlab."""
    return pdfdoc.PDFStream(
        pdfdoc.PDFDictionary(
            {**dictionary, "Filter": pdfdoc.PDFArray([pdfdoc.PDFName("FlateDecode")])}
        ),
        content=packed,
    )


class LruCache:
    """A small thread-safe least-recently-used map (the host may render from threads)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class CabinetTTFont(TTFont):
    """A TrueType font whose subsets start with :data:`REPERTOIRE` in every document, and
    which keeps what it wrote for its last subsets (see the module's docstring)."""

    def __init__(self, name: str, filename: str) -> None:
        super().__init__(name, filename)
        self.repertoire = "".join(ch for ch in REPERTOIRE if ord(ch) in self.face.charToGlyph)
        #: (PDF font name, subset) -> (raw program length, compressed program, /Widths bytes,
        #: compressed ToUnicode CMap): everything of a subset that depends on its glyphs alone.
        self.subsets = LruCache(CACHED_SUBSETS)

    def splitString(self, text: str, doc: Any, encoding: str = "utf-8") -> Any:
        """reportlab's split, after placing the repertoire when ``doc`` first uses the font."""
        if doc not in self.state:
            super().splitString(self.repertoire, doc)
        return super().splitString(text, doc, encoding)

    def _subset_parts(self, base_name: str, subset: list[int]) -> tuple[int, bytes, bytes, bytes]:
        key = (base_name, tuple(subset))
        parts: tuple[int, bytes, bytes, bytes] | None = self.subsets.get(key)
        if parts is None:
            program = self.face.makeSubset(subset)
            widths = pdfdoc.PDFArray(list(map(self.face.getCharWidth, subset)))
            cmap = makeToUnicodeCMap(base_name, subset).encode("utf-8")
            parts = (
                len(program),
                zlib.compress(program),
                widths.format(None),
                zlib.compress(cmap),
            )
            self.subsets.put(key, parts)
        return parts

    def addObjects(self, doc: Any) -> None:
        """Add the fonts, descriptors, programs and CMaps of this document's subsets.

        The same objects reportlab's :meth:`TTFont.addObjects` writes (and in the same order),
        the glyph-dependent parts taken from :attr:`subsets`; always compressed, as
        every canvas of this package is.
        """
        # _assignState is reportlab's own hook for subclasses that write their objects; being
        # private, types-reportlab leaves it out.
        state: TTFont.State = self._assignState(doc)  # type: ignore[attr-defined]
        state.frozen = 1
        face = self.face
        for n, subset in enumerate(state.subsets):
            internal_name = self.getSubsetInternalName(n, doc)[1:]
            base_name = b"".join((SUBSETN(n), b"+", face.name, face.subfontNameX)).decode("pdfdoc")
            length, program, widths, cmap = self._subset_parts(base_name, subset)
            to_unicode = doc.Reference(_flate_stream({}, cmap), "toUnicodeCMap:" + base_name)
            font_file = doc.Reference(
                _flate_stream({"Length1": length}, program),
                f"fontFile:{face.filename}({base_name})",
            )
            flags = (face.flags & ~FF_NONSYMBOLIC) | FF_SYMBOLIC
            descriptor = pdfdoc.PDFDictionary(
                {
                    "Type": "/FontDescriptor",
                    "Ascent": face.ascent,
                    "CapHeight": face.capHeight,
                    "Descent": face.descent,
                    "Flags": flags,
                    "FontBBox": pdfdoc.PDFArray(face.bbox),
                    "FontName": pdfdoc.PDFName(base_name),
                    "ItalicAngle": face.italicAngle,
                    "StemV": face.stemV,
                    "FontFile2": font_file,
                    "MissingWidth": face.defaultWidth,
                }
            )
            pdf_font = _true_type_font(
                comment=f"Font {self.fontName} subset {n}",
                name=internal_name,
                base_font=base_name,
                last_char=len(subset) - 1,
                widths=Preformatted(widths),
                to_unicode=to_unicode,
                font_descriptor=doc.Reference(descriptor, "fontDescriptor:" + base_name),
            )
            doc.Reference(pdf_font, internal_name)
            doc.idToObject["BasicFonts"].dict[internal_name] = pdf_font
        del self.state[doc]


def _true_type_font(
    *,
    comment: str,
    name: str,
    base_font: str,
    last_char: int,
    widths: pdfdoc.PDFObject,
    to_unicode: pdfdoc.PDFObjectReference,
    font_descriptor: pdfdoc.PDFObjectReference,
) -> pdfdoc.PDFTrueTypeFont:
    """reportlab's ``/Font`` object of one subset (whose glyphs are numbered from 0).

    reportlab's class has no ``__init__``: its ``format`` writes whichever of its listed
    attributes are set, so they are set by name (types-reportlab does not declare them)."""
    font = pdfdoc.PDFTrueTypeFont()
    attributes: dict[str, object] = {
        "__Comment__": comment,
        "Name": name,
        "BaseFont": base_font,
        "FirstChar": 0,
        "LastChar": last_char,
        "Widths": widths,
        "ToUnicode": to_unicode,
        "FontDescriptor": font_descriptor,
    }
    for attribute, value in attributes.items():
        setattr(font, attribute, value)
    return font


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
