"""Number patterns: formatting, counter keys (monthly and yearly reset) and bad patterns."""

from __future__ import annotations

from datetime import date

import pytest
from cabinet_core.numbering_pattern import check_pattern, format_number, series_key
from hypothesis import given
from hypothesis import strategies as st

NOV = date(2026, 11, 27)


@pytest.mark.parametrize(
    ("pattern", "seq", "number", "key"),
    [
        ("FV/{seq}/{MM}/{YYYY}", 7, "FV/7/11/2026", "FV/11/2026"),
        ("KOSZT/{seq}/{MM}/{YYYY}", 12, "KOSZT/12/11/2026", "KOSZT/11/2026"),
        ("R/{seq}/{YYYY}", 3, "R/3/2026", "R/2026"),
        ("RK {seq}/{YYYY}", 11, "RK 11/2026", "RK 2026"),
        ("KASA1/{YYYY}/{MM}/{seq}", 1, "KASA1/2026/11/1", "KASA1/2026/11"),
        ("FV{YYYY}/{MM}/{seq:3}", 150, "FV2026/11/150", "FV2026/11"),
        ("FV{YYYY}/{MM}/{seq:4}", 5, "FV2026/11/0005", "FV2026/11"),
        ("D{seq}-{DD}.{MM}.{YY}", 2, "D2-27.11.26", "D27.11.26"),
        ("{seq}", 9, "9", ""),
    ],
)
def test_number_and_series_key(pattern: str, seq: int, number: str, key: str) -> None:
    assert format_number(pattern, seq, NOV) == number
    assert series_key(pattern, NOV) == key


def test_monthly_pattern_restarts_each_month_but_not_within_one() -> None:
    pattern = "FV/{seq}/{MM}/{YYYY}"
    assert series_key(pattern, date(2026, 11, 1)) == series_key(pattern, date(2026, 11, 30))
    assert series_key(pattern, date(2026, 11, 30)) != series_key(pattern, date(2026, 12, 1))
    assert series_key(pattern, date(2025, 11, 30)) != series_key(pattern, date(2026, 11, 30))


def test_yearly_pattern_counts_across_months() -> None:
    pattern = "UM/{seq}/{YYYY}"
    assert series_key(pattern, date(2026, 1, 1)) == series_key(pattern, date(2026, 12, 31))
    assert series_key(pattern, date(2026, 12, 31)) != series_key(pattern, date(2027, 1, 1))


@pytest.mark.parametrize(
    "pattern",
    ["FV/{MM}/{YYYY}", "FV/{seq}/{seq}", "FV/{seq}/{QQ}", "FV/{seq}/{MM:2}", "FV/{seq/{YYYY}"],
)
def test_bad_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(ValueError, match="pattern"):
        format_number(pattern, 1, NOV)
    with pytest.raises(ValueError, match="pattern"):
        series_key(pattern, NOV)


@pytest.mark.parametrize("pattern", ["FV/{seq}/{MM}/{YYYY}", "R/{seq:5}/{YY}"])
def test_good_patterns_pass_the_check(pattern: str) -> None:
    check_pattern(pattern)
    assert format_number(pattern, 1, NOV).startswith(pattern.split("/")[0])


def test_sequence_starts_at_one() -> None:
    with pytest.raises(ValueError, match="start at 1"):
        format_number("R/{seq}/{YYYY}", 0, NOV)


@given(
    st.sampled_from(["FV/{seq}/{MM}/{YYYY}", "R/{seq}/{YYYY}", "KASA/{YYYY}/{MM}/{seq}"]),
    st.integers(1, 10**6),
    st.integers(1, 10**6),
    st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
)
def test_distinct_sequences_in_one_series_give_distinct_numbers(
    pattern: str, a: int, b: int, on: date
) -> None:
    # Numbers must identify a document uniquely within its series (art. 106e ust. 1 pkt 2).
    assert (format_number(pattern, a, on) == format_number(pattern, b, on)) == (a == b)
    # Every date part of the number is also in the series key, so two series never collide.
    number = format_number(pattern, a, on)
    assert all(part in number.split("/") for part in series_key(pattern, on).split("/"))
