from __future__ import annotations

from cabinet_pdf.labels import LABELS, PAYMENT_METHODS, TITLES, label, languages_of, pick
from cabinet_pdf.renderer import DOCUMENT_TYPES


def test_every_label_and_title_exists_in_both_languages():
    for table in (LABELS, TITLES, PAYMENT_METHODS):
        for key, words in table.items():
            assert set(words) == {"pl", "en"}, key
            assert all(words.values()), key


def test_every_rendered_type_has_a_title():
    assert set(DOCUMENT_TYPES) <= set(TITLES)


def test_bilingual_documents_print_polish_first():
    assert languages_of("pl+en") == ("pl", "en")
    assert languages_of("en") == ("en",)
    assert languages_of("de") == ("pl",)
    assert label("seller", "pl+en") == "Sprzedawca / Seller"
    # The same word in both languages is printed once.
    assert label("vat", "pl+en") == "VAT"
    assert pick({"pl": "Umowa"}, "en") == ""
    assert pick({"pl": "Umowa", "en": "Contract"}, "en") == "Contract"
