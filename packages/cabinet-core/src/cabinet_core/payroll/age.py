"""The contractor's 26th birthday and the two under-26 rules that end with it (poland.md §5.1).

A person reaches an age at the start of the birthday (art. 112 Kodeksu cywilnego); someone born
on 29 February reaches it on 28 February of a common year (the last day of the month, same
article). The two rules do not end on the same day:

* ulga dla młodych (art. 21 ust. 1 pkt 148 PIT) frees przychody "uzyskane do dnia ukończenia 26.
  roku życia": the tax authorities read this as including pay received **on** the 26th birthday
  (MF objaśnienia of 2019; interpretacja DKIS of 10 July 2025, 0113-KDIPT2-3.4011.463.2025.2.AK),
  so the relief stops from the day after it;
* the pupil's and student's exemption from ZUS (art. 6 ust. 4 ustawy o systemie ubezpieczeń
  społecznych) lasts "do ukończenia 26 lat": from the birthday itself the contract is insured.

A bill decides both by the day its pay is received (:func:`pay_date` of the bill type).
"""

from __future__ import annotations

from datetime import date

import attrs

#: The age the two rules end at.
YOUNG_AGE = 26
#: What became of a declared under-26 rule on a bill: applied, ended by the birthday, or not
#: declared at all.
APPLIED = "applied"
ENDED = "ended"
NOT_DECLARED = "not_declared"


def birthday(birth_date: date, age: int = YOUNG_AGE) -> date:
    """The day a person born on ``birth_date`` reaches ``age``; 29 February falls on
    28 February in a common year (art. 112 KC: the last day of that month)."""
    year = birth_date.year + age
    try:
        return birth_date.replace(year=year)
    except ValueError:
        return date(year, 2, 28)


def young_relief_applies(birth_date: date, received: date) -> bool:
    """Whether pay received on ``received`` may be free of PIT under the young person's relief:
    on or before the 26th birthday."""
    return received <= birthday(birth_date)


def student_exemption_applies(birth_date: date, received: date) -> bool:
    """Whether a pupil or student is still free of ZUS on ``received``: before the 26th
    birthday (from that day the contract is insured)."""
    return received < birthday(birth_date)


@attrs.frozen(kw_only=True)
class UnderTwentySix:
    """The two under-26 rules for one payment, decided by the contractor's age on the day it is
    received. Each is :data:`APPLIED`, :data:`ENDED` (declared, but the contractor is too old
    on that day) or :data:`NOT_DECLARED`; ``turns_26`` is the 26th birthday when known."""

    received: date
    turns_26: date | None
    young_relief: str
    student_exemption: str


def under_26_rules(
    birth_date: date | None, received: date, *, relief_declared: bool, student_declared: bool
) -> UnderTwentySix:
    """Decide the young person's relief and the student's ZUS exemption for pay received on
    ``received``. Without a date of birth a declaration stands as made (bills saved before the
    date of birth was asked for)."""

    def decide(declared: bool, applies: bool) -> str:
        if not declared:
            return NOT_DECLARED
        return APPLIED if applies else ENDED

    if birth_date is None:
        return UnderTwentySix(
            received=received,
            turns_26=None,
            young_relief=decide(relief_declared, True),
            student_exemption=decide(student_declared, True),
        )
    return UnderTwentySix(
        received=received,
        turns_26=birthday(birth_date),
        young_relief=decide(relief_declared, young_relief_applies(birth_date, received)),
        student_exemption=decide(student_declared, student_exemption_applies(birth_date, received)),
    )


__all__ = [
    "APPLIED",
    "ENDED",
    "NOT_DECLARED",
    "YOUNG_AGE",
    "UnderTwentySix",
    "birthday",
    "student_exemption_applies",
    "under_26_rules",
    "young_relief_applies",
]
