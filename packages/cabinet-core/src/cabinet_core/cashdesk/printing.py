"""What a printer of KP/KW slips and cash reports gets, and the seam it implements.

The core builds one view per printout (the amounts in words, the running balance, the linked
invoice's number) so a printer only lays it out; cabinet-pdf registers the PDF printer through
the ``register_cash_printers`` hook.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

import attrs

from cabinet_core.cashdesk.entities import CashDesk, CashDeskReport, CashSlip
from cabinet_core.cashdesk.ledger import Balance, LedgerLine
from cabinet_core.entities import Client
from cabinet_core.rendering import Rendered

if TYPE_CHECKING:
    from cabinet_core.app import Cabinet

__all__ = ["CashPrinter", "ReportView", "SlipView"]


@attrs.frozen(kw_only=True)
class SlipView:
    """A KP or KW as printed: ``amount_in_words`` per language ("pl", "en")."""

    slip: CashSlip
    desk: CashDesk
    client: Client
    amount_in_words: dict[str, str]
    document_number: str | None = None


@attrs.frozen(kw_only=True)
class ReportView:
    """A cash report as printed: its entries with the balance after each, and its sums."""

    report: CashDeskReport
    desk: CashDesk
    client: Client
    lines: tuple[LedgerLine, ...]
    balance: Balance


@runtime_checkable
class CashPrinter(Protocol):
    """Prints slips and reports to one media type (the last registered of a type wins)."""

    media_type: str

    def print_slip(self, cabinet: Cabinet, view: SlipView, *, language: str) -> Rendered:
        """The KP or KW of ``view`` in ``language`` ("pl" or "en"); ``cabinet`` for the
        firm's branding."""
        ...

    def print_report(self, cabinet: Cabinet, view: ReportView, *, language: str) -> Rendered:
        """The cash report of ``view`` in ``language`` ("pl" or "en")."""
        ...
