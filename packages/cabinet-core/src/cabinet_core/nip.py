"""Polish tax and statistical identifiers: NIP (numer identyfikacji podatkowej) and REGON.

Both end in a check digit: the weighted sum of the other digits modulo 11. A remainder of 10 is
never issued for a NIP (such a number is invalid); for REGON it means a check digit of 0.
"""

from __future__ import annotations

import re

from cabinet_core.errors import N_, ValidationError

NIP_WEIGHTS = (6, 5, 7, 2, 3, 4, 5, 6, 7)
REGON9_WEIGHTS = (8, 9, 2, 3, 4, 5, 6, 7)
REGON14_WEIGHTS = (2, 4, 8, 5, 0, 9, 7, 3, 6, 1, 2, 4, 8)

# People type NIPs as "PL 123-456-32-18", "123 456 32 18" or "1234563218".
_SEPARATORS = re.compile(r"[\s\-./]")


def _digits(text: str, *, strip_country: bool) -> str:
    value = _SEPARATORS.sub("", text).upper()
    if strip_country and value.startswith("PL"):
        value = value[2:]
    return value


def nip_check_digit(first_nine: str) -> int | None:
    """The check digit for nine NIP digits, or ``None`` when no valid NIP starts with them."""
    remainder = sum(int(d) * w for d, w in zip(first_nine, NIP_WEIGHTS, strict=True)) % 11
    return None if remainder == 10 else remainder


def validate_nip(text: str, *, field: str = "nip") -> str:
    """Return the ten digits of a valid NIP or raise :class:`ValidationError` at ``field``.

    Separators and a leading ``PL`` prefix are dropped: ``"PL 123-456-32-18"`` → ``"1234563218"``.
    """
    value = _digits(text, strip_country=True)
    if len(value) != 10 or not value.isdigit():
        raise ValidationError.single(field, "nip_format", N_("A NIP has exactly 10 digits."))
    if nip_check_digit(value[:9]) != int(value[9]):
        raise ValidationError.single(
            field, "nip_checksum", N_("This NIP is not valid (wrong check digit).")
        )
    return value


def is_valid_nip(text: str) -> bool:
    """Whether ``text`` is a NIP with a correct check digit (separators and ``PL`` allowed)."""
    try:
        validate_nip(text)
    except ValidationError:
        return False
    return True


def regon_check_digit(digits: str) -> int:
    """The check digit for the first 8 (REGON-9) or 13 (REGON-14) digits."""
    weights = REGON9_WEIGHTS if len(digits) == 8 else REGON14_WEIGHTS
    remainder = sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
    return 0 if remainder == 10 else remainder


def validate_regon(text: str, *, field: str = "regon") -> str:
    """Return the digits of a valid 9- or 14-digit REGON or raise :class:`ValidationError`.

    A 14-digit REGON (a local unit) must also start with a valid 9-digit REGON.
    """
    value = _digits(text, strip_country=False)
    if len(value) not in (9, 14) or not value.isdigit():
        raise ValidationError.single(
            field, "regon_format", N_("A REGON has exactly 9 or 14 digits.")
        )
    valid = regon_check_digit(value[:8]) == int(value[8])
    if valid and len(value) == 14:
        valid = regon_check_digit(value[:13]) == int(value[13])
    if not valid:
        raise ValidationError.single(
            field, "regon_checksum", N_("This REGON is not valid (wrong check digit).")
        )
    return value


def is_valid_regon(text: str) -> bool:
    """Whether ``text`` is a 9- or 14-digit REGON with correct check digits."""
    try:
        validate_regon(text)
    except ValidationError:
        return False
    return True


def validate_krs(text: str, *, field: str = "krs") -> str:
    """Return the 10 digits of a KRS number (the National Court Register; it has no check
    digit, so the form is all that can be checked), or raise :class:`ValidationError`.
    Shorter numbers are written with their leading zeros ("0000123456")."""
    value = _digits(text, strip_country=False)
    if not value.isdigit() or len(value) > 10:
        raise ValidationError.single(field, "krs_format", N_("A KRS number has 10 digits."))
    return value.zfill(10)
