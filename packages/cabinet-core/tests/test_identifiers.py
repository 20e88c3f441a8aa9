"""Identifiers through python-stdnum, pycountry and email-validator: NIP and REGON check
digits (normalisation, known numbers, property tests against our own weighted sums), PESEL,
IBAN, EU VAT numbers, FA(3) country codes and e-mail addresses."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cabinet_core.errors import ValidationError
from cabinet_core.identifiers import (
    checked_email,
    country_codes,
    eu_vat_prefixes,
    is_valid_iban,
    is_valid_nip,
    is_valid_regon,
    normalise_iban,
    validate_country,
    validate_email,
    validate_iban,
    validate_nip,
    validate_pesel,
    validate_regon,
    validate_vat_eu,
)
from hypothesis import assume, given
from hypothesis import strategies as st

# The weights of the official definitions, kept here as an independent oracle for the library.
NIP_WEIGHTS = (6, 5, 7, 2, 3, 4, 5, 6, 7)
REGON9_WEIGHTS = (8, 9, 2, 3, 4, 5, 6, 7)
REGON14_WEIGHTS = (2, 4, 8, 5, 0, 9, 7, 3, 6, 1, 2, 4, 8)


def nip_check_digit(first_nine: str) -> int | None:
    remainder = sum(int(d) * w for d, w in zip(first_nine, NIP_WEIGHTS, strict=True)) % 11
    return None if remainder == 10 else remainder


def regon_check_digit(digits: str) -> int:
    weights = REGON9_WEIGHTS if len(digits) == 8 else REGON14_WEIGHTS
    remainder = sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
    return 0 if remainder == 10 else remainder


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
    [
        "1234563218",
        "123-456-32-18",
        "PL 123-456-32-18",
        "pl1234563218",
        " 123 456 32 18 ",
        "123.456.32.18",
    ],
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


@given(st.text(alphabet="0123456789", min_size=10, max_size=10))
def test_library_and_weighted_sum_agree_on_every_nip(digits: str) -> None:
    assert is_valid_nip(digits) == (nip_check_digit(digits[:9]) == int(digits[9]))


def test_pesel_is_checked_by_date_and_check_digit() -> None:
    assert validate_pesel(" 44051401359 ") == "44051401359"
    for bad in ("44051401358", "44053201359", "4405140135"):
        with pytest.raises(ValidationError) as info:
            validate_pesel(bad, field="contractor.pesel")
        assert [(e.field, e.code) for e in info.value.errors] == [
            ("contractor.pesel", "invalid_pesel")
        ]


def test_iban_check() -> None:
    assert is_valid_iban(normalise_iban("61 1090 1014 0000 0712 1981 2874"))
    assert not is_valid_iban(normalise_iban("61 1090 1014 0000 0712 1981 2875"))
    assert not is_valid_iban("PL61109010140000071219812")
    assert is_valid_iban("DE89370400440532013000")
    assert validate_iban("de89 3704 0044 0532 0130 00") == "DE89370400440532013000"


def test_iban_country_format_is_checked_not_only_mod_97() -> None:
    # Mod 97 holds (the check digits were computed for it), but a German IBAN has 22
    # characters: the old hand-written check passed it, python-stdnum does not.
    long_de = "DE" + f"{98 - int('37040044053201300099' + '131400') % 97:02d}"
    long_de += "37040044053201300099"
    assert int(long_de[4:] + "1314" + long_de[2:4]) % 97 == 1
    assert not is_valid_iban(long_de)
    with pytest.raises(ValidationError) as info:
        validate_iban(long_de, field="bank_accounts.0.iban")
    assert [(e.field, e.code) for e in info.value.errors] == [("bank_accounts.0.iban", "iban")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("DE136695976", "DE136695976"),
        ("de 136.695-976", "DE136695976"),
        ("ATU13585627", "ATU13585627"),
        ("EL094259216", "EL094259216"),
        ("PL 123-456-32-18", "PL1234563218"),
    ],
)
def test_valid_eu_vat_numbers_are_normalised(text: str, expected: str) -> None:
    assert validate_vat_eu(text) == expected


@pytest.mark.parametrize(
    ("text", "code"),
    [
        # The example the docs used to give: the right shape, the wrong check digit.
        ("DE123456789", "checksum"),
        ("FR12345678901", "checksum"),
        ("FR1234567890", "invalid"),
        ("DE12345", "invalid"),
        ("US123456789", "invalid"),
        ("GB123456789", "invalid"),
        ("PL1234563219", "nip_checksum"),
    ],
)
def test_invalid_eu_vat_numbers_are_refused(text: str, code: str) -> None:
    with pytest.raises(ValidationError) as info:
        validate_vat_eu(text, field="buyer.vat_eu")
    assert [(e.field, e.code) for e in info.value.errors] == [("buyer.vat_eu", code)]


def _schema_enumeration(name: str) -> set[str]:
    folder = Path(__file__).parents[1] / "src" / "cabinet_core" / "ksef" / "schemas" / "fa3"
    text = "".join(p.read_text(encoding="utf-8") for p in folder.rglob("*.xsd"))
    block = text.split(f'simpleType name="{name}"', 1)[1].split("</xsd:simpleType>", 1)[0]
    return set(re.findall(r'enumeration value="([^"]+)"', block))


def test_country_codes_are_the_iso_codes_the_fa3_schema_accepts() -> None:
    codes = country_codes()
    assert codes <= _schema_enumeration("TKodKraju")
    assert {"PL", "DE", "FR", "US", "GB", "UA", "CH", "NO"} <= codes
    # In the schema but not ISO 3166-1 countries (Northern Ireland, Ceuta, Melilla, the
    # dissolved Netherlands Antilles), and neither in the schema nor ISO.
    assert not {"XI", "XC", "XL", "AN", "XX", "EU", "UK"} & codes
    assert eu_vat_prefixes() == _schema_enumeration("TKodyKrajowUE")


def test_country_is_upper_cased_blank_is_poland_and_xx_is_refused() -> None:
    assert validate_country(" de ") == "DE"
    assert validate_country("") == "PL"
    with pytest.raises(ValidationError) as info:
        validate_country("XX", field="buyer.address.country")
    (error,) = info.value.errors
    assert (error.field, error.code, error.params) == (
        "buyer.address.country",
        "country",
        {"country": "XX"},
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (" jan.kowalski@firma.pl ", "jan.kowalski@firma.pl"),
        ("Jan@FIRMA.PL", "Jan@firma.pl"),
        # An internationalised domain is stored in the ASCII form every mail server takes.
        ("jan@żółw.pl", "jan@xn--w-uga1v8h.pl"),
        ("jan@ŻÓŁW.PL", "jan@xn--w-uga1v8h.pl"),
        ("jan@xn--w-uga1v8h.pl", "jan@xn--w-uga1v8h.pl"),
    ],
)
def test_email_is_normalised_to_a_deliverable_form(text: str, expected: str) -> None:
    assert validate_email(text) == expected


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("<script>alert(1)</script>@x.pl", "email"),
        ("<script>@x.pl", "email"),
        ("jan@localhost", "email"),
        ("jan@firma", "email"),
        ("jan kowalski@firma.pl", "email"),
        ("a@b.pl, c@d.pl", "email"),
        ("Jan <jan@firma.pl>", "email"),
        ("ż@ółw.pl", "email_not_ascii"),
    ],
)
def test_what_is_not_one_deliverable_address_is_refused(text: str, code: str) -> None:
    with pytest.raises(ValidationError) as info:
        validate_email(text, field="to")
    assert [(e.field, e.code) for e in info.value.errors] == [("to", code)]


def test_checked_email_gathers_instead_of_raising() -> None:
    assert checked_email("", required=False) == ("", [])
    assert checked_email("  ")[1][0].code == "required"
    assert checked_email("jan@żółw.pl") == ("jan@xn--w-uga1v8h.pl", [])
    address, errors = checked_email(" <b>@x.pl ", field="email")
    assert address == "<b>@x.pl"
    assert [(e.field, e.code) for e in errors] == [("email", "email")]
