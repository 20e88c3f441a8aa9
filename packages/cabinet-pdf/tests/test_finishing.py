"""pypdf's incremental update on a reportlab file, read back with pypdf (strictly)."""

from __future__ import annotations

import io
import zlib

import pytest
from cabinet_pdf.finishing import Metadata, finish, watermark_stream
from cabinet_pdf.fonts import REGULAR, register_fonts
from cabinet_pdf.labels import label
from cabinet_pdf.postprocess import Attachment, FlateCanvas, language_tag
from pypdf import PdfReader
from reportlab.pdfgen.canvas import Canvas

META = Metadata(title="Faktura VAT FV/1", author="Łukasz", subject="Faktura VAT")


def two_pages(size=(595, 842), *, leave_state_open: bool = False) -> bytes:
    register_fonts()
    buffer = io.BytesIO()
    canvas = FlateCanvas(buffer, pagesize=size, invariant=1)
    for n in (1, 2):
        if leave_state_open:
            # A page stream that ends inside a transformation: the stamp must not inherit it.
            canvas.saveState()
            canvas.translate(100, 100)
        canvas.setFont(REGULAR, 12)
        canvas.drawString(72, 720, f"Strona {n}: źdźbło")
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def finished(pdf: bytes | None = None, **kwargs) -> bytes:
    kwargs.setdefault("metadata", META)
    kwargs.setdefault("lang", "pl-PL")
    return finish(two_pages() if pdf is None else pdf, **kwargs)


def test_language_tags():
    assert language_tag("pl") == "pl-PL"
    assert language_tag("pl+en") == "pl-PL"
    assert language_tag("en") == "en-GB"
    assert language_tag("de") == "de"


def test_the_update_appends_to_reportlabs_bytes_and_is_deterministic():
    original = two_pages()
    out = finished(original, watermark="PROJEKT")
    assert out.startswith(original)
    assert out == finished(original, watermark="PROJEKT")
    update = out[len(original) :]
    # Only the catalogue, the info dictionary, the two pages, the shared font dictionary and
    # the watermark's new objects: the font programs and page streams are not written again.
    assert update.count(b" 0 obj") == 2 + 2 + 1 + 4
    assert b"FontFile2" not in update
    assert b"/Prev %d" % int(original.rsplit(b"startxref", 1)[1].split()[0]) in update
    assert update.endswith(b"%%EOF\n")


def test_metadata_and_lang_are_written():
    reader = PdfReader(io.BytesIO(finished()), strict=True)
    meta = reader.metadata
    assert (meta.title, meta.author, meta.subject) == ("Faktura VAT FV/1", "Łukasz", "Faktura VAT")
    # reportlab's invariant dates stay: no clock reading anywhere.
    assert meta["/CreationDate"] == "D:20000101000000+00'00'"
    assert reader.root_object["/Lang"] == "pl-PL"
    assert reader.trailer["/ID"] == PdfReader(io.BytesIO(two_pages())).trailer["/ID"]


def test_watermark_on_every_page_over_the_content():
    reader = PdfReader(io.BytesIO(finished(watermark="PROJEKT")), strict=True)
    for n, page in enumerate(reader.pages, start=1):
        text = page.extract_text()
        assert f"Strona {n}: źdźbło" in text
        # Drawn after the page's text, so it lies over it (as a stamp would).
        assert text.index("Strona") < text.index("PROJEKT")
        font = page["/Resources"]["/Font"]["/CabinetWatermarkFont"]
        # A standard face: nothing embedded.
        assert font["/BaseFont"] == "/Helvetica-Bold"
        assert "/FontDescriptor" not in font
        assert page["/Resources"]["/ExtGState"]["/CabinetWatermarkAlpha"]["/ca"] == 0.15
        # reportlab's own stream wrapped in q … Q so the stamp starts from a clean state.
        contents = page["/Contents"]
        assert len(contents) == 3
        assert contents[0].get_object().get_data() == b"q"
        assert contents[2].get_object().get_data().startswith(b"Q q\n")


def test_without_watermark_the_pages_are_untouched():
    original = two_pages()
    out = finished(original)
    reader = PdfReader(io.BytesIO(out), strict=True)
    assert "PROJEKT" not in reader.pages[0].extract_text()
    assert "/ExtGState" not in reader.pages[0]["/Resources"]
    assert out[len(original) :].count(b" 0 obj") == 2  # catalogue and info dictionary


def test_watermark_fits_the_page_size_and_ignores_state_left_open():
    out = finished(two_pages((300, 400), leave_state_open=True), watermark="DRAFT")
    page = PdfReader(io.BytesIO(out), strict=True).pages[0]
    assert (float(page.mediabox.width), float(page.mediabox.height)) == (300, 400)
    assert "DRAFT" in page.extract_text()
    # 1.4 x width / 5 letters = 84 pt: smaller than the 96 pt an A4 page gets.
    stamp = page["/Contents"][2].get_object().get_data()
    assert b"/CabinetWatermarkFont 84 Tf" in stamp
    assert b"1 0 0 1 150 200 cm" in stamp  # the page's centre, after Q undid the translate


def test_watermark_text_is_centred_and_escaped():
    stream = watermark_stream("A (b) \\", 595, 842)
    assert b"(A \\(b\\) \\\\) Tj" in stream
    with pytest.raises(UnicodeEncodeError):
        watermark_stream("źdźbło", 595, 842)  # outside WinAnsi: the labels must not be


@pytest.mark.parametrize("language", ["pl", "en", "pl+en"])
def test_every_draft_label_fits_the_watermark_font(language):
    # The renderer stamps label("draft", …): a letter outside WinAnsi would fail the render.
    stream = watermark_stream(label("draft", language), 595, 842)
    assert b"(" + label("draft", language).encode("cp1252") + b") Tj" in stream


def test_attachments_are_embedded_as_associated_data_files():
    xml = "<Faktura>źdźbło</Faktura>".encode()
    attachment = Attachment(filename="FV-1.xml", content=xml, description="KSeF FA(3)")
    out = finished(attachments=(attachment,))
    reader = PdfReader(io.BytesIO(out), strict=True)
    assert reader.attachments["FV-1.xml"] == [xml]
    (spec,) = [ref.get_object() for ref in reader.root_object["/AF"]]
    assert spec["/Type"] == "/Filespec"
    assert spec["/F"] == spec["/UF"] == "FV-1.xml"
    assert spec["/AFRelationship"] == "/Data"
    assert spec["/Desc"] == "KSeF FA(3)"
    stream = spec["/EF"]["/F"].get_object()
    assert stream["/Type"] == "/EmbeddedFile"
    assert stream["/Subtype"] == "/application/xml"  # written /application#2Fxml
    assert b"/Subtype /application#2Fxml" in out
    assert stream["/Params"]["/Size"] == len(xml)
    assert stream["/Filter"] == "/FlateDecode"
    assert zlib.decompress(stream._data) == xml
    # No dates or random ids: the same input gives the same bytes.
    assert out == finished(attachments=(attachment,))
    plain = PdfReader(io.BytesIO(finished()))
    assert "/AF" not in plain.root_object
    assert plain.attachments == {}


def test_several_attachments_are_listed_in_name_order():
    files = (
        Attachment(filename="b.xml", content=b"<b/>"),
        Attachment(filename="a.txt", content=b"a", media_type="text/plain"),
    )
    reader = PdfReader(io.BytesIO(finished(attachments=files)), strict=True)
    assert reader.attachments == {"a.txt": [b"a"], "b.xml": [b"<b/>"]}
    names = reader.root_object["/Names"]["/EmbeddedFiles"]["/Names"]
    assert [names[0], names[2]] == ["a.txt", "b.xml"]
    specs = [ref.get_object() for ref in reader.root_object["/AF"]]
    assert [s["/F"] for s in specs] == ["a.txt", "b.xml"]
    assert "/Desc" not in specs[0]


def test_a_file_without_an_info_dictionary_gets_one():
    buffer = io.BytesIO()
    canvas = Canvas(buffer, invariant=1)
    canvas.showPage()
    canvas.save()
    # reportlab always writes /Info; cut it from the trailer to see the update add one.
    pdf = buffer.getvalue().replace(b"/Info", b"%Info")
    reader = PdfReader(io.BytesIO(finished(pdf)), strict=True)
    assert reader.metadata.title == "Faktura VAT FV/1"
