"""The VAT statement as CSV: one line per register row, a column pair per VAT rate, the
registers' totals at the end. Written with :mod:`csv` (quoting is the library's, not ours)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal

from cabinet_core.rendering import Rendered
from cabinet_core.vat_statement.registers import SALES, RegisterRow, RegisterTotals
from cabinet_core.vat_statement.statement import VatStatement

__all__ = ["HEADINGS", "CsvStatementRenderer"]

#: Column headings per language (the core has no gettext; labels travel as pl/en pairs).
HEADINGS: Mapping[str, Mapping[str, str]] = {
    "register": {"pl": "Rejestr", "en": "Register"},
    "sales": {"pl": "sprzedaż", "en": "sales"},
    "purchase": {"pl": "zakup", "en": "purchases"},
    "lp": {"pl": "Lp.", "en": "No."},
    "number": {"pl": "Numer dokumentu", "en": "Document number"},
    "register_number": {"pl": "Numer w rejestrze", "en": "Register number"},
    "issue_date": {"pl": "Data wystawienia", "en": "Issue date"},
    "other_date": {"pl": "Data sprzedaży / wpływu", "en": "Sale / receipt date"},
    "ksef": {"pl": "KSeF", "en": "KSeF"},
    "country": {"pl": "Kraj", "en": "Country"},
    "tax_id": {"pl": "NIP / VAT UE", "en": "Tax ID"},
    "counterparty": {"pl": "Kontrahent", "en": "Counterparty"},
    "currency": {"pl": "Waluta", "en": "Currency"},
    "currency_gross": {"pl": "Brutto w walucie", "en": "Gross in currency"},
    "rate": {"pl": "Kurs NBP", "en": "NBP rate"},
    "table": {"pl": "Tabela kursu", "en": "Rate table"},
    "net": {"pl": "netto", "en": "net"},
    "vat": {"pl": "VAT", "en": "VAT"},
    "total_net": {"pl": "Netto PLN", "en": "Net PLN"},
    "total_vat": {"pl": "VAT PLN", "en": "VAT PLN"},
    "total_gross": {"pl": "Brutto PLN", "en": "Gross PLN"},
    "markers": {"pl": "Oznaczenia", "en": "Markers"},
    "non_deductible": {"pl": "VAT nieodliczany", "en": "VAT not deductible"},
    "total": {"pl": "Razem", "en": "Total"},
    "yes": {"pl": "tak", "en": "yes"},
}


def _h(key: str, language: str) -> str:
    labels = HEADINGS[key]
    return labels.get(language, labels["en"])


def _money(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _by_rate(row: RegisterRow) -> dict[str, tuple[Decimal, Decimal]]:
    return {amount.rate: (amount.net_pln, amount.vat_pln) for amount in row.amounts}


class CsvStatementRenderer:
    """``text/csv``: the statement's rows and totals (UTF-8 with a BOM, so spreadsheets read
    the Polish letters)."""

    media_type = "text/csv"

    def render(self, statement: VatStatement, *, language: str) -> Rendered:
        buffer = io.StringIO()
        buffer.write("\ufeff")
        writer = csv.writer(buffer)
        codes = statement.rate_codes
        writer.writerow(
            [
                _h(key, language)
                for key in (
                    "register",
                    "lp",
                    "number",
                    "register_number",
                    "issue_date",
                    "other_date",
                    "ksef",
                    "country",
                    "tax_id",
                    "counterparty",
                    "currency",
                    "currency_gross",
                    "rate",
                    "table",
                )
            ]
            + [f"{code} {_h(part, language)}" for code in codes for part in ("net", "vat")]
            + [
                _h(key, language)
                for key in ("total_net", "total_vat", "total_gross", "markers", "non_deductible")
            ]
        )
        for rows in (statement.sales, statement.purchases):
            self._rows(writer.writerow, rows, codes, language)
        for side, totals in (
            (SALES, statement.sales_totals),
            ("purchase", statement.purchase_totals),
        ):
            self._totals(writer.writerow, side, totals, codes, language)
        content = buffer.getvalue().encode("utf-8")
        return Rendered(
            content=content,
            media_type="text/csv; charset=utf-8",
            filename=f"{statement.file_stem}.csv",
        )

    @staticmethod
    def _rows(
        write: Callable[[Sequence[object]], object],
        rows: Iterable[RegisterRow],
        codes: tuple[str, ...],
        language: str,
    ) -> None:
        for row in rows:
            amounts = _by_rate(row)
            write(
                [
                    _h(row.side, language),
                    row.lp,
                    row.number,
                    row.register_number or "",
                    row.issue_date.isoformat(),
                    row.other_date.isoformat() if row.other_date else "",
                    row.ksef_number or row.ksef_marker,
                    row.country,
                    row.tax_id,
                    row.counterparty_name,
                    row.currency,
                    _money(row.currency_gross),
                    "" if row.exchange_rate is None else f"{row.exchange_rate.normalize():f}",
                    row.rate_table or "",
                ]
                + [
                    _money(amounts[code][part]) if code in amounts else ""
                    for code in codes
                    for part in (0, 1)
                ]
                + [
                    _money(row.net_pln),
                    _money(row.vat_pln),
                    _money(row.gross_pln),
                    " ".join(filter(None, (*row.markers, row.document_kind or ""))),
                    _money(row.non_deductible_vat_pln)
                    if row.non_deductible or row.non_deductible_vat_pln
                    else "",
                ]
            )

    @staticmethod
    def _totals(
        write: Callable[[Sequence[object]], object],
        side: str,
        totals: RegisterTotals,
        codes: tuple[str, ...],
        language: str,
    ) -> None:
        by_rate = {rate.rate: rate for rate in totals.rates}
        write(
            [_h(side, language), _h("total", language)]
            + [""] * 12
            + [
                _money(getattr(by_rate[code], part)) if code in by_rate else ""
                for code in codes
                for part in ("net_pln", "vat_pln")
            ]
            + [
                _money(totals.net_pln),
                _money(totals.vat_pln),
                _money(totals.gross_pln),
                "",
                _money(totals.non_deductible_vat_pln) if totals.non_deductible_vat_pln else "",
            ]
        )
