"""A report's chart as a small, accessible SVG bar chart drawn on the server.

Horizontal bars, one per group, each with its label on the left and its value written at the
bar's end, so the chart reads without colour (the bars are hatched, not only tinted) and
without the picture at all: the ``<svg>`` is a ``role="img"`` with a ``<title>`` and ``<desc>``
and every bar a ``<title>`` of its own. The table beside it remains the source of truth; the
chart only shows its PLN column. Negative amounts (corrections) grow left from a zero line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from xml.sax.saxutils import escape, quoteattr

__all__ = ["MAX_BARS", "bar_chart"]

#: More bars than this would be unreadable; the chart says how many it left out.
MAX_BARS = 40

_WIDTH = 720
_LABEL_WIDTH = 220
_VALUE_WIDTH = 110
_BAR_HEIGHT = 22
_GAP = 8
_TOP = 8


def _plain(value: Decimal) -> str:
    return f"{value:,.2f}".replace(",", "\u00a0")


def bar_chart(
    bars: Sequence[tuple[str, Decimal]],
    *,
    title: str,
    description: str = "",
    chart_id: str = "report-chart",
    number: Callable[[Decimal], str] = _plain,
    more: Callable[[int], str] = lambda count: f"+{count}",
) -> str:
    """The SVG text of a bar chart of ``bars`` (label, amount): ``number`` formats amounts
    (the page's locale), ``more`` says how many bars were left out beyond :data:`MAX_BARS`."""
    shown = list(bars[:MAX_BARS])
    hidden = len(bars) - len(shown)
    rows = len(shown) + (1 if hidden else 0)
    height = _TOP * 2 + max(rows, 1) * (_BAR_HEIGHT + _GAP)
    plot = _WIDTH - _LABEL_WIDTH - _VALUE_WIDTH
    values = [value for _, value in shown]
    low = min([Decimal(0), *values])
    high = max([Decimal(0), *values])
    span = (high - low) or Decimal(1)

    def x(value: Decimal) -> float:
        return _LABEL_WIDTH + float((value - low) / span) * plot

    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" id={quoteattr(chart_id)} '
        f'class="report-chart" viewBox="0 0 {_WIDTH} {height}" width="100%" '
        f'aria-labelledby="{title_id} {desc_id}">',
        f'<title id="{title_id}">{escape(title)}</title>',
        f'<desc id="{desc_id}">{escape(description)}</desc>',
        "<defs>"
        f'<pattern id="{chart_id}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)">'
        '<rect width="6" height="6" class="bar-fill"/>'
        '<line x1="0" y1="0" x2="0" y2="6" class="bar-hatch"/>'
        "</pattern></defs>",
    ]
    zero = x(Decimal(0))
    for index, (label, value) in enumerate(shown):
        y = _TOP + index * (_BAR_HEIGHT + _GAP)
        left, right = sorted((zero, x(value)))
        text = number(value)
        parts.append(
            f'<g class="bar" data-label={quoteattr(label)} data-value="{value}">'
            f"<title>{escape(label)}: {escape(text)}</title>"
            f'<text x="{_LABEL_WIDTH - 6}" y="{y + _BAR_HEIGHT * 0.7:.1f}" '
            f'text-anchor="end" class="bar-label">{escape(_short(label))}</text>'
            f'<rect x="{left:.1f}" y="{y}" width="{max(right - left, 1.0):.1f}" '
            f'height="{_BAR_HEIGHT}" fill="url(#{chart_id}-hatch)" stroke="currentColor"/>'
            f'<text x="{max(right, zero) + 4:.1f}" y="{y + _BAR_HEIGHT * 0.7:.1f}" '
            f'class="bar-value">{escape(text)}</text>'
            "</g>"
        )
    if hidden:
        y = _TOP + len(shown) * (_BAR_HEIGHT + _GAP)
        parts.append(
            f'<text x="{_LABEL_WIDTH}" y="{y + _BAR_HEIGHT * 0.7:.1f}" class="bar-more">'
            f"{escape(more(hidden))}</text>"
        )
    parts.append(
        f'<line x1="{zero:.1f}" y1="{_TOP}" x2="{zero:.1f}" y2="{height - _TOP}" '
        'stroke="currentColor" class="axis"/>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _short(label: str, limit: int = 32) -> str:
    """A label that fits left of the bars (the bar's ``<title>`` keeps the whole of it)."""
    return label if len(label) <= limit else label[: limit - 1] + "…"
