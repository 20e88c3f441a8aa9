"""Reading a received FA(3) e-invoice into a cost invoice.

The file is parsed with ``defusedxml`` (no DTDs, entities or external references: uploads are
untrusted), must be in the FA(3) namespace and must validate against the official schema; only
then are its parties, dates, payment terms and lines read into a :class:`Document`.

What the file states is kept apart from what the cabinet computes. The totals written in the
file (``P_13_x``, ``P_14_x``, ``P_14_xW``, ``P_15``) are the seller's and are what the buyer
books, so they are returned as they are in :attr:`ImportedInvoice.stated_totals`. When the lines
state every amount, the totals are also recomputed with :func:`cabinet_core.vat.compute_totals`
(or :func:`~cabinet_core.vat.compute_correction` for a KOR) and every difference becomes a
warning: KSeF does not check arithmetic, and even MF example 01 is off by one grosz. A warning
never stops the import.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import attrs
import defusedxml
import defusedxml.ElementTree as SafeET

from cabinet_core.doctypes.invoices import CorrectingInvoice, CostInvoice, VatInvoice
from cabinet_core.entities import (
    Address,
    BankAccount,
    Document,
    DocumentLine,
    DocumentTotals,
    ExchangeRate,
    Party,
    PaymentMethod,
    PaymentStatus,
    PriceMode,
    RateTotal,
    VatMethod,
)
from cabinet_core.errors import N_, FieldError, ValidationError
from cabinet_core.ksef._fields import NET_FIELDS
from cabinet_core.ksef._format import PRICE_PLACES, fits, parse_date, parse_decimal
from cabinet_core.ksef.validation import FA3_NAMESPACE, validate_fa3
from cabinet_core.money import round_money
from cabinet_core.vat import POLAND_2026, TaxRules, compute_correction, compute_totals

__all__ = ["MAX_FA3_BYTES", "CorrectedInvoice", "ImportedInvoice", "parse_fa3"]

#: KSeF accepts invoices up to 1 MB, or 3 MB with attachments; nothing larger is an FA(3) file.
MAX_FA3_BYTES = 3 * 1024 * 1024
#: How many schema errors an import failure lists (the first ones locate the problem).
_SHOWN_SCHEMA_ERRORS = 5
_NS = {"f": FA3_NAMESPACE}
#: Invoice kinds whose totals are the sum of their lines; advance (ZAL) and settlement (ROZ)
#: invoices state the amount paid or still due, which the lines do not give.
_LINE_TOTAL_KINDS = frozenset({"VAT", "KOR", "UPR"})
_CORRECTION_KINDS = frozenset({"KOR", "KOR_ZAL", "KOR_ROZ"})
#: Total fields the cabinet's rate table has no code for: taxi flat rate, OSS, margin schemes.
_FIELDS_WITHOUT_CODE = {"P_13_4": "4", "P_13_5": "OSS", "P_13_11": "marża"}
_POSTAL_TOWN = re.compile(r"(\d{2}-\d{3})\s+(.+)")


@attrs.frozen(kw_only=True)
class CorrectedInvoice:
    """An invoice a KOR corrects (FA(3) ``DaneFaKorygowanej``)."""

    number: str
    issue_date: date
    ksef_number: str | None = None


@attrs.frozen(kw_only=True)
class ImportedInvoice:
    """A received FA(3) invoice as the cabinet reads it.

    ``document`` is a draft (``client_id`` as passed, no id) ready for the documents service;
    ``kind`` is FA(3) ``RodzajFaktury`` (``VAT``, ``KOR``, ``ZAL``, ``ROZ``, ``UPR``,
    ``KOR_ZAL``, ``KOR_ROZ``). ``stated_totals`` are the file's own totals per rate, with
    ``gross`` = ``P_15``; rows for fields the rate table has no code for use the codes ``4``
    (taxi), ``OSS`` and ``marża``. ``computed_totals`` are recomputed from the lines when the
    lines state every amount (``None`` otherwise, and for advance and settlement invoices).
    ``line_exchange_rates`` are the per-line ``KursWaluty`` values. ``warnings`` are readable
    English sentences; ``warning_details`` carry the same as translatable msgids with params.
    """

    document: Document
    kind: str
    stated_totals: DocumentTotals
    computed_totals: DocumentTotals | None = None
    line_exchange_rates: tuple[Decimal, ...] = ()
    corrected: tuple[CorrectedInvoice, ...] = ()
    correction_reason: str = ""
    warnings: tuple[str, ...] = ()
    warning_details: tuple[FieldError, ...] = ()


def _fail(code: str, message: str, **params: Any) -> ValidationError:
    return ValidationError.single("file", code, message, **params)


def _local(element: ET.Element) -> str:
    return element.tag.rpartition("}")[2]


def _text(parent: ET.Element | None, path: str) -> str | None:
    if parent is None:
        return None
    found = parent.find(path, _NS)
    if found is None or found.text is None:
        return None
    return found.text.strip()


def _amount(parent: ET.Element | None, path: str) -> Decimal | None:
    return parse_decimal(_text(parent, path))


class _Warnings:
    """Collects warnings as msgid + params and renders each in English as well."""

    def __init__(self) -> None:
        self.details: list[FieldError] = []

    def add(self, field: str, code: str, message: str, **params: Any) -> None:
        self.details.append(FieldError(field=field, code=code, message=message, params=params))

    def texts(self) -> tuple[str, ...]:
        return tuple(
            detail.message % dict(detail.params) if detail.params else detail.message
            for detail in self.details
        )


def _load(xml: bytes) -> ET.Element:
    if not isinstance(xml, bytes | bytearray):
        raise TypeError("parse_fa3 needs the file's bytes")
    if len(xml) > MAX_FA3_BYTES:
        raise _fail(
            "too_large",
            N_("The file is larger than KSeF allows for an invoice (%(limit)s MB)."),
            limit=MAX_FA3_BYTES // (1024 * 1024),
        )
    try:
        root: ET.Element = SafeET.fromstring(bytes(xml), forbid_dtd=True)
    except defusedxml.DefusedXmlException:
        raise _fail(
            "unsafe_xml",
            N_("The file uses XML features that are not allowed in an e-invoice."),
        ) from None
    except (ET.ParseError, ValueError):
        raise _fail("malformed", N_("The file is not well-formed XML.")) from None
    namespace = root.tag[1:].partition("}")[0] if root.tag.startswith("{") else ""
    if _local(root) != "Faktura" or namespace != FA3_NAMESPACE:
        raise _fail(
            "not_fa3",
            N_("The file is not a KSeF e-invoice in the FA(3) structure."),
            namespace=namespace,
        )
    errors = validate_fa3(bytes(xml))
    if errors:
        raise _fail(
            "schema",
            N_("The file does not match the FA(3) schema: %(errors)s"),
            errors="; ".join(errors[:_SHOWN_SCHEMA_ERRORS]),
        )
    return root


def _address(node: ET.Element | None) -> Address:
    if node is None:
        return Address()
    first = _text(node, "f:AdresL1") or ""
    second = _text(node, "f:AdresL2") or ""
    country = _text(node, "f:KodKraju") or "PL"
    match = _POSTAL_TOWN.fullmatch(second)
    if match is not None:
        return Address(
            line1=first, postal_code=match.group(1), city=match.group(2), country=country
        )
    return Address(line1=first, line2=second, country=country)


def _party(node: ET.Element | None) -> Party | None:
    """A ``Podmiot1``/``Podmiot2``: NIP, EU VAT number or another country's tax id (kept with
    its country prefix in ``vat_eu``, which is how the writer tells them apart)."""
    if node is None:
        return None
    ids = node.find("f:DaneIdentyfikacyjne", _NS)
    nip = _text(ids, "f:NIP")
    vat_eu = None
    if _text(ids, "f:NrVatUE") is not None:
        vat_eu = f"{_text(ids, 'f:KodUE') or ''}{_text(ids, 'f:NrVatUE')}"
    elif _text(ids, "f:NrID") is not None:
        vat_eu = f"{_text(ids, 'f:KodKraju') or ''}{_text(ids, 'f:NrID')}"
    return Party(
        name=_text(ids, "f:Nazwa") or "",
        nip=nip,
        vat_eu=vat_eu,
        address=_address(node.find("f:Adres", _NS)),
        email=_text(node, "f:DaneKontaktowe/f:Email") or "",
    )


def _code_for(field: str, rules: TaxRules) -> str:
    for rate in rules.rates:
        if rate.fa3_net_field == field:
            return rate.code
    return _FIELDS_WITHOUT_CODE.get(field, field)


def _stated_totals(fa: ET.Element, currency: str, rules: TaxRules) -> DocumentTotals:
    rows = []
    for field in NET_FIELDS:
        net = _amount(fa, f"f:{field}")
        if net is None:
            continue
        suffix = field.removeprefix("P_13_")
        vat = _amount(fa, f"f:P_14_{suffix}") or Decimal("0.00")
        vat_pln = _amount(fa, f"f:P_14_{suffix}W")
        rows.append(
            RateTotal(
                rate=_code_for(field, rules), net=net, vat=vat, gross=net + vat, vat_pln=vat_pln
            )
        )
    pln = [row.vat_pln for row in rows if row.vat_pln is not None]
    return DocumentTotals(
        currency=currency,
        rows=tuple(rows),
        net=sum((row.net for row in rows), Decimal("0.00")),
        vat=sum((row.vat for row in rows), Decimal("0.00")),
        gross=_amount(fa, "f:P_15") or Decimal("0.00"),
        vat_pln=sum(pln, Decimal("0.00")) if pln else None,
    )


def _payment(fa: ET.Element) -> tuple[PaymentMethod, PaymentStatus, date | None]:
    platnosc = fa.find("f:Platnosc", _NS)
    method = PaymentMethod.TRANSFER
    code = _text(platnosc, "f:FormaPlatnosci")
    if code is not None:
        method = PaymentMethod(code)
    elif _text(platnosc, "f:PlatnoscInna") == "1":
        method = PaymentMethod.OTHER
    status = PaymentStatus.UNPAID
    if _text(platnosc, "f:Zaplacono") == "1":
        status = PaymentStatus.PAID
    elif _text(platnosc, "f:ZnacznikZaplatyCzesciowej") == "1":
        status = PaymentStatus.PARTIALLY_PAID
    elif _text(platnosc, "f:ZnacznikZaplatyCzesciowej") == "2":
        # "2": paid in full, in instalments.
        status = PaymentStatus.PAID
    due = parse_date(_text(platnosc, "f:TerminPlatnosci/f:Termin"))
    return method, status, due


def _bank_account(fa: ET.Element, currency: str) -> BankAccount | None:
    account = fa.find("f:Platnosc/f:RachunekBankowy", _NS)
    number = _text(account, "f:NrRB")
    if account is None or number is None:
        return None
    return BankAccount(
        currency=currency,
        iban=number,
        bank_name=_text(account, "f:NazwaBanku") or "",
        label=_text(account, "f:OpisRachunku") or "",
    )


def _unit_price(
    quantity: Decimal,
    price: Decimal | None,
    discount: Decimal | None,
    value: Decimal,
    currency: str,
) -> Decimal | None:
    """A unit price that gives the stated line value at this quantity, or ``None``.

    The stated price first; then the price less a per-unit discount (``P_10``, MF example 04);
    then the value divided by the quantity when that is exact to the schema's eight places.
    """
    candidates = []
    if price is not None:
        candidates.append(price)
        if discount is not None:
            candidates.append(price - discount)
    if quantity != 0:
        exact = value / quantity
        if fits(exact, PRICE_PLACES):
            candidates.append(exact)
    for candidate in candidates:
        if round_money(quantity * candidate, currency) == value:
            return candidate
    return None


@attrs.frozen(kw_only=True)
class _Line:
    line: DocumentLine
    complete: bool
    kurs: Decimal | None


def _read_line(
    row: ET.Element,
    *,
    number: int,
    gross_prices: bool,
    currency: str,
    implied_rate: str | None,
    rules: TaxRules,
    warnings: _Warnings,
) -> _Line:
    quantity = _amount(row, "f:P_8B")
    price = _amount(row, "f:P_9B" if gross_prices else "f:P_9A")
    value = _amount(row, "f:P_11A" if gross_prices else "f:P_11")
    code = _text(row, "f:P_12")
    field = f"lines.{number - 1}"
    complete = value is not None
    if code is None:
        code = implied_rate or ""
        if implied_rate is None:
            complete = False
            warnings.add(
                f"{field}.vat_rate",
                "no_vat_rate",
                N_(
                    "Line %(line)s has no VAT rate (for example a margin-scheme line); "
                    "choose one before saving."
                ),
                line=number,
            )
    elif code not in rules.codes:
        complete = False
        warnings.add(
            f"{field}.vat_rate",
            "unknown_vat_rate",
            N_("Line %(line)s has the VAT rate %(rate)s, which the cabinet does not support."),
            line=number,
            rate=code,
        )
    unit_price = price if price is not None else Decimal(0)
    if value is not None:
        fitting = _unit_price(
            quantity if quantity is not None else Decimal(1),
            price,
            _amount(row, "f:P_10"),
            value,
            currency,
        )
        if fitting is not None:
            unit_price = fitting
        else:
            # Keep the stated line value, which is what the totals are made of.
            warnings.add(
                f"{field}.unit_price",
                "value_kept",
                N_(
                    "Line %(line)s: quantity times unit price does not give the line value "
                    "%(value)s; the line is imported as one unit of that value."
                ),
                line=number,
                value=str(value),
            )
            quantity, unit_price = Decimal(1), value
    return _Line(
        line=DocumentLine(
            name=_text(row, "f:P_7") or "",
            quantity=quantity if quantity is not None else Decimal(1),
            unit=_text(row, "f:P_8A") or "",
            unit_price=unit_price,
            vat_rate=code,
            gtu=_text(row, "f:GTU"),
            before=_text(row, "f:StanPrzed") == "1",
            # Annex-15 goods or services (split payment, poland.md §2.4).
            annex15=_text(row, "f:P_12_Zal_15") == "1",
        ),
        complete=complete,
        kurs=_amount(row, "f:KursWaluty"),
    )


def _implied_rate(stated: DocumentTotals, rules: TaxRules) -> str | None:
    """The one rate the totals use, for lines that leave ``P_12`` out (simplified invoices)."""
    codes = {row.rate for row in stated.rows}
    if len(codes) == 1:
        (code,) = codes
        if code in rules.codes:
            return code
    return None


def _corrected(fa: ET.Element) -> tuple[CorrectedInvoice, ...]:
    result = []
    for node in fa.findall("f:DaneFaKorygowanej", _NS):
        issued = parse_date(_text(node, "f:DataWystFaKorygowanej"))
        if issued is None:
            continue
        result.append(
            CorrectedInvoice(
                number=_text(node, "f:NrFaKorygowanej") or "",
                issue_date=issued,
                ksef_number=_text(node, "f:NrKSeFFaKorygowanej"),
            )
        )
    return tuple(result)


def _compare(
    stated: DocumentTotals, computed: DocumentTotals, currency: str, warnings: _Warnings
) -> None:
    """One warning per rate whose stated amounts differ from the recomputed ones, and one for
    ``P_15``."""
    found = {row.rate: row for row in computed.rows}
    for row in stated.rows:
        mine = found.pop(row.rate, None)
        pairs = (
            ("net", row.net, mine.net if mine else Decimal(0)),
            ("vat", row.vat, mine.vat if mine else Decimal(0)),
        )
        for what, theirs, ours in pairs:
            if theirs != ours:
                warnings.add(
                    f"totals.{row.rate}.{what}",
                    "differs",
                    N_(
                        "The file states %(stated)s %(currency)s as the %(what)s at rate "
                        "%(rate)s, but its lines give %(computed)s %(currency)s."
                    ),
                    stated=str(theirs),
                    computed=str(ours),
                    currency=currency,
                    what=what,
                    rate=row.rate,
                )
        if (
            row.vat_pln is not None
            and mine is not None
            and mine.vat_pln is not None
            and row.vat_pln != mine.vat_pln
        ):
            warnings.add(
                f"totals.{row.rate}.vat_pln",
                "differs",
                N_(
                    "The file states %(stated)s PLN as the VAT in PLN at rate %(rate)s, "
                    "but its lines and exchange rates give %(computed)s PLN."
                ),
                stated=str(row.vat_pln),
                computed=str(mine.vat_pln),
                rate=row.rate,
            )
    for row in found.values():
        warnings.add(
            f"totals.{row.rate}.net",
            "missing",
            N_("The file states no total for rate %(rate)s, but its lines give %(computed)s."),
            rate=row.rate,
            computed=str(row.gross),
        )
    if stated.gross != computed.gross:
        warnings.add(
            "totals.gross",
            "differs",
            N_(
                "The file states a total due of %(stated)s %(currency)s, but its lines give "
                "%(computed)s %(currency)s; the stated amount is kept."
            ),
            stated=str(stated.gross),
            computed=str(computed.gross),
            currency=currency,
        )


def _check_own_sum(stated: DocumentTotals, currency: str, warnings: _Warnings) -> bool:
    """``P_15`` against the file's own rate totals (MF example 01: 2051 against 2050.99);
    whether they differ."""
    if not stated.rows:
        return False
    own_sum = sum((row.gross for row in stated.rows), Decimal("0.00"))
    if own_sum != stated.gross:
        warnings.add(
            "totals.gross",
            "inconsistent",
            N_(
                "The file's total due %(stated)s %(currency)s is not the sum of its net and "
                "VAT amounts (%(sum)s %(currency)s)."
            ),
            stated=str(stated.gross),
            sum=str(own_sum),
            currency=currency,
        )
        return True
    return False


def _recompute(
    lines: Sequence[_Line],
    *,
    kind: str,
    currency: str,
    price_mode: PriceMode,
    vat_method: VatMethod,
    exchange_rate: ExchangeRate | None,
    rules: TaxRules,
) -> DocumentTotals | None:
    if kind not in _LINE_TOTAL_KINDS or not lines or not all(item.complete for item in lines):
        return None
    document_lines = [item.line for item in lines]
    options: dict[str, Any] = {
        "currency": currency,
        "price_mode": price_mode,
        "vat_method": vat_method,
        "rules": rules,
    }
    if kind in _CORRECTION_KINDS:
        return compute_correction(document_lines, exchange_rate=exchange_rate, **options).difference
    kursy = [item.kurs for item in lines]
    if currency != "PLN" and kursy and all(kurs is not None for kurs in kursy):
        line_rates = [kurs for kurs in kursy if kurs is not None]
        return compute_totals(document_lines, line_exchange_rates=line_rates, **options)
    return compute_totals(document_lines, exchange_rate=exchange_rate, **options)


#: The built-in types a file can be read as, by key: what each declares (the client is the
#: buyer, the FA(3) kind it is written as) decides which of its fields the file fills.
_READ_AS = {
    document_type.key: document_type()
    for document_type in (CostInvoice, VatInvoice, CorrectingInvoice)
}


def _extra(
    fa: ET.Element,
    doc_type: str,
    number: str,
    corrected: Sequence[CorrectedInvoice],
    reason: str,
) -> dict[str, Any]:
    """The built-in document type's own fields that the file fills.

    A cost invoice keeps the seller's number; a VAT invoice its markers (split payment, cash
    method, exemption basis) and a correcting invoice the invoice it corrects, so that a file
    read as one of the client's own sales documents writes back the same FA(3).
    """
    read_as = _READ_AS.get(doc_type)
    if read_as is None:
        return {}
    if read_as.client_is_buyer:
        return {"seller_invoice_number": number}
    adnotacje = fa.find("f:Adnotacje", _NS)
    if read_as.ksef_kind == "VAT":
        basis = next(
            (
                text
                for text in (
                    _text(adnotacje, f"f:Zwolnienie/f:{element}")
                    for element in ("P_19A", "P_19B", "P_19C")
                )
                if text
            ),
            None,
        )
        extra: dict[str, Any] = {
            "split_payment": _text(adnotacje, "f:P_18A") == "1",
            "cash_method": _text(adnotacje, "f:P_16") == "1",
        }
        if basis is not None:
            extra["exemption_basis"] = basis
        return extra
    if read_as.ksef_kind == "KOR" and corrected:
        first = corrected[0]
        return {
            "corrected_number": first.number,
            "corrected_issue_date": first.issue_date.isoformat(),
            "corrected_ksef_number": first.ksef_number or "",
            "reason": reason,
        }
    return {}


def parse_fa3(
    xml: bytes,
    *,
    client_id: int = 0,
    doc_type: str = CostInvoice.key,
    rules: TaxRules = POLAND_2026,
) -> ImportedInvoice:
    """Read a received FA(3) invoice into a draft document of ``doc_type`` for ``client_id``.

    A file that is too large, not well-formed, uses DTDs or entities, is not FA(3) (an FA(2)
    file, say) or does not validate against the schema raises :class:`ValidationError` on the
    field ``file``. Arithmetic differences in a valid file are warnings, never errors.

    The seller's invoice number goes to ``extra["seller_invoice_number"]`` for a cost invoice
    (else to ``number``); read as a ``vat_invoice`` or ``correcting_invoice`` the document also
    gets that type's markers and corrected-invoice fields in ``extra``. A foreign-currency
    invoice whose lines share one ``KursWaluty`` gets it as ``exchange_rate`` (the file names
    no NBP table, so ``table_no`` is empty and the date is the invoice's); when the lines use
    different rates the document gets none and
    ``line_exchange_rates`` keeps them.
    """
    root = _load(xml)
    fa = root.find("f:Fa", _NS)
    if fa is None:  # the schema requires it; this only satisfies the type checker
        raise _fail("schema", N_("The file does not match the FA(3) schema: %(errors)s"))
    warnings = _Warnings()
    currency = _text(fa, "f:KodWaluty") or "PLN"
    kind = _text(fa, "f:RodzajFaktury") or "VAT"
    issue_date = parse_date(_text(fa, "f:P_1"))
    if issue_date is None:
        raise _fail("schema", N_("The file does not match the FA(3) schema: %(errors)s"))
    sale_date = parse_date(_text(fa, "f:P_6")) or parse_date(_text(fa, "f:OkresFa/f:P_6_Do"))
    stated = _stated_totals(fa, currency, rules)

    rows = fa.findall("f:FaWiersz", _NS)
    gross_prices = any(
        row.find("f:P_11A", _NS) is not None and row.find("f:P_11", _NS) is None for row in rows
    )
    price_mode = PriceMode.GROSS if gross_prices else PriceMode.NET
    vat_method = (
        VatMethod.PER_LINE
        if any(row.find("f:P_11Vat", _NS) is not None for row in rows)
        else VatMethod.PER_RATE
    )
    implied = _implied_rate(stated, rules)
    lines = [
        _read_line(
            row,
            number=index,
            gross_prices=gross_prices,
            currency=currency,
            implied_rate=implied,
            rules=rules,
            warnings=warnings,
        )
        for index, row in enumerate(rows, start=1)
    ]
    kursy = tuple(item.kurs for item in lines if item.kurs is not None)
    exchange_rate = None
    if currency != "PLN" and kursy:
        if len(set(kursy)) == 1:
            exchange_rate = ExchangeRate(
                currency=currency,
                rate=kursy[0],
                effective_date=issue_date,
                table_no="",
                source="FA(3)",
            )
        else:
            warnings.add(
                "exchange_rate",
                "per_line",
                N_(
                    "The lines use different exchange rates; the VAT in PLN stated in the "
                    "file is kept."
                ),
            )

    method, status, due = _payment(fa)
    computed = _recompute(
        lines,
        kind=kind,
        currency=currency,
        price_mode=price_mode,
        vat_method=vat_method,
        exchange_rate=exchange_rate,
        rules=rules,
    )
    own_sum_warned = _check_own_sum(stated, currency, warnings)
    if computed is not None:
        _compare(stated, computed, currency, warnings)
        if own_sum_warned:
            # Both say the same about P_15; keep the clearer, file-internal one.
            warnings.details = [
                detail
                for detail in warnings.details
                if not (detail.field == "totals.gross" and detail.code == "differs")
            ]

    number = _text(fa, "f:P_2") or ""
    corrected = _corrected(fa)
    reason = _text(fa, "f:PrzyczynaKorekty") or ""
    extra = _extra(fa, doc_type, number, corrected, reason)
    # A received invoice gets the client's register number when submitted; the seller's own
    # number stays in extra.
    read_as = _READ_AS.get(doc_type)
    document_number = None if read_as is not None and read_as.client_is_buyer else number
    document = Document(
        client_id=client_id,
        doc_type=doc_type,
        number=document_number,
        currency=currency,
        issue_date=issue_date,
        sale_date=sale_date,
        due_date=due,
        payment_method=method,
        payment_status=status,
        seller=_party(root.find("f:Podmiot1", _NS)),
        buyer=_party(root.find("f:Podmiot2", _NS)),
        bank_account=_bank_account(fa, currency),
        lines=tuple(item.line for item in lines),
        price_mode=price_mode,
        vat_method=vat_method,
        exchange_rate=exchange_rate,
        totals=computed,
        extra=extra,
    )
    return ImportedInvoice(
        document=document,
        kind=kind,
        stated_totals=stated,
        computed_totals=computed,
        line_exchange_rates=kursy,
        corrected=corrected,
        correction_reason=reason,
        warnings=warnings.texts(),
        warning_details=tuple(warnings.details),
    )
