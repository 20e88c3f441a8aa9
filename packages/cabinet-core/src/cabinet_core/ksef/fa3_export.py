"""FA(3) XML for the invoices KSeF accepts from the cabinet: VAT invoices and corrections (KOR).

The writer follows ``schemat_FA(3)_v1-0E.xsd`` element by element, in the schema's sequence
order (KSeF rejects a file whose elements are valid but out of order). The totals are always
recomputed from the lines with :mod:`cabinet_core.vat`, never copied from ``document.totals``,
so the file agrees with its own rows:

* ``P_13_x``/``P_14_x``/``P_14_xW`` per rate in the rate table's FA(3) fields; for a correction
  they hold the differences after − before (poland.md TV10), with the "before" rows written as
  ``StanPrzed`` = 1 and paired with their "after" row by ``NrWierszaFa``;
* ``Adnotacje`` from the document: cash accounting (``P_16``), reverse charge (``P_18``) when a
  line is ``np II`` or ``oo``, split payment (``P_18A``) by
  :func:`cabinet_core.vat.split_payment_applies` (annex-15 lines, ``P_12_Zal_15``, or the
  document's ``split_payment`` flag, above 15 000 PLN), the exemption basis (``P_19``) when a
  line is ``zw``; the cabinet issues neither self-billed, new-means-of-transport, triangular
  nor margin invoices, so those markers say "no";
* for a foreign currency each line carries the NBP rate (``KursWaluty``) as the MF examples do.

Check the result with :func:`cabinet_core.ksef.validation.validate_fa3` before sending it.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from cabinet_core.entities import (
    Address,
    Document,
    DocumentLine,
    DocumentTotals,
    Party,
    PaymentMethod,
    PriceMode,
    VatMethod,
)
from cabinet_core.errors import N_, FieldError, ValidationError
from cabinet_core.identifiers import eu_vat_prefixes, validate_nip
from cabinet_core.ksef._fields import NET_FIELDS
from cabinet_core.ksef._format import (
    PRICE_PLACES,
    QUANTITY_PLACES,
    amount_text,
    decimal_text,
    fits,
)
from cabinet_core.ksef.validation import FA3_NAMESPACE
from cabinet_core.vat import (
    POLAND_2026,
    TaxRules,
    compute_correction,
    compute_totals,
    line_amounts,
    needs_eu_buyer,
    split_payment_applies,
)

__all__ = ["FA3_KINDS", "document_to_fa3"]

#: The FA(3) ``RodzajFaktury`` values the cabinet writes (a type's ``ksef_kind``).
FA3_KINDS = frozenset({"VAT", "KOR"})

_GTU = re.compile(r"(?:GTU_?)?(\d{1,2})", re.IGNORECASE)


def _el(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    # Unqualified tags under a root that declares FA(3) as the default namespace: ElementTree
    # cannot combine a default namespace with the unqualified KodFormularza attributes.
    element = ET.SubElement(parent, tag)
    if text is not None:
        element.text = text
    return element


def _error(field: str, code: str, message: str, **params: Any) -> FieldError:
    return FieldError(field=field, code=code, message=message, params=params)


def _address_lines(address: Address) -> tuple[str, str]:
    """``AdresL1``/``AdresL2``: street and number, then postal code and town."""
    first = ", ".join(part.strip() for part in (address.line1, address.line2) if part.strip())
    second = " ".join(part.strip() for part in (address.postal_code, address.city) if part.strip())
    return (first, second) if first else (second, "")


def _write_address(parent: ET.Element, address: Address) -> None:
    first, second = _address_lines(address)
    node = _el(parent, "Adres")
    _el(node, "KodKraju", (address.country or "PL").upper())
    _el(node, "AdresL1", first)
    if second:
        _el(node, "AdresL2", second)


def _write_contact(parent: ET.Element, party: Party) -> None:
    if "@" in party.email:
        _el(_el(parent, "DaneKontaktowe"), "Email", party.email.strip())


def _write_seller(
    root: ET.Element, seller: Party, errors: list[FieldError], *, eu_prefix: bool
) -> None:
    """``Podmiot1``; ``eu_prefix`` writes ``PrefiksPodatnika`` PL (an intra-EU supply)."""
    nip = _nip(seller.nip, "seller.nip", errors, required=True)
    if not _address_lines(seller.address)[0]:
        errors.append(_error("seller.address", "required", N_("The seller's address is missing.")))
    if errors:
        return
    podmiot = _el(root, "Podmiot1")
    if eu_prefix:
        _el(podmiot, "PrefiksPodatnika", "PL")
    ids = _el(podmiot, "DaneIdentyfikacyjne")
    _el(ids, "NIP", nip)
    _el(ids, "Nazwa", seller.name.strip())
    _write_address(podmiot, seller.address)
    _write_contact(podmiot, seller)


def _nip(value: str | None, field: str, errors: list[FieldError], *, required: bool) -> str | None:
    if not value:
        if required:
            errors.append(_error(field, "required", N_("This field is required.")))
        return None
    try:
        return validate_nip(value, field=field)
    except ValidationError as error:
        errors.extend(error.errors)
        return None


def _write_buyer(root: ET.Element, buyer: Party, errors: list[FieldError]) -> None:
    """``Podmiot2``: a Polish NIP, an EU VAT number, another country's tax id, or none."""
    podmiot = _el(root, "Podmiot2")
    ids = _el(podmiot, "DaneIdentyfikacyjne")
    country = (buyer.address.country or "PL").upper()
    vat_eu = re.sub(r"[\s.-]", "", buyer.vat_eu or "").upper()
    if buyer.nip and (country == "PL" or not vat_eu):
        nip = _nip(buyer.nip, "buyer.nip", errors, required=True)
        _el(ids, "NIP", nip or "")
    elif vat_eu:
        prefix, number = vat_eu[:2], vat_eu[2:]
        if prefix in eu_vat_prefixes() and prefix != "PL" and number:
            _el(ids, "KodUE", prefix)
            _el(ids, "NrVatUE", number)
        else:
            # Outside the EU: the id keeps its country prefix in ``vat_eu`` when it has one.
            code, number = (prefix, vat_eu[2:]) if prefix.isalpha() else (country, vat_eu)
            if code != "PL":
                _el(ids, "KodKraju", code)
            _el(ids, "NrID", number or vat_eu)
    else:
        _el(ids, "BrakID", "1")
    _el(ids, "Nazwa", buyer.name.strip())
    if _address_lines(buyer.address)[0]:
        _write_address(podmiot, buyer.address)
    _write_contact(podmiot, buyer)
    # The buyer is neither a unit of a local-government body nor a VAT-group member (1 would
    # require naming the body or group as Podmiot3).
    _el(podmiot, "JST", "2")
    _el(podmiot, "GV", "2")


def _extra_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value.strip():
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "on", "yes")
    return bool(value)


def _totals(document: Document, rules: TaxRules, kind: str) -> DocumentTotals:
    options: dict[str, Any] = {
        "currency": document.currency,
        "price_mode": document.price_mode,
        "vat_method": document.vat_method,
        "exchange_rate": document.exchange_rate,
        "rules": rules,
    }
    if kind == "KOR":
        return compute_correction(document.lines, **options).difference
    return compute_totals(document.lines, **options)


def _write_rate_totals(fa: ET.Element, totals: DocumentTotals, rules: TaxRules) -> None:
    """``P_13_x``, ``P_14_x`` and ``P_14_xW`` in schema order; rates sharing a field are summed."""
    net: dict[str, Decimal] = {}
    vat: dict[str, tuple[str, Decimal, Decimal | None]] = {}
    for row in totals.rows:
        rate = rules.rate(row.rate)
        net[rate.fa3_net_field] = net.get(rate.fa3_net_field, Decimal(0)) + row.net
        if rate.fa3_vat_field is not None:
            field, so_far, so_far_pln = vat.get(
                rate.fa3_net_field, (rate.fa3_vat_field, Decimal(0), None)
            )
            pln = so_far_pln
            if row.vat_pln is not None:
                pln = (so_far_pln or Decimal(0)) + row.vat_pln
            vat[rate.fa3_net_field] = (field, so_far + row.vat, pln)
    for field in NET_FIELDS:
        if field not in net:
            continue
        _el(fa, field, amount_text(net[field]))
        if field in vat:
            vat_field, amount, pln = vat[field]
            _el(fa, vat_field, amount_text(amount))
            if pln is not None and totals.currency != "PLN" and field != "P_13_5":
                _el(fa, vat_field + "W", amount_text(pln))


def _exemption_element(basis: str) -> str:
    """Which ``P_19`` element holds an exemption basis: the VAT Act, the directive, or other."""
    lowered = basis.lower()
    if "dyrektyw" in lowered or "directive" in lowered or "2006/112" in lowered:
        return "P_19B"
    if "ustaw" in lowered or "art." in lowered:
        return "P_19A"
    return "P_19C"


def _write_annotations(
    fa: ET.Element,
    document: Document,
    totals: DocumentTotals,
    rules: TaxRules,
    errors: list[FieldError],
) -> None:
    lines = document.lines
    adnotacje = _el(fa, "Adnotacje")
    _el(adnotacje, "P_16", "1" if _flag(document.extra.get("cash_method")) else "2")
    _el(adnotacje, "P_17", "2")
    reverse = any(rules.rate(line.vat_rate).reverse_charge for line in lines)
    _el(adnotacje, "P_18", "1" if reverse else "2")
    # Annex-15 goods are marked per line (``P_12_Zal_15``) or for the whole invoice by its
    # ``split_payment`` flag; the marker itself is only written above the threshold, as the
    # schema's P_18A note requires (a correction: by the corrected total, not the difference).
    split = split_payment_applies(document, rules=rules)
    _el(adnotacje, "P_18A", "1" if split else "2")
    zwolnienie = _el(adnotacje, "Zwolnienie")
    if any(line.vat_rate == "zw" for line in lines):
        basis = str(document.extra.get("exemption_basis") or "").strip()
        if not basis:
            errors.append(
                _error(
                    "extra.exemption_basis",
                    "required",
                    N_("Give the legal basis of the VAT exemption."),
                )
            )
        _el(zwolnienie, "P_19", "1")
        _el(zwolnienie, _exemption_element(basis), basis)
    else:
        _el(zwolnienie, "P_19N", "1")
    _el(_el(adnotacje, "NoweSrodkiTransportu"), "P_22N", "1")
    _el(adnotacje, "P_23", "2")
    _el(_el(adnotacje, "PMarzy"), "P_PMarzyN", "1")


def _write_correction(fa: ET.Element, document: Document, errors: list[FieldError]) -> None:
    """``PrzyczynaKorekty`` and ``DaneFaKorygowanej`` (number, date, KSeF number if any)."""
    reason = str(document.extra.get("reason") or "").strip()
    if reason:
        # TZnakowy is one line of at most 256 characters.
        _el(fa, "PrzyczynaKorekty", " ".join(reason.split())[:256])
    number = str(document.extra.get("corrected_number") or "").strip()
    issued = _extra_date(document.extra.get("corrected_issue_date"))
    if not number:
        errors.append(_error("extra.corrected_number", "required", N_("This field is required.")))
    if issued is None:
        errors.append(
            _error("extra.corrected_issue_date", "required", N_("This field is required."))
        )
    if not number or issued is None:
        return
    corrected = _el(fa, "DaneFaKorygowanej")
    _el(corrected, "DataWystFaKorygowanej", issued.isoformat())
    _el(corrected, "NrFaKorygowanej", number)
    ksef_number = str(document.extra.get("corrected_ksef_number") or "").strip()
    if ksef_number:
        _el(corrected, "NrKSeF", "1")
        _el(corrected, "NrKSeFFaKorygowanej", ksef_number)
    else:
        # The corrected invoice was issued outside KSeF (before the obligation, or offline).
        _el(corrected, "NrKSeFN", "1")


def _gtu(code: str | None) -> str | None:
    match = _GTU.fullmatch((code or "").strip())
    if match is None or not 1 <= int(match.group(1)) <= 13:
        return None
    return f"GTU_{int(match.group(1)):02d}"


def _number(value: Decimal, places: int, field: str, errors: list[FieldError]) -> str:
    if not fits(value, places):
        errors.append(
            _error(
                field,
                "too_many_decimals",
                N_("At most %(places)s decimal places are allowed."),
                places=places,
            )
        )
        return "0"
    return decimal_text(value, places)


def _write_lines(
    fa: ET.Element, document: Document, rules: TaxRules, errors: list[FieldError]
) -> None:
    """``FaWiersz`` rows; a correction's "before" row shares its number with the next row."""
    position = 0
    previous_before = False
    kurs = document.exchange_rate.rate if document.exchange_rate is not None else None
    gross_prices = document.price_mode is PriceMode.GROSS
    for index, line in enumerate(document.lines):
        if not (previous_before and not line.before):
            position += 1
        previous_before = line.before
        _write_line(fa, line, position, index, document, kurs, gross_prices, rules, errors)


def _write_line(
    fa: ET.Element,
    line: DocumentLine,
    position: int,
    index: int,
    document: Document,
    kurs: Decimal | None,
    gross_prices: bool,
    rules: TaxRules,
    errors: list[FieldError],
) -> None:
    prefix = f"lines.{index}"
    amounts = line_amounts(
        line, price_mode=document.price_mode, rules=rules, currency=document.currency
    )
    row = _el(fa, "FaWiersz")
    _el(row, "NrWierszaFa", str(position))
    _el(row, "P_7", " ".join(line.name.split())[:512])
    if line.unit.strip():
        _el(row, "P_8A", line.unit.strip())
    _el(row, "P_8B", _number(line.quantity, QUANTITY_PLACES, f"{prefix}.quantity", errors))
    price = _number(line.unit_price, PRICE_PLACES, f"{prefix}.unit_price", errors)
    if gross_prices:
        _el(row, "P_9B", price)
        _el(row, "P_11A", amount_text(amounts.gross))
    else:
        _el(row, "P_9A", price)
        _el(row, "P_11", amount_text(amounts.net))
    if document.vat_method is VatMethod.PER_LINE and rules.rate(line.vat_rate).bears_vat:
        _el(row, "P_11Vat", amount_text(amounts.vat))
    _el(row, "P_12", line.vat_rate)
    if line.annex15:
        _el(row, "P_12_Zal_15", "1")
    gtu = _gtu(line.gtu)
    if gtu is not None:
        _el(row, "GTU", gtu)
    if kurs is not None and document.currency != "PLN":
        _el(row, "KursWaluty", _number(kurs, QUANTITY_PLACES, "exchange_rate", errors))
    if line.before:
        _el(row, "StanPrzed", "1")


def _write_payment(fa: ET.Element, document: Document) -> None:
    platnosc = _el(fa, "Platnosc")
    if document.due_date is not None:
        _el(_el(platnosc, "TerminPlatnosci"), "Termin", document.due_date.isoformat())
    if document.payment_method is PaymentMethod.OTHER:
        _el(platnosc, "PlatnoscInna", "1")
        description = str(document.extra.get("payment_description") or "").strip()
        _el(platnosc, "OpisPlatnosci", description or "inna / other")
    else:
        _el(platnosc, "FormaPlatnosci", document.payment_method.value)
    account = document.bank_account
    if account is not None:
        rachunek = _el(platnosc, "RachunekBankowy")
        _el(rachunek, "NrRB", re.sub(r"\s", "", account.iban))
        if account.bank_name.strip():
            _el(rachunek, "NazwaBanku", account.bank_name.strip())
        if account.label.strip():
            _el(rachunek, "OpisRachunku", account.label.strip())


def _timestamp(created_at: datetime) -> str:
    moment = created_at if created_at.tzinfo is not None else created_at.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _built_in_kind(doc_type: str) -> str | None:
    # Callers without the cabinet's registry (tests, scripts) export the built-in types.
    from cabinet_core.default_document_types import BUILT_IN_TYPES

    for document_type in BUILT_IN_TYPES:
        if document_type.key == doc_type:
            return document_type.ksef_kind
    return None


def document_to_fa3(
    document: Document,
    *,
    seller: Party,
    created_at: datetime,
    system_info: str = "cabinet",
    rules: TaxRules = POLAND_2026,
    kind: str | None = None,
) -> bytes:
    """The FA(3) e-invoice (UTF-8 XML, no BOM) of an issued VAT or correcting invoice.

    ``kind`` is the ``RodzajFaktury`` (``"VAT"``, ``"KOR"``): the document type's
    ``ksef_kind``; left out, the built-in type named by ``document.doc_type`` decides it.
    ``seller`` is the issuing client as printed on the invoice (``Podmiot1``; it needs a NIP and
    an address); the buyer is ``document.buyer``. ``created_at`` becomes ``DataWytworzeniaFa``
    (a naive value is taken as UTC). Raises :class:`ValidationError` when the document cannot
    be written as FA(3): another document type, no number yet, no buyer, a missing exemption
    basis or corrected-invoice reference, taxed lines in a foreign currency without an
    exchange rate, an unknown VAT rate code, or
    numbers with more decimals than the schema allows. Everything is checked before anything
    is returned, so a caller never gets half a file.
    """
    errors: list[FieldError] = []
    kind = kind if kind is not None else _built_in_kind(document.doc_type)
    if kind is None or kind not in FA3_KINDS:
        raise ValidationError.single(
            "doc_type", "not_ksef", N_("Only VAT and correcting invoices are sent to KSeF.")
        )
    if not document.number:
        errors.append(
            _error("number", "required", N_("Issue the invoice before creating its KSeF file."))
        )
    buyer = document.buyer
    if buyer is None:
        errors.append(_error("buyer", "required", N_("This field is required.")))
    if not any(not line.before for line in document.lines):
        errors.append(_error("lines", "required", N_("Add at least one line.")))
    taxed = any(
        rules.rate(line.vat_rate).bears_vat
        for line in document.lines
        if line.vat_rate in rules.codes
    )
    # The VAT of a foreign-currency invoice is also stated in PLN (P_14_xW), which needs the
    # rate; an invoice without tax (WDT, export, np) may leave it out, as MF example 22 does.
    if document.currency != "PLN" and taxed and document.exchange_rate is None:
        errors.append(
            _error(
                "exchange_rate",
                "required",
                N_("A foreign-currency invoice needs the NBP exchange rate."),
            )
        )
    for side, party in (("seller", seller), ("buyer", buyer)):
        if party is not None and not party.name.strip():
            errors.append(_error(f"{side}.name", "required", N_("This field is required.")))
    errors.extend(
        _error(f"lines.{index}.vat_rate", "unknown_vat_rate", N_("Unknown VAT rate."))
        for index, line in enumerate(document.lines)
        if line.vat_rate not in rules.codes
    )
    if errors or buyer is None:
        raise ValidationError(errors)
    totals = _totals(document, rules, kind)

    root = ET.Element("Faktura", {"xmlns": FA3_NAMESPACE})
    naglowek = _el(root, "Naglowek")
    kod = _el(naglowek, "KodFormularza", "FA")
    kod.set("kodSystemowy", "FA (3)")
    kod.set("wersjaSchemy", "1-0E")
    _el(naglowek, "WariantFormularza", "3")
    _el(naglowek, "DataWytworzeniaFa", _timestamp(created_at))
    if system_info.strip():
        _el(naglowek, "SystemInfo", system_info.strip())
    _write_seller(
        root, seller, errors, eu_prefix=needs_eu_buyer(line.vat_rate for line in document.lines)
    )
    _write_buyer(root, buyer, errors)

    fa = _el(root, "Fa")
    _el(fa, "KodWaluty", document.currency)
    _el(fa, "P_1", document.issue_date.isoformat())
    _el(fa, "P_2", str(document.number))
    if document.sale_date is not None and document.sale_date != document.issue_date:
        _el(fa, "P_6", document.sale_date.isoformat())
    _write_rate_totals(fa, totals, rules)
    _el(fa, "P_15", amount_text(totals.gross))
    _write_annotations(fa, document, totals, rules, errors)
    _el(fa, "RodzajFaktury", kind)
    if kind == "KOR":
        _write_correction(fa, document, errors)
    _write_lines(fa, document, rules, errors)
    _write_payment(fa, document)
    if errors:
        raise ValidationError(errors)
    ET.indent(root, space="  ")
    xml: bytes = ET.tostring(root, encoding="UTF-8", xml_declaration=True)
    return xml
