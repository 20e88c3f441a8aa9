"""What KSeF checks in a decrypted invoice and what it reads from it (ksef-api.md §5.3, §7.1).

:func:`verify` returns the status-450 details of a file KSeF refuses (not UTF-8, a BOM, a
non-UTF-8 prolog, a processing instruction, forbidden code points, not valid against FA(3));
:func:`read` takes the fields the metadata, the duplicate check and the UPO need.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, cast

import attrs
from lxml import etree

from ksef_emulator.schemas import MAX_ERRORS, fa3_validator

__all__ = ["FA3_NAMESPACE", "InvoiceFacts", "read", "verify"]

FA3_NAMESPACE = "http://crd.gov.pl/wzor/2025/06/25/13775/"
_NS = {"fa": FA3_NAMESPACE}
_PROLOG_ENCODING = re.compile(rb"^<\?xml[^>]*encoding\s*=\s*[\"']([^\"']+)[\"']")
_FORBIDDEN = re.compile(
    "[\x7f-\x84\x86-\x9f\ufdd0-\ufdef\ufffe\uffff\U0001fffe\U0001ffff\U0002fffe\U0002ffff"
    "\U0003fffe\U0003ffff\U0004fffe\U0004ffff\U0005fffe\U0005ffff\U0006fffe\U0006ffff"
    "\U0007fffe\U0007ffff\U0008fffe\U0008ffff\U0009fffe\U0009ffff\U000afffe\U000affff"
    "\U000bfffe\U000bffff\U000cfffe\U000cffff\U000dfffe\U000dffff\U000efffe\U000effff"
    "\U000ffffe\U000fffff\U0010fffe\U0010ffff]"
)


def verify(xml: bytes) -> list[str]:
    """Why KSeF would reject ``xml`` at semantic verification (status 450); empty when not."""
    if xml.startswith(b"\xef\xbb\xbf"):
        return ["Plik faktury zawiera znacznik BOM."]
    try:
        text = xml.decode("utf-8")
    except UnicodeDecodeError as error:
        return [f"Nieprawidłowa sekwencja bajtów UTF-8 na pozycji {error.start}."]
    declared = _PROLOG_ENCODING.match(xml)
    if declared and declared.group(1).decode("ascii", "replace").lower() not in ("utf-8", "utf8"):
        return [f"Nieobsługiwane kodowanie w prologu XML: {declared.group(1).decode()}."]
    body = text[text.index("?>") + 2 :] if text.startswith("<?xml") else text
    if "<?" in body:
        return ["Plik faktury zawiera instrukcje przetwarzania."]
    found = _FORBIDDEN.search(text)
    if found:
        return [f"Niedozwolony znak U+{ord(found.group()):04X} w pliku faktury."]
    if b"<!DOCTYPE" in xml:
        return ["Plik faktury zawiera deklarację DOCTYPE."]
    try:
        document = _parse(xml)
    except etree.XMLSyntaxError as error:
        return [f"Nieprawidłowy XML: {error}"]
    validator = fa3_validator()
    if validator.validate(document):
        return []
    errors = cast(Iterable[Any], validator.error_log)  # iterable; the stubs do not say so
    return [f"{e.path or '/'}: {e.message}" for e in list(errors)[:MAX_ERRORS]]


def _parse(xml: bytes) -> etree._Element:
    """Parse refusing DTDs, entities and the network (a hostile document gets nothing)."""
    parser = etree.XMLParser(
        no_network=True, resolve_entities=False, load_dtd=False, huge_tree=False
    )
    return etree.fromstring(xml, parser)


@attrs.frozen
class InvoiceFacts:
    """The fields of an FA(3) invoice that KSeF stores as metadata."""

    seller_nip: str
    seller_name: str | None
    buyer_type: str  # Nip | VatUe | Other | None
    buyer_value: str | None
    buyer_name: str | None
    invoice_number: str
    issue_date: date
    invoice_type: str
    currency: str
    net: Decimal
    vat: Decimal
    gross: Decimal
    has_attachment: bool
    is_self_invoicing: bool
    third_subjects: tuple[dict[str, Any], ...]


def _text(element: etree._Element | None, path: str) -> str | None:
    if element is None:
        return None
    found = element.find(path, _NS)
    return found.text.strip() if found is not None and found.text else None


def _amount(text: str | None) -> Decimal:
    try:
        return Decimal(text) if text else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def read(xml: bytes) -> InvoiceFacts:
    """The metadata of a valid FA(3) file (call :func:`verify` first)."""
    try:
        root = _parse(xml)
    except etree.XMLSyntaxError as error:
        raise ValueError(str(error)) from error
    seller = root.find("fa:Podmiot1", _NS)
    buyer = root.find("fa:Podmiot2", _NS)
    fa = root.find("fa:Fa", _NS)
    buyer_ids = buyer.find("fa:DaneIdentyfikacyjne", _NS) if buyer is not None else None
    buyer_type, buyer_value = "None", None
    if buyer_ids is not None:
        if (nip := _text(buyer_ids, "fa:NIP")) is not None:
            buyer_type, buyer_value = "Nip", nip
        elif (vat_ue := _text(buyer_ids, "fa:NrVatUE")) is not None:
            buyer_type, buyer_value = "VatUe", f"{_text(buyer_ids, 'fa:KodUE') or ''}{vat_ue}"
        elif (other := _text(buyer_ids, "fa:NrID")) is not None:
            buyer_type, buyer_value = "Other", other
    currency = _text(fa, "fa:KodWaluty") or "PLN"
    net = sum(
        (
            _amount(_text(fa, f"fa:P_13_{n}"))
            for n in ("1", "2", "3", "4", "5", "6_1", "6_2", "6_3", "7", "8", "9", "10", "11")
        ),
        Decimal(0),
    )
    # The VAT metadata is in PLN: a foreign-currency invoice states it in P_14_xW.
    vat_fields = ("1", "2", "3", "4", "5")
    vat = Decimal(0)
    for n in vat_fields:
        in_pln = _text(fa, f"fa:P_14_{n}W") if currency != "PLN" else None
        vat += _amount(in_pln if in_pln is not None else _text(fa, f"fa:P_14_{n}"))
    third = tuple(
        {
            "identifier": {"type": "Nip", "value": _text(p, "fa:DaneIdentyfikacyjne/fa:NIP")},
            "name": _text(p, "fa:DaneIdentyfikacyjne/fa:Nazwa"),
            "role": int(_text(p, "fa:Rola") or 0),
        }
        for p in root.findall("fa:Podmiot3", _NS)
        if _text(p, "fa:DaneIdentyfikacyjne/fa:NIP")
    )
    annotations = fa.find("fa:Adnotacje", _NS) if fa is not None else None
    return InvoiceFacts(
        seller_nip=_text(seller, "fa:DaneIdentyfikacyjne/fa:NIP") or "",
        seller_name=_text(seller, "fa:DaneIdentyfikacyjne/fa:Nazwa"),
        buyer_type=buyer_type,
        buyer_value=buyer_value,
        buyer_name=_text(buyer_ids, "fa:Nazwa"),
        invoice_number=_text(fa, "fa:P_2") or "",
        issue_date=date.fromisoformat(_text(fa, "fa:P_1") or "1970-01-01"),
        invoice_type=_text(fa, "fa:RodzajFaktury") or "VAT",
        currency=currency,
        net=net,
        vat=vat,
        gross=_amount(_text(fa, "fa:P_15")),
        has_attachment=root.find("fa:Zalacznik", _NS) is not None,
        is_self_invoicing=_text(annotations, "fa:P_17") == "1",
        third_subjects=third,
    )


#: FA(3) ``RodzajFaktury`` → the metadata ``invoiceType``.
INVOICE_TYPES = {
    "VAT": "Vat",
    "ZAL": "Zal",
    "KOR": "Kor",
    "ROZ": "Roz",
    "UPR": "Upr",
    "KOR_ZAL": "KorZal",
    "KOR_ROZ": "KorRoz",
}
