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
