from __future__ import annotations

from cabinet_core.default_document_types import BUILT_IN_TYPES
from cabinet_pdf.labels import LABELS, PAYMENT_METHODS, label, languages_of, pick
from cabinet_pdf.printed_types import PRINTED_TYPES

TITLES = {key: printed.title for key, printed in PRINTED_TYPES.items()}
LEGACY = {
    key: printed.legacy_title for key, printed in PRINTED_TYPES.items() if printed.legacy_title
}


def test_every_label_and_title_exists_in_both_languages():
    for table in (LABELS, TITLES, LEGACY, PAYMENT_METHODS):
        for key, words in table.items():
            assert words is not None, key
            assert set(words) == {"pl", "en"}, key
            assert all(words.values()), key


def test_every_built_in_type_has_a_dedicated_title():
    assert {document_type.key for document_type in BUILT_IN_TYPES} == set(PRINTED_TYPES)


def test_bilingual_documents_print_polish_first():
    assert languages_of("pl+en") == ("pl", "en")
    assert languages_of("en") == ("en",)
    assert languages_of("de") == ("pl",)
    assert label("seller", "pl+en") == "Sprzedawca / Seller"
    # The same word in both languages is printed once.
    assert label("vat", "pl+en") == "VAT"
    assert pick({"pl": "Umowa"}, "en") == ""
    assert pick({"pl": "Umowa", "en": "Contract"}, "en") == "Contract"
