"""Polish VAT (podatek od towarów i usług): rates, markers and document totals.

The rules follow art. 106e ustawy o VAT and the FA(3) e-invoice schema:

* each line's value is rounded on its own (FA(3) ``P_11`` net, or ``P_11A`` gross);
* by default the tax of a rate is computed once on the sum of that rate's net values
  (``P_14_x = round(P_13_x × rate)``, art. 106e ust. 1 pkt 14); the per-line method of
  art. 106e ust. 10 (sum of the lines' rounded taxes) is an option chosen per document;
* with gross prices (art. 106e ust. 7-8) the tax is taken out of the gross sum,
  ``round(gross × rate / (100 + rate))``, and net = gross − tax;
* for a foreign-currency document the tax of each rate is also stated in PLN (``P_14_xW``) at the
  NBP rate, rounded once over the rate's exact tax, never line by line (MF example 21);
* a correction's totals are the difference of the rounded totals after and before, per rate.

Every rounding goes through :func:`cabinet_core.money.round_money`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal

import attrs

from cabinet_core.entities import (
    Document,
    DocumentLine,
    DocumentTotals,
    ExchangeRate,
    PriceMode,
    RateTotal,
    VatMethod,
)
from cabinet_core.errors import N_, FieldError, ValidationError
from cabinet_core.money import CurrencyMismatch, round_money

__all__ = [
    "POLAND_2026",
    "SPLIT_PAYMENT_THRESHOLD_PLN",
    "CorrectionTotals",
    "LineAmounts",
    "TaxRules",
    "UnknownVatRate",
    "VatRate",
    "compute_correction",
    "compute_totals",
    "correction_difference",
    "line_amounts",
    "rates_for",
    "requires_split_payment",
    "split_payment_applies",
    "to_pln",
    "vat_in_pln",
]

_ZERO = Decimal("0.00")
_HUNDRED = Decimal(100)

#: Split payment (mechanizm podzielonej płatności) applies above this total due, in PLN.
SPLIT_PAYMENT_THRESHOLD_PLN = Decimal("15000.00")


class UnknownVatRate(LookupError):
    """A rate code that the tax rules in force do not know."""

    def __init__(self, code: str, rules_key: str) -> None:
        super().__init__(f"VAT rate {code!r} is not defined in tax rules {rules_key!r}")
        self.code = code
        self.rules_key = rules_key


@attrs.frozen(kw_only=True)
class VatRate:
    """One VAT rate or marker (stawka podatku) as FA(3) ``P_12`` writes it.

    ``percent`` is ``None`` for the markers that are not a rate at all (``zw`` exempt, ``np``
    outside Polish VAT, ``oo`` reverse charge); 0 % rates have ``Decimal(0)``. The FA(3) and
    JPK_V7M(3) fields say where the rate's sums go; ``jpk_also_fields`` lists the "of which"
    fields that repeat the net (``np II`` is reported in both ``K_11`` and ``K_12``).
    """

    code: str
    percent: Decimal | None
    fa3_net_field: str
    fa3_vat_field: str | None = None
    jpk_net_field: str | None = None
    jpk_vat_field: str | None = None
    jpk_also_fields: tuple[str, ...] = ()
    label: Mapping[str, str] = attrs.field(factory=dict)
    reverse_charge: bool = False

    @property
    def bears_vat(self) -> bool:
        """Whether lines at this rate carry tax (23, 8, 5 …, not 0 %, zw, np or oo)."""
        return self.percent is not None and self.percent > 0


@attrs.frozen(kw_only=True)
class TaxRules:
    """A set of VAT rates valid from a date; ``rates`` are in FA(3) order (P_13_1 … P_13_10)."""

    key: str
    valid_from: date
    rates: tuple[VatRate, ...]

    def rate(self, code: str) -> VatRate:
        """The rate with this ``P_12`` code; :class:`UnknownVatRate` (a LookupError) if none."""
        for rate in self.rates:
            if rate.code == code:
                return rate
        raise UnknownVatRate(code, self.key)

    @property
    def codes(self) -> tuple[str, ...]:
        """Every rate code, in FA(3) order."""
        return tuple(rate.code for rate in self.rates)

    def order(self, code: str) -> int:
        """The position of ``code`` in FA(3) order (unknown codes sort last)."""
        codes = self.codes
        return codes.index(code) if code in codes else len(codes)


def _rate(
    code: str,
    percent: str | None,
    fa3_net: str,
    fa3_vat: str | None,
    jpk_net: str | None,
    jpk_vat: str | None,
    pl: str,
    en: str,
    *,
    also: tuple[str, ...] = (),
    reverse_charge: bool = False,
) -> VatRate:
    return VatRate(
        code=code,
        percent=None if percent is None else Decimal(percent),
        fa3_net_field=fa3_net,
        fa3_vat_field=fa3_vat,
        jpk_net_field=jpk_net,
        jpk_vat_field=jpk_vat,
        jpk_also_fields=also,
        label={"pl": pl, "en": en},
        reverse_charge=reverse_charge,
    )


#: Supplies to a buyer in another member state: an intra-EU supply of goods at 0 % (WDT,
#: art. 42 ust. 1 pkt 1 needs the buyer's EU VAT number) and services taxed where the buyer is
#: (np II, art. 28b, reported in VAT-UE under that number). The seller is then identified
#: with its "PL" prefix (FA(3) ``PrefiksPodatnika``, as the Ministry's example 22 writes it).
EU_BUYER_CODES = frozenset({"0 WDT", "np II"})


def needs_eu_buyer(codes: Iterable[str]) -> bool:
    """Whether a document with lines at ``codes`` is an intra-EU supply (see above)."""
    return any(code in EU_BUYER_CODES for code in codes)


#: Poland's rates and markers (poland.md §2.2). The 23/8/5 % rates have applied since
#: 1 January 2011; the 0 % and "np" splits are how FA(3), mandatory in 2026, writes them, so this
#: one set serves every document the cabinet handles, including older cost invoices.
POLAND_2026 = TaxRules(
    key="PL-2026",
    valid_from=date(2011, 1, 1),
    rates=(
        _rate("23", "23", "P_13_1", "P_14_1", "K_19", "K_20", "23%", "23%"),
        _rate("8", "8", "P_13_2", "P_14_2", "K_17", "K_18", "8%", "8%"),
        _rate("5", "5", "P_13_3", "P_14_3", "K_15", "K_16", "5%", "5%"),
        _rate("0 KR", "0", "P_13_6_1", None, "K_13", None, "0% (kraj)", "0% (domestic)"),
        _rate("0 WDT", "0", "P_13_6_2", None, "K_21", None, "0% (WDT)", "0% (intra-EU supply)"),
        _rate("0 EX", "0", "P_13_6_3", None, "K_22", None, "0% (eksport)", "0% (export)"),
        _rate("zw", None, "P_13_7", None, "K_10", None, "zwolnione", "exempt"),
        _rate(
            "np I",
            None,
            "P_13_8",
            None,
            "K_11",
            None,
            "nie podlega (poza krajem)",
            "not taxable in Poland",
        ),
        _rate(
            "np II",
            None,
            "P_13_9",
            None,
            "K_11",
            None,
            "nie podlega (art. 100 ust. 1 pkt 4)",
            "not taxable in Poland (EU services, art. 28b)",
            also=("K_12",),
            reverse_charge=True,
        ),
        _rate(
            "oo",
            None,
            "P_13_10",
            None,
            None,
            None,
            "odwrotne obciążenie",
            "domestic reverse charge",
            reverse_charge=True,
        ),
    ),
)


def rates_for(rules: Sequence[TaxRules], on: date) -> TaxRules:
    """The newest rule set already valid ``on`` that date (LookupError if none is)."""
    valid = [candidate for candidate in rules if candidate.valid_from <= on]
    if not valid:
        raise LookupError(f"no VAT rules are valid on {on.isoformat()}")
    return max(valid, key=lambda candidate: candidate.valid_from)


def rules_on(registered: Sequence[TaxRules], on: date) -> TaxRules:
    """The VAT rules that apply to a document dated ``on``, from the rule sets plugins
    registered (``register_tax_rules``): the newest one already valid then.

    The one place the fallbacks are decided: with no rule set registered (built-in plugins
    disabled) the built-in :data:`POLAND_2026` applies; a date before every registered set
    takes the oldest one, so an old document still prints and validates instead of failing.
    """
    candidates = tuple(registered) or (POLAND_2026,)
    try:
        return rates_for(candidates, on)
    except LookupError:
        return min(candidates, key=lambda candidate: candidate.valid_from)


@attrs.frozen(kw_only=True)
class LineAmounts:
    """One line's rounded values: FA(3) ``P_11`` (net), ``P_11Vat`` and ``P_11A`` (gross)."""

    net: Decimal
    vat: Decimal
    gross: Decimal


def _decimal(value: object, what: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise TypeError(f"{what} must be a Decimal, not {type(value).__name__}")
    return Decimal(value)


def _line_value(line: DocumentLine, currency: str) -> Decimal:
    quantity = _decimal(line.quantity, "quantity")
    unit_price = _decimal(line.unit_price, "unit_price")
    return round_money(quantity * unit_price, currency)


def _tax_of_net(net: Decimal, rate: VatRate) -> Decimal:
    """The exact (unrounded) tax on a net amount."""
    if not rate.bears_vat or rate.percent is None:
        return Decimal(0)
    return net * rate.percent / _HUNDRED


def _tax_in_gross(gross: Decimal, rate: VatRate) -> Decimal:
    """The exact (unrounded) tax contained in a gross amount (art. 106e ust. 7-8)."""
    if not rate.bears_vat or rate.percent is None:
        return Decimal(0)
    return gross * rate.percent / (_HUNDRED + rate.percent)


def line_amounts(
    line: DocumentLine,
    *,
    price_mode: PriceMode = PriceMode.NET,
    rules: TaxRules = POLAND_2026,
    currency: str = "PLN",
) -> LineAmounts:
    """A line's value rounded on its own, with its own rounded tax (the per-line view).

    With net prices the line value is ``P_11`` and the tax ``round(P_11 × rate)``; with gross
    prices it is ``P_11A`` and the tax ``round(P_11A × rate / (100 + rate))``.
    """
    rate = rules.rate(line.vat_rate)
    value = _line_value(line, currency)
    if price_mode == PriceMode.GROSS:
        vat = round_money(_tax_in_gross(value, rate), currency)
        return LineAmounts(net=value - vat, vat=vat, gross=value)
    vat = round_money(_tax_of_net(value, rate), currency)
    return LineAmounts(net=value, vat=vat, gross=value + vat)


def vat_in_pln(net_at_rate: Iterable[tuple[Decimal, Decimal]], percent: Decimal) -> Decimal:
    """VAT in PLN (FA(3) ``P_14_xW``) for (net in currency, NBP rate) pairs of one VAT rate.

    ``round(Σ net × percent/100 × rate)``: rounded once over the sum, so lines converted at
    different rates (MF example 21) still give 13 768.14 and not 13 768.15.
    """
    exact = sum(
        (
            _decimal(net, "net") * _decimal(percent, "percent") / _HUNDRED * _decimal(kurs, "rate")
            for net, kurs in net_at_rate
        ),
        Decimal(0),
    )
    return round_money(exact, "PLN")


def to_pln(amount: Decimal, rate: Decimal) -> Decimal:
    """An amount in a foreign currency converted at ``rate`` and rounded to grosze."""
    return round_money(_decimal(amount, "amount") * _decimal(rate, "rate"), "PLN")


def _kurs(exchange_rate: Decimal | ExchangeRate | None) -> Decimal | None:
    return None if exchange_rate is None else _required_kurs(exchange_rate)


def _required_kurs(exchange_rate: Decimal | ExchangeRate) -> Decimal:
    value = exchange_rate.rate if isinstance(exchange_rate, ExchangeRate) else exchange_rate
    value = _decimal(value, "exchange_rate")
    if value <= 0:
        raise ValueError(f"an exchange rate must be positive, not {value}")
    return value


def _check_codes(lines: Sequence[DocumentLine], rules: TaxRules) -> None:
    known = set(rules.codes)
    errors = [
        FieldError(
            field=f"lines.{index}.vat_rate",
            code="vat_rate_unknown",
            message=N_("This VAT rate is not known."),
            params={"rate": line.vat_rate},
        )
        for index, line in enumerate(lines)
        if line.vat_rate not in known
    ]
    if errors:
        raise ValidationError(errors)


def compute_totals(
    lines: Iterable[DocumentLine],
    *,
    currency: str,
    price_mode: PriceMode = PriceMode.NET,
    vat_method: VatMethod = VatMethod.PER_RATE,
    exchange_rate: Decimal | ExchangeRate | None = None,
    rules: TaxRules = POLAND_2026,
    line_exchange_rates: Sequence[Decimal | ExchangeRate] | None = None,
) -> DocumentTotals:
    """A document's totals per VAT rate (FA(3) ``P_13_x``, ``P_14_x``, ``P_14_xW``, ``P_15``).

    Lines marked ``before`` (a correction's "before" rows) are left out; see
    :func:`compute_correction`. Rows come in FA(3) order. ``vat_pln`` is filled for a document
    not in PLN when ``exchange_rate`` is given, per rate that bears tax; the document's
    ``vat_pln`` is the sum of the rows'. When lines have different tax points, and so different
    rates (FA(3) ``KursWaluty`` per line, MF example 21), ``line_exchange_rates`` gives one rate
    per line of ``lines`` and wins over ``exchange_rate``. Unknown rate codes raise
    :class:`ValidationError` naming each offending line.
    """
    all_lines = tuple(lines)
    _check_codes(all_lines, rules)
    if line_exchange_rates is not None and len(line_exchange_rates) != len(all_lines):
        raise ValueError("line_exchange_rates needs exactly one rate per line")
    foreign = currency != "PLN" and (exchange_rate is not None or line_exchange_rates is not None)
    document_kurs = _kurs(exchange_rate) if foreign else None
    # Each line's rounded value, and for a foreign document its exchange rate, per VAT rate.
    values: dict[str, list[Decimal]] = {}
    kursy: dict[str, list[Decimal]] = {}
    for index, line in enumerate(all_lines):
        if line.before:
            continue
        values.setdefault(line.vat_rate, []).append(_line_value(line, currency))
        if line_exchange_rates is not None and foreign:
            kursy.setdefault(line.vat_rate, []).append(_required_kurs(line_exchange_rates[index]))
        elif document_kurs is not None:
            kursy.setdefault(line.vat_rate, []).append(document_kurs)
    exact_tax = _tax_in_gross if price_mode == PriceMode.GROSS else _tax_of_net
    rows = []
    for code in sorted(values, key=rules.order):
        rate = rules.rate(code)
        amounts = values[code]
        total = sum(amounts, _ZERO)
        if vat_method == VatMethod.PER_LINE:
            vat = sum((round_money(exact_tax(a, rate), currency) for a in amounts), _ZERO)
        else:
            vat = round_money(exact_tax(total, rate), currency)
        if price_mode == PriceMode.GROSS:
            net, gross = total - vat, total
        else:
            net, gross = total, total + vat
        vat_pln = None
        if foreign and rate.bears_vat:
            # The exact tax of every line in PLN, summed, then rounded once (P_14_xW).
            exact_pln = sum(
                (
                    exact_tax(value, rate) * kurs
                    for value, kurs in zip(amounts, kursy[code], strict=True)
                ),
                Decimal(0),
            )
            vat_pln = round_money(exact_pln, "PLN")
        rows.append(RateTotal(rate=code, net=net, vat=vat, gross=gross, vat_pln=vat_pln))
    return _totals(currency, rows, foreign=foreign)


def _totals(currency: str, rows: Sequence[RateTotal], *, foreign: bool) -> DocumentTotals:
    return DocumentTotals(
        currency=currency,
        rows=tuple(rows),
        net=sum((row.net for row in rows), _ZERO),
        vat=sum((row.vat for row in rows), _ZERO),
        gross=sum((row.gross for row in rows), _ZERO),
        vat_pln=(
            sum((row.vat_pln for row in rows if row.vat_pln is not None), _ZERO)
            if foreign
            else None
        ),
    )


def _difference(after: Decimal | None, before: Decimal | None) -> Decimal | None:
    if after is None and before is None:
        return None
    return (after or _ZERO) - (before or _ZERO)


def correction_difference(
    before: DocumentTotals, after: DocumentTotals, *, rules: TaxRules = POLAND_2026
) -> DocumentTotals:
    """What a correcting invoice (faktura korygująca) states: after − before, per rate.

    The rounded totals are subtracted, never the rounded tax of the net difference (TV10:
    30.00/6.90 corrected to 16.50/3.80 gives −13.50/−3.10, not −3.11). Rates whose every
    difference is zero are left out.
    """
    if before.currency != after.currency:
        raise CurrencyMismatch(f"cannot compare {before.currency} and {after.currency} totals")
    old = {row.rate: row for row in before.rows}
    new = {row.rate: row for row in after.rows}
    rows = []
    for code in sorted(old.keys() | new.keys(), key=rules.order):
        was = old.get(code, RateTotal(rate=code, net=_ZERO, vat=_ZERO, gross=_ZERO))
        now = new.get(code, RateTotal(rate=code, net=_ZERO, vat=_ZERO, gross=_ZERO))
        row = RateTotal(
            rate=code,
            net=now.net - was.net,
            vat=now.vat - was.vat,
            gross=now.gross - was.gross,
            vat_pln=_difference(now.vat_pln, was.vat_pln),
        )
        if row.net or row.vat or row.gross or row.vat_pln:
            rows.append(row)
    foreign = before.vat_pln is not None or after.vat_pln is not None
    return _totals(after.currency, rows, foreign=foreign)


@attrs.frozen(kw_only=True)
class CorrectionTotals:
    """A correcting invoice's three states: before, after and the difference it states."""

    before: DocumentTotals
    after: DocumentTotals
    difference: DocumentTotals


def compute_correction(
    lines: Iterable[DocumentLine],
    *,
    currency: str,
    price_mode: PriceMode = PriceMode.NET,
    vat_method: VatMethod = VatMethod.PER_RATE,
    exchange_rate: Decimal | ExchangeRate | None = None,
    rules: TaxRules = POLAND_2026,
) -> CorrectionTotals:
    """Totals of a correction written as "before" (``StanPrzed``) and "after" line pairs.

    Both states are computed with the same method; the difference is
    :func:`correction_difference`. A correction without "before" lines is read as difference
    rows, so its difference equals its own totals. When the two states need different exchange
    rates, compute each with :func:`compute_totals` and subtract with
    :func:`correction_difference`.
    """
    all_lines = tuple(lines)
    _check_codes(all_lines, rules)

    def totals(state: Iterable[DocumentLine]) -> DocumentTotals:
        return compute_totals(
            state,
            currency=currency,
            price_mode=price_mode,
            vat_method=vat_method,
            exchange_rate=exchange_rate,
            rules=rules,
        )

    before = totals(attrs.evolve(line, before=False) for line in all_lines if line.before)
    after = totals(all_lines)
    return CorrectionTotals(
        before=before, after=after, difference=correction_difference(before, after, rules=rules)
    )


def requires_split_payment(gross_pln: Decimal, has_annex15_line: bool) -> bool:
    """Whether the invoice must say "mechanizm podzielonej płatności" (FA(3) ``P_18A``=1).

    Only when it has an annex-15 line and its total due in PLN is strictly above 15 000.00;
    a foreign-currency total is converted with :func:`to_pln` first.
    """
    return has_annex15_line and _decimal(gross_pln, "gross_pln") > SPLIT_PAYMENT_THRESHOLD_PLN


def split_payment_applies(
    document: Document, *, rules: TaxRules = POLAND_2026, by_flag: bool = True
) -> bool:
    """Whether ``document`` must carry the MPP marking (FA(3) ``P_18A``=1, the PDF's words).

    The goods are in annex 15 when a line says so (``annex15``) or, with ``by_flag``, when the
    document's ``extra["split_payment"]`` does (ticked by hand). The total is the invoice's
    gross in PLN at the document's fixed rate; for a correcting invoice it is the corrected
    state's total (the "after" lines), not the difference it states, so a correction is marked
    like the invoice it corrects. A foreign-currency document without a rate is not marked
    (nothing to convert with). The one rule the documents service, the FA(3) writer and the
    PDF share.
    """
    after = [line for line in document.lines if not line.before]
    annex15 = any(line.annex15 for line in after)
    if by_flag and not annex15:
        flag = document.extra.get("split_payment")
        annex15 = (
            flag.strip().lower() in ("true", "1", "on", "yes")
            if isinstance(flag, str)
            else bool(flag)
        )
    if not annex15:
        return False
    gross = compute_totals(
        after,
        currency=document.currency,
        price_mode=document.price_mode,
        vat_method=document.vat_method,
        rules=rules,
    ).gross
    if document.currency != "PLN":
        if document.exchange_rate is None:
            return False
        gross = to_pln(gross, document.exchange_rate.rate)
    return requires_split_payment(gross, True)
