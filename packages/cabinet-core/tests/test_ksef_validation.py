"""Offline FA(3) schema validation with the schema files shipped inside cabinet-core."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from cabinet_core.ksef.validation import MAX_ERRORS, SCHEMA_DIR, fa3_schema, validate_fa3

#: The repository's FA(3) test fixtures (testdata/ksef-fa3/README.md says where they come from).
SPECS = Path(__file__).parents[3] / "testdata" / "ksef-fa3"
SAMPLES = sorted(SPECS.glob("examples*/*.xml"))

#: SHA-256 of the official files (CIRFMF/ksef-docs, as listed in NOTICE.md).
OFFICIAL = {
    "schemat_FA(3)_v1-0E.xsd": "b646b6b525f51adf1bb2545f111fc8ca6e7aa6dd2f98948f1667d3695c06d958",
    "bazowe/ElementarneTypyDanych_v10-0E.xsd": (
        "8daf4d3771de200b26b697294cc906a2add3de9acfbbd97f4b1bd4fc0e5ecb2f"
    ),
    "bazowe/KodyKrajow_v10-0E.xsd": (
        "48be2a9f181d7ff80f185c62491ba12604c5cacbbe21af8e2aaaf2c585bbd214"
    ),
    "bazowe/StrukturyDanych_v10-0E.xsd": (
        "cb08348374598e1e716e086c40d740390fb9e1bfa3aba1f4ec4cba0e1ef6d60f"
    ),
}


def sample(name: str) -> bytes:
    return (SPECS / "examples" / name).read_bytes()


@pytest.mark.parametrize("name", sorted(OFFICIAL))
def test_the_shipped_schema_files_are_the_official_ones_unmodified(name: str) -> None:
    digest = hashlib.sha256((SCHEMA_DIR / name).read_bytes()).hexdigest()
    assert digest == OFFICIAL[name]


def test_the_schema_is_built_once_from_local_files() -> None:
    schema = fa3_schema()
    assert fa3_schema() is schema
    assert schema.target_namespace == "http://crd.gov.pl/wzor/2025/06/25/13775/"
    locations = [imported.url for imported in schema.maps.iter_schemas()]
    assert all(url is None or url.startswith("file://") for url in locations)


def test_the_fixtures_hold_the_26_official_and_2_research_examples() -> None:
    # An empty glob would quietly turn the parametrized test below into a skip.
    assert len(SAMPLES) == 28


@pytest.mark.parametrize("path", SAMPLES, ids=lambda path: path.stem)
def test_every_official_and_research_example_is_valid(path: Path) -> None:
    assert validate_fa3(path.read_bytes()) == []


def test_an_fa2_style_header_is_invalid() -> None:
    xml = sample("FA_3_Przyklad_01.xml").replace(b'kodSystemowy="FA (3)"', b'kodSystemowy="FA(3)"')
    errors = validate_fa3(xml)
    assert errors
    assert any("KodFormularza" in error for error in errors)


def test_elements_out_of_schema_order_are_invalid() -> None:
    xml = sample("FA_3_Przyklad_01.xml")
    # P_1M (place of issue) moved before P_1 (issue date).
    swapped = xml.replace(b"<P_1>2026-02-15</P_1>", b"").replace(
        b"<P_1M>Warszawa</P_1M>", b"<P_1M>Warszawa</P_1M><P_1>2026-02-15</P_1>"
    )
    assert swapped != xml
    errors = validate_fa3(swapped)
    assert errors and all(error.startswith("/Faktura/Fa") for error in errors)


def test_amounts_with_more_than_two_decimals_are_invalid() -> None:
    xml = sample("FA_3_Przyklad_01.xml").replace(b"<P_15>2051</P_15>", b"<P_15>2051.001</P_15>")
    assert any(error.startswith("/Faktura/Fa/P_15") for error in validate_fa3(xml))


def test_xml_that_is_not_well_formed_or_unsafe_gives_one_error_and_no_expansion() -> None:
    (error,) = validate_fa3(b"<Faktura>")
    assert "not well-formed" in error
    external = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b"<Faktura>&e;</Faktura>"
    )
    (error,) = validate_fa3(external)
    assert "root:" not in error


def test_errors_are_capped() -> None:
    rows = b"".join(b"<P_13_1>x</P_13_1>" for _ in range(MAX_ERRORS * 3))
    xml = sample("FA_3_Przyklad_01.xml").replace(b"<P_13_1>1666.66</P_13_1>", rows)
    assert len(validate_fa3(xml)) == MAX_ERRORS
