from __future__ import annotations

import io

from cabinet_pdf.fonts import REGULAR, register_fonts
from cabinet_pdf.postprocess import Attachment, finish_pdf, watermark_page
from pypdf import PdfReader
from reportlab.pdfgen.canvas import Canvas


def two_pages() -> bytes:
    register_fonts()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, invariant=1)
    for n in (1, 2):
        canvas.setFont(REGULAR, 12)
        canvas.drawString(72, 720, f"Strona {n}: źdźbło")
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def test_metadata_lang_and_watermark_on_every_page():
    out = finish_pdf(
        two_pages(),
        title="Faktura VAT FV/1",
        author="Łukasz",
        subject="Faktura VAT",
        creator="cabinet",
        language="pl+en",
        watermark="PROJEKT",
    )
    reader = PdfReader(io.BytesIO(out))
    assert reader.metadata.title == "Faktura VAT FV/1"
    assert reader.metadata.author == "Łukasz"
    assert reader.root_object["/Lang"] == "pl-PL"
    for n, page in enumerate(reader.pages, start=1):
        text = page.extract_text()
        assert f"Strona {n}: źdźbło" in text
        assert "PROJEKT" in text


def test_without_watermark_the_pages_are_untouched_and_output_is_stable():
    source = two_pages()
    kwargs = dict(title="t", author="a", subject="s", creator="c", language="en")
    first = finish_pdf(source, **kwargs)
    assert first == finish_pdf(source, **kwargs)
    reader = PdfReader(io.BytesIO(first))
    assert "PROJEKT" not in reader.pages[0].extract_text()
    assert reader.root_object["/Lang"] == "en-GB"


def test_watermark_page_fits_the_given_size():
    register_fonts()
    page = PdfReader(io.BytesIO(watermark_page("DRAFT", 300, 400))).pages[0]
    assert (float(page.mediabox.width), float(page.mediabox.height)) == (300, 400)
    assert "DRAFT" in page.extract_text()


def test_attachments_are_embedded_as_associated_data_files():
    xml = "<Faktura>źdźbło</Faktura>".encode()
    kwargs = dict(title="t", author="a", subject="s", creator="c", language="pl")
    attachment = Attachment(filename="FV-1.xml", content=xml, description="KSeF FA(3)")
    out = finish_pdf(two_pages(), attachments=[attachment], **kwargs)
    reader = PdfReader(io.BytesIO(out))
    assert reader.attachments["FV-1.xml"] == [xml]
    (spec,) = [ref.get_object() for ref in reader.root_object["/AF"]]
    assert spec["/AFRelationship"] == "/Data"
    assert spec["/Desc"] == "KSeF FA(3)"
    assert spec["/EF"]["/F"].get_object()["/Subtype"] == "/application#2Fxml"
    # No dates or random ids: the same input gives the same bytes.
    assert out == finish_pdf(two_pages(), attachments=[attachment], **kwargs)
    plain = PdfReader(io.BytesIO(finish_pdf(two_pages(), **kwargs)))
    assert "/AF" not in plain.root_object
    assert plain.attachments == {}
