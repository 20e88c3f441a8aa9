"""A report as CSV or XLSX: the same columns, rows and totals the page shows, streamed.

Both writers take an iterator of rows and never hold more than one of them: the CSV is yielded
line by line, the XLSX is written by openpyxl's write-only workbook (which spools the sheet to a
temporary file as rows arrive), so memory stays flat however many rows a document list has
(``bench/reports.py`` measures it at 10,000 and 100,000 rows).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date
from decimal import Decimal
from typing import IO, Any

from cabinet_core.reports.totals import Column, ReportRow

__all__ = ["CSV_TYPE", "FORMATS", "XLSX_TYPE", "csv_lines", "header", "write_xlsx"]

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Export format → (content type, file extension).
FORMATS = {"csv": (CSV_TYPE, "csv"), "xlsx": (XLSX_TYPE, "xlsx")}

#: How often (in rows) a long export reports its progress.
PROGRESS_EVERY = 2000
_MONEY_FORMAT = "#,##0.00"
_DATE_FORMAT = "yyyy-mm-dd"


def header(columns: Sequence[Column], gettext: Callable[[str], str]) -> list[str]:
    """The columns' translated labels."""
    return [gettext(column.label) for column in columns]


def _cells(columns: Sequence[Column], row: ReportRow) -> list[Any]:
    return [column.value(row) for column in columns]


def _csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        # A spreadsheet would run a cell that starts like a formula (CSV injection).
        return "'" + value
    return str(value)


def csv_lines(
    columns: Sequence[Column], rows: Iterable[ReportRow], gettext: Callable[[str], str]
) -> Iterator[str]:
    """The CSV text, one line at a time (a UTF-8 BOM first, so spreadsheets read Polish
    letters); amounts with a dot and two places, dates ISO."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(header(columns, gettext))
    yield "\ufeff" + flush()
    for row in rows:
        writer.writerow([_csv_text(value) for value in _cells(columns, row)])
        yield flush()


def write_xlsx(
    target: IO[bytes],
    columns: Sequence[Column],
    rows: Iterable[ReportRow],
    gettext: Callable[[str], str],
    *,
    title: str = "Report",
    progress: Callable[[int], object] | None = None,
) -> int:
    """Write the workbook to ``target`` (a file open for binary writing); returns the number of
    rows written. ``progress(n)`` is called every :data:`PROGRESS_EVERY` rows."""
    # openpyxl (about 25 MB once imported) only in the process that writes a workbook.
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31] or "Report")
    bold = Font(bold=True)
    head = []
    for text in header(columns, gettext):
        cell = WriteOnlyCell(sheet, value=text)
        cell.font = bold
        head.append(cell)
    sheet.append(head)
    kinds = [column.kind for column in columns]
    for letter_index, column in enumerate(columns):
        width = 14 if column.kind in ("money", "date") else 24 if column.kind == "text" else 10
        sheet.column_dimensions[_letter(letter_index)].width = width
    written = 0
    for row in rows:
        sheet.append(
            [
                _xlsx_cell(sheet, kind, value)
                for kind, value in zip(kinds, _cells(columns, row), strict=True)
            ]
        )
        written += 1
        if progress is not None and written % PROGRESS_EVERY == 0:
            progress(written)
    book.save(target)
    if progress is not None:
        progress(written)
    return written


def _xlsx_cell(sheet: Any, kind: str, value: Any) -> Any:
    from openpyxl.cell import WriteOnlyCell

    if value is None:
        return None
    formats = {"money": (Decimal, _MONEY_FORMAT), "date": (date, _DATE_FORMAT)}
    if kind in formats and isinstance(value, formats[kind][0]):
        # openpyxl writes a Decimal's exact digits and a date as a date (its stubs list only
        # str, float and datetime), so the value is passed through untyped.
        exact: Any = value
        cell = WriteOnlyCell(sheet, value=exact)
        cell.number_format = formats[kind][1]
        return cell
    return value


def _letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters
