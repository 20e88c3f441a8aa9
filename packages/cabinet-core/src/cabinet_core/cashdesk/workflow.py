"""The cash report's workflow: open → closed → approved, with the way back for a correction.

It is the cash report document type's workflow (:data:`CASH_REPORT_WORKFLOW`: the same moves,
roles and labels) with its first state called *open*: the state in which the report's
entries may still be added, changed and removed. Closing takes no number: a desk's report is
numbered when it is opened, since the next report continues from it."""

from __future__ import annotations

import attrs

from cabinet_core.doctypes.base import State, Transition, Workflow
from cabinet_core.doctypes.cash_report import CASH_REPORT_WORKFLOW
from cabinet_core.doctypes.common import pl_en

__all__ = ["CASH_DESK_REPORT_WORKFLOW", "OPEN"]

#: The report's entries may change only in this state.
OPEN = "open"
_DRAFT = CASH_REPORT_WORKFLOW.initial


def _renamed(key: str) -> str:
    return OPEN if key == _DRAFT else key


def _moved(transition: Transition) -> Transition:
    return attrs.evolve(
        transition,
        source=tuple(_renamed(key) for key in transition.source),
        target=_renamed(transition.target),
        assigns_number=False,
    )


CASH_DESK_REPORT_WORKFLOW = Workflow(
    states=(
        State(key=OPEN, label=pl_en("Otwarty", "Open"), editable=True),
        *CASH_REPORT_WORKFLOW.states[1:],
    ),
    transitions=tuple(_moved(transition) for transition in CASH_REPORT_WORKFLOW.transitions),
)
