"""Cash desks (kasa): KP/KW slips, the cash book's running balance and the cash report
(raport kasowy, poland.md §6). The use cases are :class:`cabinet_core.services.CashService`
(``cabinet.cash``); the tables' SQL is :mod:`cabinet_core.storage.cash`."""

from __future__ import annotations

from cabinet_core.cashdesk.entities import CashDesk, CashDeskReport, CashSlip, SlipKind
from cabinet_core.cashdesk.ledger import Balance, LedgerLine
from cabinet_core.cashdesk.printing import CashPrinter, ReportView, SlipView
from cabinet_core.cashdesk.workflow import CASH_DESK_REPORT_WORKFLOW, OPEN

__all__ = [
    "CASH_DESK_REPORT_WORKFLOW",
    "OPEN",
    "Balance",
    "CashDesk",
    "CashDeskReport",
    "CashPrinter",
    "CashSlip",
    "LedgerLine",
    "ReportView",
    "SlipKind",
    "SlipView",
]
