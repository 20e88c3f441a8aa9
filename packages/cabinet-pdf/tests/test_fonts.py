from __future__ import annotations

from importlib import resources

from cabinet_pdf.fonts import BOLD, REGULAR, SERIF_BOLD, register_fonts
from reportlab.pdfbase import pdfmetrics


def test_fonts_and_their_licence_ship_inside_the_package():
    folder = resources.files("cabinet_pdf") / "fonts"
    for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif-Bold.ttf"):
        assert (folder / name).read_bytes()[:4] == b"\x00\x01\x00\x00"
    assert "Bitstream" in (folder / "LICENSE").read_text(encoding="utf-8")


def test_registration_is_idempotent_and_covers_polish_letters():
    register_fonts()
    register_fonts()
    assert {REGULAR, BOLD, SERIF_BOLD} <= set(pdfmetrics.getRegisteredFontNames())
    for font in (REGULAR, BOLD, SERIF_BOLD):
        face = pdfmetrics.getFont(font).face
        for letter in "ąćęłńóśźżĄĆĘŁŃÓŚŹŻ—„”":
            assert ord(letter) in face.charWidths, (font, letter)


def _font_programs(content: bytes) -> dict[str, bytes]:
    """Each embedded face's font program (decoded), by its PostScript name without prefix."""
    import io

    from pypdf import PdfReader

    programs = {}
    for page in PdfReader(io.BytesIO(content)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            if "/FontDescriptor" not in font:  # reportlab's default Helvetica, unused
                continue
            descriptor = font["/FontDescriptor"].get_object()
            name = str(font["/BaseFont"]).split("+", 1)[1]
            programs[name] = descriptor["/FontFile2"].get_object().get_data()
    return programs


def _page(text: str) -> bytes:
    import io

    from reportlab.pdfgen.canvas import Canvas

    register_fonts()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, invariant=1)
    for font in (REGULAR, BOLD):
        canvas.setFont(font, 10)
        canvas.drawString(72, 700, text)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def test_documents_with_different_text_embed_the_same_subsets():
    # Subsets start with the same repertoire in every document, so their programs are equal
    # (and are cut once per process); reportlab alone would number glyphs by first use.
    first = _font_programs(_page("Zażółć gęślą jaźń — 1 234,56 zł"))
    second = _font_programs(_page("Źdźbło, Łódź „Müller GmbH” 99 €"))
    assert set(first) == {"DejaVuSans", "DejaVuSans-Bold"}
    assert first == second


def test_cached_and_fresh_subsets_give_the_same_bytes():
    from cabinet_pdf.fonts import CabinetTTFont

    warm = _page("Zażółć gęślą jaźń")
    for name in (REGULAR, BOLD):
        font = pdfmetrics.getFont(name)
        assert isinstance(font, CabinetTTFont)
        font.subsets.clear()
    assert _page("Zażółć gęślą jaźń") == warm


def test_letters_outside_the_repertoire_still_print():
    import io

    from cabinet_pdf.fonts import REPERTOIRE
    from pypdf import PdfReader

    text = "Ωmega Жук Ǆ"
    assert not set(text) - {" "} <= set(REPERTOIRE)
    content = _page(text)
    assert text in PdfReader(io.BytesIO(content)).pages[0].extract_text()
    assert _page(text) == content


def test_invoices_of_different_buyers_share_their_font_programs(cabinet, client, invoice):
    import attrs
    from cabinet_pdf.renderer import PdfRenderer

    renderer = PdfRenderer()
    assert invoice.buyer is not None
    other = attrs.evolve(
        invoice,
        number="FV/99/11/2026",
        buyer=attrs.evolve(invoice.buyer, name="Przedsiębiorstwo „Żuraw” Müller & Søn"),
        notes="Dziękujemy — płatność w 14 dni.",
    )
    first = renderer.render(cabinet, invoice, client=client, template=None, language="pl")
    second = renderer.render(cabinet, other, client=client, template=None, language="pl+en")
    assert first.content != second.content
    programs = _font_programs(first.content)
    assert len(programs) == 3
    assert programs == _font_programs(second.content)
