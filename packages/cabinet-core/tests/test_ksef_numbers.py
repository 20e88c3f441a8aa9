"""KSeF numbers: shape and CRC-8 check digits (ksef-docs example), found in file names."""

from __future__ import annotations

import pytest
from cabinet_core.ksef import find_ksef_number, is_ksef_number
from cabinet_core.ksef.numbers import ksef_checksum

#: The example in CIRFMF ksef-docs faktury/numer-ksef.md.
DOCUMENTED = "5265877635-20250826-0100001AF629-AF"


def test_the_documented_example_checks() -> None:
    assert ksef_checksum(DOCUMENTED[:32]) == "AF"
    assert is_ksef_number(DOCUMENTED)
    assert is_ksef_number(f"  {DOCUMENTED} ")


@pytest.mark.parametrize(
    "value",
    [
        DOCUMENTED[:-2] + "AE",  # wrong check digits
        DOCUMENTED.replace("0100001AF629", "0100001AF628"),  # a changed digit
        DOCUMENTED.lower(),  # KSeF writes uppercase hex
        DOCUMENTED.replace("-", ""),
        "",
    ],
)
def test_anything_else_does_not(value: str) -> None:
    assert not is_ksef_number(value)


def test_a_number_is_found_in_a_downloaded_files_name() -> None:
    assert find_ksef_number(f"faktura_{DOCUMENTED}.xml") == DOCUMENTED
    assert find_ksef_number(f"{DOCUMENTED[:-2]}AE.xml") is None
    assert find_ksef_number("FA_3_Przyklad_01.xml") is None
