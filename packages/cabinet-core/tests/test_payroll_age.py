"""The 26th birthday and the two under-26 rules that end with it (cabinet_core.payroll.age)."""

from __future__ import annotations

from datetime import date, timedelta

from cabinet_core.payroll.age import (
    APPLIED,
    ENDED,
    NOT_DECLARED,
    birthday,
    student_exemption_applies,
    under_26_rules,
    young_relief_applies,
)
from hypothesis import given
from hypothesis import strategies as st

BORN = date(2000, 11, 20)
BIRTHDAY = date(2026, 11, 20)
births = st.dates(min_value=date(1900, 1, 1), max_value=date(2070, 12, 31))
days = st.dates(min_value=date(1926, 1, 1), max_value=date(2099, 12, 31))


def test_the_relief_covers_the_birthday_and_the_zus_exemption_ends_on_it() -> None:
    assert birthday(BORN) == BIRTHDAY
    the_day_before, the_day_after = BIRTHDAY - timedelta(days=1), BIRTHDAY + timedelta(days=1)
    assert young_relief_applies(BORN, the_day_before)
    # Pay received on the 26th birthday is still "uzyskane do dnia ukończenia 26. roku życia".
    assert young_relief_applies(BORN, BIRTHDAY)
    assert not young_relief_applies(BORN, the_day_after)
    assert student_exemption_applies(BORN, the_day_before)
    # From the birthday itself the student's contract is insured.
    assert not student_exemption_applies(BORN, BIRTHDAY)


def test_someone_born_on_29_february_turns_26_on_28_february() -> None:
    assert birthday(date(2000, 2, 29)) == date(2026, 2, 28)
    assert birthday(date(2004, 2, 29), age=24) == date(2028, 2, 29)
    assert not young_relief_applies(date(2000, 2, 29), date(2026, 3, 1))
    assert not student_exemption_applies(date(2000, 2, 29), date(2026, 2, 28))


def test_the_rules_say_what_became_of_each_declaration() -> None:
    on_the_birthday = under_26_rules(BORN, BIRTHDAY, relief_declared=True, student_declared=True)
    assert (on_the_birthday.young_relief, on_the_birthday.student_exemption) == (APPLIED, ENDED)
    assert on_the_birthday.turns_26 == BIRTHDAY
    later = under_26_rules(BORN, date(2026, 12, 1), relief_declared=True, student_declared=False)
    assert (later.young_relief, later.student_exemption) == (ENDED, NOT_DECLARED)
    # Without a date of birth (a bill saved before it was asked for) a declaration stands.
    unknown = under_26_rules(None, date(2026, 12, 1), relief_declared=True, student_declared=True)
    assert (unknown.young_relief, unknown.student_exemption, unknown.turns_26) == (
        APPLIED,
        APPLIED,
        None,
    )


@given(births)
def test_the_birthday_is_26_years_on(born: date) -> None:
    turned = birthday(born)
    assert turned.year == born.year + 26
    assert (turned.month, turned.day) == (born.month, born.day) or (
        (born.month, born.day, turned.month, turned.day) == (2, 29, 2, 28)
    )


@given(births, days)
def test_each_rule_holds_exactly_until_its_day(born: date, received: date) -> None:
    turned = birthday(born)
    assert young_relief_applies(born, received) == (received <= turned)
    assert student_exemption_applies(born, received) == (received < turned)
    # The ZUS exemption never outlasts the relief; they differ on the birthday alone.
    if student_exemption_applies(born, received):
        assert young_relief_applies(born, received)
    assert (young_relief_applies(born, received) != student_exemption_applies(born, received)) == (
        received == turned
    )


@given(births, days, st.booleans(), st.booleans())
def test_an_undeclared_rule_never_applies(
    born: date, received: date, relief: bool, student: bool
) -> None:
    rules = under_26_rules(born, received, relief_declared=relief, student_declared=student)
    assert (rules.young_relief == NOT_DECLARED) == (not relief)
    assert (rules.student_exemption == NOT_DECLARED) == (not student)
    assert (rules.young_relief == APPLIED) == (relief and received <= birthday(born))
