"""Amounts in words ("słownie") as Polish invoices print them.

The customary form is the whole units in words, the currency in the right grammatical form, and
the minor units as digits over 100: ``sto dwadzieścia trzy złote 45/100``. English documents use
``one hundred twenty-three PLN 45/100``.

``num2words`` spells the whole part only: in its currency mode a Python ``int`` is read as grosze
and negative amounts crash, so the currency noun and the fraction are added here.
"""

from __future__ import annotations

from decimal import Decimal

from num2words import num2words  # type: ignore[import-untyped]

from cabinet_core.money import minor_units, round_money

__all__ = ["LANGUAGES", "amount_in_words", "polish_plural"]

#: Languages :func:`amount_in_words` can write.
LANGUAGES: tuple[str, ...] = ("pl", "en")

# (one, few, many) noun forms: 1 złoty, 2-4 złote, 5+ złotych.
_POLISH_NOUNS: dict[str, tuple[str, str, str]] = {
    "PLN": ("złoty", "złote", "złotych"),
    "EUR": ("euro", "euro", "euro"),
    "USD": ("dolar amerykański", "dolary amerykańskie", "dolarów amerykańskich"),
    "GBP": ("funt szterling", "funty szterlingi", "funtów szterlingów"),
    "CHF": ("frank szwajcarski", "franki szwajcarskie", "franków szwajcarskich"),
}
# Neuter nouns take "jedno" for exactly one ("jedno euro"); "dwa" and above are as usual.
_POLISH_NEUTER = frozenset({"EUR"})


def polish_plural(count: int) -> int:
    """Which noun form Polish uses after ``count``: 0 for 1, 1 for 2-4 (not 12-14), else 2."""
    count = abs(count)
    if count == 1:
        return 0
    if 2 <= count % 10 <= 4 and not 12 <= count % 100 <= 14:
        return 1
    return 2


def _polish(whole: int, currency: str) -> str:
    words = str(num2words(whole, lang="pl"))
    if currency in _POLISH_NOUNS:
        if whole == 1 and currency in _POLISH_NEUTER:
            words = "jedno"
        noun = _POLISH_NOUNS[currency][polish_plural(whole)]
    else:
        noun = currency
    return f"{words} {noun}"


def _english(whole: int, currency: str) -> str:
    # Cheque style: no "and", no commas ("one thousand two hundred thirty-four").
    words = str(num2words(whole, lang="en")).replace(",", "").replace(" and ", " ")
    return f"{words} {currency}"


def amount_in_words(amount: Decimal, currency: str, language: str = "pl") -> str:
    """The amount in words: ``sto dwadzieścia trzy złote 45/100`` or ``… PLN 45/100`` in English.

    The amount is rounded to the currency's minor unit first; a negative amount (a correction)
    is written with ``minus``. A currency without a minor unit (JPY) has no fraction.
    """
    if language not in LANGUAGES:
        raise ValueError(
            f"amounts in words are written in {', '.join(LANGUAGES)}, not {language!r}"
        )
    rounded = round_money(amount, currency)
    digits = minor_units(currency)
    whole, fraction = divmod(abs(rounded), 1)
    spelled = _polish(int(whole), currency) if language == "pl" else _english(int(whole), currency)
    if rounded < 0:
        spelled = f"minus {spelled}"
    if digits == 0:
        return spelled
    minor = int(fraction.scaleb(digits))
    return f"{spelled} {minor:0{digits}d}/{10**digits}"
