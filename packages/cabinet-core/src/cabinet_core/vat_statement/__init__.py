"""The VAT statement (Zestawienie VAT): the sales and purchase VAT registers of a client for a
month or quarter, the VAT-7 declaration computed from them and the JPK_V7M(3) file.

* :mod:`~cabinet_core.vat_statement.registers`: one register row per document, in PLN, with its
  JPK ``K_`` fields; totals per rate;
* :mod:`~cabinet_core.vat_statement.declaration`: the declaration's ``P_`` positions;
* :mod:`~cabinet_core.vat_statement.jpk_v7m`: the streamed JPK_V7M(3) writer and the validator
  against the official schema shipped in ``schemas/jpk_v7m``;
* :mod:`~cabinet_core.vat_statement.csv_export`: the CSV download; the PDF is cabinet-pdf's
  (renderers register through ``register_statement_renderers``).

The use cases (access, the accountant's marks with their audit entries) are
:class:`cabinet_core.services.VatStatementService`, reached as ``cabinet.vat_statements``.
"""

from __future__ import annotations

from cabinet_core.vat_statement.declaration import Declaration, compute_declaration, whole_zloty
from cabinet_core.vat_statement.jpk_v7m import (
    JPK_NAMESPACE,
    JpkHeader,
    Taxpayer,
    jpk_schema,
    tax_office_codes,
    validate_jpk,
    write_jpk,
)
from cabinet_core.vat_statement.markers import (
    GTU_CODES,
    KSEF_MARKERS,
    PURCHASE_DOCUMENT_KINDS,
    PURCHASE_MARKERS,
    SALES_DOCUMENT_KINDS,
    SALES_MARKERS,
)
from cabinet_core.vat_statement.period import Period
from cabinet_core.vat_statement.registers import (
    PURCHASE,
    SALES,
    KTotals,
    RateAmount,
    RateSum,
    RegisterEntry,
    RegisterRow,
    RegisterTotals,
    VatMark,
    build_row,
    ksef_number_of,
)
from cabinet_core.vat_statement.statement import StatementRenderer, VatStatement

__all__ = [
    "GTU_CODES",
    "JPK_NAMESPACE",
    "KSEF_MARKERS",
    "PURCHASE",
    "PURCHASE_DOCUMENT_KINDS",
    "PURCHASE_MARKERS",
    "SALES",
    "SALES_DOCUMENT_KINDS",
    "SALES_MARKERS",
    "Declaration",
    "JpkHeader",
    "KTotals",
    "Period",
    "RateAmount",
    "RateSum",
    "RegisterEntry",
    "RegisterRow",
    "RegisterTotals",
    "StatementRenderer",
    "Taxpayer",
    "VatMark",
    "VatStatement",
    "build_row",
    "compute_declaration",
    "jpk_schema",
    "ksef_number_of",
    "tax_office_codes",
    "validate_jpk",
    "whole_zloty",
    "write_jpk",
]
