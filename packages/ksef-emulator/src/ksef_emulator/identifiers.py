"""KSeF's identifiers: reference numbers, KSeF numbers (with their CRC-8) and NIP/PESEL shapes.

Formats from ksef-api.md §2 (``faktury/numer-ksef.md`` and the OpenAPI ``ReferenceNumber`` and
``KsefNumber`` schemas).
"""

from __future__ import annotations

import re
import secrets
from datetime import date

__all__ = [
    "KSEF_NUMBER",
    "NIP",
    "PESEL",
    "REFERENCE_NUMBER",
    "crc8",
    "is_ksef_number",
    "ksef_number",
    "reference_number",
]

#: ``^[1-9]((\d[1-9])|([1-9]\d))\d{7}$`` (the OpenAPI ``Nip``; checksum checked on PRD only).
NIP = re.compile(r"^[1-9]((\d[1-9])|([1-9]\d))\d{7}$")
PESEL = re.compile(
    r"^\d{2}(?:0[1-9]|1[0-2]|2[1-9]|3[0-2]|4[1-9]|5[0-2]|6[1-9]|7[0-2]|8[1-9]|9[0-2])\d{7}$"
)
#: ``YYYYMMDD-TT-XXXXXXXXXX-XXXXXXXXXX-XX`` (36 characters, uppercase hex).
REFERENCE_NUMBER = re.compile(r"^\d{8}-[A-Z]{2}-[0-9A-F]{10}-[0-9A-F]{10}-[0-9A-F]{2}$")
#: The OpenAPI ``KsefNumber`` pattern (35 characters, or 36 with a dash in the technical part).
KSEF_NUMBER = re.compile(
    r"^([1-9](\d[1-9]|[1-9]\d)\d{7})-(20[2-9][0-9]|2[1-9][0-9]{2}|[3-9][0-9]{3})"
    r"(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])-([0-9A-F]{6})-?([0-9A-F]{6})-([0-9A-F]{2})$"
)


def reference_number(kind: str, day: date) -> str:
    """A fresh reference number of type ``kind`` (``CR``, ``AU``, ``SO``, ``EE``, ``EU``,
    ``EC``, ``EH``…) dated ``day``."""
    random = secrets.token_hex(11).upper()
    return f"{day:%Y%m%d}-{kind}-{random[:10]}-{random[10:20]}-{random[20:22]}"


def crc8(data: bytes) -> int:
    """CRC-8 with polynomial 0x07 and initial value 0x00 (KSeF number checksum)."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def ksef_number(seller_nip: str, day: date, technical: str | None = None) -> str:
    """The 35-character KSeF number ``NIP-YYYYMMDD-TTTTTTTTTTTT-CC`` of an invoice accepted on
    ``day``; ``technical`` is the 12 hex digits (random when not given)."""
    part = (technical or secrets.token_hex(6)).upper()
    body = f"{seller_nip}-{day:%Y%m%d}-{part}"
    return f"{body}-{crc8(body.encode('ascii')):02X}"


def is_ksef_number(text: str) -> bool:
    """Whether ``text`` has the KSeF number shape and a correct checksum (either form)."""
    match = KSEF_NUMBER.match(text)
    if not match:
        return False
    body = text[:-3].replace("-", "")
    canonical = f"{body[:10]}-{body[10:18]}-{body[18:]}"
    return crc8(canonical.encode("ascii")) == int(text[-2:], 16)
