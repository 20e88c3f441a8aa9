from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import attrs
import pluggy
import pytest
from cabinet_core import default_tax_rules, hookspecs
from cabinet_core.entities import (
    Document,
    DocumentLine,
    DocumentTotals,
    ExchangeRate,
    PriceMode,
    RateTotal,
    VatMethod,
)
from cabinet_core.errors import ValidationError
from cabinet_core.money import CurrencyMismatch
from cabinet_core.vat import (
    POLAND_2026,
    TaxRules,
    UnknownVatRate,
    compute_correction,
    compute_totals,
    correction_difference,
    line_amounts,
    rates_for,
    requires_split_payment,
    split_payment_applies,
    to_pln,
    vat_in_pln,
)
from hypothesis import given, settings
from hypothesis import strategies as st

CENT = Decimal("0.01")


def line(quantity: str, price: str, rate: str = "23", *, before: bool = False) -> DocumentLine:
    return DocumentLine(
        name="usługa",
        quantity=Decimal(quantity),
        unit_price=Decimal(price),
        vat_rate=rate,
        before=before,
    )


def exact_round(value: Decimal) -> Decimal:
    """An independent half-up rounding, so the tests do not only check the code against itself."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


# -- rates --------------------------------------------------------------------------------------


def test_poland_has_every_fa3_rate_code_in_fa3_order() -> None:
    assert POLAND_2026.codes == (
        "23",
        "8",
        "5",
        "0 KR",
        "0 WDT",
        "0 EX",
        "zw",
        "np I",
        "np II",
        "oo",
    )
    fields = [rate.fa3_net_field for rate in POLAND_2026.rates]
    assert fields == [
        "P_13_1",
        "P_13_2",
        "P_13_3",
        "P_13_6_1",
        "P_13_6_2",
        "P_13_6_3",
        "P_13_7",
        "P_13_8",
        "P_13_9",
        "P_13_10",
    ]


@pytest.mark.parametrize(
    ("code", "percent", "fa3_vat", "jpk_net", "jpk_vat"),
    [
        ("23", Decimal(23), "P_14_1", "K_19", "K_20"),
        ("8", Decimal(8), "P_14_2", "K_17", "K_18"),
        ("5", Decimal(5), "P_14_3", "K_15", "K_16"),
        ("0 KR", Decimal(0), None, "K_13", None),
        ("0 WDT", Decimal(0), None, "K_21", None),
        ("0 EX", Decimal(0), None, "K_22", None),
        ("zw", None, None, "K_10", None),
        ("np I", None, None, "K_11", None),
        ("np II", None, None, "K_11", None),
        ("oo", None, None, None, None),
    ],
)
def test_rate_fields(
    code: str,
    percent: Decimal | None,
    fa3_vat: str | None,
    jpk_net: str | None,
    jpk_vat: str | None,
) -> None:
    rate = POLAND_2026.rate(code)
    assert rate.percent == percent
    assert rate.fa3_vat_field == fa3_vat
    assert rate.jpk_net_field == jpk_net
    assert rate.jpk_vat_field == jpk_vat
    assert rate.bears_vat == (percent is not None and percent > 0)
    assert rate.label["pl"]
    assert rate.label["en"]


def test_reverse_charge_markers() -> None:
    reverse = {rate.code for rate in POLAND_2026.rates if rate.reverse_charge}
    assert reverse == {"np II", "oo"}
    assert POLAND_2026.rate("np II").jpk_also_fields == ("K_12",)


def test_unknown_rate_is_a_lookup_error() -> None:
    with pytest.raises(LookupError) as caught:
        POLAND_2026.rate("22")
    assert isinstance(caught.value, UnknownVatRate)
    assert caught.value.code == "22"


def test_rates_for_picks_the_newest_valid_set() -> None:
    future = TaxRules(key="PL-2027", valid_from=date(2027, 1, 1), rates=POLAND_2026.rates[:3])
    assert rates_for([POLAND_2026, future], date(2026, 11, 27)) is POLAND_2026
    assert rates_for([future, POLAND_2026], date(2027, 1, 1)) is future
    with pytest.raises(LookupError):
        rates_for([future], date(2026, 12, 31))
    with pytest.raises(LookupError):
        rates_for([], date(2026, 1, 1))


# -- lines --------------------------------------------------------------------------------------


def test_line_amounts_net_prices() -> None:
    amounts = line_amounts(line("3", "33.33"), price_mode=PriceMode.NET, rules=POLAND_2026)
    assert (amounts.net, amounts.vat, amounts.gross) == (
        Decimal("99.99"),
        Decimal("23.00"),
        Decimal("122.99"),
    )


def test_line_amounts_gross_prices() -> None:
    amounts = line_amounts(line("1", "99.99"), price_mode=PriceMode.GROSS, rules=POLAND_2026)
    assert (amounts.net, amounts.vat, amounts.gross) == (
        Decimal("81.29"),
        Decimal("18.70"),
        Decimal("99.99"),
    )


def test_line_value_is_rounded_before_tax() -> None:
    # 0.333 × 10.00 = 3.33 (P_11), and the tax is taken from 3.33, not from 3.33000…
    amounts = line_amounts(line("0.333", "10.00"), price_mode=PriceMode.NET, rules=POLAND_2026)
    assert amounts.net == Decimal("3.33")
    assert amounts.vat == Decimal("0.77")


@pytest.mark.parametrize("code", ["0 KR", "0 WDT", "0 EX", "zw", "np I", "np II", "oo"])
def test_rates_without_tax_have_none_in_both_modes(code: str) -> None:
    for mode in PriceMode:
        amounts = line_amounts(line("2", "50.00", code), price_mode=mode, rules=POLAND_2026)
        assert amounts.vat == Decimal("0.00")
        assert amounts.net == amounts.gross == Decimal("100.00")


def test_float_prices_are_refused() -> None:
    bad = DocumentLine(name="x", unit_price=0.1, vat_rate="23")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        compute_totals([bad], currency="PLN")


# -- documents ----------------------------------------------------------------------------------


def test_unknown_rate_codes_are_reported_per_line() -> None:
    with pytest.raises(ValidationError) as caught:
        compute_totals([line("1", "1"), line("1", "1", "7"), line("1", "1", "np")], currency="PLN")
    fields = [(error.field, error.code) for error in caught.value.errors]
    assert fields == [
        ("lines.1.vat_rate", "vat_rate_unknown"),
        ("lines.2.vat_rate", "vat_rate_unknown"),
    ]


def test_empty_document_sums_to_zero() -> None:
    totals = compute_totals([], currency="EUR", exchange_rate=Decimal("4.25"))
    assert totals == DocumentTotals(currency="EUR", vat_pln=Decimal("0.00"))


def test_rows_come_in_fa3_order_whatever_the_line_order() -> None:
    lines = [line("1", "1", code) for code in ("oo", "zw", "5", "np II", "23", "0 EX", "8")]
    totals = compute_totals(lines, currency="PLN")
    assert [row.rate for row in totals.rows] == ["23", "8", "5", "0 EX", "zw", "np II", "oo"]


def test_zero_rate_rows_have_no_pln_vat_but_the_document_has_a_pln_sum() -> None:
    totals = compute_totals(
        [line("1", "100", "0 WDT"), line("1", "10", "23")],
        currency="EUR",
        exchange_rate=Decimal("4.0000"),
    )
    by_rate = {row.rate: row for row in totals.rows}
    assert by_rate["0 WDT"].vat_pln is None
    assert by_rate["0 WDT"].vat == Decimal("0.00")
    assert by_rate["23"].vat_pln == Decimal("9.20")
    assert totals.vat_pln == Decimal("9.20")


def test_pln_documents_have_no_pln_vat_even_with_a_rate() -> None:
    totals = compute_totals([line("1", "10")], currency="PLN", exchange_rate=Decimal("1"))
    assert totals.vat_pln is None
    assert totals.rows[0].vat_pln is None


def test_foreign_document_without_rate_has_no_pln_vat() -> None:
    totals = compute_totals([line("1", "10")], currency="USD")
    assert totals.vat_pln is None


def test_exchange_rate_entity_is_accepted() -> None:
    rate = ExchangeRate(
        currency="EUR",
        rate=Decimal("4.2512"),
        effective_date=date(2026, 11, 26),
        table_no="229/A/NBP/2026",
    )
    totals = compute_totals([line("1", "1000.00")], currency="EUR", exchange_rate=rate)
    assert totals.vat_pln == Decimal("977.78")


@pytest.mark.parametrize("bad", [Decimal(0), Decimal("-4.2")])
def test_non_positive_exchange_rates_are_refused(bad: Decimal) -> None:
    with pytest.raises(ValueError, match="positive"):
        compute_totals([line("1", "1")], currency="EUR", exchange_rate=bad)


def test_correction_difference_refuses_mixed_currencies() -> None:
    with pytest.raises(CurrencyMismatch):
        correction_difference(DocumentTotals(currency="PLN"), DocumentTotals(currency="EUR"))


def test_correction_moving_a_line_to_another_rate() -> None:
    result = compute_correction(
        [line("1", "100.00", "23", before=True), line("1", "100.00", "8")], currency="PLN"
    )
    rows = {row.rate: row for row in result.difference.rows}
    assert rows["23"] == RateTotal(
        rate="23", net=Decimal("-100.00"), vat=Decimal("-23.00"), gross=Decimal("-123.00")
    )
    assert rows["8"] == RateTotal(
        rate="8", net=Decimal("100.00"), vat=Decimal("8.00"), gross=Decimal("108.00")
    )
    assert result.difference.gross == Decimal("-15.00")
    assert [row.rate for row in result.difference.rows] == ["23", "8"]


def test_correction_leaves_out_unchanged_rates() -> None:
    result = compute_correction(
        [
            line("1", "50.00", "5", before=True),
            line("1", "50.00", "5"),
            line("1", "10.00", "23", before=True),
            line("1", "12.00", "23"),
        ],
        currency="PLN",
    )
    assert [row.rate for row in result.difference.rows] == ["23"]
    assert result.before.gross == Decimal("64.80")
    assert result.after.gross == Decimal("67.26")


def test_correction_without_before_rows_is_its_own_difference() -> None:
    result = compute_correction([line("-1", "10.00")], currency="PLN")
    assert result.difference == result.after
    assert result.after.gross == Decimal("-12.30")


def test_foreign_correction_difference_in_pln() -> None:
    result = compute_correction(
        [line("1", "100.00", before=True), line("1", "90.00")],
        currency="EUR",
        exchange_rate=Decimal("4.3000"),
    )
    assert result.before.vat_pln == Decimal("98.90")
    assert result.after.vat_pln == Decimal("89.01")
    assert result.difference.vat_pln == Decimal("-9.89")


@pytest.mark.parametrize(
    ("gross", "annex15", "expected"),
    [
        ("15000.00", True, False),
        ("15000.01", True, True),
        ("99999.99", False, False),
        ("14999.99", True, False),
    ],
)
def test_requires_split_payment(gross: str, annex15: bool, expected: bool) -> None:
    assert requires_split_payment(Decimal(gross), annex15) is expected


def test_to_pln_rounds_once() -> None:
    assert to_pln(Decimal("250.00"), Decimal("3.7123")) == Decimal("928.08")
    with pytest.raises(TypeError):
        to_pln(Decimal(1), 4.2)  # type: ignore[arg-type]


def test_vat_in_pln_rounds_once_over_lines() -> None:
    pairs = [(Decimal("0.01"), Decimal("1.0"))] * 3
    # each line 0.0023 PLN would round to 0.00; the sum 0.0069 rounds to 0.01
    assert vat_in_pln(pairs, Decimal(23)) == Decimal("0.01")


# -- properties ---------------------------------------------------------------------------------

codes = st.sampled_from(POLAND_2026.codes)
lines_strategy = st.lists(
    st.builds(
        DocumentLine,
        name=st.just("pozycja"),
        quantity=st.decimals(
            min_value=Decimal("0.001"), max_value=Decimal("1000"), places=3, allow_nan=False
        ),
        unit_price=st.decimals(
            min_value=Decimal("-1000"), max_value=Decimal("100000"), places=4, allow_nan=False
        ),
        vat_rate=codes,
    ),
    max_size=15,
)
modes = st.sampled_from(PriceMode)
methods = st.sampled_from(VatMethod)
kurs = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("10"), places=4)


@settings(deadline=None)
@given(lines_strategy, modes, methods)
def test_gross_is_net_plus_vat_per_rate_and_in_total(
    lines: list[DocumentLine], mode: PriceMode, method: VatMethod
) -> None:
    totals = compute_totals(lines, currency="PLN", price_mode=mode, vat_method=method)
    for row in totals.rows:
        assert row.gross == row.net + row.vat
        assert row.net == exact_round(row.net)
        assert row.vat == exact_round(row.vat)
    assert totals.gross == totals.net + totals.vat


@settings(deadline=None)
@given(lines_strategy, modes, methods, kurs)
def test_totals_equal_the_sum_of_the_rows(
    lines: list[DocumentLine], mode: PriceMode, method: VatMethod, rate: Decimal
) -> None:
    totals = compute_totals(
        lines, currency="EUR", price_mode=mode, vat_method=method, exchange_rate=rate
    )
    assert totals.net == sum((row.net for row in totals.rows), Decimal(0))
    assert totals.vat == sum((row.vat for row in totals.rows), Decimal(0))
    assert totals.gross == sum((row.gross for row in totals.rows), Decimal(0))
    assert totals.vat_pln == sum(
        (row.vat_pln for row in totals.rows if row.vat_pln is not None), Decimal(0)
    )
    assert len({row.rate for row in totals.rows}) == len(totals.rows)


@settings(deadline=None)
@given(lines_strategy, kurs)
def test_rounding_happens_once_per_rate(lines: list[DocumentLine], rate: Decimal) -> None:
    totals = compute_totals(lines, currency="EUR", exchange_rate=rate)
    for row in totals.rows:
        vat_rate = POLAND_2026.rate(row.rate)
        line_nets = [
            exact_round(item.quantity * item.unit_price)
            for item in lines
            if item.vat_rate == row.rate
        ]
        assert row.net == sum(line_nets, Decimal(0))
        if vat_rate.bears_vat:
            percent = vat_rate.percent or Decimal(0)
            assert row.vat == exact_round(row.net * percent / 100)
            exact_pln = sum((net * percent / 100 * rate for net in line_nets), Decimal(0))
            assert row.vat_pln == exact_round(exact_pln)
        else:
            assert row.vat == 0
            assert row.vat_pln is None


@settings(deadline=None)
@given(lines_strategy)
def test_gross_mode_takes_tax_out_of_the_gross_sum(lines: list[DocumentLine]) -> None:
    totals = compute_totals(lines, currency="PLN", price_mode=PriceMode.GROSS)
    for row in totals.rows:
        percent = POLAND_2026.rate(row.rate).percent or Decimal(0)
        line_gross = sum(
            (exact_round(i.quantity * i.unit_price) for i in lines if i.vat_rate == row.rate),
            Decimal(0),
        )
        assert row.gross == line_gross
        assert row.vat == exact_round(line_gross * percent / (100 + percent))


@settings(deadline=None)
@given(lines_strategy, modes)
def test_per_line_method_is_the_sum_of_line_taxes(
    lines: list[DocumentLine], mode: PriceMode
) -> None:
    per_line = compute_totals(lines, currency="PLN", price_mode=mode, vat_method=VatMethod.PER_LINE)
    per_rate = compute_totals(lines, currency="PLN", price_mode=mode)
    amounts = [line_amounts(item, price_mode=mode, rules=POLAND_2026) for item in lines]
    assert per_line.vat == sum((a.vat for a in amounts), Decimal(0))
    assert per_line.net == sum((a.net for a in amounts), Decimal(0))
    assert per_line.gross == sum((a.gross for a in amounts), Decimal(0))
    # Each line can move the sum by at most half a grosz.
    assert abs(per_line.vat - per_rate.vat) <= Decimal("0.005") * max(len(lines), 1)


@st.composite
def lines_and_permutation(draw: st.DrawFn) -> tuple[list[DocumentLine], list[DocumentLine]]:
    lines = draw(lines_strategy)
    return lines, draw(st.permutations(lines))


@settings(deadline=None)
@given(lines_and_permutation(), modes, methods)
def test_results_do_not_depend_on_line_order(
    pair: tuple[list[DocumentLine], list[DocumentLine]], mode: PriceMode, method: VatMethod
) -> None:
    lines, shuffled = pair
    rate = Decimal("3.7123")
    first = compute_totals(
        lines, currency="USD", exchange_rate=rate, price_mode=mode, vat_method=method
    )
    second = compute_totals(
        shuffled, currency="USD", exchange_rate=rate, price_mode=mode, vat_method=method
    )
    assert first == second


@settings(deadline=None)
@given(lines_strategy, lines_strategy, modes, methods)
def test_correction_is_after_minus_before(
    before: list[DocumentLine], after: list[DocumentLine], mode: PriceMode, method: VatMethod
) -> None:
    marked = [attrs.evolve(item, before=True) for item in before]
    result = compute_correction(marked + after, currency="PLN", price_mode=mode, vat_method=method)
    assert result.before == compute_totals(
        before, currency="PLN", price_mode=mode, vat_method=method
    )
    assert result.after == compute_totals(after, currency="PLN", price_mode=mode, vat_method=method)
    old = {row.rate: row for row in result.before.rows}
    new = {row.rate: row for row in result.after.rows}
    diff = {row.rate: row for row in result.difference.rows}
    for code in old.keys() | new.keys():
        zero = RateTotal(rate=code, net=Decimal(0), vat=Decimal(0), gross=Decimal(0))
        expected_net = new.get(code, zero).net - old.get(code, zero).net
        expected_vat = new.get(code, zero).vat - old.get(code, zero).vat
        got = diff.get(code, zero)
        assert (got.net, got.vat) == (expected_net, expected_vat)
    assert result.difference.gross == result.after.gross - result.before.gross


@st.composite
def lines_with_rates(draw: st.DrawFn) -> tuple[list[DocumentLine], list[Decimal]]:
    lines = draw(lines_strategy)
    rates = draw(st.lists(kurs, min_size=len(lines), max_size=len(lines)))
    return lines, rates


@settings(deadline=None)
@given(lines_with_rates(), modes)
def test_pln_vat_with_line_rates_is_rounded_once(
    pair: tuple[list[DocumentLine], list[Decimal]], mode: PriceMode
) -> None:
    lines, rates = pair
    totals = compute_totals(lines, currency="EUR", price_mode=mode, line_exchange_rates=rates)
    for row in totals.rows:
        percent = POLAND_2026.rate(row.rate).percent
        if not POLAND_2026.rate(row.rate).bears_vat or percent is None:
            assert row.vat_pln is None
            continue
        share = percent / (100 + percent) if mode == PriceMode.GROSS else percent / 100
        exact = sum(
            (
                exact_round(item.quantity * item.unit_price) * share * rate
                for item, rate in zip(lines, rates, strict=True)
                if item.vat_rate == row.rate
            ),
            Decimal(0),
        )
        assert row.vat_pln == exact_round(exact)


def test_line_exchange_rates_need_one_rate_per_line() -> None:
    with pytest.raises(ValueError, match="one rate per line"):
        compute_totals(
            [line("1", "1"), line("1", "2")], currency="EUR", line_exchange_rates=[Decimal(4)]
        )


def test_line_exchange_rates_win_over_the_document_rate() -> None:
    totals = compute_totals(
        [line("1", "100.00"), line("1", "100.00")],
        currency="EUR",
        exchange_rate=Decimal("9.9999"),
        line_exchange_rates=[Decimal("4.0000"), Decimal("5.0000")],
    )
    assert totals.vat_pln == Decimal("207.00")


def test_default_tax_rules_plugin_registers_poland() -> None:
    pm = pluggy.PluginManager("cabinet")
    pm.add_hookspecs(hookspecs)
    pm.register(default_tax_rules)
    registered: list[TaxRules] = []
    pm.hook.register_tax_rules(register=registered.append)
    assert registered == [POLAND_2026]
    assert rates_for(registered, date(2026, 11, 27)).rate("23").percent == Decimal(23)


def _mpp_document(*lines: DocumentLine, **changes: object) -> Document:
    values: dict[str, object] = {
        "client_id": 1,
        "doc_type": "vat_invoice",
        "issue_date": date(2026, 11, 20),
        "lines": lines,
    }
    values.update(changes)
    return Document(**values)  # type: ignore[arg-type]


def _steel(price: str, *, before: bool = False, annex15: bool = True) -> DocumentLine:
    return DocumentLine(name="Stal", unit_price=Decimal(price), annex15=annex15, before=before)


TICKED = {"split_payment": True}
EUR_RATE = ExchangeRate(
    currency="EUR", rate=Decimal("4.2512"), effective_date=date(2026, 11, 19), table_no="1/A"
)


@pytest.mark.parametrize(
    ("document", "by_flag", "expected"),
    [
        (_mpp_document(_steel("12195.13")), True, True),  # 15 000.01 PLN
        (_mpp_document(_steel("12195.12")), True, False),  # 15 000.00: not above
        (_mpp_document(_steel("20000", annex15=False)), True, False),
        # The hand-ticked flag stands for annex-15 goods, unless told to look at lines only.
        (_mpp_document(_steel("20000", annex15=False), extra=TICKED), True, True),
        (_mpp_document(_steel("20000", annex15=False), extra={"split_payment": "on"}), True, True),
        (_mpp_document(_steel("20000", annex15=False), extra=TICKED), False, False),
        # EUR 2 900.00 + 23 % = 3 567.00 EUR = 15 164.03 PLN; without a rate nothing to convert.
        (_mpp_document(_steel("2900"), currency="EUR", exchange_rate=EUR_RATE), True, True),
        (_mpp_document(_steel("2900"), currency="EUR"), True, False),
        # A correction: the corrected state (after lines) counts, not the -123.00 difference.
        (
            _mpp_document(
                _steel("20000", before=True), _steel("19900"), doc_type="correcting_invoice"
            ),
            True,
            True,
        ),
        (
            _mpp_document(
                _steel("20000", before=True), _steel("10000"), doc_type="correcting_invoice"
            ),
            True,
            False,
        ),
    ],
    ids=[
        "15000.01",
        "15000.00",
        "no-annex",
        "flag",
        "flag-text",
        "flag-ignored",
        "eur",
        "eur-no-rate",
        "kor-after-above",
        "kor-after-below",
    ],
)
def test_split_payment_applies(document: Document, by_flag: bool, expected: bool) -> None:
    assert split_payment_applies(document, by_flag=by_flag) is expected
