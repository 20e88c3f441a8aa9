"""Every worked example of poland.md §5.2, to the grosz, and the parts always adding up."""

from __future__ import annotations

from decimal import Decimal
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
