"""Every worked example of poland.md §5.2, to the grosz, and the parts always adding up."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import attrs
import pytest
from cabinet_core.payroll import (
    BUILT_IN_TAX_YEARS,
    DZIELO,
    ZLECENIE,
    BillBreakdown,
    BillTerms,
    InsuranceStatus,
    calculate_bill,
)
from hypothesis import given
from hypothesis import strategies as st

Y2026 = BUILT_IN_TAX_YEARS[2026]
D = Decimal
WITH_SICKNESS = InsuranceStatus(sickness=True)


def bill(
    kind: str, gross: str, *, contract_amount: str | None = None, **terms: Any
) -> BillBreakdown:
    stated = D(contract_amount or gross)
    return calculate_bill(
        BillTerms(kind=kind, gross=D(gross), contract_amount=stated, **terms), Y2026
    )


def test_a_zlecenie_with_sickness_no_pit2() -> None:
    result = bill(ZLECENIE, "1000.00", status=WITH_SICKNESS)
    assert (result.employee.pension, result.employee.disability, result.employee.sickness) == (
        D("97.60"),
        D("15.00"),
        D("24.50"),
    )
    assert result.social == D("137.10")
    assert result.health == D("77.66")
    assert result.tax.costs == D("172.58")
    assert result.tax.base == D("690.00")
    assert result.tax.tax == D("83.00")
    assert result.net == D("702.24")
    assert result.net_in_words("pl") == "siedemset dwa złote 24/100"
    # Below the minimum wage no FP/FGŚP: pension, disability and accident only.
    assert (result.employer.pension, result.employer.disability, result.employer.accident) == (
        D("97.60"),
        D("65.00"),
        D("16.70"),
    )
    assert result.employer.labour_fund == result.employer.guaranteed_benefits == D("0.00")
    assert result.employer_cost == D("1179.30")


def test_a_employer_cost_with_the_funds_when_the_base_reaches_the_minimum_wage() -> None:
    # The example's "up to 1 204.80": FP 24.50 and FGŚP 1.00 on a 1 000.00 base, which a year
    # whose minimum wage the base reaches makes due.
    low_minimum = attrs.evolve(Y2026, minimum_wage=D("1000.00"))
    result = calculate_bill(
        BillTerms(kind=ZLECENIE, gross=D("1000.00"), status=WITH_SICKNESS), low_minimum
    )
    assert result.employer.labour_fund == D("24.50")
    assert result.employer.guaranteed_benefits == D("1.00")
    assert result.employer_cost == D("1204.80")
    above = bill(ZLECENIE, "5000.00", status=WITH_SICKNESS)
    assert above.employer.labour_fund == D("122.50")
    assert above.employer.guaranteed_benefits == D("5.00")


def test_b_zlecenie_without_sickness() -> None:
    result = bill(ZLECENIE, "1000.00")
    assert result.social == D("112.60")
    assert result.health == D("79.87")
    assert result.tax.costs == D("177.48")
    assert result.tax.base == D("710.00")
    assert result.tax.tax == D("85.00")
    assert result.net == D("722.53")


def test_c_student_under_26_pays_nothing() -> None:
    student = InsuranceStatus(student_under_26=True, sickness=True)
    result = bill(ZLECENIE, "1000.00", under_26=True, status=student)
    assert result.social == result.health == result.tax.tax == D("0.00")
    assert result.tax.method == "exempt"
    assert result.net == D("1000.00")
    assert result.employer_cost == D("1000.00")


def test_c_non_student_under_26_pays_zus_but_no_pit() -> None:
    result = bill(ZLECENIE, "1000.00", under_26=True, status=WITH_SICKNESS)
    assert (result.social, result.health, result.tax.tax) == (D("137.10"), D("77.66"), D("0.00"))
    assert result.net == D("785.24")


def test_under_26_exemption_is_not_for_dzielo() -> None:
    assert bill(DZIELO, "1000.00", under_26=True).net == D("904.00")


def test_d_dzielo_20_percent() -> None:
    result = bill(DZIELO, "1000.00")
    assert (result.tax.costs, result.tax.base, result.tax.tax) == (
        D("200.00"),
        D("800.00"),
        D("96.00"),
    )
    assert result.social == result.health == D("0.00")
    assert result.net == D("904.00")
    assert result.employer_cost == D("1000.00")


def test_e_dzielo_copyright_50_percent() -> None:
    result = bill(DZIELO, "1000.00", copyright=True)
    assert (result.tax.costs, result.tax.base, result.tax.tax) == (
        D("500.00"),
        D("500.00"),
        D("60.00"),
    )
    assert result.net == D("940.00")


@pytest.mark.parametrize(
    ("copyright", "costs", "base", "tax", "net"),
    [
        (False, "469.13", "1877.00", "225.00", "2120.67"),
        (True, "1172.84", "1173.00", "141.00", "2204.67"),
    ],
)
def test_e_rounding_case(copyright: bool, costs: str, base: str, tax: str, net: str) -> None:
    result = bill(DZIELO, "2345.67", copyright=copyright)
    assert (result.tax.costs, result.tax.base, result.tax.tax, result.net) == (
        D(costs),
        D(base),
        D(tax),
        D(net),
    )


@pytest.mark.parametrize(
    ("gross", "base", "tax", "net"),
    [
        ("200.00", "200.00", "24.00", "176.00"),
        ("150.00", "150.00", "18.00", "132.00"),
        ("133.33", "133.00", "16.00", "117.33"),
    ],
)
def test_f_small_dzielo_flat_tax(gross: str, base: str, tax: str, net: str) -> None:
    result = bill(DZIELO, gross)
    assert result.tax.method == "flat"
    assert result.tax.costs == D("0.00")
    assert (result.tax.base, result.tax.tax, result.net) == (D(base), D(tax), D(net))


def test_f_small_zlecenie_flat_tax_with_full_zus() -> None:
    result = bill(ZLECENIE, "200.00", status=WITH_SICKNESS)
    assert (result.employee.pension, result.employee.disability, result.employee.sickness) == (
        D("19.52"),
        D("3.00"),
        D("4.90"),
    )
    assert result.social == D("27.42")
    assert result.health == D("15.53")
    assert result.tax.tax == D("24.00")
    assert result.net == D("133.05")


def test_f_same_zlecenie_on_the_scale_for_comparison() -> None:
    # A 200.00 bill under a contract stating more is taxed on the scale.
    result = bill(ZLECENIE, "200.00", status=WITH_SICKNESS, contract_amount="5000.00")
    assert result.tax.method == "scale"
    assert (result.tax.costs, result.tax.base, result.tax.tax) == (
        D("34.52"),
        D("138.00"),
        D("17.00"),
    )
    assert result.net == D("140.05")


def test_an_hourly_contract_states_no_amount_so_no_flat_tax() -> None:
    result = calculate_bill(BillTerms(kind=DZIELO, gross=D("150.00")), Y2026)
    assert result.tax.method == "scale"


def test_insured_elsewhere_pays_health_only() -> None:
    result = bill(ZLECENIE, "1000.00", status=InsuranceStatus(insured_elsewhere=True))
    assert result.social == D("0.00")
    assert result.health == D("90.00")
    assert (result.tax.costs, result.tax.base, result.tax.tax) == (
        D("200.00"),
        D("800.00"),
        D("96.00"),
    )
    assert result.net == D("814.00")
    assert result.employer_cost == D("1000.00")


def test_pit2_takes_the_monthly_relief_off_the_advance() -> None:
    result = bill(DZIELO, "5000.00", pit2=True)
    # base 4000, 12 % = 480.00, less 300.00 = 180.00
    assert result.tax.relief == D("300.00")
    assert result.tax.tax == D("180.00")
    assert result.net == D("4820.00")
    assert bill(ZLECENIE, "1000.00", pit2=True, status=WITH_SICKNESS).tax.tax == D("0.00")


def test_copyright_costs_stop_at_the_yearly_cap() -> None:
    result = bill(DZIELO, "10000.00", copyright=True, copyright_costs_claimed=D("118000.00"))
    assert result.tax.costs == D("2000.00")
    assert result.tax.base == D("8000.00")
    spent = bill(DZIELO, "10000.00", copyright=True, copyright_costs_claimed=D("130000.00"))
    assert spent.tax.costs == D("0.00")


def test_the_yearly_caps_are_tax_year_parameters() -> None:
    assert BUILT_IN_TAX_YEARS[2025].young_exemption_limit == D("85528.00")
    assert BUILT_IN_TAX_YEARS[2026].young_exemption_limit == D("85528.00")
    assert BUILT_IN_TAX_YEARS[2025].pension_base_cap == D("260190.00")  # 30 × 8 673
    assert BUILT_IN_TAX_YEARS[2026].pension_base_cap == D("282600.00")  # 30 × 9 420


def test_under_26_within_the_limit_is_wholly_exempt() -> None:
    # 84 528.00 earlier + 1 000.00 = 85 528.00: the bill reaches the limit exactly.
    result = bill(
        ZLECENIE,
        "1000.00",
        under_26=True,
        status=WITH_SICKNESS,
        earlier_exempt_income=D("84528.00"),
    )
    assert result.tax.method == "exempt"
    assert result.tax.exempt == D("1000.00")
    assert result.net == D("785.24")  # as §5.2 C, non-student


def test_under_26_bill_crossing_the_limit_is_split() -> None:
    # Worked by hand: 85 028.00 earlier leaves 500.00 of the 85 528.00 limit.
    # Exempt 500.00, taxed 500.00; social 137.10 falls on the taxed half: 68.55.
    # Income 500.00 − 68.55 = 431.45; costs 20 % = 86.29; base 345.16 → 345; 12 % = 41.40 → 41.
    # Net 1 000.00 − 137.10 − 77.66 − 41.00 = 744.24.
    result = bill(
        ZLECENIE,
        "1000.00",
        under_26=True,
        status=WITH_SICKNESS,
        earlier_exempt_income=D("85028.00"),
    )
    assert result.tax.method == "scale"
    assert (result.tax.exempt, result.tax.social) == (D("500.00"), D("68.55"))
    assert (result.tax.costs, result.tax.base, result.tax.tax) == (
        D("86.29"),
        D("345.00"),
        D("41.00"),
    )
    assert (result.social, result.health) == (D("137.10"), D("77.66"))
    assert result.net == D("744.24")


def test_under_26_past_the_limit_is_taxed_as_anyone() -> None:
    over = bill(
        ZLECENIE,
        "1000.00",
        under_26=True,
        status=WITH_SICKNESS,
        earlier_exempt_income=D("85528.00"),
    )
    assert over.tax.exempt == D("0.00")
    assert over.net == D("702.24")  # §5.2 A
    student = bill(
        ZLECENIE,
        "1000.00",
        under_26=True,
        status=InsuranceStatus(student_under_26=True),
        earlier_exempt_income=D("90000.00"),
    )
    # A student still pays no ZUS; past the limit the whole 1 000.00 is taxed:
    # costs 200.00, base 800 → 96.00, net 904.00.
    assert (student.social, student.health, student.tax.tax) == (
        D("0.00"),
        D("0.00"),
        D("96.00"),
    )
    assert student.net == D("904.00")


def test_small_zlecenie_crossing_the_limit_pays_the_flat_tax_on_the_taxed_rest() -> None:
    # 85 428.00 earlier leaves 100.00; a 200.00 contract: flat 12 % on the other 100.00 = 12.
    student = InsuranceStatus(student_under_26=True)
    result = bill(
        ZLECENIE, "200.00", under_26=True, status=student, earlier_exempt_income=D("85428.00")
    )
    assert (result.tax.method, result.tax.exempt, result.tax.tax) == (
        "flat",
        D("100.00"),
        D("12.00"),
    )
    assert result.net == D("188.00")


def test_pension_and_disability_stop_at_the_yearly_base_cap() -> None:
    # Worked by hand, 2026 cap 282 600.00, 282 000.00 reached earlier: base 600.00.
    # Pension 600 × 9.76 % = 58.56, disability 600 × 1.5 % = 9.00, sickness 1 000 × 2.45 % = 24.50
    # → social 92.06; health (907.94 × 9 % = 81.7146) 81.71; costs 181.59 (of 181.588);
    # base 726.35 → 726; tax 87.12 → 87; net 1 000 − 92.06 − 81.71 − 87 = 739.23.
    result = bill(ZLECENIE, "1000.00", status=WITH_SICKNESS, earlier_pension_base=D("282000.00"))
    assert result.pension_base == D("600.00")
    assert (result.employee.pension, result.employee.disability, result.employee.sickness) == (
        D("58.56"),
        D("9.00"),
        D("24.50"),
    )
    assert (result.social, result.health) == (D("92.06"), D("81.71"))
    assert (result.tax.costs, result.tax.base, result.tax.tax) == (
        D("181.59"),
        D("726.00"),
        D("87.00"),
    )
    assert result.net == D("739.23")
    # The orderer: pension 58.56 and disability 600 × 6.5 % = 39.00 on the capped base,
    # accident 16.70 on the whole gross.
    assert (result.employer.pension, result.employer.disability, result.employer.accident) == (
        D("58.56"),
        D("39.00"),
        D("16.70"),
    )
    assert result.employer_cost == D("1114.26")


def test_past_the_base_cap_only_sickness_and_health_remain() -> None:
    # Social 24.50; health 975.50 × 9 % = 87.795 → 87.80; costs 195.10; base 780.40 → 780;
    # tax 93.60 → 94; net 1 000 − 24.50 − 87.80 − 94 = 793.70.
    result = bill(ZLECENIE, "1000.00", status=WITH_SICKNESS, earlier_pension_base=D("300000.00"))
    assert result.pension_base == D("0.00")
    assert (result.employee.pension, result.employee.disability) == (D("0.00"), D("0.00"))
    assert (result.social, result.health, result.tax.tax) == (
        D("24.50"),
        D("87.80"),
        D("94.00"),
    )
    assert result.net == D("793.70")
    assert result.employer.pension == result.employer.disability == D("0.00")
    assert result.employer.accident == D("16.70")


def test_the_2025_cap_is_its_own() -> None:
    terms = BillTerms(kind=ZLECENIE, gross=D("1000.00"), earlier_pension_base=D("260000.00"))
    assert calculate_bill(terms, BUILT_IN_TAX_YEARS[2025]).pension_base == D("190.00")


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="zlecenie"):
        BillTerms(kind="b2b", gross=D("1"))


money = st.decimals(min_value=D("0.01"), max_value=D("500000"), places=2)


@given(
    gross=money,
    kind=st.sampled_from([ZLECENIE, DZIELO]),
    stated=st.one_of(st.none(), money),
    copyright=st.booleans(),
    claimed=st.decimals(min_value=D("0"), max_value=D("200000"), places=2),
    earlier_income=st.decimals(min_value=D("0"), max_value=D("100000"), places=2),
    earlier_base=st.decimals(min_value=D("0"), max_value=D("300000"), places=2),
    under_26=st.booleans(),
    pit2=st.booleans(),
    student=st.booleans(),
    elsewhere=st.booleans(),
    sickness=st.booleans(),
)
def test_the_parts_always_add_up(
    gross: Decimal,
    kind: str,
    stated: Decimal | None,
    copyright: bool,
    claimed: Decimal,
    earlier_income: Decimal,
    earlier_base: Decimal,
    under_26: bool,
    pit2: bool,
    student: bool,
    elsewhere: bool,
    sickness: bool,
) -> None:
    terms = BillTerms(
        kind=kind,
        gross=gross,
        contract_amount=stated,
        copyright=copyright,
        copyright_costs_claimed=claimed,
        earlier_exempt_income=earlier_income,
        earlier_pension_base=earlier_base,
        under_26=under_26 or student,
        pit2=pit2,
        status=InsuranceStatus(
            student_under_26=student, insured_elsewhere=elsewhere, sickness=sickness
        ),
    )
    result = calculate_bill(terms, Y2026)
    parts = (
        result.net,
        result.social,
        result.health,
        result.tax.tax,
        result.tax.costs,
        result.tax.base,
        result.employer_cost,
        *(getattr(result.employer, name) for name in ("pension", "disability", "accident")),
    )
    for amount in parts:
        assert amount >= 0
        assert amount == amount.quantize(D("0.01"))
    assert result.gross == result.net + result.social + result.health + result.tax.tax
    assert result.tax.base == result.tax.base.to_integral_value()
    assert result.tax.tax == result.tax.tax.to_integral_value()
    if copyright and result.tax.method == "scale":
        assert result.tax.costs <= max(Y2026.copyright_costs_cap - claimed, D(0))
    assert result.employer_cost >= result.gross
    # The young person's relief: the exempt part never passes the yearly limit, the taxed rest
    # carries only its share of the social contributions.
    assert D(0) <= result.tax.exempt <= result.gross
    assert earlier_income + result.tax.exempt <= max(Y2026.young_exemption_limit, earlier_income)
    if result.tax.exempt and result.tax.method != "exempt":
        assert earlier_income + result.tax.exempt == Y2026.young_exemption_limit
    assert D(0) <= result.tax.social <= result.social
    # The pension base cap: the base never passes it, a bill crossing it stops exactly there.
    assert D(0) <= result.pension_base <= result.gross
    assert earlier_base + result.pension_base <= max(Y2026.pension_base_cap, earlier_base)
    if kind == ZLECENIE and not (student or elsewhere):
        crossed = result.pension_base < result.gross
        assert crossed == (earlier_base + result.gross > Y2026.pension_base_cap)
        if crossed:
            assert earlier_base + result.pension_base == max(Y2026.pension_base_cap, earlier_base)
    assert result.employee.pension == (result.pension_base * Y2026.pension_rate).quantize(
        D("0.01"), rounding=ROUND_HALF_UP
    )


@given(
    first=money,
    second=money,
    earlier_income=st.decimals(min_value=D("0"), max_value=D("90000"), places=2),
    earlier_base=st.decimals(min_value=D("0"), max_value=D("290000"), places=2),
    sickness=st.booleans(),
)
def test_two_bills_in_a_row_use_each_cap_exactly_once(
    first: Decimal,
    second: Decimal,
    earlier_income: Decimal,
    earlier_base: Decimal,
    sickness: bool,
) -> None:
    # The second bill starts where the first left off (as the cabinet adds up earlier bills):
    # together they exempt and insure exactly what one bill of both amounts would.
    status = InsuranceStatus(sickness=sickness)

    def one(gross: Decimal, income: Decimal, base: Decimal) -> BillBreakdown:
        terms = BillTerms(
            kind=ZLECENIE,
            gross=gross,
            under_26=True,
            status=status,
            earlier_exempt_income=income,
            earlier_pension_base=base,
        )
        return calculate_bill(terms, Y2026)

    a = one(first, earlier_income, earlier_base)
    b = one(second, earlier_income + a.tax.exempt, earlier_base + a.pension_base)
    both = one(first + second, earlier_income, earlier_base)
    assert a.tax.exempt + b.tax.exempt == both.tax.exempt
    assert a.pension_base + b.pension_base == both.pension_base
    assert both.tax.exempt == min(
        first + second, max(Y2026.young_exemption_limit - earlier_income, D(0))
    )
    assert both.pension_base == min(
        first + second, max(Y2026.pension_base_cap - earlier_base, D(0))
    )
