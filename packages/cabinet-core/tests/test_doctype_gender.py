"""Each document type declares the grammatical gender of its Polish name, and the Polish words
its workflow says about a document agree with it ("Faktura VAT – Wystawiona", never
"Wystawiony")."""

from __future__ import annotations

import pytest
from cabinet_core.default_document_types import BUILT_IN_TYPES
from cabinet_core.doctypes import BaseDocumentType, Gender
from cabinet_core.doctypes.common import sales_workflow

#: Polish adjective and participle endings in the nominative singular of each gender.
ENDINGS = {Gender.MASCULINE: ("y", "i"), Gender.FEMININE: ("a",), Gender.NEUTER: ("e",)}
#: State labels that are nouns, not words that agree (a draft is "Szkic" whatever it drafts).
NOUNS = {"Szkic"}


@pytest.mark.parametrize("document_type", BUILT_IN_TYPES, ids=lambda t: t.key)
def test_state_words_agree_with_the_declared_gender(document_type: type[BaseDocumentType]) -> None:
    gender = document_type.gender
    assert isinstance(gender, Gender)
    for state in document_type.workflow.states:
        first_word = state.label["pl"].split()[0]
        if first_word in NOUNS:
            continue
        assert first_word.endswith(ENDINGS[gender]), (document_type.key, state.label["pl"])


@pytest.mark.parametrize(
    ("key", "gender", "issued"),
    [
        ("vat_invoice", Gender.FEMININE, "Wystawiona"),
        ("proforma", Gender.FEMININE, "Wystawiona"),
        ("correcting_invoice", Gender.FEMININE, "Wystawiona"),
        ("bill", Gender.MASCULINE, "Wystawiony"),
    ],
)
def test_an_issued_document_is_named_as_its_type_requires(
    key: str, gender: Gender, issued: str
) -> None:
    [document_type] = [t for t in BUILT_IN_TYPES if t.key == key]
    assert document_type.gender is gender
    assert document_type.workflow.state("issued").label == {"pl": issued, "en": "Issued"}


def test_the_sales_workflow_words_follow_the_gender_it_is_given() -> None:
    neuter = sales_workflow(cancellable_from=("draft",), ksef=True, gender=Gender.NEUTER)
    labels = {state.key: state.label["pl"] for state in neuter.states}
    assert labels == {
        "draft": "Szkic",
        "issued": "Wystawione",
        "sent": "Wysłane",
        "paid": "Opłacone",
        "ksef_rejected": "Odrzucone przez KSeF – do poprawy",
        "cancelled": "Anulowane",
    }
    assert neuter.transition("mark_paid").label["pl"] == "Oznacz jako opłacone"
    feminine = sales_workflow(gender=Gender.FEMININE)
    assert feminine.transition("send").label["pl"] == "Oznacz jako wysłaną"
    # English needs no agreement: the same words for every gender.
    assert feminine.state("paid").label["en"] == neuter.state("paid").label["en"] == "Paid"
