"""Document number patterns such as ``FV/{seq}/{MM}/{YYYY}`` (art. 106e ust. 1 pkt 2 VAT Act).

A pattern holds exactly one ``{seq}`` (or ``{seq:N}``, zero-padded to N digits) and any of
``{YYYY}``, ``{YY}``, ``{MM}``, ``{DD}``. The date tokens decide when the sequence starts again:
the *series key* is the pattern without its ``{seq}``, so ``FV/{seq}/{MM}/{YYYY}`` counts per
month ("FV/11/2026") and ``R/{seq}/{YYYY}`` per year ("R/2026"). The store keeps one gapless
counter per client and series key.
"""

from __future__ import annotations

import re
from datetime import date

_TOKEN = re.compile(r"\{([A-Za-z]+)(?::(\d{1,2}))?\}")
_DATE_TOKENS = {
    "YYYY": lambda on: f"{on.year:04d}",
    "YY": lambda on: f"{on.year % 100:02d}",
    "MM": lambda on: f"{on.month:02d}",
    "DD": lambda on: f"{on.day:02d}",
}
# Characters that separate the parts of a number; the one next to {seq} goes with it.
_SEPARATORS = "/-_. "


def check_pattern(pattern: str) -> None:
    """Raise ``ValueError`` unless ``pattern`` has exactly one ``{seq}`` and only known tokens."""
    names = [match.group(1) for match in _TOKEN.finditer(pattern)]
    unknown = sorted({name for name in names if name != "seq" and name not in _DATE_TOKENS})
    if unknown:
        raise ValueError(f"unknown token(s) {unknown} in number pattern {pattern!r}")
    if names.count("seq") != 1:
        raise ValueError(f"number pattern {pattern!r} must contain exactly one {{seq}}")
    if "{" in _TOKEN.sub("", pattern) or "}" in _TOKEN.sub("", pattern):
        raise ValueError(f"unbalanced braces in number pattern {pattern!r}")


def _render(pattern: str, on: date, seq: str) -> str:
    def replace(match: re.Match[str]) -> str:
        name, width = match.group(1), match.group(2)
        if name == "seq":
            return seq.zfill(int(width)) if width and seq else seq
        if width:
            raise ValueError(f"only {{seq}} takes a width in number pattern {pattern!r}")
        return _DATE_TOKENS[name](on)

    return _TOKEN.sub(replace, pattern)


def format_number(pattern: str, seq: int, on: date) -> str:
    """The document number for sequence number ``seq`` dated ``on``.

    >>> format_number("FV/{seq}/{MM}/{YYYY}", 7, date(2026, 11, 27))
    'FV/7/11/2026'
    """
    check_pattern(pattern)
    if seq < 1:
        raise ValueError("sequence numbers start at 1")
    return _render(pattern, on, str(seq))


def series_key(pattern: str, on: date) -> str:
    """The counter a number dated ``on`` is taken from: the pattern without ``{seq}``.

    >>> series_key("FV/{seq}/{MM}/{YYYY}", date(2026, 11, 27))
    'FV/11/2026'
    """
    check_pattern(pattern)
    match = next(m for m in _TOKEN.finditer(pattern) if m.group(1) == "seq")
    start, end = match.span()
    # Drop one separator next to {seq} so "FV/{seq}/{MM}" keys as "FV/MM", not "FV//MM".
    if end < len(pattern) and pattern[end] in _SEPARATORS:
        end += 1
    elif start > 0 and pattern[start - 1] in _SEPARATORS:
        start -= 1
    return _render(pattern[:start] + pattern[end:], on, "")
