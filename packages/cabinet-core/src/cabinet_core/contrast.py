"""Colour contrast as WCAG 2.x defines it (relative luminance, contrast ratio).

The firm's brand colours carry text (white on the primary colour, black on the accent), so a
colour is refused when that text would fall below WCAG AA for normal text, 4.5:1.
"""

from __future__ import annotations

import re

__all__ = ["AA_NORMAL_TEXT", "HEX_COLOUR", "contrast_ratio", "relative_luminance"]

#: WCAG 2.x success criterion 1.4.3 (level AA), normal-size text.
AA_NORMAL_TEXT = 4.5
#: A colour as the brand settings take it: ``#rrggbb``.
HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


def _channel(value: int) -> float:
    srgb = value / 255
    return srgb / 12.92 if srgb <= 0.04045 else ((srgb + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str) -> float:
    """The relative luminance of ``#rrggbb`` (0 black … 1 white)."""
    if not HEX_COLOUR.fullmatch(colour):
        raise ValueError(f"not a #rrggbb colour: {colour!r}")
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(red) + 0.7152 * _channel(green) + 0.0722 * _channel(blue)


def contrast_ratio(foreground: str, background: str) -> float:
    """The contrast ratio of two ``#rrggbb`` colours, from 1 (none) to 21 (black on white)."""
    lighter, darker = sorted(
        (relative_luminance(foreground), relative_luminance(background)), reverse=True
    )
    return (lighter + 0.05) / (darker + 0.05)
