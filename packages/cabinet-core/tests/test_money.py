from __future__ import annotations

from decimal import Decimal

import pytest
from cabinet_core.money import (
    SUPPORTED_CURRENCIES,
    CurrencyMismatch,
    Money,
    allocate,
    minor_units,
    parse_amount,
    round_money,
)
from hypothesis import given, settings
from hypothesis import strategies as st

amounts = st.decimals(
    min_value=Decimal("-1000000000"),
    max_value=Decimal("1000000000"),
    places=4,
    allow_nan=False,
    allow_infinity=False,
)
pln = amounts.map(lambda amount: Money(amount, "PLN"))


def test_supported_currencies_are_pln_eur_usd() -> None:
    assert SUPPORTED_CURRENCIES == ("PLN", "EUR", "USD")


@pytest.mark.parametrize(
    ("currency", "digits"),
    [("PLN", 2), ("EUR", 2), ("USD", 2), ("JPY", 0), ("KWD", 3), ("CHF", 2)],
)
def test_minor_units(currency: str, digits: int) -> None:
    assert minor_units(currency) == digits


@pytest.mark.parametrize("code", ["pln", "PL", "PLNX", "", "12A"])
def test_malformed_currency_codes_are_refused(code: str) -> None:
    with pytest.raises(ValueError, match="ISO 4217"):
        Money(Decimal(1), code)


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("0.005", "PLN", "0.01"),
        ("0.004999", "PLN", "0.00"),
        ("2.675", "PLN", "2.68"),
        ("-3.105", "PLN", "-3.11"),
        ("-0.004", "PLN", "0.00"),
        ("1.5", "JPY", "2"),
        ("1.0005", "KWD", "1.001"),
        ("7", "EUR", "7.00"),
    ],
)
def test_round_money_rounds_half_up_to_the_minor_unit(
    amount: str, currency: str, expected: str
) -> None:
    result = round_money(Decimal(amount), currency)
    assert result == Decimal(expected)
    assert str(abs(result)) == expected.lstrip("-")


def test_round_money_refuses_floats() -> None:
    with pytest.raises(TypeError):
        round_money(0.1)  # type: ignore[arg-type]


def test_money_refuses_floats_everywhere() -> None:
    with pytest.raises(TypeError):
        Money(0.1, "PLN")
    with pytest.raises(TypeError):
        Money(Decimal(1), "PLN") * 1.5  # type: ignore[operator]
    with pytest.raises(TypeError):
        Money(True, "PLN")


def test_money_refuses_nan_and_infinity() -> None:
    with pytest.raises(ValueError, match="finite"):
        Money(Decimal("NaN"), "PLN")
    with pytest.raises(ValueError, match="finite"):
        Money(Decimal("Infinity"), "PLN")


def test_ints_become_decimals() -> None:
    money = Money(5, "PLN")
    assert isinstance(money.amount, Decimal)
    assert money == Money(Decimal("5.00"), "PLN")


def test_mixing_currencies_raises() -> None:
    zloty = Money(Decimal("1.00"), "PLN")
    euro = Money(Decimal("1.00"), "EUR")
    with pytest.raises(CurrencyMismatch):
        zloty + euro
    with pytest.raises(CurrencyMismatch):
        zloty - euro
    with pytest.raises(CurrencyMismatch):
        assert zloty < euro
    with pytest.raises(CurrencyMismatch):
        assert zloty >= euro
    assert zloty != euro
    assert issubclass(CurrencyMismatch, ValueError)


def test_adding_a_plain_number_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        Money(Decimal(1), "PLN") + Decimal(1)  # type: ignore[operator]


def test_arithmetic_and_comparison() -> None:
    a = Money(Decimal("10.50"), "PLN")
    b = Money(Decimal("0.75"), "PLN")
    assert a + b == Money(Decimal("11.25"), "PLN")
    assert a - b == Money(Decimal("9.75"), "PLN")
    assert -a == Money(Decimal("-10.50"), "PLN")
    assert a * 3 == Money(Decimal("31.50"), "PLN")
    assert 3 * a == a * 3
    assert a * Decimal("0.5") == Money(Decimal("5.25"), "PLN")
    assert b < a <= a
    assert a > b >= b
    assert abs(-a) == a
    assert not Money.zero("PLN")
    assert str(a) == "10.50 PLN"


def test_quantized_rounds_with_the_named_rule() -> None:
    assert Money(Decimal("2.345"), "PLN").quantized() == Money(Decimal("2.35"), "PLN")
    assert Money(Decimal("2.345"), "PLN").quantized().amount.as_tuple().exponent == -2
    assert Money(Decimal("99.5"), "JPY").quantized() == Money(Decimal("100"), "JPY")


def test_total() -> None:
    items = [Money(Decimal("0.10"), "EUR")] * 3
    assert Money.total(items, "EUR") == Money(Decimal("0.30"), "EUR")
    assert Money.total([], "EUR") == Money.zero("EUR")
    with pytest.raises(CurrencyMismatch):
        Money.total(items, "PLN")


def test_money_is_hashable_and_frozen() -> None:
    money = Money(Decimal("1.00"), "PLN")
    assert {money, Money(Decimal("1.0"), "PLN")} == {money}
    with pytest.raises(AttributeError):
        money.amount = Decimal(2)  # type: ignore[misc]


def test_allocate_keeps_every_grosz() -> None:
    parts = allocate(Money(Decimal("100.00"), "PLN"), [1, 1, 1])
    assert [part.amount for part in parts] == [Decimal("33.34"), Decimal("33.33"), Decimal("33.33")]


def test_allocate_negative_and_weighted() -> None:
    parts = allocate(Money(Decimal("-10.00"), "PLN"), [Decimal("0.7"), Decimal("0.3")])
    assert [part.amount for part in parts] == [Decimal("-7.00"), Decimal("-3.00")]


@pytest.mark.parametrize("ratios", [[], [0, 0], [1, -1]])
def test_allocate_refuses_bad_ratios(ratios: list[int]) -> None:
    with pytest.raises(ValueError):
        allocate(Money(Decimal(1), "PLN"), ratios)


@settings(deadline=None)
@given(
    pln,
    st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=12).filter(any),
)
def test_allocate_sums_to_the_rounded_whole(money: Money, ratios: list[int]) -> None:
    parts = allocate(money, ratios)
    assert len(parts) == len(ratios)
    assert Money.total(parts, "PLN") == money.quantized()
    for part, ratio in zip(parts, ratios, strict=True):
        assert part.quantized() == part
        exact = money.quantized().amount * ratio / sum(ratios)
        assert abs(part.amount - exact) < Decimal("0.01")


@settings(deadline=None)
@given(pln, pln, pln)
def test_addition_is_associative_and_commutative(a: Money, b: Money, c: Money) -> None:
    assert a + b == b + a
    assert (a + b) + c == a + (b + c)


@settings(deadline=None)
@given(pln, pln)
def test_subtraction_inverts_addition(a: Money, b: Money) -> None:
    assert (a + b) - b == a
    assert a - a == Money.zero("PLN")
    assert (-a).__neg__() == a
    assert a + (-b) == a - b


@settings(deadline=None)
@given(pln, st.integers(min_value=-1000, max_value=1000))
def test_multiplication_distributes(a: Money, k: int) -> None:
    assert a * k + a == a * (k + 1)


@settings(deadline=None)
@given(pln, pln)
def test_ordering_is_total(a: Money, b: Money) -> None:
    assert (a < b) + (a == b) + (a > b) == 1


@settings(deadline=None)
@given(amounts)
def test_round_money_is_idempotent_and_within_half_a_grosz(amount: Decimal) -> None:
    rounded = round_money(amount)
    assert round_money(rounded) == rounded
    assert abs(rounded - amount) <= Decimal("0.005")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 234,56", "1234.56"),
        ("1234.56", "1234.56"),
        ("1\u00a0234,56", "1234.56"),
        ("1\u202f234\u202f567,5", "1234567.5"),
        ("12 345 678", "12345678"),
        ("1.234,56", "1234.56"),
        ("1,234.56", "1234.56"),
        ("  -12,50 ", "-12.50"),
        ("\u221212,50", "-12.50"),
        ("+7", "7"),
        ("0,005", "0.005"),
        ("100", "100"),
    ],
)
def test_parse_amount_accepts_what_people_type(text: str, expected: str) -> None:
    result = parse_amount(text)
    assert result == Decimal(expected)
    assert str(result) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "-",
        "abc",
        "12a",
        "1e5",
        "NaN",
        "Infinity",
        "1,2,3",
        "1.234.567",
        "12 34,5",
        "1 2345",
        ",5",
        "5,",
        "1,234,56",
        "1.234.56",
        "--5",
        "12 PLN",
        "\u0661\u0662",
    ],
)
def test_parse_amount_refuses_junk(text: str) -> None:
    with pytest.raises(ValueError, match="not an amount"):
        parse_amount(text)


@settings(deadline=None)
@given(amounts)
def test_parse_amount_round_trips_polish_formatting(amount: Decimal) -> None:
    grouped = f"{abs(amount):,}".replace(",", "\u00a0").replace(".", ",")
    text = ("-" if amount < 0 else "") + grouped
    assert parse_amount(text) == amount
