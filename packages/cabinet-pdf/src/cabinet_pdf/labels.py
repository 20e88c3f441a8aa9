"""Printed words: labels in Polish and English (the titles of the built-in types are in
:mod:`cabinet_pdf.printed_types`).

A bilingual document (language ``"pl+en"``) prints both, Polish first, as Polish invoices for
foreign buyers customarily do ("Sprzedawca / Seller").
"""

from __future__ import annotations

from collections.abc import Mapping

LABELS: Mapping[str, Mapping[str, str]] = {
    "number": {"pl": "Nr", "en": "No."},
    "issue_date": {"pl": "Data wystawienia", "en": "Issue date"},
    "sale_date": {"pl": "Data sprzedaży", "en": "Date of sale"},
    "receipt_date": {"pl": "Data otrzymania", "en": "Date received"},
    "due_date": {"pl": "Termin płatności", "en": "Payment due"},
    "seller": {"pl": "Sprzedawca", "en": "Seller"},
    "buyer": {"pl": "Nabywca", "en": "Buyer"},
    "ordering_party": {"pl": "Zamawiający", "en": "Ordering party"},
    "contractor": {"pl": "Wykonawca", "en": "Contractor"},
    "company": {"pl": "Firma", "en": "Company"},
    "nip": {"pl": "NIP", "en": "Tax ID (NIP)"},
    "vat_eu": {"pl": "NIP UE", "en": "EU VAT No."},
    "lp": {"pl": "Lp.", "en": "No."},
    "item": {"pl": "Nazwa towaru lub usługi", "en": "Description"},
    "quantity": {"pl": "Ilość", "en": "Qty"},
    "unit": {"pl": "J.m.", "en": "Unit"},
    "net_price": {"pl": "Cena netto", "en": "Net price"},
    "gross_price": {"pl": "Cena brutto", "en": "Gross price"},
    "net_value": {"pl": "Wartość netto", "en": "Net amount"},
    "gross_value": {"pl": "Wartość brutto", "en": "Gross amount"},
    "vat_rate": {"pl": "Stawka VAT", "en": "VAT rate"},
    "net": {"pl": "Netto", "en": "Net"},
    "vat": {"pl": "VAT", "en": "VAT"},
    "gross": {"pl": "Brutto", "en": "Gross"},
    "vat_pln": {"pl": "VAT w PLN", "en": "VAT in PLN"},
    "total": {"pl": "Razem", "en": "Total"},
    "total_due": {"pl": "Do zapłaty", "en": "Total due"},
    "to_refund": {"pl": "Do zwrotu", "en": "To be refunded"},
    "yes": {"pl": "tak", "en": "yes"},
    "no": {"pl": "nie", "en": "no"},
    "remuneration": {"pl": "Wynagrodzenie", "en": "Remuneration"},
    "amount": {"pl": "Kwota", "en": "Amount"},
    "date": {"pl": "Data", "en": "Date"},
    "description": {"pl": "Opis operacji", "en": "Description"},
    "document_number": {"pl": "Nr dowodu", "en": "Document No."},
    "receipt": {"pl": "Przychód", "en": "Receipt"},
    "payment": {"pl": "Rozchód", "en": "Payment"},
    "opening_balance": {"pl": "Stan kasy z poprzedniego raportu", "en": "Opening balance"},
    "receipts": {"pl": "Przychody", "en": "Receipts"},
    "payments": {"pl": "Rozchody", "en": "Payments"},
    "closing_balance": {"pl": "Stan kasy na koniec okresu", "en": "Closing balance"},
    "in_words": {"pl": "Słownie", "en": "In words"},
    "payment_method": {"pl": "Sposób płatności", "en": "Payment method"},
    "bank_account": {"pl": "Rachunek bankowy", "en": "Bank account"},
    "exchange_rate": {"pl": "Kurs NBP", "en": "NBP rate"},
    "notes": {"pl": "Uwagi", "en": "Notes"},
    "before": {"pl": "Przed korektą", "en": "Before correction"},
    "after": {"pl": "Po korekcie", "en": "After correction"},
    "difference": {"pl": "Różnica", "en": "Difference"},
    "page": {"pl": "Strona", "en": "Page"},
    "issued_in": {"pl": "Wystawiono w kabinecie", "en": "Issued in the client cabinet of"},
    "draft": {"pl": "PROJEKT", "en": "DRAFT"},
    "status": {"pl": "Status", "en": "Status"},
    "corrected_invoice": {"pl": "Faktura korygowana", "en": "Corrected invoice"},
    "of_date": {"pl": "z dnia", "en": "of"},
    "ksef_number": {"pl": "Numer KSeF", "en": "KSeF number"},
    "verification": {
        "pl": "Kody weryfikujące KSeF",
        "en": "KSeF verification codes",
    },
    "offline_offline24": {
        "pl": "Faktura wystawiona w trybie offline24",
        "en": "Invoice issued in the offline24 mode",
    },
    "offline_unavailability": {
        "pl": "Faktura wystawiona w trybie offline (niedostępność KSeF)",
        "en": "Invoice issued in the offline mode (KSeF unavailable)",
    },
    "offline_emergency": {
        "pl": "Faktura wystawiona w trybie awaryjnym (awaria KSeF)",
        "en": "Invoice issued in the emergency mode (KSeF failure)",
    },
    "reason": {"pl": "Przyczyna korekty", "en": "Reason for the correction"},
    "exemption_basis": {
        "pl": "Podstawa zwolnienia z VAT",
        "en": "Legal basis of the VAT exemption",
    },
    "not_vat_invoice": {
        "pl": "Dokument nie jest fakturą VAT",
        "en": "This is not a VAT invoice",
    },
}

#: The markers art. 106e ust. 1 pkt 16, 18 and 18a requires in these very Polish words; an
#: English document prints its own words with the statutory ones in brackets.
MARKERS: Mapping[str, Mapping[str, str]] = {
    "cash_method": {"pl": "metoda kasowa", "en": "cash accounting"},
    "reverse_charge": {"pl": "odwrotne obciążenie", "en": "reverse charge"},
    "split_payment": {
        "pl": "mechanizm podzielonej płatności",
        "en": "split payment mechanism",
    },
}

PAYMENT_METHODS: Mapping[str, Mapping[str, str]] = {
    "1": {"pl": "gotówka", "en": "cash"},
    "2": {"pl": "karta", "en": "card"},
    "3": {"pl": "bon", "en": "voucher"},
    "4": {"pl": "czek", "en": "cheque"},
    "5": {"pl": "kredyt", "en": "credit"},
    "6": {"pl": "przelew", "en": "bank transfer"},
    "7": {"pl": "płatność mobilna", "en": "mobile payment"},
    "other": {"pl": "inna", "en": "other"},
}


def languages_of(language: str) -> tuple[str, ...]:
    """The languages a document prints in: ``"pl+en"`` → ``("pl", "en")``."""
    parts = tuple(part for part in language.split("+") if part in ("pl", "en"))
    return parts or ("pl",)


def pick(words: Mapping[str, str], language: str, *, sep: str = " / ") -> str:
    """``words`` in ``language``; both joined by ``sep`` for a bilingual document."""
    return sep.join(
        dict.fromkeys(words.get(lang) or words.get("en", "") for lang in languages_of(language))
    )


def label(key: str, language: str, *, sep: str = " / ") -> str:
    """A printed label (see :data:`LABELS`) in ``language``."""
    return pick(LABELS[key], language, sep=sep)


def statutory(words: Mapping[str, str], language: str) -> str:
    """Words the law requires in Polish: as :func:`pick` when Polish is printed, else the
    English words followed by the Polish ones in brackets ("cash accounting (metoda kasowa)")."""
    if "pl" in languages_of(language):
        return pick(words, language)
    return f"{pick(words, language)} ({words['pl']})"
