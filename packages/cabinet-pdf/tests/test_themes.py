from __future__ import annotations

from cabinet_core.default_templates import CLASSIC as CORE_CLASSIC
from cabinet_core.default_templates import MODERN as CORE_MODERN
from cabinet_pdf.fonts import SERIF_BOLD
from cabinet_pdf.themes import CLASSIC, MODERN, THEMES, theme_for, tint
from reportlab.lib import colors


def test_every_core_template_key_has_a_layout():
    assert set(THEMES) == {CORE_CLASSIC.key, CORE_MODERN.key}
    assert theme_for("classic") is CLASSIC
    assert theme_for("modern") is MODERN


def test_unknown_and_missing_keys_fall_back_to_classic():
    assert theme_for(None) is CLASSIC
    assert theme_for("") is CLASSIC
    assert theme_for("a-plugin-template") is CLASSIC


def test_the_themes_differ_in_what_the_reader_sees():
    assert CLASSIC.heading_font == SERIF_BOLD and MODERN.heading_font != SERIF_BOLD
    assert CLASSIC.grid and CLASSIC.boxed_parties and not CLASSIC.band_height
    assert not MODERN.grid and not MODERN.boxed_parties and MODERN.band_height > 0
    # The band needs room above the story.
    assert MODERN.top_margin > MODERN.band_height


def test_tint_mixes_with_white():
    navy = colors.HexColor("#1f4e79")
    assert tint(navy, 0).rgb() == navy.rgb()
    assert tint(navy, 1).rgb() == (1, 1, 1)
    half = tint(colors.black, 0.5)
    assert half.rgb() == (0.5, 0.5, 0.5)
