"""The VAT registers (rejestr sprzedaży VAT, rejestr zakupów VAT): one row per document, in PLN.

A row is built from what the store reads for one document (:class:`RegisterEntry`): its totals
per VAT rate, converted to PLN where the document is in a foreign currency, and the JPK_V7M(3)
``K_`` fields those amounts go to (poland.md §4):

* a sales row takes each rate's net and VAT to the fields the rate declares
  (:attr:`cabinet_core.vat.VatRate.jpk_net_field`, e.g. 23 % → ``K_19``/``K_20``; ``np II`` also
  repeats its net in ``K_12``); the net in PLN is ``round(net × rate)``, the VAT in PLN is the
  document's ``P_14_xW`` (rounded once over the rate's exact tax, as the invoice states it);
* a purchase row takes the seller's stated PLN VAT (``P_14_xW``) and the net converted at the same
  rate, to ``K_42``/``K_43`` (``K_40``/``K_41`` when marked a fixed asset); a purchase the
  accountant marked not deductible stays in the register with its VAT shown as not deductible
  and is left out of JPK; a purchase with some lines marked not deductible
  (:attr:`cabinet_core.entities.DocumentLine.non_deductible`) keeps the deductible part in its
  ``K_`` fields: each rate's PLN net and VAT are split in the proportion of the marked lines'
  values to all the rate's line values (the invoice rounds each rate's VAT once, so a line has
  no VAT of its own); a purchase whose every line is marked counts as marked whole;
* a correcting invoice's totals are already its differences, so its row is negative where the
  correction lowers the base.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

import attrs

from cabinet_core.entities import Party
from cabinet_core.money import round_money
from cabinet_core.vat import TaxRules, VatRate
from cabinet_core.vat_statement.markers import (
    PURCHASE_MARKERS,
    SALES_MARKERS,
    normalise_gtu,
    ordered,
)

__all__ = [
    "KSEF_NUMBER_EXTRA",
    "NO_ID",
    "PURCHASE",
    "SALES",
    "TAX_DEDUCTIBLE",
    "TAX_DUE_MINUS",
    "TAX_DUE_PLUS",
    "KTotals",
    "RateAmount",
    "RateSum",
    "RegisterEntry",
    "RegisterRow",
    "RegisterTotals",
    "VatMark",
    "build_row",
    "entry_of",
    "ksef_number_of",
]

SALES = "sales"
PURCHASE = "purchase"
#: ``NrKontrahenta`` when the counterparty has no tax number (a consumer).
NO_ID = "BRAK"
_ZERO = Decimal("0.00")
#: The fields whose sum is the tax due (``PodatekNalezny``) and deductible (``PodatekNaliczony``).
TAX_DUE_PLUS = ("K_16", "K_18", "K_20", "K_24", "K_26", "K_28", "K_30", "K_32", "K_33", "K_34")
TAX_DUE_MINUS = ("K_35", "K_36", "K_360")
TAX_DEDUCTIBLE = ("K_41", "K_43", "K_44", "K_45", "K_46", "K_47")
_T = TypeVar("_T")


def _frozen(cls: type[_T], values: dict[str, Any]) -> _T:
    """An instance of the frozen attrs class ``cls`` (kept in a ``__dict__``, not slotted) with
    ``values`` as its attributes, every field given, without running ``__init__``.

    A register month builds a few hundred rows at once, and a frozen class's ``__init__`` sets
    each of a row's 30 fields through ``object.__setattr__``: that alone cost more than the
    row's arithmetic. The instance is the same as one made by ``__init__`` (equal, frozen,
    converted to JSON alike); ``test_vat_statement`` checks the builders give every field.
    """
    instance = object.__new__(cls)
    object.__setattr__(instance, "__dict__", values)
    return instance


@attrs.frozen(kw_only=True)
class VatMark:
    """What the accountant set on one document for the VAT registers.

    ``markers`` are GTU and procedure markers (sales) or ``IMP`` (purchases) added to those the
    lines carry; ``document_kind`` is ``TypDokumentu``/``DokumentZakupu``; ``ksef_marker``
    overrides ``OFF``/``BFK``/``DI`` for a document without a KSeF number.
    """

    document_id: int
    client_id: int
    non_deductible: bool = False
    fixed_asset: bool = False
    markers: tuple[str, ...] = ()
    document_kind: str | None = None
    ksef_marker: str | None = None
    updated_by: int | None = None


@attrs.frozen(kw_only=True, slots=False)
class RegisterEntry:
    """One document as the store reads it for the registers (no lines, no attachments)."""

    document_id: int
    doc_type: str
    number: str | None
    seller_number: str | None
    issue_date: date
    sale_date: date | None
    receipt_date: date | None
    currency: str
    counterparty: Party | None
    #: The totals as stored: ``{"rows": [{"rate", "net", "vat", "vat_pln"}, …], …}``.
    totals: Mapping[str, Any] | None
    fx_rate: Decimal | None
    fx_table: str | None
    fx_date: date | None
    ksef_number: str | None
    #: Changes whenever the document or its mark changes (set by the store; see
    #: :func:`cabinet_core.storage.vat_register.register_entries`).
    stamp: tuple[object, ...] | None = None
    line_gtu: tuple[str, ...] = ()
    #: The procedure markers the document's lines carry.
    line_procedures: tuple[str, ...] = ()
    #: Per VAT rate, the share (0 < share <= 1) of the rate's line values on lines marked not
    #: deductible; rates without such lines are absent.
    non_deductible_share: Mapping[str, Decimal] | None = None
    mark: VatMark | None = None


def entry_of(values: dict[str, Any]) -> RegisterEntry:
    """A :class:`RegisterEntry` of ``values``, which name every field (the store's reading loop;
    see :func:`_frozen`)."""
    entry = object.__new__(RegisterEntry)
    object.__setattr__(entry, "__dict__", values)
    return entry


#: Where a document's KSeF number is kept today: the ``ksef_number`` extra field (a received
#: invoice's number, typed or taken from an imported file's name). The store reads this member
#: (:mod:`cabinet_core.storage.vat_register`) and :func:`ksef_number_of` cleans it: the one
#: place to change when the KSeF submission state keeps the number elsewhere.
KSEF_NUMBER_EXTRA = "ksef_number"


def ksef_number_of(value: object) -> str | None:
    """The KSeF number stored for a document (see :data:`KSEF_NUMBER_EXTRA`), or ``None``."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


@attrs.frozen(kw_only=True, slots=False)
class RateAmount:
    """One VAT rate on one document: in the document's currency and in PLN."""

    rate: str
    net: Decimal
    vat: Decimal
    net_pln: Decimal
    vat_pln: Decimal


@attrs.frozen(kw_only=True, slots=False)
class RegisterRow:
    """One row of a VAT register (``SprzedazWiersz``/``ZakupWiersz``), amounts in PLN."""

    lp: int
    side: str
    document_id: int
    doc_type: str
    #: The document's number: the client's own for a sale, the seller's for a purchase.
    number: str
    #: A purchase's number in the client's cost register (``KOSZT/…``); ``None`` for a sale.
    register_number: str | None
    issue_date: date
    #: ``DataSprzedazy`` of a sale when it differs from the issue date; ``DataWplywu`` of a
    #: purchase (the receipt date).
    other_date: date | None
    ksef_number: str | None
    #: ``NrKSeF`` when the document has a number, else ``OFF``, ``BFK`` or ``DI``.
    ksef_marker: str
    country: str
    tax_id: str
    counterparty_name: str
    currency: str
    #: Gross in the document's currency, the NBP rate, its table and date (foreign only).
    currency_gross: Decimal | None
    exchange_rate: Decimal | None
    rate_table: str | None
    rate_date: date | None
    amounts: tuple[RateAmount, ...]
    net_pln: Decimal
    vat_pln: Decimal
    gross_pln: Decimal
    #: The JPK ``K_`` fields of the row (empty for a purchase left out of JPK).
    k: Mapping[str, Decimal]
    markers: tuple[str, ...]
    document_kind: str | None
    non_deductible: bool = False
    fixed_asset: bool = False
    #: The part of the row's PLN net and VAT not deducted: all of it when ``non_deductible``,
    #: the marked lines' share when only some lines are marked.
    non_deductible_net_pln: Decimal = Decimal("0.00")
    non_deductible_vat_pln: Decimal = Decimal("0.00")
    #: A foreign-currency document without its exchange rate: its PLN net is unknown, so a JPK
    #: file cannot be written until the document has one.
    rate_missing: bool = False

    @property
    def foreign(self) -> bool:
        return self.currency != "PLN"

    @property
    def in_jpk(self) -> bool:
        """A non-deductible purchase is not entered in the JPK purchase register."""
        return not self.non_deductible


def _decimal(value: Any) -> Decimal:
    if isinstance(value, str):
        return Decimal(value)
    if value is None:
        return _ZERO
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _party_ids(party: Party | None) -> tuple[str, str, str]:
    """Country, tax id (``BRAK`` when none) and name of the counterparty."""
    if party is None:
        return "PL", NO_ID, NO_ID
    country = (party.address.country or "PL").upper()
    tax_id = ""
    if country != "PL" and party.vat_eu:
        tax_id = party.vat_eu.replace(" ", "").upper()
        if tax_id[:2] == country or (country == "GR" and tax_id[:2] == "EL"):
            tax_id = tax_id[2:]
    elif party.nip:
        tax_id = party.nip.replace("-", "").replace(" ", "")
    return country, tax_id or NO_ID, party.name.strip() or NO_ID


#: Each set of tax rules' rates by code (:meth:`TaxRules.rate` is a scan), under the rules' id
#: with the rules themselves, so an id reused by other rules is not taken for theirs.
_RATE_INDEX: dict[int, tuple[TaxRules, dict[str, VatRate]]] = {}


def _rates_of(rules: TaxRules) -> dict[str, VatRate]:
    """``rules``' rates by code: the rate :meth:`TaxRules.rate` gives for each code."""
    found = _RATE_INDEX.get(id(rules))
    if found is None or found[0] is not rules:
        if len(_RATE_INDEX) >= 64:
            _RATE_INDEX.clear()
        index: dict[str, VatRate] = {}
        for rate in rules.rates:
            index.setdefault(rate.code, rate)
        found = _RATE_INDEX[id(rules)] = (rules, index)
    return found[1]


def _amounts(entry: RegisterEntry) -> tuple[tuple[RateAmount, ...], bool, Decimal, Decimal]:
    """The per-rate amounts in PLN, whether a foreign-currency document lacks the rate to convert
    them (an invoice whose lines each had their own rate, MF example 21: its PLN net is then
    unknown, 0 here, and its PLN VAT is what the document states, if anything), and the sums of
    the PLN nets and VATs. The hot loop of every statement: plain locals, no helper calls."""
    rows = (entry.totals or {}).get("rows") or ()
    fx_rate = entry.fx_rate
    foreign = entry.currency != "PLN"
    missing = foreign and fx_rate is None
    amounts = []
    net_sum = vat_sum = _ZERO
    for raw in rows:
        net = raw.get("net")
        net = Decimal(net) if net.__class__ is str else _decimal(net)
        vat = raw.get("vat")
        vat = Decimal(vat) if vat.__class__ is str else _decimal(vat)
        if not foreign:
            net_pln, vat_pln = net, vat
        else:
            stated = raw.get("vat_pln")
            if fx_rate is None:
                net_pln, vat_pln = _ZERO, _decimal(stated)
            else:
                net_pln = round_money(net * fx_rate, "PLN")
                vat_pln = (
                    _decimal(stated) if stated is not None else round_money(vat * fx_rate, "PLN")
                )
        net_sum += net_pln
        vat_sum += vat_pln
        amounts.append(
            _frozen(
                RateAmount,
                {
                    "rate": str(raw.get("rate")),
                    "net": net,
                    "vat": vat,
                    "net_pln": net_pln,
                    "vat_pln": vat_pln,
                },
            )
        )
    return tuple(amounts), missing, net_sum, vat_sum


def _sales_k(amounts: Iterable[RateAmount], rules: TaxRules) -> dict[str, Decimal]:
    k: dict[str, Decimal] = {}
    rates = _rates_of(rules)
    for amount in amounts:
        rate = rates.get(amount.rate)
        if rate is None:
            continue
        field = rate.jpk_net_field
        if field is not None:
            k[field] = k.get(field, _ZERO) + amount.net_pln
        field = rate.jpk_vat_field
        if field is not None:
            k[field] = k.get(field, _ZERO) + amount.vat_pln
        for field in rate.jpk_also_fields:
            k[field] = k.get(field, _ZERO) + amount.net_pln
    return k


def _non_deductible_parts(
    amounts: Iterable[RateAmount], shares: Mapping[str, Decimal]
) -> dict[str, tuple[Decimal, Decimal]]:
    """Per rate, the PLN net and VAT of the lines marked not deductible (their ``shares``)."""
    parts = {}
    for amount in amounts:
        share = shares.get(amount.rate)
        if share is None:
            continue
        if share >= 1:
            parts[amount.rate] = (amount.net_pln, amount.vat_pln)
        else:
            parts[amount.rate] = (
                round_money(amount.net_pln * share, "PLN"),
                round_money(amount.vat_pln * share, "PLN"),
            )
    return parts


def _purchase_k(
    amounts: Iterable[RateAmount],
    rules: TaxRules,
    *,
    fixed_asset: bool,
    excluded: Mapping[str, tuple[Decimal, Decimal]],
) -> dict[str, Decimal]:
    """Only rates that carry VAT give a right to deduct; their net and stated PLN VAT, less the
    ``excluded`` (not deductible) part of each rate."""
    net_field, vat_field = ("K_40", "K_41") if fixed_asset else ("K_42", "K_43")
    k: dict[str, Decimal] = {}
    rates = _rates_of(rules)
    for amount in amounts:
        rate = rates.get(amount.rate)
        if rate is None or not rate.bears_vat:
            continue
        net, vat = excluded.get(amount.rate, _NOTHING) if excluded else _NOTHING
        k[net_field] = k.get(net_field, _ZERO) + (amount.net_pln - net)
        k[vat_field] = k.get(vat_field, _ZERO) + (amount.vat_pln - vat)
    return k


_NOTHING = (_ZERO, _ZERO)


def build_row(
    entry: RegisterEntry, *, side: str, lp: int, rules: Callable[[date], TaxRules]
) -> RegisterRow:
    """The register row of ``entry`` at position ``lp``; ``rules`` gives the VAT rules of a date."""
    mark = entry.mark
    amounts, rate_missing, net_pln, vat_pln = _amounts(entry)
    tax_rules = rules(entry.issue_date)
    non_deductible = side == PURCHASE and mark is not None and mark.non_deductible
    fixed_asset = side == PURCHASE and mark is not None and mark.fixed_asset
    excluded: dict[str, tuple[Decimal, Decimal]] = {}
    if side == PURCHASE and entry.non_deductible_share and not non_deductible:
        shares = entry.non_deductible_share
        if amounts and all(shares.get(amount.rate, _ZERO) >= 1 for amount in amounts):
            non_deductible = True
        else:
            excluded = _non_deductible_parts(amounts, shares)
    if side == SALES:
        k = _sales_k(amounts, tax_rules)
        markers = (
            ordered(
                [
                    *filter(None, (normalise_gtu(code) for code in entry.line_gtu)),
                    *entry.line_procedures,
                    *(mark.markers if mark else ()),
                ],
                SALES_MARKERS,
            )
            if entry.line_gtu or entry.line_procedures or (mark and mark.markers)
            else ()
        )
        party = entry.counterparty
        number = entry.number or ""
        register_number = None
        other = entry.sale_date if entry.sale_date and entry.sale_date != entry.issue_date else None
    else:
        k = (
            {}
            if non_deductible
            else _purchase_k(amounts, tax_rules, fixed_asset=fixed_asset, excluded=excluded)
        )
        markers = ordered(mark.markers, PURCHASE_MARKERS) if mark and mark.markers else ()
        party = entry.counterparty
        number = entry.seller_number or entry.number or ""
        register_number = entry.number
        other = entry.receipt_date
    country, tax_id, name = _party_ids(party)
    if non_deductible:
        nd_net, nd_vat = net_pln, vat_pln
    elif excluded:
        nd_net = sum((net for net, _ in excluded.values()), _ZERO)
        nd_vat = sum((vat for _, vat in excluded.values()), _ZERO)
    else:
        nd_net = nd_vat = _ZERO
    foreign = entry.currency != "PLN"
    currency_gross = None
    if foreign:
        currency_gross = sum((amount.net + amount.vat for amount in amounts), _ZERO)
    if entry.ksef_number:
        ksef_marker = "NrKSeF"
    elif mark is not None and mark.ksef_marker:
        ksef_marker = mark.ksef_marker
    else:
        ksef_marker = "BFK"
    return _frozen(
        RegisterRow,
        {
            "lp": lp,
            "side": side,
            "document_id": entry.document_id,
            "doc_type": entry.doc_type,
            "number": number or NO_ID,
            "register_number": register_number,
            "issue_date": entry.issue_date,
            "other_date": other,
            "ksef_number": entry.ksef_number,
            "ksef_marker": ksef_marker,
            "country": country,
            "tax_id": tax_id,
            "counterparty_name": name,
            "currency": entry.currency,
            "currency_gross": currency_gross,
            "exchange_rate": entry.fx_rate if foreign else None,
            "rate_table": entry.fx_table if foreign else None,
            "rate_date": entry.fx_date if foreign else None,
            "amounts": amounts,
            "net_pln": net_pln,
            "vat_pln": vat_pln,
            "gross_pln": net_pln + vat_pln,
            "k": k,
            "markers": markers,
            "document_kind": mark.document_kind if mark else None,
            "non_deductible": non_deductible,
            "fixed_asset": fixed_asset,
            "non_deductible_net_pln": nd_net,
            "non_deductible_vat_pln": nd_vat,
            "rate_missing": rate_missing,
        },
    )


@attrs.define
class KTotals:
    """Running sums of a register's ``K_`` fields as rows stream past (memory stays flat)."""

    side: str
    count: int = 0
    k: dict[str, Decimal] = attrs.field(factory=dict)

    def add(self, row: RegisterRow) -> None:
        """Count ``row`` if it goes to JPK; FP rows count but stay out of the tax sums."""
        self.add_all((row,))

    def add_all(self, rows: Iterable[RegisterRow]) -> None:
        """:meth:`add` each of ``rows`` (one call for a register: a call per row cost more than
        the sums)."""
        k = self.k
        count = 0
        for row in rows:
            if row.non_deductible:  # not in JPK (RegisterRow.in_jpk)
                continue
            count += 1
            if row.document_kind == "FP":
                continue
            for field, amount in row.k.items():
                k[field] = k.get(field, _ZERO) + amount
        self.count += count

    @property
    def tax(self) -> Decimal:
        """``PodatekNalezny`` (sales) or ``PodatekNaliczony`` (purchases), in PLN."""
        if self.side == SALES:
            plus = sum((self.k.get(field, _ZERO) for field in TAX_DUE_PLUS), _ZERO)
            return plus - sum((self.k.get(field, _ZERO) for field in TAX_DUE_MINUS), _ZERO)
        return sum((self.k.get(field, _ZERO) for field in TAX_DEDUCTIBLE), _ZERO)


@attrs.frozen(kw_only=True)
class RateSum:
    """One rate's sums over a register, in PLN."""

    rate: str
    net_pln: Decimal
    vat_pln: Decimal

    @property
    def gross_pln(self) -> Decimal:
        return self.net_pln + self.vat_pln


@attrs.frozen(kw_only=True)
class RegisterTotals:
    """A register's totals per rate and overall (PLN); for purchases also the VAT not deducted."""

    rates: tuple[RateSum, ...]
    net_pln: Decimal
    vat_pln: Decimal
    gross_pln: Decimal
    non_deductible_vat_pln: Decimal
    count: int

    @classmethod
    def of(cls, rows: Iterable[RegisterRow], order: Callable[[str], int]) -> RegisterTotals:
        nets: dict[str, Decimal] = {}
        vats: dict[str, Decimal] = {}
        count = 0
        non_deductible = _ZERO
        for row in rows:
            count += 1
            for amount in row.amounts:
                rate = amount.rate
                nets[rate] = nets.get(rate, _ZERO) + amount.net_pln
                vats[rate] = vats.get(rate, _ZERO) + amount.vat_pln
            non_deductible += row.non_deductible_vat_pln
        rates = tuple(
            RateSum(rate=code, net_pln=nets[code], vat_pln=vats[code])
            for code in sorted(nets, key=order)
        )
        net = sum(nets.values(), _ZERO)
        vat = sum(vats.values(), _ZERO)
        return cls(
            rates=rates,
            net_pln=net,
            vat_pln=vat,
            gross_pln=net + vat,
            non_deductible_vat_pln=non_deductible,
            count=count,
        )
