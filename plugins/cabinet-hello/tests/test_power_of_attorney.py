from __future__ import annotations

from datetime import date

import pytest
from cabinet_core.doctypes import DocumentType
from cabinet_core.entities import Document, DocumentLine, Role
from cabinet_hello import PowerOfAttorney


def poa(**extra) -> Document:
    values = {"attorney": "Jan Żółkiewski", "scope": "specific", "acts": "Odbiór przesyłek"}
    return Document(
        client_id=1,
        doc_type="power_of_attorney",
        issue_date=date(2026, 11, 27),
        extra={**values, **extra},
    )


def codes(document: Document) -> set[tuple[str, str]]:
    return {(error.field, error.code) for error in PowerOfAttorney().validate(document)}


def test_declares_what_a_document_type_needs():
    doc_type = PowerOfAttorney()
    assert isinstance(doc_type, DocumentType)
    assert doc_type.key == "power_of_attorney"
    assert doc_type.label == {"pl": "Pełnomocnictwo", "en": "Power of attorney"}
    assert doc_type.series_pattern == "PEL/{seq}/{YYYY}"
    assert not doc_type.has_lines
    assert not doc_type.vat_bearing
    assert [spec.name for spec in doc_type.fields] == ["attorney", "scope", "acts", "valid_until"]


def test_a_complete_power_of_attorney_is_valid():
    assert codes(poa(valid_until="2027-12-31")) == set()


def test_attorney_and_acts_are_required():
    assert codes(poa(attorney="", acts=" ")) == {
        ("extra.attorney", "required"),
        ("extra.acts", "required"),
    }


def test_it_cannot_expire_before_it_is_granted():
    assert codes(poa(valid_until="2026-11-26")) == {("extra.valid_until", "before_issue_date")}
    assert codes(poa(valid_until="2026-11-27")) == set()


def test_unknown_scope_unknown_fields_and_lines_are_refused():
    document = poa(scope="everything", colour="red")
    with_line = Document(
        client_id=1,
        doc_type="power_of_attorney",
        issue_date=date(2026, 11, 27),
        extra=poa().extra,
        lines=(DocumentLine(name="x", unit_price=1),),
    )
    assert codes(document) == {("extra.scope", "invalid"), ("extra.colour", "unknown")}
    assert codes(with_line) == {("lines", "not_allowed")}


@pytest.mark.parametrize("role", [Role.CLIENT, Role.MANAGER, Role.ADMIN])
def test_signing_takes_a_number_and_ends_the_workflow(role):
    workflow = PowerOfAttorney().workflow
    assert workflow.initial == "draft"
    (sign,) = workflow.available("draft", role)
    assert (sign.key, sign.target, sign.assigns_number) == ("sign", "signed", True)
    assert workflow.state("signed").final
    assert workflow.available("signed", role) == ()


def test_the_accountant_does_not_sign_for_the_client():
    assert PowerOfAttorney().workflow.available("draft", Role.ACCOUNTANT) == ()
