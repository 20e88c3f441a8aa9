"""pypdf finishes reportlab's file with an *incremental update*: the metadata, ``/Lang``, the
attached files (an invoice's FA(3) XML) and, on a draft, the watermark.

An incremental update leaves reportlab's bytes as they are and appends only the objects it
changes or adds, a cross-reference section for them and a trailer pointing back (``/Prev``)
to reportlab's: the catalogue, the info dictionary, the embedded file streams and, on a draft,
the pages, their shared font dictionary and the watermark's stream, font and opacity.

Why not ``PdfWriter(reader, incremental=True)``: pypdf's writer parses, copies and hashes every
object of the file at load (the font programs' width arrays are thousands of numbers) and
hashes them all again at write to find the changed ones: ≈ 11 ms on a 92 KB invoice, half a
render. Here pypdf's reader parses only the cross-reference table and the handful of objects
the update touches (it resolves objects lazily), the update keeps the list of what it changed
instead of diffing, and pypdf's object classes write every changed object; only the
cross-reference section and trailer (a few lines of fixed format) are written here.

The output stays byte-deterministic: nothing here writes a date or a random identifier, and
the trailer keeps reportlab's (invariant) ``/ID``.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import attrs
from pypdf import PdfReader
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    FloatObject,
    IndirectObject,
    NameObject,
    NumberObject,
    PdfObject,
    StreamObject,
    TextStringObject,
)
from reportlab.pdfbase.pdfmetrics import stringWidth

from cabinet_pdf.postprocess import Attachment

#: The watermark's face: one of the PDF's 14 standard fonts, which every reader has, so
#: nothing is embedded. Its text must be in WinAnsi (cp1252), as "PROJEKT" and "DRAFT" are.
WATERMARK_FONT = "Helvetica-Bold"
#: Resource names the watermark adds to a page; reportlab's own are ``F1``, ``F2`` …
FONT_RESOURCE = "/CabinetWatermarkFont"
ALPHA_RESOURCE = "/CabinetWatermarkAlpha"
#: #c0392b at 15 % opacity, as a stamp over the content.
WATERMARK_RGB = (0xC0 / 255, 0x39 / 255, 0x2B / 255)
WATERMARK_OPACITY = 0.15


@attrs.frozen(kw_only=True)
class Metadata:
    """What the info dictionary says about the document."""

    title: str
    author: str
    subject: str = ""
    creator: str = ""
    producer: str = ""

    def entries(self) -> Mapping[str, str]:
        """The info dictionary keys written (an empty value is left as reportlab wrote it)."""
        named = {
            "/Title": self.title,
            "/Author": self.author,
            "/Subject": self.subject,
            "/Creator": self.creator,
            "/Producer": self.producer,
        }
        return {key: value for key, value in named.items() if value}


class IncrementalUpdate:
    """The objects changed or added in one incremental update of a PDF file.

    Objects read from ``reader`` are changed in place (pypdf caches what it resolved) and
    registered with :meth:`changed`; new ones get the next free object numbers.
    """

    def __init__(self, pdf: bytes) -> None:
        self.pdf = pdf
        self.reader = PdfReader(io.BytesIO(pdf), strict=True)
        size = self.reader.trailer["/Size"]
        assert isinstance(size, int)
        self.next_number = int(size)
        self.objects: dict[int, PdfObject] = {}

    def changed(
        self, reference: IndirectObject, obj: DictionaryObject | None = None
    ) -> DictionaryObject:
        """The object behind ``reference`` (or ``obj``, pypdf's copy of it: a page), to be
        written again with the update."""
        target = reference.get_object() if obj is None else obj
        assert isinstance(target, DictionaryObject)
        self.objects[reference.idnum] = target
        return target

    def add(self, obj: PdfObject) -> IndirectObject:
        """A new object, written with the update; the reference to put where it is used."""
        number = self.next_number
        self.next_number += 1
        self.objects[number] = obj
        return IndirectObject(number, 0, self.reader)

    def editable(self, container: DictionaryObject, key: str) -> DictionaryObject:
        """``container[key]`` (a dictionary, created when missing) ready to change: direct
        dictionaries change with their container, indirect ones are written again."""
        value = container.raw_get(key) if key in container else None
        if isinstance(value, IndirectObject):
            return self.changed(value)
        if value is None:
            value = DictionaryObject()
            container[NameObject(key)] = value
        assert isinstance(value, DictionaryObject)
        return value

    def write(self) -> bytes:
        """reportlab's bytes, then the changed objects, their cross-reference section and a
        trailer chaining to the previous one."""
        out = io.BytesIO()
        out.write(self.pdf)
        if not self.pdf.endswith(b"\n"):
            out.write(b"\n")
        offsets: dict[int, int] = {}
        for number in sorted(self.objects):
            offsets[number] = out.tell()
            out.write(b"%d 0 obj\n" % number)
            self.objects[number].write_to_stream(out)
            out.write(b"\nendobj\n")
        xref = out.tell()
        # Every section starts with the free-list head, object 0: readers (pypdf among them)
        # take a section that does not for a wrongly numbered table and renumber it.
        out.write(b"xref\n0 1\n0000000000 65535 f\r\n")
        for first, numbers in _runs(sorted(offsets)):
            out.write(b"%d %d\n" % (first, len(numbers)))
            out.writelines(b"%010d 00000 n\r\n" % offsets[n] for n in numbers)
        trailer = DictionaryObject(
            {
                NameObject("/Size"): NumberObject(self.next_number),
                NameObject("/Root"): self.reader.trailer.raw_get("/Root"),
                NameObject("/Prev"): NumberObject(_startxref(self.pdf)),
            }
        )
        for key in ("/Info", "/ID"):
            if key in self.reader.trailer:
                trailer[NameObject(key)] = self.reader.trailer.raw_get(key)
        out.write(b"trailer\n")
        trailer.write_to_stream(out)
        out.write(b"\nstartxref\n%d\n%%%%EOF\n" % xref)
        return out.getvalue()


def _runs(numbers: Sequence[int]) -> list[tuple[int, list[int]]]:
    """Consecutive object numbers grouped into cross-reference subsections."""
    runs: list[tuple[int, list[int]]] = []
    for number in numbers:
        if runs and runs[-1][1][-1] == number - 1:
            runs[-1][1].append(number)
        else:
            runs.append((number, [number]))
    return runs


def _startxref(pdf: bytes) -> int:
    """The offset of the file's last cross-reference section (what ``/Prev`` must name)."""
    at = pdf.rindex(b"startxref")
    return int(pdf[at + len(b"startxref") :].split()[0])


def _number(value: float) -> bytes:
    """A content-stream number, short and exact enough (reportlab's precision)."""
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return (text if text not in ("", "-0") else "0").encode()


def _pdf_string(text: str) -> bytes:
    """``text`` as a literal PDF string in the watermark font's WinAnsi encoding."""
    raw = text.encode("cp1252")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def watermark_stream(text: str, width: float, height: float) -> bytes:
    """The content that draws ``text`` diagonally across a ``width`` × ``height`` page.

    It runs after the page's own content, which :func:`finish` wraps in ``q`` … so that this
    starts with ``Q``: whatever state reportlab's stream leaves (a transformation, a colour)
    is undone before the stamp is drawn.
    """
    size = min(96.0, 1.4 * width / max(len(text), 1))
    half = stringWidth(text, WATERMARK_FONT, size) / 2
    r, g, b = (_number(c) for c in WATERMARK_RGB)
    # cos 45° = sin 45°: rotate about the page's centre.
    c = _number(0.5**0.5)
    return b"\n".join(
        [
            b"Q q",
            b"%s gs" % ALPHA_RESOURCE.encode(),
            b"%s %s %s rg" % (r, g, b),
            b"1 0 0 1 %s %s cm" % (_number(width / 2), _number(height / 2)),
            b"%s %s -%s %s 0 0 cm" % (c, c, c, c),
            b"BT %s %s Tf" % (FONT_RESOURCE.encode(), _number(size)),
            b"%s %s Td %s Tj ET Q" % (_number(-half), _number(-size / 3), _pdf_string(text)),
        ]
    )


def _embed(
    update: IncrementalUpdate, catalog: DictionaryObject, files: Sequence[Attachment]
) -> None:
    """Each file as an ``/EmbeddedFile`` stream (Flate-compressed, its MIME type as
    ``/Subtype``), listed in the catalogue's ``/EmbeddedFiles`` name tree (what viewers show
    as attachments) and in its ``/AF`` array with ``/AFRelationship /Data``: the PDF/A-3 way
    of saying "this file is the document's data", as ZUGFeRD and Factur-X do it."""
    names = ArrayObject()
    associated = ArrayObject()
    for attachment in sorted(files, key=lambda a: a.filename):
        stream = DecodedStreamObject()
        stream.set_data(attachment.content)
        encoded = stream.flate_encode(level=6)
        encoded[NameObject("/Type")] = NameObject("/EmbeddedFile")
        encoded[NameObject("/Subtype")] = NameObject("/" + attachment.media_type)
        encoded[NameObject("/Params")] = DictionaryObject(
            {NameObject("/Size"): NumberObject(len(attachment.content))}
        )
        stream_ref = update.add(encoded)
        spec = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Filespec"),
                NameObject("/F"): TextStringObject(attachment.filename),
                NameObject("/UF"): TextStringObject(attachment.filename),
                NameObject("/EF"): DictionaryObject(
                    {NameObject("/F"): stream_ref, NameObject("/UF"): stream_ref}
                ),
                NameObject("/AFRelationship"): NameObject("/Data"),
            }
        )
        if attachment.description:
            spec[NameObject("/Desc")] = TextStringObject(attachment.description)
        spec_ref = update.add(spec)
        names += [TextStringObject(attachment.filename), spec_ref]
        associated.append(spec_ref)
    update.editable(catalog, "/Names")[NameObject("/EmbeddedFiles")] = DictionaryObject(
        {NameObject("/Names"): names}
    )
    catalog[NameObject("/AF")] = associated


def _stamp(update: IncrementalUpdate, text: str) -> None:
    """Draw the watermark over every page: each page's ``/Contents`` becomes ``[q, its own
    content, the watermark]``, its resources gain the base-14 font and the opacity."""
    font = update.add(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/" + WATERMARK_FONT),
                NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
            }
        )
    )
    alpha = update.add(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/ExtGState"),
                NameObject("/ca"): FloatObject(WATERMARK_OPACITY),
                NameObject("/CA"): FloatObject(WATERMARK_OPACITY),
            }
        )
    )
    save = DecodedStreamObject()
    save.set_data(b"q")
    save_ref = update.add(save)
    stamps: dict[tuple[float, float], IndirectObject] = {}
    for page in update.reader.pages:
        assert page.indirect_reference is not None
        # pypdf's page objects are copies (inherited attributes filled in): write this one.
        update.changed(page.indirect_reference, page)
        box = page.mediabox
        size = (float(box.width), float(box.height))
        if size not in stamps:
            stream: StreamObject = DecodedStreamObject()
            stream.set_data(watermark_stream(text, *size))
            stamps[size] = update.add(stream.flate_encode())
        contents = page.raw_get("/Contents")
        own = list(contents) if isinstance(contents, ArrayObject) else [contents]
        page[NameObject("/Contents")] = ArrayObject([save_ref, *own, stamps[size]])
        resources = update.editable(page, "/Resources")
        update.editable(resources, "/Font")[NameObject(FONT_RESOURCE)] = font
        update.editable(resources, "/ExtGState")[NameObject(ALPHA_RESOURCE)] = alpha


def finish(
    pdf: bytes,
    *,
    metadata: Metadata,
    lang: str,
    attachments: Sequence[Attachment] = (),
    watermark: str | None = None,
) -> bytes:
    """``pdf`` with ``metadata``, ``/Lang``, ``attachments`` and (for a draft) a ``watermark``
    on every page, appended as one incremental update."""
    update = IncrementalUpdate(pdf)
    catalog = update.changed(update.reader.trailer.raw_get("/Root"))
    catalog[NameObject("/Lang")] = TextStringObject(lang)
    trailer = update.reader.trailer
    if "/Info" in trailer:
        info = update.changed(trailer.raw_get("/Info"))
    else:
        info = DictionaryObject()
        trailer[NameObject("/Info")] = update.add(info)
    for key, value in metadata.entries().items():
        info[NameObject(key)] = TextStringObject(value)
    if attachments:
        _embed(update, catalog, attachments)
    if watermark:
        _stamp(update, watermark)
    return update.write()
