"""The VAT statement (Zestawienie VAT) of one client and period, and the seam that renders it."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Protocol, runtime_checkable

import attrs

from cabinet_core.entities import Client
from cabinet_core.rendering import Rendered
from cabinet_core.vat_statement.declaration import Declaration
from cabinet_core.vat_statement.period import Period
from cabinet_core.vat_statement.registers import RegisterRow, RegisterTotals

__all__ = ["StatementRenderer", "VatStatement"]


@attrs.frozen(kw_only=True)
class VatStatement:
    """The sales and purchase registers of ``client`` for ``period`` with their totals, the
    JPK ``K_`` sums and, for a month, the VAT-7 declaration computed from them."""

    client: Client
    period: Period
    sales: tuple[RegisterRow, ...]
    purchases: tuple[RegisterRow, ...]
    sales_totals: RegisterTotals
    purchase_totals: RegisterTotals
    sales_k: Mapping[str, Decimal]
    purchase_k: Mapping[str, Decimal]
    #: ``PodatekNalezny`` and ``PodatekNaliczony`` of the JPK control sections.
    tax_due: Decimal
    tax_deductible: Decimal
    #: The declaration of a month; ``None`` for a quarter (JPK_V7M is monthly).
    declaration: Declaration | None
    #: The rate codes in the tax rules' order, for columns.
    rate_codes: tuple[str, ...] = ()

    @property
    def file_stem(self) -> str:
        """The base of download names: ``zestawienie-vat-<client id>-<period>``."""
        return f"zestawienie-vat-{self.client.id}-{self.period}"


@runtime_checkable
class StatementRenderer(Protocol):
    """Renders a VAT statement to one media type (CSV built in, PDF by cabinet-pdf)."""

    media_type: str

    def render(self, statement: VatStatement, *, language: str) -> Rendered:
        """The statement as a file in ``language`` (``"pl"`` or ``"en"``)."""
        ...
