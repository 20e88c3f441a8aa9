"""Bills through cabinet.documents: made from a contract, computed on save with the tax year's
parameters, refused (nothing saved) for a year the cabinet has no parameters for."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import attrs
import pytest
from cabinet_core.entities import Document, Party
from cabinet_core.errors import ValidationError
from cabinet_core.storage import DocumentQuery
from fixtures_services import World
from hypothesis import given, settings
from hypothesis import strategies as st

CONTRACTOR = Party(name="Jan Kowalski")


def template_version(world: World, key: str = "builtin-zlecenie-pl") -> int:
    """The built-in template's version a contract is made from (no contract without one)."""
    # A fresh cabinet has them; a reused test database may have lost them.
    world.cabinet.contract_templates.install_builtins(world.actor(world.admin))
    templates = world.cabinet.contract_templates.list(world.actor(world.alice))
    version = next(t.version_id for t in templates if t.key == key)
    assert version is not None
    return version


def signed_contract(world: World, **extra: object) -> Document:
    alice = world.actor(world.alice)
    contract = world.cabinet.documents.create(
        alice,
        Document(
            client_id=world.client_id(world.client_a),
            doc_type="contract",
            issue_date=date(2026, 11, 2),
            buyer=CONTRACTOR,
            extra={
                "contract_kind": "zlecenie",
                "subject": "Obsługa recepcji",
                "date_from": "2026-11-02",
                "date_to": "2026-11-30",
                "rate_type": "lump_sum",
                "amount": "1000.00",
                "template_version_id": template_version(world),
                **extra,
            },
        ),
    )
    assert contract.id is not None
    return world.cabinet.documents.transition(alice, contract.id, "sign")


def bill_from(world: World, contract: Document, **extra: object) -> Document:
    return Document(
        client_id=world.client_id(world.client_a),
        doc_type="bill",
        issue_date=date(2026, 11, 30),
        related_id=contract.id,
        extra=dict(extra),
    )


def test_a_bill_from_a_contract_takes_its_terms_and_computes_the_payout(world: World) -> None:
    contract = signed_contract(world)
    bill = world.cabinet.documents.create(
        world.actor(world.alice), bill_from(world, contract, sickness_insurance=True)
    )
    assert bill.extra["contract_number"] == contract.number
    assert bill.extra["contract_date"] == "2026-11-02"
    assert bill.extra["contract_kind"] == "zlecenie"
    assert bill.extra["gross_amount"] == "1000.00"
    assert bill.buyer == CONTRACTOR
    breakdown = bill.extra["breakdown"]
    # poland.md §5.2 A
    assert (breakdown["social"], breakdown["health"], breakdown["costs"]) == (
        "137.10",
        "77.66",
        "172.58",
    )
    assert (breakdown["tax_base"], breakdown["tax"], breakdown["net"]) == (
        "690.00",
        "83.00",
        "702.24",
    )
    assert breakdown["employer_cost"] == "1179.30"
    assert breakdown["tax_year"] == 2026
    assert bill.totals is not None and bill.totals.gross == Decimal("702.24")


def test_an_hourly_contract_bills_hours_times_the_rate(world: World) -> None:
    contract = signed_contract(world, rate_type="hourly", amount="", hourly_rate="40.00")
    bill = world.cabinet.documents.create(
        world.actor(world.alice), bill_from(world, contract, hours="25")
    )
    assert bill.extra["hourly_rate"] == "40.00"
    assert bill.extra["gross_amount"] == "1000.00"
    # An hourly contract states no amount: taxed on the scale even for a small bill.
    assert bill.extra["breakdown"]["tax_method"] == "scale"


def test_the_declarations_change_the_computation(world: World) -> None:
    contract = signed_contract(world)
    alice = world.actor(world.alice)
    student = world.cabinet.documents.create(
        alice,
        bill_from(world, contract, student_under_26=True, contractor_birth_date="2005-03-01"),
    )
    assert student.extra["breakdown"]["net"] == "1000.00"
    editing = attrs.evolve(student, extra={**student.extra, "student_under_26": False})
    updated = world.cabinet.documents.update(alice, editing)
    assert updated.extra["breakdown"]["net"] == "722.53"  # §5.2 B: no sickness insurance


def test_an_unknown_tax_year_is_a_field_error_and_nothing_is_saved(world: World) -> None:
    contract = signed_contract(world)
    old = attrs.evolve(bill_from(world, contract), issue_date=date(2024, 12, 30))
    old = attrs.evolve(old, extra={"contract_date": "2024-12-01"})
    with pytest.raises(ValidationError) as raised:
        world.cabinet.documents.create(world.actor(world.alice), old)
    assert [(e.field, e.code) for e in raised.value.errors] == [("issue_date", "unknown_tax_year")]
    listed = world.cabinet.documents.list(
        world.actor(world.alice), DocumentQuery(doc_types=("bill",))
    )
    assert list(listed.items) == []


def test_the_tax_year_comes_from_settings(world: World) -> None:
    contract = signed_contract(world)
    cabinet = world.cabinet
    cabinet.settings = attrs.evolve(
        cabinet.settings, plugins={"payroll": {"2026_accident_rate": "0.0093"}}
    )
    bill = cabinet.documents.create(world.actor(world.alice), bill_from(world, contract))
    assert bill.extra["breakdown"]["employer_accident"] == "9.30"


def test_a_broken_tax_setting_is_a_field_error(world: World) -> None:
    contract = signed_contract(world)
    cabinet = world.cabinet
    cabinet.settings = attrs.evolve(cabinet.settings, plugins={"payroll": {"2026_pit_rate": "x"}})
    with pytest.raises(ValidationError) as raised:
        cabinet.documents.create(world.actor(world.alice), bill_from(world, contract))
    assert [e.code for e in raised.value.errors] == ["tax_settings"]


def test_a_bill_without_an_amount_says_what_is_missing(world: World) -> None:
    document = Document(
        client_id=world.client_id(world.client_a),
        doc_type="bill",
        issue_date=date(2026, 11, 30),
        buyer=CONTRACTOR,
        extra={
            "contract_number": "UM/9/2026",
            "contract_date": "2026-11-01",
            "contract_kind": "dzielo",
        },
    )
    with pytest.raises(ValidationError) as raised:
        world.cabinet.documents.create(world.actor(world.alice), document)
    assert ("extra.gross_amount", "required") in [(e.field, e.code) for e in raised.value.errors]


def test_another_clients_contract_is_not_taken(world: World) -> None:
    contract = signed_contract(world)
    document = attrs.evolve(bill_from(world, contract), client_id=world.client_id(world.client_b))
    with pytest.raises(ValidationError) as raised:
        world.cabinet.documents.create(world.actor(world.admin), document)
    assert "related_id" in [e.field for e in raised.value.errors]


def test_an_hourly_rate_below_the_years_minimum_is_refused_for_a_zlecenie(world: World) -> None:
    contract = signed_contract(world)
    low = bill_from(world, contract, hours="10", hourly_rate="31.39", gross_amount="")
    with pytest.raises(ValidationError) as raised:
        world.cabinet.documents.create(world.actor(world.alice), low)
    [error] = raised.value.errors
    assert (error.field, error.code) == ("extra.hourly_rate", "below_minimum")
    assert error.params == {"minimum": "31.40", "year": 2026}
    ok = bill_from(world, contract, hours="10", hourly_rate="31.40", gross_amount="")
    assert (
        world.cabinet.documents.create(world.actor(world.alice), ok).extra["gross_amount"]
        == "314.00"
    )


def test_the_contractors_pesel_and_account_are_checked(world: World) -> None:
    contract = signed_contract(world)
    wrong = bill_from(
        world, contract, contractor_pesel="44051401358", contractor_account="PL00 1234"
    )
    with pytest.raises(ValidationError) as raised:
        world.cabinet.documents.create(world.actor(world.alice), wrong)
    assert {(e.field, e.code) for e in raised.value.errors} == {
        ("extra.contractor_pesel", "invalid_pesel"),
        ("extra.contractor_account", "invalid_iban"),
    }
    right = bill_from(
        world,
        contract,
        contractor_pesel="44051401359",
        contractor_account="61 1090 1014 0000 0712 1981 2874",
        tax_office="Urząd Skarbowy Warszawa-Śródmieście",
    )
    bill = world.cabinet.documents.create(world.actor(world.alice), right)
    assert bill.extra["contractor_pesel"] == "44051401359"


def _contract_has_pesel() -> bool:
    from cabinet_core.doctypes.contracts import Contract

    return any(spec.name == "contractor_pesel" for spec in Contract.fields)


@pytest.mark.skipif(
    not _contract_has_pesel(), reason="the contract type has no contractor_pesel field yet"
)
def test_a_contracts_pesel_is_taken_over(world: World) -> None:
    contract = signed_contract(world, contractor_pesel="44051401359")
    bill = world.cabinet.documents.create(world.actor(world.alice), bill_from(world, contract))
    assert bill.extra["contractor_pesel"] == "44051401359"


def _dated(document: Document, day: int) -> Document:
    return attrs.evolve(document, issue_date=date(2026, 11, day))


def test_the_young_persons_limit_counts_the_contractors_earlier_bills(world: World) -> None:
    contract = signed_contract(world)
    alice = world.actor(world.alice)
    young = {"under_26": True, "sickness_insurance": True, "contractor_birth_date": "2004-01-01"}
    # 84 528.00 earned elsewhere + this 1 000.00 reach the 85 528.00 limit exactly: all exempt.
    first = world.cabinet.documents.create(
        alice,
        _dated(bill_from(world, contract, exempt_income_elsewhere="84528.00", **young), 10),
    )
    assert first.extra["breakdown"]["tax_method"] == "exempt"
    assert first.extra["breakdown"]["exempt_income"] == "1000.00"
    # Another contractor's bill and a cancelled bill do not count.
    other = attrs.evolve(bill_from(world, contract, **young), buyer=Party(name="Anna Nowak"))
    world.cabinet.documents.create(alice, _dated(other, 11))
    cancelled = world.cabinet.documents.create(alice, _dated(bill_from(world, contract), 12))
    assert cancelled.id is not None
    world.cabinet.documents.transition(alice, cancelled.id, "cancel", comment="Wrong month")
    # 84 028.00 elsewhere + 1 000.00 on the first bill leave 500.00: the bill is split
    # (worked in test_payroll_bill_calculation: net 744.24).
    second = world.cabinet.documents.create(
        alice,
        _dated(bill_from(world, contract, exempt_income_elsewhere="84028.00", **young), 20),
    )
    breakdown = second.extra["breakdown"]
    assert breakdown["earlier_exempt_income"] == "85028.00"
    # The first bill's 1 000.00 pension base counts, the cancelled bill's does not.
    assert breakdown["earlier_pension_base"] == "1000.00"
    assert (breakdown["exempt_income"], breakdown["taxed_income"]) == ("500.00", "500.00")
    assert (breakdown["social_deducted"], breakdown["tax"], breakdown["net"]) == (
        "68.55",
        "41.00",
        "744.24",
    )
    # The first bill, edited later, still counts only what came before it.
    again = world.cabinet.documents.update(alice, first)
    assert again.extra["breakdown"]["earlier_exempt_income"] == "84528.00"


def test_the_pension_base_cap_counts_the_contractors_earlier_bills(world: World) -> None:
    contract = signed_contract(world)
    alice = world.actor(world.alice)
    first = world.cabinet.documents.create(
        alice,
        _dated(
            bill_from(world, contract, pension_base_elsewhere="281500.00", sickness_insurance=True),
            10,
        ),
    )
    assert first.extra["breakdown"]["pension_base"] == "1000.00"
    # 281 500.00 + 1 000.00 reached; 100.00 left of 282 600.00. By hand: pension 9.76,
    # disability 1.50, sickness 24.50 → 35.76; health 964.24 × 9 % = 86.78; costs 192.85;
    # base 771.39 → 771; tax 92.52 → 93; net 1 000 − 35.76 − 86.78 − 93 = 784.46.
    second = world.cabinet.documents.create(
        alice,
        _dated(
            bill_from(world, contract, pension_base_elsewhere="281500.00", sickness_insurance=True),
            20,
        ),
    )
    breakdown = second.extra["breakdown"]
    assert (breakdown["earlier_pension_base"], breakdown["pension_base"]) == (
        "282500.00",
        "100.00",
    )
    assert (breakdown["pension"], breakdown["disability"], breakdown["social"]) == (
        "9.76",
        "1.50",
        "35.76",
    )
    assert (breakdown["health"], breakdown["tax"], breakdown["net"]) == (
        "86.78",
        "93.00",
        "784.46",
    )
    assert (breakdown["employer_pension"], breakdown["employer_disability"]) == ("9.76", "6.50")


def test_a_negative_amount_earned_elsewhere_is_a_field_error(world: World) -> None:
    contract = signed_contract(world)
    with pytest.raises(ValidationError) as raised:
        world.cabinet.documents.create(
            world.actor(world.alice), bill_from(world, contract, pension_base_elsewhere="-1")
        )
    assert [(e.field, e.code) for e in raised.value.errors] == [
        ("extra.pension_base_elsewhere", "negative")
    ]


def test_a_bill_saved_before_the_caps_were_kept_counts_its_whole_gross() -> None:
    from cabinet_core.doctypes.bills import Bill

    def stored(number: int, breakdown: dict[str, str], day: int = 5) -> Document:
        return Document(
            id=number,
            client_id=1,
            doc_type="bill",
            status="issued",
            issue_date=date(2026, 11, day),
            buyer=CONTRACTOR,
            extra={"breakdown": breakdown},
        )

    legacy_exempt = stored(1, {"gross": "1000.00", "tax_method": "exempt", "pension": "97.60"})
    legacy_taxed = stored(2, {"gross": "500.00", "tax_method": "scale", "pension": "0.00"})
    kept = stored(3, {"gross": "700.00", "exempt_income": "200.00", "pension_base": "300.00"})
    later = stored(4, {"gross": "900.00", "exempt_income": "900.00"}, day=29)
    bill = Document(client_id=1, doc_type="bill", issue_date=date(2026, 11, 20), buyer=CONTRACTOR)
    exempt, base = Bill().year_to_date(bill, [legacy_exempt, legacy_taxed, kept, later])
    assert (exempt, base) == (Decimal("1200.00"), Decimal("1300.00"))


# -- turning 26 during the year ---------------------------------------------------------------
#: A PESEL of someone born on 20 November 2000: 26 on 20 November 2026.
TURNS_26_ON_20_NOVEMBER = "00312001238"


def test_the_contractors_age_on_the_pay_day_decides_the_under_26_rules(world: World) -> None:
    contract = signed_contract(world)
    alice = world.actor(world.alice)
    declared = {
        "contractor_pesel": TURNS_26_ON_20_NOVEMBER,
        "student_under_26": True,
        "under_26": True,
    }

    def paid_on(day: int) -> dict[str, object]:
        bill = attrs.evolve(
            bill_from(world, contract, **declared),
            issue_date=date(2026, 11, 18),
            due_date=date(2026, 11, day),
        )
        breakdown = world.cabinet.documents.validate(alice, bill).extra["breakdown"]
        assert isinstance(breakdown, dict)
        return breakdown

    before = paid_on(19)
    assert (before["young_relief"], before["student_exemption"]) == ("applied", "applied")
    assert before["net"] == "1000.00"  # §5.2 C
    on_the_birthday = paid_on(20)
    assert on_the_birthday["turns_26"] == "2026-11-20"
    assert on_the_birthday["pay_date"] == "2026-11-20"
    # The relief still covers the birthday, the ZUS exemption does not: 1000 − 112.60 − 79.87.
    assert (on_the_birthday["young_relief"], on_the_birthday["student_exemption"]) == (
        "applied",
        "ended",
    )
    assert (on_the_birthday["social"], on_the_birthday["tax_method"]) == ("112.60", "exempt")
    assert on_the_birthday["net"] == "807.53"
    after = paid_on(21)
    assert (after["young_relief"], after["student_exemption"]) == ("ended", "ended")
    assert after["net"] == "722.53"  # §5.2 B: taxed as anyone's
    # Without a due date the issue date is the pay day.
    issued_after = attrs.evolve(
        bill_from(world, contract, **declared), issue_date=date(2026, 11, 25)
    )
    computed = world.cabinet.documents.validate(alice, issued_after).extra["breakdown"]
    assert (computed["pay_date"], computed["young_relief"]) == ("2026-11-25", "ended")


def test_a_typed_date_of_birth_serves_when_there_is_no_pesel(world: World) -> None:
    contract = signed_contract(world)
    alice = world.actor(world.alice)
    young = bill_from(world, contract, under_26=True, contractor_birth_date="2000-11-20")
    bill = world.cabinet.documents.create(alice, attrs.evolve(young, due_date=date(2026, 12, 1)))
    assert bill.extra["breakdown"]["young_relief"] == "ended"
    assert bill.extra["breakdown"]["turns_26"] == "2026-11-20"


def test_the_under_26_declarations_need_the_age(world: World) -> None:
    contract = signed_contract(world)
    alice = world.actor(world.alice)
    with pytest.raises(ValidationError) as raised:
        world.cabinet.documents.create(alice, bill_from(world, contract, under_26=True))
    assert [(e.field, e.code) for e in raised.value.errors] == [
        ("extra.contractor_birth_date", "required_under_26")
    ]
    # A PESEL typed wrong is the one error: the age waits for the PESEL.
    with pytest.raises(ValidationError) as raised:
        world.cabinet.documents.create(
            alice, bill_from(world, contract, under_26=True, contractor_pesel="00312001230")
        )
    assert [(e.field, e.code) for e in raised.value.errors] == [
        ("extra.contractor_pesel", "invalid_pesel")
    ]
    other = bill_from(
        world,
        contract,
        contractor_pesel=TURNS_26_ON_20_NOVEMBER,
        contractor_birth_date="2000-11-21",
    )
    with pytest.raises(ValidationError) as raised:
        world.cabinet.documents.create(alice, other)
    [error] = raised.value.errors
    assert (error.field, error.code, error.params) == (
        "extra.contractor_birth_date",
        "not_the_pesels",
        {"date": "2000-11-20"},
    )
    unborn = bill_from(world, contract, contractor_birth_date="2027-01-01")
    with pytest.raises(ValidationError) as raised:
        world.cabinet.documents.create(alice, unborn)
    assert [e.code for e in raised.value.errors] == ["after_issue_date"]
    # A date of birth is older than any document.
    old = world.cabinet.documents.create(
        alice, bill_from(world, contract, contractor_birth_date="1950-06-01")
    )
    assert old.extra["contractor_birth_date"] == "1950-06-01"
    assert old.extra["breakdown"]["young_relief"] == "not_declared"


# -- an earlier bill changes after later ones were computed -----------------------------------
YOUNG = {
    "under_26": True,
    "sickness_insurance": True,
    "contractor_birth_date": "2004-01-01",
    "exempt_income_elsewhere": "84528.00",
}


def _two_bills(world: World) -> tuple[Document, Document]:
    """The first bill (10 November) uses the last 1 000.00 of the young person's limit; the
    second (20 November) is taxed whole (§5.2 A: net 702.24)."""
    contract = signed_contract(world)
    alice = world.actor(world.alice)
    first = world.cabinet.documents.create(alice, _dated(bill_from(world, contract, **YOUNG), 10))
    second = world.cabinet.documents.create(alice, _dated(bill_from(world, contract, **YOUNG), 20))
    assert second.extra["breakdown"]["earlier_exempt_income"] == "85528.00"
    assert second.extra["breakdown"]["net"] == "702.24"
    return first, second


def _gross(document: Document, amount: str) -> Document:
    return attrs.evolve(document, extra={**document.extra, "gross_amount": amount})


def test_editing_or_deleting_an_earlier_bill_recomputes_the_later_drafts(world: World) -> None:
    first, second = _two_bills(world)
    alice = world.actor(world.alice)
    world.cabinet.documents.update(alice, _gross(first, "500.00"))
    assert second.id is not None
    restated = world.cabinet.documents.get(alice, second.id)
    assert restated.version == second.version + 1
    breakdown = restated.extra["breakdown"]
    # 500.00 of the limit left: split as in test_the_young_persons_limit_counts_…
    assert (breakdown["earlier_exempt_income"], breakdown["exempt_income"]) == (
        "85028.00",
        "500.00",
    )
    assert breakdown["net"] == "744.24"
    assert restated.totals is not None and restated.totals.gross == Decimal("744.24")
    assert [entry["id"] for entry in breakdown["counted"]] == [first.id]
    assert world.cabinet.documents.drift(alice, restated) is None
    # Recorded as an update of the later draft, made by the edit of the first.
    [entry] = [
        e
        for e in world.cabinet.audit.list(
            world.actor(world.admin), entity="document", entity_id=second.id
        )
        if e.detail.get("restated_after") is not None
    ]
    assert (entry.action, entry.actor_id, entry.detail["restated_after"]) == (
        "document.update",
        world.alice.id,
        first.id,
    )
    assert first.id is not None
    world.cabinet.documents.delete(alice, first.id)
    alone = world.cabinet.documents.get(alice, second.id)
    assert alone.extra["breakdown"]["earlier_exempt_income"] == "84528.00"
    assert alone.extra["breakdown"]["counted"] == []
    # The whole 1 000.00 is within the limit now: §5.2 C, the non-student under 26.
    assert alone.extra["breakdown"]["net"] == "785.24"


def test_cancelling_an_earlier_bill_recomputes_the_later_drafts(world: World) -> None:
    first, second = _two_bills(world)
    alice = world.actor(world.alice)
    assert first.id is not None and second.id is not None
    world.cabinet.documents.transition(alice, first.id, "issue")
    world.cabinet.documents.transition(alice, first.id, "cancel", comment="Wrong contractor")
    assert world.cabinet.documents.get(alice, second.id).extra["breakdown"]["net"] == "785.24"


def test_a_later_bill_already_issued_is_not_changed_but_shows_the_drift(world: World) -> None:
    first, second = _two_bills(world)
    alice = world.actor(world.alice)
    assert first.id is not None and second.id is not None
    issued = world.cabinet.documents.transition(alice, second.id, "issue")
    # Another contractor's draft later in the year is left alone.
    other = world.cabinet.documents.create(
        alice,
        _dated(attrs.evolve(_gross(second, "300.00"), id=None, buyer=Party(name="Anna Nowak")), 25),
    )
    world.cabinet.documents.update(alice, _gross(first, "500.00"))
    assert other.id is not None
    assert world.cabinet.documents.get(alice, other.id).version == other.version
    kept = world.cabinet.documents.get(alice, second.id)
    assert (kept.version, kept.extra) == (issued.version, issued.extra)
    drift = world.cabinet.documents.drift(alice, kept)
    assert drift is not None
    assert [(d.id, d.number, d.issue_date) for d in drift.changed] == [
        (first.id, None, date(2026, 11, 10))
    ]
    # The first bill's exempt income and pension base both fell by 500.00.
    assert drift.differences == {
        "earlier_exempt_income": Decimal("-500.00"),
        "earlier_pension_base": Decimal("-500.00"),
    }
    edited = world.cabinet.documents.get(alice, first.id)
    assert world.cabinet.documents.drift(alice, edited) is None
    # Cancelled, the later bill no longer warns: it is out of the reckoning.
    world.cabinet.documents.transition(alice, second.id, "cancel", comment="Recomputed anew")
    cancelled = world.cabinet.documents.get(alice, second.id)
    assert world.cabinet.documents.drift(alice, cancelled) is None


# -- the drift, as a property of the bill type ------------------------------------------------
_amounts = st.decimals(min_value=Decimal("1.00"), max_value=Decimal("3000.00"), places=2)


@settings(max_examples=60, deadline=None)
@given(
    grosses=st.lists(_amounts, min_size=2, max_size=5),
    changed=st.integers(min_value=0, max_value=3),
    new_gross=_amounts,
    elsewhere=st.decimals(min_value=Decimal("80000.00"), max_value=Decimal("86000.00"), places=2),
)
def test_a_later_bill_drifts_by_exactly_what_the_earlier_one_changed(
    grosses: list[Decimal], changed: int, new_gross: Decimal, elsewhere: Decimal
) -> None:
    """Bills computed in order have no drift; change one earlier bill and each later bill's
    drift is the change of that bill's exempt income and pension base, naming it alone."""
    from cabinet_core.doctypes.bills import Bill
    from cabinet_core.settings import Settings

    bill_type, config = Bill(), Settings()
    changed %= len(grosses) - 1

    def made(number: int, gross: Decimal) -> Document:
        return Document(
            id=number,
            client_id=1,
            doc_type="bill",
            issue_date=date(2026, 11, number),
            buyer=CONTRACTOR,
            extra=bill_type.normalise_extra(
                {
                    "contract_kind": "zlecenie",
                    "gross_amount": str(gross),
                    "under_26": True,
                    "contractor_birth_date": "2004-01-01",
                    "exempt_income_elsewhere": str(elsewhere),
                    "pension_base_elsewhere": "282000.00",
                }
            ),
        )

    bills: list[Document] = []
    for number, gross in enumerate(grosses, start=1):
        bills.append(bill_type.derive(made(number, gross), config, bills))
    assert all(bill_type.drift(bill, bills) is None for bill in bills)
    before = bill_type.breakdown(bills[changed])
    edited = bill_type.derive(made(changed + 1, new_gross), config, bills[:changed])
    after = bill_type.breakdown(edited)
    assert before is not None and after is not None
    now = [*bills[:changed], edited, *bills[changed + 1 :]]
    expected = {
        name: Decimal(after[part]) - Decimal(before[part])
        for name, part in (
            ("earlier_exempt_income", "exempt_income"),
            ("earlier_pension_base", "pension_base"),
        )
        if after[part] != before[part]
    }
    for later in now[changed + 1 :]:
        drift = bill_type.drift(later, now)
        if not expected:
            assert drift is None
            continue
        assert drift is not None
        assert drift.differences == expected
        assert [d.id for d in drift.changed] == [edited.id]


def test_moving_an_earlier_bill_past_a_later_draft_recomputes_it(world: World) -> None:
    first, second = _two_bills(world)
    alice = world.actor(world.alice)
    world.cabinet.documents.update(alice, _dated(first, 25))
    assert second.id is not None
    moved_past = world.cabinet.documents.get(alice, second.id)
    # The first bill now comes after it: the whole 1 000.00 is within the limit again.
    assert moved_past.extra["breakdown"]["counted"] == []
    assert moved_past.extra["breakdown"]["net"] == "785.24"
    # And the moved bill counts the later draft's 1 000.00 now before it: taxed whole (§5.2 A).
    assert first.id is not None
    moved = world.cabinet.documents.get(alice, first.id)
    assert moved.extra["breakdown"]["earlier_exempt_income"] == "85528.00"
    assert moved.extra["breakdown"]["net"] == "702.24"
