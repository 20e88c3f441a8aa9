"""The file-level finishing reportlab now writes itself, read back with pypdf."""

from __future__ import annotations

import io
import zlib

from cabinet_pdf.fonts import REGULAR, register_fonts
from cabinet_pdf.postprocess import Attachment, draw_watermark, embed_files, language_tag
from pypdf import PdfReader
from reportlab.pdfgen.canvas import Canvas


def two_pages(
    *, watermark: str | None = None, attachments: tuple[Attachment, ...] = (), size=(595, 842)
) -> bytes:
    register_fonts()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=size, invariant=1, lang="pl-PL")
    canvas.setTitle("Faktura VAT FV/1")
    canvas.setAuthor("Łukasz")
    embed_files(canvas, attachments)
    for n in (1, 2):
        canvas.setFont(REGULAR, 12)
        canvas.drawString(72, 720, f"Strona {n}: źdźbło")
        if watermark:
            draw_watermark(canvas, watermark)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def test_language_tags():
    assert language_tag("pl") == "pl-PL"
    assert language_tag("pl+en") == "pl-PL"
    assert language_tag("en") == "en-GB"
    assert language_tag("de") == "de"


def test_metadata_lang_and_watermark_on_every_page():
    reader = PdfReader(io.BytesIO(two_pages(watermark="PROJEKT")))
    assert reader.metadata.title == "Faktura VAT FV/1"
    assert reader.metadata.author == "Łukasz"
    assert reader.root_object["/Lang"] == "pl-PL"
    for n, page in enumerate(reader.pages, start=1):
        text = page.extract_text()
        assert f"Strona {n}: źdźbło" in text
        assert "PROJEKT" in text
        # Drawn after the page's text, so it lies over it (as a stamp would).
        assert text.index("Strona") < text.index("PROJEKT")


def test_without_watermark_the_pages_are_untouched_and_output_is_stable():
    first = two_pages()
    assert first == two_pages()
    reader = PdfReader(io.BytesIO(first))
    assert "PROJEKT" not in reader.pages[0].extract_text()
    assert "/ExtGState" not in reader.pages[0]["/Resources"]


def test_watermark_fits_the_page_size():
    reader = PdfReader(io.BytesIO(two_pages(watermark="DRAFT", size=(300, 400))))
    page = reader.pages[0]
    assert (float(page.mediabox.width), float(page.mediabox.height)) == (300, 400)
    assert "DRAFT" in page.extract_text()
    # 1.4 x width / 5 letters = 84 pt: smaller than the 96 pt an A4 page gets.
    assert b"84 Tf" in page.get_contents().get_data()


def test_attachments_are_embedded_as_associated_data_files():
    xml = "<Faktura>źdźbło</Faktura>".encode()
    attachment = Attachment(filename="FV-1.xml", content=xml, description="KSeF FA(3)")
    out = two_pages(attachments=(attachment,))
    reader = PdfReader(io.BytesIO(out), strict=True)
    assert reader.attachments["FV-1.xml"] == [xml]
    (spec,) = [ref.get_object() for ref in reader.root_object["/AF"]]
    assert spec["/Type"] == "/Filespec"
    assert spec["/F"] == spec["/UF"] == "FV-1.xml"
    assert spec["/AFRelationship"] == "/Data"
    assert spec["/Desc"] == "KSeF FA(3)"
    stream = spec["/EF"]["/F"].get_object()
    assert stream["/Type"] == "/EmbeddedFile"
    assert stream["/Subtype"] == "/application/xml"  # written /application#2fxml
    assert stream["/Params"]["/Size"] == len(xml)
    assert stream["/Filter"] == ["/FlateDecode"]
    assert zlib.decompress(stream._data) == xml
    # No dates or random ids: the same input gives the same bytes.
    assert out == two_pages(attachments=(attachment,))
    plain = PdfReader(io.BytesIO(two_pages()))
    assert "/AF" not in plain.root_object
    assert plain.attachments == {}


def test_several_attachments_are_listed_in_name_order():
    files = (
        Attachment(filename="b.xml", content=b"<b/>"),
        Attachment(filename="a.txt", content=b"a", media_type="text/plain"),
    )
    reader = PdfReader(io.BytesIO(two_pages(attachments=files)))
    assert reader.attachments == {"a.txt": [b"a"], "b.xml": [b"<b/>"]}
    names = reader.root_object["/Names"]["/EmbeddedFiles"]["/Names"]
    assert [names[0], names[2]] == ["a.txt", "b.xml"]
    specs = [ref.get_object() for ref in reader.root_object["/AF"]]
    assert [s["/F"] for s in specs] == ["a.txt", "b.xml"]
    assert "/Desc" not in specs[0]
