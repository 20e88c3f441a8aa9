"""The visual templates ("classic", "modern") the renderer lays documents out with.

The core registers the template keys (``cabinet_core.default_templates``); this module says what
each one looks like. Every template prints the same content, so each meets art. 106e equally;
only the drawing differs:

* ``classic``: a ruled, table-heavy page; serif headings; each party in its own box; headings of
  tables white on the firm's primary colour.
* ``modern``: a band in the firm's primary colour across the top of every page carrying the
  firm's name and logo; sans-serif headings in the primary colour; tables without a grid, a
  rule in the accent colour under their heading and lightly tinted alternate rows; more air.

An unknown key (a plugin's template without its own layout) falls back to ``classic``.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs
from reportlab.lib import colors
from reportlab.lib.units import mm

from cabinet_pdf.fonts import BOLD, SERIF_BOLD


@attrs.frozen(kw_only=True)
class Theme:
    """How one template draws: fonts, rules, spacing and the page decoration."""

    key: str
    heading_font: str
    title_size: float
    grid: bool
    boxed_parties: bool
    band_height: float
    top_margin: float
    gap: float
    cell_padding: float


CLASSIC = Theme(
    key="classic",
    heading_font=SERIF_BOLD,
    title_size=16,
    grid=True,
    boxed_parties=True,
    band_height=0,
    top_margin=15 * mm,
    gap=5 * mm,
    cell_padding=3,
)

MODERN = Theme(
    key="modern",
    heading_font=BOLD,
    title_size=20,
    grid=False,
    boxed_parties=False,
    band_height=20 * mm,
    top_margin=30 * mm,
    gap=8 * mm,
    cell_padding=5,
)

THEMES: Mapping[str, Theme] = {theme.key: theme for theme in (CLASSIC, MODERN)}


def theme_for(key: str | None) -> Theme:
    """The theme of template ``key``; ``classic`` for ``None`` or a key without a layout."""
    return THEMES.get(key or "", CLASSIC)


def tint(colour: colors.Color, amount: float) -> colors.Color:
    """``colour`` mixed with white: ``amount`` 0 keeps it, 1 gives white."""
    return colors.Color(
        colour.red + (1 - colour.red) * amount,
        colour.green + (1 - colour.green) * amount,
        colour.blue + (1 - colour.blue) * amount,
    )
