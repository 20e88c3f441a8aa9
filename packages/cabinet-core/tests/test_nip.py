"""NIP and REGON check digits: normalisation, known numbers and property tests."""

from __future__ import annotations

import pytest
from cabinet_core.errors import ValidationError
from cabinet_core.nip import (
    REGON9_WEIGHTS,
    REGON14_WEIGHTS,
    is_valid_nip,
    is_valid_regon,
    nip_check_digit,
    regon_check_digit,
    validate_nip,
    validate_regon,
)
from hypothesis import assume, given
from hypothesis import strategies as st


@st.composite
def valid_nips(draw: st.DrawFn) -> str:
    first = draw(st.text(alphabet="0123456789", min_size=9, max_size=9))
    check = nip_check_digit(first)
    if check is None:
        # No NIP starts with these nine digits; bump the last one (weight 7 shifts the remainder).
        first = first[:8] + str((int(first[8]) + 1) % 10)
        check = nip_check_digit(first)
    assert check is not None
    return first + str(check)


@st.composite
def valid_regons(draw: st.DrawFn, length: int) -> str:
    value = draw(st.text(alphabet="0123456789", min_size=8, max_size=8))
    value += str(regon_check_digit(value))
    if length == 14:
        value += draw(st.text(alphabet="0123456789", min_size=4, max_size=4))
        value += str(regon_check_digit(value))
    return value


def _change_one_digit(value: str, position: int, delta: int) -> str:
    index = position % len(value)
    changed = (int(value[index]) + delta) % 10
    return value[:index] + str(changed) + value[index + 1 :]


@pytest.mark.parametrize(
    "text",
    ["1234563218", "123-456-32-18", "PL 123-456-32-18", "pl1234563218", " 123 456 32 18 "],
)
def test_nip_is_normalised_to_ten_digits(text: str) -> None:
    assert validate_nip(text) == "1234563218"


def test_wrong_check_digit_is_reported_at_the_field() -> None:
    with pytest.raises(ValidationError) as info:
        validate_nip("1234563219", field="buyer.nip")
    (error,) = info.value.errors
    assert (error.field, error.code) == ("buyer.nip", "nip_checksum")
    assert not is_valid_nip("1234563219")


@pytest.mark.parametrize("text", ["", "123456321", "12345632188", "12345A3218", "DE1234563218"])
def test_malformed_nip_is_a_format_error(text: str) -> None:
    with pytest.raises(ValidationError) as info:
        validate_nip(text)
    assert info.value.errors[0].code == "nip_format"
    assert info.value.errors[0].field == "nip"
    assert not is_valid_nip(text)


def test_prefix_with_remainder_ten_has_no_valid_nip() -> None:
    # 3 x weight 7 = 21 ≡ 10 (mod 11): no check digit exists, so no such NIP is ever issued.
    assert nip_check_digit("000000003") is None
    assert not any(is_valid_nip(f"000000003{d}") for d in range(10))


@given(valid_nips())
def test_generated_valid_nip_passes(nip: str) -> None:
    assert validate_nip(nip) == nip
    assert validate_nip(f"PL {nip[:3]}-{nip[3:6]}-{nip[6:8]}-{nip[8:]}") == nip


@given(valid_nips(), st.integers(0, 9), st.integers(1, 9))
def test_any_single_digit_change_breaks_a_nip(nip: str, position: int, delta: int) -> None:
    assert not is_valid_nip(_change_one_digit(nip, position, delta))


@pytest.mark.parametrize("text", ["123456785", "123-456-785", "23511332857188"])
def test_known_regons_are_valid(text: str) -> None:
    assert validate_regon(text) == text.replace("-", "")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("123456786", "regon_checksum"),
        ("23511332857189", "regon_checksum"),
        # The 14-digit check digit is right but the 9-digit prefix is not.
        ("12345678612340", "regon_checksum"),
        ("1234567", "regon_format"),
        ("1234567890", "regon_format"),
        ("12345678X", "regon_format"),
    ],
)
def test_bad_regons_are_rejected(text: str, code: str) -> None:
    with pytest.raises(ValidationError) as info:
        validate_regon(text)
    assert (info.value.errors[0].field, info.value.errors[0].code) == ("regon", code)
    assert not is_valid_regon(text)


def test_regon_remainder_ten_means_check_digit_zero() -> None:
    # Weights 4 and 6 at positions 5 and 7 sum to 10: the check digit is 0, not "10".
    assert regon_check_digit("00001010") == 0
    assert is_valid_regon("000010100")


@given(valid_regons(9))
def test_generated_regon9_passes(regon: str) -> None:
    assert validate_regon(regon) == regon


@given(valid_regons(14))
def test_generated_regon14_passes(regon: str) -> None:
    assert validate_regon(regon) == regon


def _remainder(digits: str) -> int:
    weights = REGON9_WEIGHTS if len(digits) == 8 else REGON14_WEIGHTS
    return sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11


@given(st.sampled_from([9, 14]).flatmap(valid_regons), st.integers(0, 13), st.integers(1, 9))
def test_single_digit_change_breaks_a_regon(regon: str, position: int, delta: int) -> None:
    # Remainders 0 and 10 share the check digit 0, so only numbers without them detect every
    # single-digit change (11 is prime: a change of one weighted digit always moves the sum).
    assume(_remainder(regon[:8]) not in (0, 10))
    assume(len(regon) == 9 or _remainder(regon[:13]) not in (0, 10))
    assert not is_valid_regon(_change_one_digit(regon, position, delta))
