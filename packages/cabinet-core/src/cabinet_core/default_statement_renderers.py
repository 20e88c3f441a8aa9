"""Built-in plugin: the VAT statement as CSV (the PDF comes from cabinet-pdf)."""

from __future__ import annotations

from cabinet_core.hookspecs import Register, hookimpl
from cabinet_core.vat_statement.csv_export import CsvStatementRenderer


@hookimpl
def register_statement_renderers(register: Register) -> None:
    """Register the CSV download of the VAT statement."""
    register(CsvStatementRenderer())
