"""Contract templates (wzory umów) and the placeholders a contract fills them with.

An admin keeps templates per contract kind (umowa o dzieło, umowa zlecenie) and language. Every
change of a template's text is a new :class:`TemplateVersion`, never an edit of an old one: a
contract stores the version it was made from (``extra["template_version_id"]``), so it keeps its
wording when the template changes later.

:func:`contract_context` builds what a template sees: the ordering party (the firm's client,
*zamawiający*), the contractor (*wykonawca* / *zleceniobiorca*: a person with a PESEL or a company
with a NIP) and the values typed for the contract, all as plain strings, booleans and lists, so
a template needs no filters and reaches nothing but this data. :data:`PLACEHOLDERS` lists them
(the staff guide documents the same list).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import attrs

from cabinet_core.entities import Address, Client, Document, Party, PartyKind
from cabinet_core.words import amount_in_words

#: Languages a contract template is written in.
TEMPLATE_LANGUAGES = ("pl", "en")

#: Fields of exploitation (pola eksploatacji, art. 50 of the Copyright Act) a copyright transfer
#: may cover, by key, with their wording in each language.
FIELDS_OF_EXPLOITATION: Mapping[str, Mapping[str, str]] = {
    "recording": {
        "pl": "utrwalanie i zwielokrotnianie utworu dowolną techniką, w tym drukarską, "
        "reprograficzną, zapisu magnetycznego oraz cyfrową",
        "en": "recording and reproducing the work by any technique, including print, "
        "reprography, magnetic recording and digital technology",
    },
    "trading": {
        "pl": "wprowadzanie do obrotu, użyczenie lub najem oryginału albo egzemplarzy",
        "en": "placing on the market, lending or renting the original or copies",
    },
    "public": {
        "pl": "publiczne wykonanie, wystawienie, wyświetlenie, odtworzenie oraz nadawanie "
        "i reemitowanie",
        "en": "public performance, exhibition, display, playback, broadcasting and rebroadcasting",
    },
    "internet": {
        "pl": "publiczne udostępnianie utworu w taki sposób, aby każdy mógł mieć do niego "
        "dostęp w miejscu i w czasie przez siebie wybranym, w tym w Internecie",
        "en": "making the work available to the public so that anyone may access it at a "
        "place and time of their choosing, including on the Internet",
    },
    "adaptation": {
        "pl": "wprowadzanie zmian, tłumaczenie i inne opracowania oraz zezwalanie na "
        "wykonywanie zależnego prawa autorskiego",
        "en": "modification, translation and other adaptations, and authorising the "
        "exercise of derivative copyright",
    },
}

#: Every placeholder a template may use, with what it holds (the staff guide's reference).
PLACEHOLDERS: Mapping[str, str] = {
    "ordering_party.name": "the client's name (the ordering party)",
    "ordering_party.nip": "the client's NIP",
    "ordering_party.regon": "the client's REGON ('' if none)",
    "ordering_party.krs": "the client's KRS ('' if none)",
    "ordering_party.address": "the client's address on one line",
    "ordering_party.email": "the client's e-mail",
    "contractor.name": "the contractor's name (a person's full name or a company's name)",
    "contractor.is_person": "true for a natural person, false for a company",
    "contractor.pesel": "a person's PESEL ('' for a company)",
    "contractor.nip": "a company's NIP (or a person's, if given)",
    "contractor.address": "the contractor's address on one line",
    "contractor.email": "the contractor's e-mail",
    "contract.number": "the contract's number ('' until it is signed)",
    "contract.date": "the contract's date",
    "contract.kind": "dzielo or zlecenie",
    "contract.kind_label": "the kind's name in the template's language",
    "contract.subject": "the subject of the contract as typed",
    "contract.date_from": "the start date",
    "contract.date_to": "the end date ('' if open-ended)",
    "contract.hourly": "true for an hourly rate, false for a lump sum",
    "contract.amount": "the gross lump sum with its currency ('' for an hourly rate)",
    "contract.amount_in_words": "the lump sum in words",
    "contract.hourly_rate": "the gross hourly rate with its currency ('' for a lump sum)",
    "contract.currency": "the currency code",
    "contract.copyright_transfer": "true when the copyright is transferred",
    "contract.fields_of_exploitation": "the chosen fields of exploitation (a list of texts)",
}

_MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@attrs.frozen(kw_only=True)
class TemplateVersion:
    """One wording of a template; never changed once written."""

    id: int | None = None
    template_id: int | None = None
    version: int = 1
    body: str
    author_id: int | None = None
    created_at: datetime | None = None


@attrs.frozen(kw_only=True)
class ContractTemplate:
    """A contract template (wzór umowy) for one contract kind and language.

    ``body`` is the text of its current version (``version``, row ``version_id``); ``builtin``
    marks the ones the cabinet ships (they can be edited and deactivated like any other).
    """

    id: int | None = None
    key: str = ""
    name: str
    contract_kind: str
    language: str = "pl"
    body: str = ""
    version: int = 1
    version_id: int | None = None
    active: bool = True
    builtin: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None


def format_date(value: date | None, language: str) -> str:
    """``07.12.2026`` in Polish, ``7 December 2026`` in English; ``''`` for none."""
    if value is None:
        return ""
    if language == "en":
        return f"{value.day} {_MONTHS_EN[value.month - 1]} {value.year}"
    return value.strftime("%d.%m.%Y")


def format_money(value: Decimal | None, currency: str, language: str) -> str:
    """``1 000,00 PLN`` in Polish, ``1,000.00 PLN`` in English; ``''`` for none."""
    if value is None:
        return ""
    text = f"{value:,.2f}"
    if language != "en":
        text = text.replace(",", " ").replace(".", ",")
    return f"{text} {currency}"


def one_line(address: Address) -> str:
    """An address on one line: street, postal code and city, country if not Poland."""
    city = " ".join(part for part in (address.postal_code, address.city) if part)
    parts = [address.line1, address.line2, city]
    if address.country and address.country != "PL":
        parts.append(address.country)
    return ", ".join(part for part in parts if part)


def _party(party: Party | None, pesel: str) -> dict[str, Any]:
    if party is None:
        return {"name": "", "is_person": False, "pesel": "", "nip": "", "address": "", "email": ""}
    return {
        "name": party.name,
        "is_person": party.kind is PartyKind.PERSON,
        "pesel": pesel if party.kind is PartyKind.PERSON else "",
        "nip": party.nip or "",
        "address": one_line(party.address),
        "email": party.email,
    }


def contract_context(
    document: Document,
    client: Client,
    *,
    language: str,
    kind_labels: Mapping[str, Mapping[str, str]],
) -> dict[str, Any]:
    """What a template of ``language`` sees for ``document`` of ``client`` (see
    :data:`PLACEHOLDERS`); ``kind_labels`` are the contract kinds' names per language."""
    extra = document.extra
    currency = document.currency

    def money(name: str) -> Decimal | None:
        value = extra.get(name)
        return Decimal(str(value)) if value not in (None, "") else None

    def day(name: str) -> date | None:
        value = extra.get(name)
        if isinstance(value, date):
            return value
        return date.fromisoformat(value) if isinstance(value, str) and value else None

    hourly = extra.get("rate_type") == "hourly"
    amount = None if hourly else money("amount")
    kind = str(extra.get("contract_kind") or "")
    chosen: Sequence[str] = extra.get("fields_of_exploitation") or ()
    copyright_transfer = bool(extra.get("copyright_transfer"))
    # The ordering party as the contract recorded it when saved (its seller snapshot), so a
    # later change of the client's profile does not rewrite a signed contract.
    ordering = document.seller or Party(
        name=client.name, nip=client.nip, address=client.address, email=client.email
    )
    # The three namespaces a template reads: ordering_party, contractor and contract.
    return dict(
        ordering_party={
            "name": ordering.name,
            "nip": ordering.nip or "",
            "regon": client.regon or "",
            "krs": client.krs or "",
            "address": one_line(ordering.address),
            "email": ordering.email,
        },
        contractor=_party(document.buyer, str(extra.get("contractor_pesel") or "")),
        contract={
            "number": document.number or "",
            "date": format_date(document.issue_date, language),
            "kind": kind,
            "kind_label": kind_labels.get(kind, {}).get(language, kind),
            "subject": str(extra.get("subject") or ""),
            "date_from": format_date(day("date_from"), language),
            "date_to": format_date(day("date_to"), language),
            "hourly": hourly,
            "amount": format_money(amount, currency, language),
            "amount_in_words": amount_in_words(amount, currency, language)
            if amount is not None
            else "",
            "hourly_rate": format_money(
                money("hourly_rate") if hourly else None, currency, language
            ),
            "currency": currency,
            "copyright_transfer": copyright_transfer,
            "fields_of_exploitation": [
                FIELDS_OF_EXPLOITATION[key][language]
                for key in FIELDS_OF_EXPLOITATION
                if key in chosen
            ]
            if copyright_transfer
            else [],
        },
    )


def sample_document(doc_type: str, contract_kind: str, language: str) -> tuple[Document, Client]:
    """A filled-in contract and client for previews and the dry run at save time: every
    placeholder has a value, and the copyright transfer is chosen with every field."""
    client = Client(
        id=0,
        name="Przykładowa Spółka sp. z o.o." if language == "pl" else "Sample Company Ltd",
        nip="5260250274",
        regon="012345678",
        address=Address(line1="ul. Żółkiewskiego 12", postal_code="00-950", city="Warszawa"),
        email="biuro@example.com",
    )
    document = Document(
        client_id=0,
        doc_type=doc_type,
        number="UM/1/2026",
        issue_date=date(2026, 12, 1),
        language=language,
        buyer=Party(
            kind=PartyKind.PERSON,
            name="Jan Kowalski",
            address=Address(line1="ul. Łąkowa 5/7", postal_code="30-001", city="Kraków"),
            email="jan.kowalski@example.com",
        ),
        extra={
            "contract_kind": contract_kind,
            "subject": "Projekt graficzny logo i księgi znaku"
            if language == "pl"
            else "Design of a logo and a brand book",
            "date_from": "2026-12-01",
            "date_to": "2026-12-31",
            "rate_type": "lump_sum",
            "amount": "1000.00",
            "copyright_transfer": True,
            "fields_of_exploitation": list(FIELDS_OF_EXPLOITATION),
            "contractor_pesel": "44051401359",
        },
    )
    return document, client


__all__ = [
    "FIELDS_OF_EXPLOITATION",
    "PLACEHOLDERS",
    "TEMPLATE_LANGUAGES",
    "ContractTemplate",
    "TemplateVersion",
    "contract_context",
    "format_date",
    "format_money",
    "one_line",
    "sample_document",
]
