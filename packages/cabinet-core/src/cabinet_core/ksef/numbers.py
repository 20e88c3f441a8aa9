"""KSeF numbers: the identifier KSeF assigns to every invoice it accepts.

``NIP-YYYYMMDD-XXXXXXXXXXXX-CC``: the seller's NIP, the day of acceptance, twelve uppercase hex
digits and a CRC-8 (polynomial 0x07, initial value 0x00) of the first 32 characters, as two
uppercase hex digits (CIRFMF ksef-docs ``faktury/numer-ksef.md``). The number is not inside the
FA(3) file; KSeF downloads are usually named after it.
"""

from __future__ import annotations

import re

__all__ = [
    "KSEF_NUMBER_PATTERN",
    "canonical_ksef_number",
    "find_ksef_number",
    "is_ksef_number",
    "ksef_checksum",
]

#: The ``KsefNumber`` pattern of the Ministry's OpenAPI document (KSeF 2.0 API): a NIP that
#: cannot start with 0, a date from 2020 on, twelve hex digits (optionally split 6-6) and two
#: check digits.
KSEF_NUMBER_PATTERN = re.compile(
    r"^([1-9](\d[1-9]|[1-9]\d)\d{7})-(20[2-9][0-9]|2[1-9]\d{2}|[3-9]\d{3})"
    r"(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])-([0-9A-F]{6})-?([0-9A-F]{6})-([0-9A-F]{2})$"
)

_SHAPE = re.compile(r"(\d{10})-(\d{8})-([0-9A-F]{12})-([0-9A-F]{2})")
_ANYWHERE = re.compile(r"\d{10}-\d{8}-[0-9A-F]{12}-[0-9A-F]{2}")


def ksef_checksum(head: str) -> str:
    """The CRC-8 (poly 0x07, init 0x00) of ``head`` (the first 32 characters), in hex."""
    crc = 0
    for byte in head.encode("ascii"):
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return f"{crc:02X}"


def is_ksef_number(value: str) -> bool:
    """Whether ``value`` is a well-formed KSeF number with the right check digits."""
    match = _SHAPE.fullmatch(value.strip())
    return match is not None and ksef_checksum(value.strip()[:32]) == match.group(4)


def find_ksef_number(text: str) -> str | None:
    """The first valid KSeF number in ``text`` (a downloaded file's name), or ``None``."""
    for match in _ANYWHERE.finditer(text.upper()):
        if is_ksef_number(match.group(0)):
            return match.group(0)
    return None


def canonical_ksef_number(value: str) -> str | None:
    """``value`` as a KSeF number in its usual 35-character form when it matches the official
    pattern (:data:`KSEF_NUMBER_PATTERN`, upper-cased, spaces trimmed) and its check digits
    are right; else ``None``."""
    text = value.strip().upper()
    match = KSEF_NUMBER_PATTERN.fullmatch(text)
    if match is None:
        return None
    nip, _, year, month, day, high, low, check = match.groups()
    number = f"{nip}-{year}{month}{day}-{high}{low}-{check}"
    return number if is_ksef_number(number) else None
