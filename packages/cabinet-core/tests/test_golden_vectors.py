"""The golden test vectors TV1-TV13 of the Poland 2026 reference (poland.md §9), one test each.

Amounts there were recomputed with Decimal and ROUND_HALF_UP; TV7 and TV8 are the Ministry of
Finance's official FA(3) examples 21 and 20. FA(3) fields are read through each rate's
``fa3_*_field`` and JPK_V7M(3) fields through ``jpk_*_field``, so the mapping is tested as well.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from cabinet_core.entities import DocumentLine, DocumentTotals, PriceMode, VatMethod
from cabinet_core.vat import (
    POLAND_2026,
    compute_correction,
    compute_totals,
    correction_difference,
    line_amounts,
    requires_split_payment,
    to_pln,
    vat_in_pln,
)
from cabinet_core.words import amount_in_words

D = Decimal


def line(quantity: str, price: str, rate: str = "23", *, before: bool = False) -> DocumentLine:
    return DocumentLine(
        name="pozycja", quantity=D(quantity), unit_price=D(price), vat_rate=rate, before=before
    )


def fa3(totals: DocumentTotals) -> dict[str, Decimal]:
    """The document's FA(3) per-rate fields (P_13_x, P_14_x, P_14_xW) and P_15."""
    fields: dict[str, Decimal] = {"P_15": totals.gross}
    for row in totals.rows:
        rate = POLAND_2026.rate(row.rate)
        fields[rate.fa3_net_field] = row.net
        if rate.fa3_vat_field is not None:
            fields[rate.fa3_vat_field] = row.vat
            if row.vat_pln is not None:
                fields[rate.fa3_vat_field + "W"] = row.vat_pln
    return fields


def jpk(totals: DocumentTotals, kurs: Decimal | None = None) -> dict[str, Decimal]:
    """The sales row's JPK_V7M(3) K fields, in PLN (converted with ``kurs`` if foreign)."""
    fields: dict[str, Decimal] = {}
    for row in totals.rows:
        rate = POLAND_2026.rate(row.rate)
        net = row.net if kurs is None else to_pln(row.net, kurs)
        for field in (rate.jpk_net_field, *rate.jpk_also_fields):
            if field is not None:
                fields[field] = net
        if rate.jpk_vat_field is not None:
            fields[rate.jpk_vat_field] = row.vat if row.vat_pln is None else row.vat_pln
    return fields


def test_tv1_one_line_pln() -> None:
    totals = compute_totals([line("1", "100.00")], currency="PLN")
    assert fa3(totals) == {"P_13_1": D("100.00"), "P_14_1": D("23.00"), "P_15": D("123.00")}
    assert amount_in_words(totals.gross, "PLN") == "sto dwadzieścia trzy złote 00/100"


def test_tv2_per_rate_and_per_line_methods_differ_by_a_grosz() -> None:
    lines = [line("1", "10.33")] * 3
    per_rate = compute_totals(lines, currency="PLN")
    assert (per_rate.net, per_rate.vat, per_rate.gross) == (D("30.99"), D("7.13"), D("38.12"))
    per_line = compute_totals(lines, currency="PLN", vat_method=VatMethod.PER_LINE)
    assert (per_line.net, per_line.vat, per_line.gross) == (D("30.99"), D("7.14"), D("38.13"))
    for item in lines:
        assert line_amounts(item, price_mode=PriceMode.NET, rules=POLAND_2026).vat == D("2.38")


def test_tv3_pln_multirate_with_jpk() -> None:
    totals = compute_totals(
        [
            line("2", "149.99"),
            line("1", "45.50", "8"),
            line("3", "12.35", "5"),
            line("1", "200", "zw"),
        ],
        currency="PLN",
    )
    assert fa3(totals) == {
        "P_13_1": D("299.98"),
        "P_14_1": D("69.00"),
        "P_13_2": D("45.50"),
        "P_14_2": D("3.64"),
        "P_13_3": D("37.05"),
        "P_14_3": D("1.85"),
        "P_13_7": D("200.00"),
        "P_15": D("657.02"),
    }
    k = jpk(totals)
    assert k == {
        "K_19": D("299.98"),
        "K_20": D("69.00"),
        "K_17": D("45.50"),
        "K_18": D("3.64"),
        "K_15": D("37.05"),
        "K_16": D("1.85"),
        "K_10": D("200.00"),
    }
    # The declaration rounds each P to whole złoty from its K, so P_38 (75) is not
    # round(PodatekNalezny 74.49).
    declaration = {
        f"P_{name[2:]}": value.quantize(D(1), ROUND_HALF_UP) for name, value in k.items()
    }
    assert declaration == {
        "P_19": 300,
        "P_20": 69,
        "P_17": 46,
        "P_18": 4,
        "P_15": 37,
        "P_16": 2,
        "P_10": 200,
    }
    assert declaration["P_16"] + declaration["P_18"] + declaration["P_20"] == 75
    assert k["K_16"] + k["K_18"] + k["K_20"] == D("74.49")


def test_tv4_gross_prices() -> None:
    def gross(*prices: str) -> tuple[Decimal, Decimal, Decimal]:
        totals = compute_totals(
            [line("1", price) for price in prices], currency="PLN", price_mode=PriceMode.GROSS
        )
        return totals.gross, totals.vat, totals.net

    assert gross("123.00") == (D("123.00"), D("23.00"), D("100.00"))
    assert gross("99.99") == (D("99.99"), D("18.70"), D("81.29"))
    assert gross("0.99") == (D("0.99"), D("0.19"), D("0.80"))
    assert gross("99.99", "99.99", "99.99") == (D("299.97"), D("56.09"), D("243.88"))
    per_line = compute_totals(
        [line("1", "99.99")] * 3,
        currency="PLN",
        price_mode=PriceMode.GROSS,
        vat_method=VatMethod.PER_LINE,
    )
    assert per_line.vat == D("56.10")


def test_tv5_mixed_lines() -> None:
    totals = compute_totals(
        [line("3", "33.33"), line("7", "0.99", "8"), line("1", "19.99")], currency="PLN"
    )
    assert fa3(totals) == {
        "P_13_1": D("119.98"),
        "P_14_1": D("27.60"),
        "P_13_2": D("6.93"),
        "P_14_2": D("0.55"),
        "P_15": D("155.06"),
    }


def test_tv6_eur_with_vat_in_pln() -> None:
    kurs = D("4.2512")
    totals = compute_totals([line("1", "1000.00")], currency="EUR", exchange_rate=kurs)
    assert fa3(totals) == {
        "P_13_1": D("1000.00"),
        "P_14_1": D("230.00"),
        "P_14_1W": D("977.78"),
        "P_15": D("1230.00"),
    }
    assert totals.vat_pln == D("977.78")
    assert jpk(totals, kurs) == {"K_19": D("4251.20"), "K_20": D("977.78")}


MF_EXAMPLE_LINES = [line("10", "406"), line("20", "250"), line("15", "300")]


def test_tv7_mf_example_21_rounds_the_pln_vat_once() -> None:
    rates = [D("4.4080"), D("4.5005"), D("4.3250")]
    totals = compute_totals(MF_EXAMPLE_LINES, currency="EUR", line_exchange_rates=rates)
    assert fa3(totals) == {
        "P_13_1": D("13560.00"),
        "P_14_1": D("3118.80"),
        "P_14_1W": D("13768.14"),
        "P_15": D("16678.80"),
    }
    nets = [D("4060"), D("5000"), D("4500")]
    assert vat_in_pln(zip(nets, rates, strict=True), D(23)) == D("13768.14")
    # Rounding each line's PLN VAT first gives 13768.15, which the example rules out.
    rounded_per_line = sum(
        (to_pln(net * D("0.23"), kurs) for net, kurs in zip(nets, rates, strict=True)), D(0)
    )
    assert rounded_per_line == D("13768.15")


def test_tv8_mf_example_20_one_rate() -> None:
    totals = compute_totals(MF_EXAMPLE_LINES, currency="EUR", exchange_rate=D("4.5005"))
    assert fa3(totals) == {
        "P_13_1": D("13560.00"),
        "P_14_1": D("3118.80"),
        "P_14_1W": D("14036.16"),
        "P_15": D("16678.80"),
    }


def test_tv9_usd_multirate() -> None:
    kurs = D("3.7123")
    totals = compute_totals(
        [line("2.5", "100"), line("1", "80.00", "8")], currency="USD", exchange_rate=kurs
    )
    assert fa3(totals) == {
        "P_13_1": D("250.00"),
        "P_14_1": D("57.50"),
        "P_14_1W": D("213.46"),
        "P_13_2": D("80.00"),
        "P_14_2": D("6.40"),
        "P_14_2W": D("23.76"),
        "P_15": D("393.90"),
    }
    assert amount_in_words(totals.gross, "USD") == (
        "trzysta dziewięćdziesiąt trzy dolary amerykańskie 90/100"
    )
    assert jpk(totals, kurs) == {
        "K_19": D("928.08"),
        "K_20": D("213.46"),
        "K_17": D("296.98"),
        "K_18": D("23.76"),
    }


def test_tv10_correction_is_the_difference_of_rounded_states() -> None:
    before = compute_totals([line("3", "10.00")], currency="PLN")
    after = compute_totals([line("3", "5.50")], currency="PLN")
    assert (before.net, before.vat, before.gross) == (D("30.00"), D("6.90"), D("36.90"))
    assert (after.net, after.vat, after.gross) == (D("16.50"), D("3.80"), D("20.30"))
    difference = correction_difference(before, after)
    assert fa3(difference) == {"P_13_1": D("-13.50"), "P_14_1": D("-3.10"), "P_15": D("-16.60")}
    # Rounding the tax of the net difference would say −3.11.
    assert (D("-13.50") * D("0.23")).quantize(D("0.01"), ROUND_HALF_UP) == D("-3.11")
    pairs = compute_correction([line("3", "10.00", before=True), line("3", "5.50")], currency="PLN")
    assert pairs.difference == difference


def test_tv11_eu_service_not_taxable_in_poland() -> None:
    kurs = D("4.2512")
    totals = compute_totals([line("1", "5000.00", "np II")], currency="EUR", exchange_rate=kurs)
    assert fa3(totals) == {"P_13_9": D("5000.00"), "P_15": D("5000.00")}
    (row,) = totals.rows
    assert row.rate == "np II"
    assert row.vat == 0
    assert row.vat_pln is None
    assert POLAND_2026.rate("np II").reverse_charge  # Adnotacje P_18 = 1
    assert jpk(totals, kurs) == {"K_11": D("21256.00"), "K_12": D("21256.00")}


def test_tv12_split_payment_threshold() -> None:
    assert requires_split_payment(D("15000.00"), True) is False
    assert requires_split_payment(D("15000.01"), True) is True
    in_pln = to_pln(D("3600.00"), D("4.2512"))
    assert in_pln == D("15304.32")
    assert requires_split_payment(in_pln, True) is True
    assert requires_split_payment(in_pln, False) is False


def test_tv13_amounts_in_words() -> None:
    cases = {
        ("1.00", "PLN"): "jeden złoty 00/100",
        ("12.00", "PLN"): "dwanaście złotych 00/100",
        ("22.50", "PLN"): "dwadzieścia dwa złote 50/100",
        ("1234.56", "PLN"): "tysiąc dwieście trzydzieści cztery złote 56/100",
        ("1000000.01", "PLN"): "milion złotych 01/100",
        ("0.50", "PLN"): "zero złotych 50/100",
        ("1230.00", "EUR"): "tysiąc dwieście trzydzieści euro 00/100",
    }
    for (amount, currency), words in cases.items():
        assert amount_in_words(D(amount), currency) == words
    assert amount_in_words(D("123.45"), "PLN", "en") == "one hundred twenty-three PLN 45/100"
