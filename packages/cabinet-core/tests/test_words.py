from __future__ import annotations

from decimal import Decimal

import pytest
from cabinet_core.words import amount_in_words, polish_plural
from hypothesis import given, settings
from hypothesis import strategies as st

FORMS = ("złoty", "złote", "złotych")


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("123.45", "PLN", "sto dwadzieścia trzy złote 45/100"),
        ("2.00", "PLN", "dwa złote 00/100"),
        ("5.00", "PLN", "pięć złotych 00/100"),
        ("13.00", "PLN", "trzynaście złotych 00/100"),
        ("112.00", "PLN", "sto dwanaście złotych 00/100"),
        ("1000.00", "PLN", "tysiąc złotych 00/100"),
        ("2000.00", "PLN", "dwa tysiące złotych 00/100"),
        ("2000000.00", "PLN", "dwa miliony złotych 00/100"),
        ("0.01", "PLN", "zero złotych 01/100"),
        ("1.00", "USD", "jeden dolar amerykański 00/100"),
        ("24.00", "USD", "dwadzieścia cztery dolary amerykańskie 00/100"),
        ("25.00", "USD", "dwadzieścia pięć dolarów amerykańskich 00/100"),
        ("1.00", "EUR", "jedno euro 00/100"),
        ("21.00", "EUR", "dwadzieścia jeden euro 00/100"),
        ("3.50", "CHF", "trzy franki szwajcarskie 50/100"),
        ("100.00", "CZK", "sto CZK 00/100"),
    ],
)
def test_polish(amount: str, currency: str, expected: str) -> None:
    assert amount_in_words(Decimal(amount), currency) == expected


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("123.45", "PLN", "one hundred twenty-three PLN 45/100"),
        ("1234.56", "PLN", "one thousand two hundred thirty-four PLN 56/100"),
        ("1000000.01", "EUR", "one million EUR 01/100"),
        ("0.99", "USD", "zero USD 99/100"),
        ("101.00", "PLN", "one hundred one PLN 00/100"),
    ],
)
def test_english(amount: str, currency: str, expected: str) -> None:
    assert amount_in_words(Decimal(amount), currency, "en") == expected


def test_amount_is_rounded_half_up_first() -> None:
    assert amount_in_words(Decimal("1.995"), "PLN") == "dwa złote 00/100"
    assert amount_in_words(Decimal("1.994"), "PLN") == "jeden złoty 99/100"


def test_negative_amounts_say_minus() -> None:
    assert amount_in_words(Decimal("-16.60"), "PLN") == "minus szesnaście złotych 60/100"
    assert amount_in_words(Decimal("-0.40"), "EUR", "en") == "minus zero EUR 40/100"


def test_currencies_without_or_with_three_minor_digits() -> None:
    assert amount_in_words(Decimal("1500"), "JPY", "en") == "one thousand five hundred JPY"
    assert amount_in_words(Decimal("2.5"), "KWD", "en") == "two KWD 500/1000"


def test_ints_are_whole_units_not_grosze() -> None:
    # num2words' currency mode would read the int 1000000 as grosze; this must not.
    assert amount_in_words(1000000, "PLN") == "milion złotych 00/100"  # type: ignore[arg-type]


def test_floats_and_unknown_languages_are_refused() -> None:
    with pytest.raises(TypeError):
        amount_in_words(1.5, "PLN")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not 'de'"):
        amount_in_words(Decimal(1), "PLN", "de")


@pytest.mark.parametrize(
    ("count", "form"),
    [
        (0, 2),
        (1, 0),
        (2, 1),
        (4, 1),
        (5, 2),
        (11, 2),
        (12, 2),
        (14, 2),
        (21, 2),
        (22, 1),
        (101, 2),
        (102, 1),
        (112, 2),
        (1000, 2),
        (1001, 2),
        (1002, 1),
        (1012, 2),
    ],
)
def test_polish_plural_rule(count: int, form: int) -> None:
    assert polish_plural(count) == form


@settings(deadline=None)
@given(st.integers(min_value=0, max_value=10**12 - 1), st.integers(min_value=0, max_value=99))
def test_polish_words_end_with_the_plural_form_and_the_grosze(whole: int, grosze: int) -> None:
    amount = Decimal(whole) + Decimal(grosze) / 100
    text = amount_in_words(amount, "PLN")
    words, noun, fraction = text.rsplit(" ", 2)
    assert fraction == f"{grosze:02d}/100"
    last_two = whole % 100
    if whole == 1:
        assert noun == "złoty"
    elif last_two % 10 in (2, 3, 4) and last_two not in (12, 13, 14):
        assert noun == "złote"
    else:
        assert noun == "złotych"
    assert noun == FORMS[polish_plural(whole)]
    assert words
    assert not any(char.isdigit() for char in words)


@settings(deadline=None)
@given(st.integers(min_value=0, max_value=10**9))
def test_polish_words_read_back_as_the_same_number(whole: int) -> None:
    text = amount_in_words(Decimal(whole), "PLN")
    assert _polish_to_int(text.rsplit(" ", 2)[0]) == whole


@settings(deadline=None)
@given(st.decimals(min_value=Decimal("-10000"), max_value=Decimal("10000"), places=2))
def test_sign_and_fraction_survive(amount: Decimal) -> None:
    for language in ("pl", "en"):
        text = amount_in_words(amount, "EUR", language)
        assert text.startswith("minus ") == (amount < 0)
        assert text.endswith(f" {int(abs(amount) * 100) % 100:02d}/100")


_UNITS = {
    "zero": 0,
    "jeden": 1,
    "dwa": 2,
    "trzy": 3,
    "cztery": 4,
    "pięć": 5,
    "sześć": 6,
    "siedem": 7,
    "osiem": 8,
    "dziewięć": 9,
    "dziesięć": 10,
    "jedenaście": 11,
    "dwanaście": 12,
    "trzynaście": 13,
    "czternaście": 14,
    "piętnaście": 15,
    "szesnaście": 16,
    "siedemnaście": 17,
    "osiemnaście": 18,
    "dziewiętnaście": 19,
    "dwadzieścia": 20,
    "trzydzieści": 30,
    "czterdzieści": 40,
    "pięćdziesiąt": 50,
    "sześćdziesiąt": 60,
    "siedemdziesiąt": 70,
    "osiemdziesiąt": 80,
    "dziewięćdziesiąt": 90,
    "sto": 100,
    "dwieście": 200,
    "trzysta": 300,
    "czterysta": 400,
    "pięćset": 500,
    "sześćset": 600,
    "siedemset": 700,
    "osiemset": 800,
    "dziewięćset": 900,
}
_SCALES = {
    "tysiąc": 10**3,
    "tysiące": 10**3,
    "tysięcy": 10**3,
    "milion": 10**6,
    "miliony": 10**6,
    "milionów": 10**6,
    "miliard": 10**9,
}


def _polish_to_int(words: str) -> int:
    """A tiny independent reader of Polish cardinals, to check the words mean the number."""
    total = group = 0
    for word in words.split():
        if word in _UNITS:
            group += _UNITS[word]
        else:
            total += max(group, 1) * _SCALES[word]
            group = 0
    return total + group
